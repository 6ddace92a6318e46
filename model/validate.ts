/**
 * Semantic validation of a schema-checked lab: the rules of every domain (`DOMAINS`), all
 * run on every check, so the owner sees every problem of the lab in one report. Each rule
 * is total on any lab the schema accepts (a property test holds it to that), never stops
 * at the first problem, and says where the value is, what is allowed, and a concrete fix.
 * Each rule's file says which decisions it encodes.
 */
import { DOMAINS } from "./domains";
import type { Lab } from "./lab";
import { sortProblems } from "./problems";
import type { Rule, RuleProblem } from "./rule";

export type { Rule, RuleProblem } from "./rule";

/** Every rule of every domain. The order is only the order they run in; problems are sorted afterwards. */
export const RULES: readonly Rule[] = DOMAINS.flatMap((d) => d.rules);

/** Every problem of the lab, from every rule, in a stable order (file, path, message). */
export function validateLab(lab: Lab): RuleProblem[] {
  const all: RuleProblem[] = [];
  for (const rule of RULES) for (const p of rule.check(lab)) all.push({ ...p, rule: rule.id });
  return sortProblems(all);
}
