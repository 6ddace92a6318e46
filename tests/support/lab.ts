/** Test helpers: the reference lab (the repository's own config) and mutated copies of it. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDocument } from "yaml";
import type { Lab } from "../../model/lab";
import { parseLab, readLabSources } from "../../model/load";
import { formatProblems } from "../../model/problems";
import { planLab, type LabPlan } from "../../model/plan";
import { validateLab } from "../../model/validate";

/** The repository root, which holds the reference lab. */
export const REPO = path.resolve(__dirname, "../..");

let cached: Lab | undefined;

/** The reference lab, parsed and validated (throws with the problem list if it is not valid). */
export function referenceLab(): Lab {
  if (cached) return cached;
  const parsed = parseLab(readLabSources(REPO));
  const problems = parsed.lab ? [...parsed.problems, ...validateLab(parsed.lab)] : parsed.problems;
  if (problems.length > 0 || !parsed.lab) throw new Error(formatProblems(problems));
  cached = parsed.lab;
  return cached;
}

/** The reference lab's plan. */
export function referencePlan(): LabPlan {
  return planLab(referenceLab());
}

/** The config files of a lab directory. */
export const LAB_FILES = (dir: string) => fs.readdirSync(dir).filter((f) => f === "Pulumi.yaml" || f === "homelab.yaml" || /^Pulumi\.[^.]+\.yaml$/.test(f));

/** Temporary lab copies made by this test file, removed after its tests. */
const copies: string[] = [];
// Evaluated while jest collects the importing test file, so this hook is that file's.
// Outside jest (a benchmark, the twin's runner) the caller owns the directories.
if (typeof afterAll === "function") {
  afterAll(() => {
    for (const dir of copies.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
}

/**
 * Copy the reference lab's config files into a fresh temporary directory (removed after the
 * test file), or into `into` (the caller's), and let `edit` change any file's parsed YAML
 * (comments are kept in files it leaves alone). Returns the directory.
 */
export function copyLab(edit: (files: Record<string, any>) => void = () => undefined, into?: string): string {
  const dir = into ?? fs.mkdtempSync(path.join(os.tmpdir(), "homelab-lab-"));
  if (into === undefined) copies.push(dir);
  else fs.mkdirSync(into, { recursive: true });
  const docs: Record<string, ReturnType<typeof parseDocument>> = {};
  const data: Record<string, any> = {};
  for (const f of LAB_FILES(REPO)) {
    docs[f] = parseDocument(fs.readFileSync(path.join(REPO, f), "utf8"));
    data[f] = docs[f]!.toJS();
  }
  edit(data);
  for (const [f, value] of Object.entries(data)) {
    if (value === undefined) continue;
    const text = docs[f] && JSON.stringify(docs[f]!.toJS()) === JSON.stringify(value) ? docs[f]!.toString() : new (require("yaml").Document)(value).toString();
    fs.writeFileSync(path.join(dir, f), text);
  }
  return dir;
}
