/**
 * Golden files: compare rendered text with a committed file under tests/golden.
 * `UPDATE_GOLDEN=1 npx jest ...` rewrites them instead; review the diff before committing.
 */
import * as fs from "fs";
import * as path from "path";

/** Where golden files live. */
const GOLDEN_DIR = path.resolve(__dirname, "../golden");

/** True when this run rewrites golden files instead of comparing. */
const UPDATING_GOLDEN = process.env.UPDATE_GOLDEN === "1";

/**
 * Assert that `actual` equals the golden file at `relPath` (under tests/golden), or
 * write it when UPDATE_GOLDEN=1. A missing golden file is a failure, never a pass.
 */
export function expectGolden(relPath: string, actual: string): void {
  const file = path.join(GOLDEN_DIR, relPath);
  if (UPDATING_GOLDEN) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, actual);
    return;
  }
  if (!fs.existsSync(file))
    throw new Error(`golden file ${path.relative(process.cwd(), file)} is missing; run with UPDATE_GOLDEN=1 to create it, then review it`);
  expect(actual).toBe(fs.readFileSync(file, "utf8"));
}

/** Golden files under `relDir` that `expected` does not name: stale files a rename left behind. */
export function staleGoldens(relDir: string, expected: readonly string[]): string[] {
  const root = path.join(GOLDEN_DIR, relDir);
  if (!fs.existsSync(root)) return [];
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else found.push(path.relative(root, p));
    }
  };
  walk(root);
  const want = new Set(expected);
  return found.filter((f) => !want.has(f)).sort();
}

/**
 * A commit-confirm script as two goldens: `bodyPath`, the fixed bash every box of its kind
 * ends with (render/scripts/), and `factsPath`, what this box's script has before it. Fails
 * unless the script is exactly the facts, a blank line and that body.
 */
export function expectScriptGoldens(script: string, body: string, factsPath: string, bodyPath: string): void {
  expectGolden(bodyPath, body);
  expect(script.endsWith(`\n\n${body}`)).toBe(true);
  expectGolden(factsPath, script.slice(0, script.length - body.length - 1));
}
