/** Problems found in the user's configuration, and the one error that carries them all. */
import { compareText } from "./order";

/** One thing wrong with the configuration. */
export interface Problem {
  /** The file it is in, relative to the lab directory, e.g. `Pulumi.cluster.yaml`. */
  readonly file: string;
  /** The config path inside that file, e.g. `homelab:segment.hosts.cp-1.address`. */
  readonly path: string;
  /** The value received; undefined when the key is missing. */
  readonly value?: unknown;
  /** What is wrong, including what is allowed. */
  readonly message: string;
  /** How to fix it. */
  readonly fix: string;
  /** The line in `file` it is at, when the loader could place it (1-based). */
  readonly line?: number;
}

/** The user's mistake: carries every problem found, never just the first. */
export class ConfigError extends Error {
  readonly problems: readonly Problem[];
  constructor(problems: readonly Problem[], heading = "the lab configuration is invalid") {
    super(formatProblems(problems, heading));
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/**
 * A config path from its parts: dotted keys, array indices in brackets, e.g.
 * `joinPath("homelab:segment", "hosts", "vdi", "vm", "nics", 0)` is `homelab:segment.hosts.vdi.vm.nics[0]`.
 */
export function joinPath(...parts: readonly PropertyKey[]): string {
  let out = "";
  for (const k of parts) out = typeof k === "number" ? `${out}[${k}]` : out === "" ? String(k) : `${out}.${String(k)}`;
  return out;
}

/** One problem at `where`. A value that looks like a secret is replaced by SECRET_NOT_SHOWN (see shownValue). */
export function problem(where: { readonly file: string; readonly path: string }, value: unknown, message: string, fix: string): Problem {
  return { file: where.file, path: where.path, value: shownValue(where.path, value), message, fix };
}

/** What a problem shows instead of a value that looks like a secret. */
export const SECRET_NOT_SHOWN = "(not shown: it looks like a secret)";

/**
 * Keys whose values are secrets: a password, passphrase, token, API key, private or deploy
 * key, credential. (`passthrough` and `sshHostKey` are not: a host key is public.)
 */
export const SECRET_KEY = /passw(or)?d|^pass$|passphrase|secret|token|private.?key|deploy.?key|api.?key|credential/i;

/** Text that is a private key, whatever key it sits under: PEM, OpenSSH's own format, PuTTY's. */
export const PRIVATE_KEY_TEXT = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----|PuTTY-User-Key-File|b3BlbnNzaC1rZXktdjE/;

/** The last key of a config path: `homelab:segment.hosts.vdi.rootPassword` -> `rootPassword`. */
function lastKey(path: string): string {
  const keys = path.split(/[.[\]]/).filter((k) => k !== "" && !/^\d+$/.test(k));
  const last = keys.at(-1) ?? "";
  return last.includes(":") ? last.slice(last.indexOf(":") + 1) : last;
}

/**
 * True when the value at `path` must never be printed: its key names a secret (and the value
 * is not a plain boolean, such as `passwordAuthentication: true`), or its text is a private
 * key. A number is no exception: a PIN or an all-digit password (`adminPassword: 84736291`)
 * is read by YAML as a number and is as secret as text.
 */
export function isSecretValue(path: string, value: unknown): boolean {
  if (typeof value === "string" && PRIVATE_KEY_TEXT.test(value)) return true;
  if (value === undefined || value === null || typeof value === "boolean") return false;
  return SECRET_KEY.test(lastKey(path));
}

/**
 * The value a problem may show: SECRET_NOT_SHOWN for a secret, and inside a map or list
 * every secret-looking entry replaced the same way (a problem about a whole host must not
 * print the password written under it).
 */
export function shownValue(path: string, value: unknown): unknown {
  if (isSecretValue(path, value)) return SECRET_NOT_SHOWN;
  if (Array.isArray(value)) return value.map((v: unknown, i) => shownValue(joinPath(path, i), v));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]: [string, unknown]) => [k, shownValue(joinPath(path, k), v)]));
  }
  return value;
}

/** Show a received value compactly: strings quoted, objects as one-line JSON, cut at 80 characters. */
function showValue(value: unknown): string {
  if (value === undefined) return "(missing)";
  // JSON.stringify returns undefined for a function or a symbol, whatever its type says.
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) return "(unprintable)";
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * The human-readable list: one block per problem, in sortProblems' order, each headed
 * `  <file>: <path> = <value> (line <n>)`.
 */
export function formatProblems(problems: readonly Problem[], heading = "the lab configuration is invalid"): string {
  const sorted = sortProblems(problems);
  const lines = [`${heading}: ${count(sorted.length, "problem")}`];
  for (const p of sorted) {
    const at = p.line === undefined ? "" : ` (line ${p.line})`;
    lines.push("", `  ${p.file}: ${p.path} = ${showValue(shownValue(p.path, p.value))}${at}`, `    ${p.message}`, `    fix: ${p.fix}`);
  }
  return lines.join("\n");
}

/** `1 problem`, `2 problems`: a count with its noun in the right number (`-s` plurals only). */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/**
 * Stable order: by file; then by line as a number, a problem of the whole file (no line)
 * first, as it is the cause of what follows; on one line, present values before missing
 * ones; then by path and message. Secret-looking
 * values are replaced (shownValue), so the result is safe to print or serialise.
 */
export function sortProblems<P extends Problem>(problems: readonly P[]): P[] {
  return problems
    .map((p) => ({ ...p, value: shownValue(p.path, p.value) }))
    .sort(
      (a, b) =>
        compareText(a.file, b.file) ||
        (a.line ?? 0) - (b.line ?? 0) ||
        // On one line, a missing value (a required key a misspelling left out) follows its cause.
        Number(a.value === undefined) - Number(b.value === undefined) ||
        compareText(a.path, b.path) ||
        compareText(a.message, b.message),
    );
}
