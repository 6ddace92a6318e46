// Proves: the rule runner orders rules after the rules they name in `after`, skips a rule (and its dependents) when a rule it depends on reported a problem, runs it when that rule is clean, and refuses unknown ids and cycles; and that on the reference lab capacity.n-minus-1 is silenced by a failing vms.references although on its own it would report; does not prove what each rule checks (validate.test.ts).
import { capacityFailover } from "../../model/compute/rules/capacity";
import type { Lab } from "../../model/lab";
import { indexLab, type LabIndex } from "../../model/lab-index";
import { formatProblems, problem, type Problem } from "../../model/problems";
import type { Rule } from "../../model/rule";
import { orderRules, RULES, runRules, validateLab } from "../../model/validate";
import { parseFiles, referenceFiles, segOf, type LabFiles } from "../support/lab";

function labWith(edit: (f: LabFiles) => void): Lab {
  const files = referenceFiles();
  edit(files);
  const parsed = parseFiles(files);
  if (!parsed.lab) throw new Error(`the edit broke the schema:\n${formatProblems(parsed.problems)}`);
  return parsed.lab;
}

/** A rule that reports `count` problems and records that it ran. */
function fakeRule(id: string, count: number, ran: string[], after?: readonly string[]): Rule {
  return {
    id,
    description: `a test rule that reports ${count} problem(s)`,
    ...(after ? { after } : {}),
    check(): Problem[] {
      ran.push(id);
      return Array.from({ length: count }, (_, i) => problem({ file: "x.yaml", path: `${id}[${i}]` }, i, `${id} problem ${i}`, "fix it"));
    },
  };
}

const ix: LabIndex = indexLab(labWith(() => undefined));

describe("rule dependencies", () => {
  test("a rule whose dependency reported a problem is skipped, and so are its own dependents", () => {
    const ran: string[] = [];
    const rules = [
      fakeRule("cause", 1, ran),
      fakeRule("follow-on", 2, ran, ["cause"]),
      fakeRule("follow-on.of-follow-on", 1, ran, ["follow-on"]),
      fakeRule("independent", 1, ran),
    ];
    const problems = runRules(rules, ix);
    expect(problems.map((p) => p.rule)).toEqual(["cause", "independent"]);
    expect(ran).toEqual(["cause", "independent"]);
  });

  test("a rule whose dependencies are clean runs and reports", () => {
    const ran: string[] = [];
    const problems = runRules([fakeRule("cause", 0, ran), fakeRule("follow-on", 2, ran, ["cause"])], ix);
    expect(problems.map((p) => `${p.rule} ${p.path}`)).toEqual(["follow-on follow-on[0]", "follow-on follow-on[1]"]);
    expect(ran).toEqual(["cause", "follow-on"]);
  });

  test("rules run after their dependencies whatever order they are declared in, otherwise in declaration order", () => {
    const ran: string[] = [];
    const order = orderRules([
      fakeRule("b", 0, ran, ["c"]),
      fakeRule("a", 0, ran),
      fakeRule("c", 0, ran),
      fakeRule("d", 0, ran, ["b", "a"]),
    ]).map((r) => r.id);
    expect(order).toEqual(["a", "c", "b", "d"]);
  });

  test("an unknown dependency, a repeated id and a cycle are bugs", () => {
    const ran: string[] = [];
    expect(() => orderRules([fakeRule("a", 0, ran, ["nope"])])).toThrow("bug: rule a runs after nope, which is no rule");
    expect(() => orderRules([fakeRule("a", 0, ran), fakeRule("a", 0, ran)])).toThrow("bug: two rules have the id a");
    expect(() => orderRules([fakeRule("a", 0, ran, ["b"]), fakeRule("b", 0, ran, ["a"])])).toThrow("cycle among a, b");
  });

  test("every rule the lab runs names only existing rules in after, and runs after them", () => {
    const seen = new Set<string>();
    for (const r of RULES) {
      for (const d of r.after ?? []) expect(seen).toContain(d);
      seen.add(r.id);
    }
  });
});

describe("capacity.n-minus-1 runs after vms.references", () => {
  // A VM on an unknown node and, elsewhere, an HA VM too large to fail over.
  const broken = labWith((f) => {
    segOf(f, "lab").hosts["mirror-1"].vm.node = "pve9";
    segOf(f, "sandbox").hosts.agent.vm.memoryMiB = 60000;
  });

  test("on its own the failover check would report the stranded VM", () => {
    expect(capacityFailover.check(indexLab(broken)).map((p) => p.path)).toEqual(["homelab:segment.hosts.agent.vm.ha"]);
  });

  test("with vms.references failing, validation reports the dangling node and no failover problem", () => {
    const rules = validateLab(broken).map((p) => p.rule);
    expect(rules).toContain("vms.references");
    expect(rules).not.toContain("capacity.n-minus-1");
  });
});
