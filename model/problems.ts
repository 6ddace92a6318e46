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

/** One problem at `where`. */
export function problem(where: { readonly file: string; readonly path: string }, value: unknown, message: string, fix: string): Problem {
  return { file: where.file, path: where.path, value, message, fix };
}

/** Show a received value compactly: strings quoted, objects as one-line JSON, cut at 80 characters. */
function showValue(value: unknown): string {
  if (value === undefined) return "(missing)";
  // JSON.stringify returns undefined for a function or a symbol, whatever its type says.
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) return "(unprintable)";
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The human-readable list: one block per problem, sorted by file and path. */
export function formatProblems(problems: readonly Problem[], heading = "the lab configuration is invalid"): string {
  const sorted = sortProblems(problems);
  const lines = [`${heading}: ${sorted.length} problem${sorted.length === 1 ? "" : "s"}`];
  for (const p of sorted) {
    lines.push("", `  ${p.file}: ${p.path} = ${showValue(p.value)}`, `    ${p.message}`, `    fix: ${p.fix}`);
  }
  return lines.join("\n");
}

/** Stable order: file, then path, then message. */
export function sortProblems<P extends Problem>(problems: readonly P[]): P[] {
  return [...problems].sort((a, b) => compareText(a.file, b.file) || compareText(a.path, b.path) || compareText(a.message, b.message));
}
