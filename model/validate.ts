/**
 * Semantic validation of a schema-checked lab: the rules of every domain (`DOMAINS`), all
 * run on every check against one index of the lab, so the owner sees every problem of
 * the lab in one report. Each rule is total on any lab the schema accepts (a property test
 * holds it to that), never stops at the first problem, and says where the value is, what
 * is allowed, and a concrete fix. A rule that names others in `after` runs after them and
 * is skipped when one of them failed. Each rule's file says which decisions it encodes.
 */
import { DOMAINS } from "./domains";
import type { Lab } from "./lab";
import { indexLab, type LabIndex } from "./lab-index";
import { sortProblems } from "./problems";
import type { Rule, RuleProblem } from "./rule";

export type { Rule, RuleProblem } from "./rule";

/**
 * The rules in an order that runs every rule after the rules it names in `after`, keeping
 * the given order otherwise. Throws (a bug, not a user mistake) on an unknown id, a
 * repeated id or a cycle.
 */
export function orderRules(rules: readonly Rule[]): Rule[] {
  const ids = new Set<string>();
  for (const r of rules) {
    if (ids.has(r.id)) throw new Error(`bug: two rules have the id ${r.id}`);
    ids.add(r.id);
  }
  for (const r of rules)
    for (const dep of r.after ?? []) if (!ids.has(dep)) throw new Error(`bug: rule ${r.id} runs after ${dep}, which is no rule`);
  const done = new Set<string>();
  const out: Rule[] = [];
  while (out.length < rules.length) {
    const next = rules.find((r) => !done.has(r.id) && (r.after ?? []).every((d) => done.has(d)));
    if (!next)
      throw new Error(
        `bug: the rules' after lists form a cycle among ${rules
          .filter((r) => !done.has(r.id))
          .map((r) => r.id)
          .join(", ")}`,
      );
    done.add(next.id);
    out.push(next);
  }
  return out;
}

/** Every rule of every domain, in the order they run; problems are sorted afterwards. */
export const RULES: readonly Rule[] = orderRules(DOMAINS.flatMap((d) => d.rules));

/**
 * Run `rules` (ordered by `orderRules`) on one index. A rule is skipped when a rule it
 * runs after reported a problem or was skipped itself.
 */
export function runRules(rules: readonly Rule[], ix: LabIndex): RuleProblem[] {
  const failed = new Set<string>();
  const all: RuleProblem[] = [];
  for (const rule of orderRules(rules)) {
    if ((rule.after ?? []).some((d) => failed.has(d))) {
      failed.add(rule.id);
      continue;
    }
    const problems = rule.check(ix);
    if (problems.length > 0) failed.add(rule.id);
    for (const p of problems) all.push({ ...p, rule: rule.id });
  }
  return sortProblems(all);
}

/** Every problem of the lab, from every rule, at `today` (a UTC day, YYYY-MM-DD, or an instant), in sortProblems' order: by file, then line, then path and message. */
export function validateLab(lab: Lab, today?: string): RuleProblem[] {
  return runRules(RULES, indexLab(lab, today));
}
