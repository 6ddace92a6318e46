// Proves the upgrade wave planner (model/talos/waves.ts): on the reference 3+3 cluster and a 5+2 one, control planes go first, one per
// wave, then workers in waves the setting and the tightest disruption budget allow, each wave saying what stays up and which single
// Proxmox node failure it survives; a budget or setting that cannot be met is refused with its exact message, path and fix, every
// problem at once. Does not prove the command chain that runs the waves (tests/mocks/talos-upgrade.test.ts).
import type { Lab } from "../../model/lab";
import { formatProblems } from "../../model/problems";
import type { RuleProblem } from "../../model/rule";
import { planUpgrade, rollInput, type RollInput, type UpgradePlan, type UpgradeWave } from "../../model/talos/waves";
import { validateLab } from "../../model/validate";
import { parseFiles, referenceFiles, referenceLab, segOf, type LabFiles } from "../support/lab";
import { fiveControlPlanes } from "../support/variants";

/** The lab after `edit`; fails the test if the edit breaks the schema. */
function labWith(edit: (f: LabFiles) => void): Lab {
  const files = referenceFiles();
  edit(files);
  const parsed = parseFiles(files);
  if (!parsed.lab) throw new Error(`the edit broke the schema:\n${formatProblems(parsed.problems)}`);
  return parsed.lab;
}

/** The cluster segment's roll input in `lab`. */
function clusterInput(lab: Lab): RollInput {
  const seg = lab.segments.cluster!;
  return rollInput(seg, seg.talos!);
}

/** The plan, or a failure listing the problems. */
function planOf(input: RollInput): UpgradePlan {
  const r = planUpgrade(input);
  if ("problems" in r) throw new Error(formatProblems(r.problems));
  return r.plan;
}

/** A wave as one line: `id: hosts | etcd up/of | workers up | survives`. */
const line = (w: UpgradeWave) =>
  `${w.id}: ${w.members.map((m) => m.host).join(",")} | etcd ${w.etcd.up}/${w.etcd.of} | workers ${w.workersUp} | survives ${w.survivesLossOf.join(",") || "-"}`;

/** Five control planes spread 2/2/1, and two workers (worker-3 removed). */
function fivePlusTwo(f: LabFiles): void {
  fiveControlPlanes(f);
  const seg = segOf(f, "cluster");
  delete seg.hosts["worker-3"];
  seg.talos.workers = ["worker-1", "worker-2"];
  seg.talos.disruptionBudgets.ingress.replicas = 2;
  for (const s of Object.values<{ consumers: string[] }>(seg.storage)) s.consumers = ["worker-1", "worker-2"];
  for (const u of Object.values<{ from: string[] }>(segOf(f, "internal").dataHost.mariadb.users))
    u.from = u.from.filter((s) => s !== "cluster/worker-3");
}

describe("the waves", () => {
  test("3+3 (the reference cluster): control planes one at a time, each leaving 2 of 3 etcd members, so only a node without another control plane may fail meanwhile; then workers one at a time", () => {
    const lab = referenceLab();
    expect(validateLab(lab)).toEqual([]);
    const plan = planOf(clusterInput(lab));
    expect(plan.waves.map(line)).toEqual([
      // cp-1 on pve1, cp-2 on pve4, cp-3 on pve5, worker-n on pve<n>: with cp-1 down, losing pve4 or pve5 costs
      // etcd its majority; losing pve1 (only worker-1 left there), pve2 or pve3 does not.
      "control-plane-cp-1: cp-1 | etcd 2/3 | workers 3 | survives pve1,pve2,pve3",
      "control-plane-cp-2: cp-2 | etcd 2/3 | workers 3 | survives pve2,pve3,pve4",
      "control-plane-cp-3: cp-3 | etcd 2/3 | workers 3 | survives pve2,pve3,pve5",
      "workers-1: worker-1 | etcd 3/3 | workers 2 | survives pve1,pve2,pve3,pve4,pve5",
      "workers-2: worker-2 | etcd 3/3 | workers 2 | survives pve1,pve2,pve3,pve4,pve5",
      "workers-3: worker-3 | etcd 3/3 | workers 2 | survives pve1,pve2,pve3,pve4,pve5",
    ]);
    expect(plan.workersPerWave).toBe(1);
    expect(plan.workersLimitedBy).toEqual({ kind: "setting" });
    expect(plan.waves[0]!.members[0]).toEqual({ host: "cp-1", address: "10.20.0.11", domain: "pve1" });
  });

  test("5+2: control planes still one at a time; with one down, losing a node that holds two more would cost quorum, so each step survives only the others", () => {
    const lab = labWith(fivePlusTwo);
    expect(validateLab(lab)).toEqual([]);
    const plan = planOf(clusterInput(lab));
    expect(plan.waves.map(line)).toEqual([
      // pve1: cp-1, cp-4; pve4: cp-2, cp-5; pve5: cp-3; workers on pve1 and pve2.
      "control-plane-cp-1: cp-1 | etcd 4/5 | workers 2 | survives pve1,pve2,pve5",
      "control-plane-cp-2: cp-2 | etcd 4/5 | workers 2 | survives pve2,pve4,pve5",
      "control-plane-cp-3: cp-3 | etcd 4/5 | workers 2 | survives pve2,pve5",
      "control-plane-cp-4: cp-4 | etcd 4/5 | workers 2 | survives pve1,pve2,pve5",
      "control-plane-cp-5: cp-5 | etcd 4/5 | workers 2 | survives pve2,pve4,pve5",
      // With worker-1 down, losing pve2 takes the last worker.
      "workers-1: worker-1 | etcd 5/5 | workers 1 | survives pve1,pve4,pve5",
      "workers-2: worker-2 | etcd 5/5 | workers 1 | survives pve2,pve4,pve5",
    ]);
  });

  test("the tightest budget bounds a wave below the setting, and names itself", () => {
    const lab = labWith((f) => {
      const t = segOf(f, "cluster").talos;
      t.upgrade = { workersAtOnce: 2 };
      t.disruptionBudgets = { wiki: { replicas: 2, minAvailable: 1 }, ingress: { replicas: 3, maxUnavailable: 2 } };
    });
    expect(validateLab(lab)).toEqual([]);
    const plan = planOf(clusterInput(lab));
    expect(plan.workersPerWave).toBe(1);
    expect(plan.workersLimitedBy).toEqual({ kind: "budget", workload: "wiki" });
    expect(plan.waves.filter((w) => w.kind === "workers").map((w) => w.members.map((m) => m.host))).toEqual([
      ["worker-1"],
      ["worker-2"],
      ["worker-3"],
    ]);
  });

  test("waves of several workers when the setting and every budget allow it; the last wave takes the rest", () => {
    const worker = (i: number) => ({ host: `w${i}`, address: `10.0.0.${20 + i}`, domain: `pve${(i % 3) + 1}` });
    const input: RollInput = {
      segment: "big",
      file: "Pulumi.big.yaml",
      controlPlanes: [1, 2, 3].map((i) => ({ host: `cp${i}`, address: `10.0.0.${10 + i}`, domain: `pve${i}` })),
      workers: [1, 2, 3, 4, 5, 6, 7].map(worker),
      workersAtOnce: 3,
      budgets: { api: { replicas: 5, maxUnavailable: 3 }, web: { replicas: 4, minAvailable: 1 } },
    };
    const plan = planOf(input);
    expect(plan.workersPerWave).toBe(3);
    expect(plan.workersLimitedBy).toEqual({ kind: "setting" });
    expect(plan.waves.map((w) => `${w.id}: ${w.members.map((m) => m.host).join(",")}`)).toEqual([
      "control-plane-cp1: cp1",
      "control-plane-cp2: cp2",
      "control-plane-cp3: cp3",
      "workers-1: w1,w2,w3",
      "workers-2: w4,w5,w6",
      "workers-3: w7",
    ]);
  });

  test("a cluster without workers rolls its control planes only", () => {
    const input: RollInput = {
      segment: "s",
      file: "Pulumi.s.yaml",
      controlPlanes: [1, 2, 3].map((i) => ({ host: `cp${i}`, address: `10.0.0.${10 + i}`, domain: `pve${i}` })),
      workers: [],
      workersAtOnce: 1,
      budgets: {},
    };
    expect(planOf(input).waves.map((w) => w.id)).toEqual(["control-plane-cp1", "control-plane-cp2", "control-plane-cp3"]);
  });
});

describe("refusals: a roll that would cause downtime, with the exact message", () => {
  /** Every problem of the lab after `edit`, as `rule file path: message | fix`. */
  const problemsWith = (edit: (f: LabFiles) => void) =>
    validateLab(labWith(edit)).map((p: RuleProblem) => `${p.rule} ${p.file} ${p.path}: ${p.message} | fix: ${p.fix}`);
  const budgets = (b: Record<string, unknown>) => (f: LabFiles) => (segOf(f, "cluster").talos.disruptionBudgets = b);

  test.each([
    [
      "a budget that lets no replica go: no drain can ever finish",
      budgets({ ingress: { replicas: 3, maxUnavailable: 0 } }),
      [
        "talos.upgrade Pulumi.cluster.yaml homelab:segment.talos.disruptionBudgets.ingress.maxUnavailable: cluster's disruption budget ingress lets none of its 3 replicas be unavailable, so no drain can ever evict one and an upgrade would stop at the first worker that runs it | fix: allow one replica down: maxUnavailable: 1 (or minAvailable: 2)",
      ],
    ],
    [
      "minAvailable equal to replicas is the same budget of none",
      budgets({ wiki: { replicas: 2, minAvailable: 2 } }),
      [
        "talos.upgrade Pulumi.cluster.yaml homelab:segment.talos.disruptionBudgets.wiki.minAvailable: cluster's disruption budget wiki lets none of its 2 replicas be unavailable, so no drain can ever evict one and an upgrade would stop at the first worker that runs it | fix: allow one replica down: maxUnavailable: 1 (or minAvailable: 1)",
      ],
    ],
    [
      "a single replica can never be drained without downtime",
      budgets({ db: { replicas: 1, maxUnavailable: 0 } }),
      [
        "talos.upgrade Pulumi.cluster.yaml homelab:segment.talos.disruptionBudgets.db.maxUnavailable: cluster's disruption budget db lets none of its 1 replica be unavailable, so no drain can ever evict one and an upgrade would stop at the first worker that runs it | fix: run at least 2 replicas and allow one down (replicas: 2, maxUnavailable: 1)",
      ],
    ],
    [
      "a budget that lets every replica go keeps nothing up",
      budgets({ ingress: { replicas: 2, maxUnavailable: 2 } }),
      [
        "talos.upgrade Pulumi.cluster.yaml homelab:segment.talos.disruptionBudgets.ingress.maxUnavailable: cluster's disruption budget ingress lets all 2 of its replicas be unavailable at once, so a drain may stop it entirely; a budget says what must stay up | fix: keep at least one up: maxUnavailable: 1 (or minAvailable: 1)",
      ],
    ],
    [
      "both or neither of maxUnavailable and minAvailable",
      budgets({ a: { replicas: 2, maxUnavailable: 1, minAvailable: 1 }, b: { replicas: 2 } }),
      [
        "talos.upgrade Pulumi.cluster.yaml homelab:segment.talos.disruptionBudgets.a: cluster's disruption budget a sets both maxUnavailable and minAvailable; a PodDisruptionBudget has exactly one | fix: keep one of them, e.g. maxUnavailable: 1",
        "talos.upgrade Pulumi.cluster.yaml homelab:segment.talos.disruptionBudgets.b: cluster's disruption budget b sets neither maxUnavailable nor minAvailable; a PodDisruptionBudget has exactly one | fix: keep one of them, e.g. maxUnavailable: 1",
      ],
    ],
    [
      "more replicas, one per worker, than workers",
      budgets({ ingress: { replicas: 4, maxUnavailable: 1 } }),
      [
        "talos.upgrade Pulumi.cluster.yaml homelab:segment.talos.disruptionBudgets.ingress.replicas: cluster's disruption budget ingress counts 4 replicas, one per worker, but the cluster has 3 workers | fix: lower replicas to 3 at most, or add workers",
      ],
    ],
    [
      "a wave of every worker",
      (f: LabFiles) => (segOf(f, "cluster").talos.upgrade = { workersAtOnce: 3 }),
      [
        "talos.upgrade Pulumi.cluster.yaml homelab:segment.talos.upgrade.workersAtOnce: cluster's upgrade takes 3 workers at once, but the cluster has 3; a wave of every worker leaves nothing to run workloads on | fix: set workersAtOnce to at most 2 (1 is the default)",
      ],
    ],
    [
      "every problem at once",
      (f: LabFiles) => {
        segOf(f, "cluster").talos.upgrade = { workersAtOnce: 4 };
        segOf(f, "cluster").talos.disruptionBudgets = { x: { replicas: 5, minAvailable: 5 } };
      },
      [
        "talos.upgrade Pulumi.cluster.yaml homelab:segment.talos.disruptionBudgets.x.minAvailable: cluster's disruption budget x lets none of its 5 replicas be unavailable, so no drain can ever evict one and an upgrade would stop at the first worker that runs it | fix: allow one replica down: maxUnavailable: 1 (or minAvailable: 4)",
        "talos.upgrade Pulumi.cluster.yaml homelab:segment.talos.disruptionBudgets.x.replicas: cluster's disruption budget x counts 5 replicas, one per worker, but the cluster has 3 workers | fix: lower replicas to 3 at most, or add workers",
        "talos.upgrade Pulumi.cluster.yaml homelab:segment.talos.upgrade.workersAtOnce: cluster's upgrade takes 4 workers at once, but the cluster has 3; a wave of every worker leaves nothing to run workloads on | fix: set workersAtOnce to at most 2 (1 is the default)",
      ],
    ],
  ])("%s", (_what, edit, expected) => {
    expect(problemsWith(edit)).toEqual(expected);
  });

  test("a cluster whose etcd cannot lose one member (the planner called directly: talos.cluster refuses it in a lab first)", () => {
    const r = planUpgrade({
      segment: "tiny",
      file: "Pulumi.tiny.yaml",
      controlPlanes: [{ host: "cp1", address: "10.0.0.11", domain: "pve1" }],
      workers: [],
      workersAtOnce: 1,
      budgets: {},
    });
    expect("problems" in r && r.problems).toEqual([
      {
        file: "Pulumi.tiny.yaml",
        path: "homelab:segment.talos.controlPlanes",
        value: ["cp1"],
        message:
          "tiny's Talos cluster has 1 control plane; upgrading one leaves 0 of 1 etcd members up, below the majority of 1, so the API would stop during the roll",
        fix: "use 3 control planes (or 5)",
      },
    ]);
  });

  test("the schema refuses a wave of no workers", () => {
    const files = referenceFiles();
    segOf(files, "cluster").talos.upgrade = { workersAtOnce: 0 };
    const parsed = parseFiles(files);
    expect(parsed.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      expect.stringMatching(/^homelab:segment\.talos\.upgrade\.workersAtOnce: /),
    ]);
  });
});
