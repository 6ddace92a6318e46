/**
 * The fixed bash of the lab's scripts, kept as `.sh` files in this directory so that
 * shellcheck and editors read them as the shell code they are. This is the one module under
 * render/ that reads files (eslint.config.mjs allows it `fs`, like model/load.ts): the files
 * ship with the program, and are found next to this module whether it runs under tsx or
 * ts-node (the CLI, Pulumi) or under jest.
 */
import * as fs from "fs";
import * as path from "path";

/** Every script body in this directory, by file name without `.sh`. */
export const SCRIPT_BODIES = [
  "apply-common",
  "nixos-apply",
  "router-apply",
  "mariadb-users",
  "samba-users",
  "release-driver",
  "talos-roll",
  "node-maintenance",
  "router-bootstrap",
  "backup-freshness",
] as const;

/** The name of one script body. */
export type ScriptBody = (typeof SCRIPT_BODIES)[number];

/** Where a body's file is: next to this module, never relative to the working directory. */
export function scriptBodyPath(name: ScriptBody): string {
  return path.join(__dirname, `${name}.sh`);
}

const cache = new Map<ScriptBody, string>();

/** The text of a body, read once. Every body ends with a newline, so bodies concatenate line by line. */
export function loadScriptBody(name: ScriptBody): string {
  const cached = cache.get(name);
  if (cached !== undefined) return cached;
  const file = scriptBodyPath(name);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new Error(
      `cannot read the script body ${file} (${reason}); it ships next to render/scripts/load.ts. Restore it with: git checkout -- render/scripts/${name}.sh`,
      { cause: e },
    );
  }
  if (!text.endsWith("\n")) throw new Error(`${file} must end with a newline: the scripts are assembled line by line`);
  cache.set(name, text);
  return text;
}
