/**
 * What a validation rule is, and the phrasing every rule shares: config paths, the other
 * place a value is configured, lists, examples, and "reported once, at the later one".
 */
import { CONFIG_KEYS } from "./lab";
import type { LabIndex } from "./lab-index";
import { joinPath, type Problem } from "./problems";

/** One validation rule: a stable id, what it checks, what it depends on, and the check itself. */
export interface Rule {
  /** Stable id, `<area>.<what>`, e.g. `addresses.unique`: `check --json` tags each problem with it. */
  readonly id: string;
  /**
   * What the rule checks and why, in one or two sentences, for whoever reads this file
   * or looks up a rule id from `check --json`. Nothing renders it.
   */
  readonly description: string;
  /**
   * Rules whose problems make this one meaningless, by id: when any of them reports a
   * problem (or is itself skipped), this rule does not run, so its follow-on noise never
   * buries the cause. They run before it. @default none
   */
  readonly after?: readonly string[];
  /** Every violation in the lab, read from the index built once. Must not throw on any schema-valid lab. */
  check(ix: LabIndex): Problem[];
}

/** A problem found by a rule, tagged with the rule's id (shown in `--json` output). */
export interface RuleProblem extends Problem {
  readonly rule: string;
}

/** One step of a config path: a key or a list index. */
export type PathPart = string | number;

/** A path inside a segment file's `homelab:segment` key. */
export function sp(...parts: readonly PathPart[]): string {
  return joinPath(CONFIG_KEYS.segment, ...parts);
}

/** Where a value lives. */
export interface Where {
  readonly file: string;
  readonly path: string;
}

/** `Pulumi.cluster.yaml homelab:segment.hosts.cp-1.address`, for naming the other place. */
export function place(w: Where): string {
  return `${w.file} ${w.path}`;
}

/** A sorted, comma-separated list, or "none". */
export function list(names: Iterable<string>): string {
  const all = [...names].sort();
  return all.length > 0 ? all.join(", ") : "none";
}

/** `, e.g. X` or nothing. */
export function eg(example: string | undefined): string {
  return example === undefined ? "" : `, e.g. ${example}`;
}

/** Report every later occurrence of a key already seen. */
export function duplicates<T extends Where>(
  items: readonly T[],
  keyOf: (t: T) => string,
  report: (dup: T, first: T) => Problem,
): Problem[] {
  const seen = new Map<string, T>();
  const out: Problem[] = [];
  for (const item of items) {
    const k = keyOf(item);
    const first = seen.get(k);
    if (first) out.push(report(item, first));
    else seen.set(k, item);
  }
  return out;
}

/**
 * One domain of the lab (network, compute, talos, ...): a folder under model/ with its
 * schema part, its planner and its rules. `model/domains.ts` lists every domain.
 */
export interface Domain {
  /** The folder name, e.g. `network`. */
  readonly name: string;
  /** The domain's rules, in the order they run. */
  readonly rules: readonly Rule[];
}
