/**
 * The upgrade waves of a Talos cluster: the order in which a version change takes its
 * nodes down, one wave at a time, so that nothing that must stay up goes down.
 *
 * - Control planes first, one per wave. Each runs an etcd member: with one down, n-1 of n
 *   remain, which must still be a majority (floor(n/2)+1), or the API stops. One at a time
 *   keeps the most members up; 5 control planes could afford two, but then a single Proxmox
 *   node failing mid-step would take etcd down with it, so the roll never takes that risk.
 * - Then the workers, in waves of at most `upgrade.workersAtOnce`, and never more than any
 *   disruption budget allows: a PDB'd workload runs at most one replica per worker (the
 *   platform spreads it by host name), so a wave of k workers takes at most k replicas of
 *   each workload down, and k may not exceed the smallest budget. A wave never takes every
 *   worker at once: that is downtime for everything the cluster runs.
 *
 * Placement enters as each node's failure domain (its Proxmox node, or the machine itself
 * for a physical node): every wave says which single Proxmox node failure it still survives,
 * so the README and docs can say how exposed the cluster is while a step runs.
 */
import type { Segment } from "../lab";
import { compareText } from "../order";
import { count, type Problem, problem } from "../problems";
import { sp } from "../rule";
import { etcdMajority, physicalDomain } from "./quorum";
import type { DisruptionBudget, Talos } from "./schema";

/** One node of the cluster as the roll sees it. */
export interface RollMember {
  readonly host: string;
  /** The address the Talos API and kubelet answer on. */
  readonly address: string;
  /** Its failure domain: the Proxmox node its VM runs on, or `host:<name>` for a machine of its own. */
  readonly domain: string;
}

/** A workload's budget, resolved: how many of its replicas may be down at once. */
export interface ResolvedBudget {
  readonly workload: string;
  readonly replicas: number;
  readonly maxUnavailable: number;
}

/** What the planner reads: the cluster's members with their placement, and its budgets. */
export interface RollInput {
  /** The segment, for messages and config paths. */
  readonly segment: string;
  readonly file: string;
  readonly controlPlanes: readonly RollMember[];
  readonly workers: readonly RollMember[];
  /** `talos.upgrade.workersAtOnce`. */
  readonly workersAtOnce: number;
  /** `talos.disruptionBudgets`, by workload name. */
  readonly budgets: Readonly<Record<string, DisruptionBudget>>;
}

/** One wave: the nodes upgraded together; the next wave starts only when this one is healthy. */
export interface UpgradeWave {
  /** Stable id: `control-plane-<host>` or `workers-<n>` (1-based). */
  readonly id: string;
  readonly kind: "control-plane" | "workers";
  readonly members: readonly RollMember[];
  /** etcd members up while this wave is down, and how many of the whole are a majority. */
  readonly etcd: { readonly up: number; readonly of: number; readonly majority: number };
  /** Workers still up (running workloads) while this wave is down. */
  readonly workersUp: number;
  /**
   * The Proxmox nodes (failure domains) whose loss during this wave would still leave an etcd
   * majority and at least one worker up, in name order. Empty: the step tolerates no further failure.
   */
  readonly survivesLossOf: readonly string[];
}

/** The roll: every wave in order, and what bounded the workers' wave size. */
export interface UpgradePlan {
  readonly waves: readonly UpgradeWave[];
  /** Workers per wave, at most. */
  readonly workersPerWave: number;
  /** What set it: `upgrade.workersAtOnce`, or the budget of a workload (the first by name among the tightest). */
  readonly workersLimitedBy: { readonly kind: "setting" } | { readonly kind: "budget"; readonly workload: string };
}

/** The roll's input from a segment with a Talos cluster (its hosts' configured placement). */
export function rollInput(seg: Segment, t: Talos): RollInput {
  const member = (host: string): RollMember => {
    const h = seg.hosts[host]!;
    return { host, address: h.address, domain: h.vm ? h.vm.node : physicalDomain(host) };
  };
  return {
    segment: seg.name,
    file: seg.file,
    controlPlanes: t.controlPlanes.map(member),
    workers: t.workers.map(member),
    workersAtOnce: t.upgrade.workersAtOnce,
    budgets: t.disruptionBudgets,
  };
}

/** The config path of a budget's field. */
function budgetPath(workload: string, key?: string): string {
  return key === undefined ? sp("talos", "disruptionBudgets", workload) : sp("talos", "disruptionBudgets", workload, key);
}

/** A budget resolved to replicas that may be down, or the problems that make it unusable. */
function resolveBudget(input: RollInput, workload: string, b: DisruptionBudget): ResolvedBudget | Problem[] {
  const at = (key?: string) => ({ file: input.file, path: budgetPath(workload, key) });
  const both = b.maxUnavailable !== undefined && b.minAvailable !== undefined;
  if (both || (b.maxUnavailable === undefined && b.minAvailable === undefined)) {
    return [
      problem(
        at(),
        b,
        `${input.segment}'s disruption budget ${workload} sets ${both ? "both maxUnavailable and minAvailable" : "neither maxUnavailable nor minAvailable"}; a PodDisruptionBudget has exactly one`,
        `keep one of them, e.g. maxUnavailable: 1`,
      ),
    ];
  }
  const down = b.maxUnavailable ?? b.replicas - b.minAvailable!;
  const key = b.maxUnavailable !== undefined ? "maxUnavailable" : "minAvailable";
  const value = b.maxUnavailable ?? b.minAvailable;
  const out: Problem[] = [];
  if (down <= 0) {
    out.push(
      problem(
        at(key),
        value,
        `${input.segment}'s disruption budget ${workload} lets none of its ${count(b.replicas, "replica")} be unavailable, so no drain can ever evict one and an upgrade would stop at the first worker that runs it`,
        b.replicas > 1
          ? `allow one replica down: maxUnavailable: 1 (or minAvailable: ${b.replicas - 1})`
          : `run at least 2 replicas and allow one down (replicas: 2, maxUnavailable: 1)`,
      ),
    );
  } else if (down >= b.replicas) {
    out.push(
      problem(
        at(key),
        value,
        `${input.segment}'s disruption budget ${workload} lets all ${b.replicas} of its replicas be unavailable at once, so a drain may stop it entirely; a budget says what must stay up`,
        b.replicas > 1
          ? `keep at least one up: maxUnavailable: ${b.replicas - 1} (or minAvailable: 1)`
          : `run at least 2 replicas and allow one down (replicas: 2, maxUnavailable: 1)`,
      ),
    );
  }
  if (b.replicas > input.workers.length) {
    out.push(
      problem(
        at("replicas"),
        b.replicas,
        `${input.segment}'s disruption budget ${workload} counts ${count(b.replicas, "replica")}, one per worker, but the cluster has ${input.workers.length} worker${input.workers.length === 1 ? "" : "s"}`,
        `lower replicas to ${input.workers.length} at most, or add workers`,
      ),
    );
  }
  return out.length > 0 ? out : { workload, replicas: b.replicas, maxUnavailable: down };
}

/** Domains whose loss, on top of `down`, still leaves an etcd majority and a worker up. */
function survivable(input: RollInput, down: ReadonlySet<string>): string[] {
  const up = (ms: readonly RollMember[]) => ms.filter((m) => !down.has(m.host));
  const majority = etcdMajority(input.controlPlanes.length);
  const domains = [...new Set([...input.controlPlanes, ...input.workers].map((m) => m.domain))].sort(compareText);
  return domains.filter((d) => {
    const cps = up(input.controlPlanes).filter((m) => m.domain !== d).length;
    const workers = up(input.workers).filter((m) => m.domain !== d).length;
    return cps >= majority && (input.workers.length === 0 || workers > 0);
  });
}

/** One wave with what stays up while it is down. */
function wave(input: RollInput, id: string, kind: UpgradeWave["kind"], members: readonly RollMember[]): UpgradeWave {
  const down = new Set(members.map((m) => m.host));
  const n = input.controlPlanes.length;
  return {
    id,
    kind,
    members,
    etcd: { up: input.controlPlanes.filter((m) => !down.has(m.host)).length, of: n, majority: etcdMajority(n) },
    workersUp: input.workers.filter((m) => !down.has(m.host)).length,
    survivesLossOf: survivable(input, down),
  };
}

/**
 * The waves of a roll, or every reason it cannot run without downtime. Pure: the same input
 * gives the same waves, in the cluster's listed order.
 */
export function planUpgrade(input: RollInput): { readonly plan: UpgradePlan } | { readonly problems: readonly Problem[] } {
  const problems: Problem[] = [];
  const n = input.controlPlanes.length;
  if (n > 0 && n - 1 < etcdMajority(n)) {
    problems.push(
      problem(
        { file: input.file, path: sp("talos", "controlPlanes") },
        input.controlPlanes.map((m) => m.host),
        `${input.segment}'s Talos cluster has ${n} control plane${n === 1 ? "" : "s"}; upgrading one leaves ${n - 1} of ${n} etcd members up, below the majority of ${etcdMajority(n)}, so the API would stop during the roll`,
        `use 3 control planes (or 5)`,
      ),
    );
  }
  const budgets: ResolvedBudget[] = [];
  for (const workload of Object.keys(input.budgets).sort(compareText)) {
    const r = resolveBudget(input, workload, input.budgets[workload]!);
    if (Array.isArray(r)) problems.push(...r);
    else budgets.push(r);
  }
  const w = input.workers.length;
  if (w > 0 && input.workersAtOnce >= w) {
    problems.push(
      problem(
        { file: input.file, path: sp("talos", "upgrade", "workersAtOnce") },
        input.workersAtOnce,
        `${input.segment}'s upgrade takes ${input.workersAtOnce} workers at once, but the cluster has ${w}; a wave of every worker leaves nothing to run workloads on`,
        w > 1
          ? `set workersAtOnce to at most ${w - 1} (1 is the default)`
          : `add a worker, so that one can run workloads while the other upgrades`,
      ),
    );
  }
  if (problems.length > 0) return { problems };

  // The tightest budget bounds the wave; ties go to the first workload by name.
  const tightest = [...budgets].sort((a, b) => a.maxUnavailable - b.maxUnavailable || compareText(a.workload, b.workload))[0];
  const limitedByBudget = tightest !== undefined && tightest.maxUnavailable < input.workersAtOnce;
  const size = limitedByBudget ? tightest.maxUnavailable : input.workersAtOnce;
  const waves: UpgradeWave[] = input.controlPlanes.map((m) => wave(input, `control-plane-${m.host}`, "control-plane", [m]));
  for (let i = 0; i < w; i += size) waves.push(wave(input, `workers-${i / size + 1}`, "workers", input.workers.slice(i, i + size)));
  return {
    plan: {
      waves,
      workersPerWave: size,
      workersLimitedBy: limitedByBudget ? { kind: "budget", workload: tightest.workload } : { kind: "setting" },
    },
  };
}

/** The roll's problems for a segment's cluster (the rule talos.upgrade reports them). */
export function upgradeProblems(seg: Segment, t: Talos): readonly Problem[] {
  const r = planUpgrade(rollInput(seg, t));
  return "problems" in r ? r.problems : [];
}
