/**
 * Semantic validation of a schema-checked lab. (Placeholder: the rule table is being
 * written; see tests/unit/validate.test.ts.)
 */
import type { Lab } from "./lab";
import type { Problem } from "./problems";

/** Every problem of the lab, from every rule. */
export function validateLab(lab: Lab): Problem[] {
  void lab;
  return [];
}
