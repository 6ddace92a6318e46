/**
 * etcd quorum across Proxmox nodes. Every control plane runs an etcd member; the cluster
 * keeps working while a majority, floor(n/2)+1 of its n members, is up. The lab promises
 * to survive the loss of any one node, so no node may hold more control planes than
 * n - (floor(n/2)+1). With 3 members that is one per node; with 5 it is two, so 5 control
 * planes spread 2/2/1 over 3 nodes keep quorum whichever node fails. A physical control
 * plane counts towards n and is a failure domain of its own: it fails alone.
 */
import { singleNode } from "../compute/single-node";
import type { Segment } from "../lab";
import type { LabIndex } from "../lab-index";
import { compareText } from "../order";
import { problem, type Problem } from "../problems";
import { list, sp } from "../rule";

/** A majority of `n` etcd members. */
export function etcdMajority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** The most control planes one node may hold so that losing it leaves a majority. */
export function maxPerNode(n: number): number {
  return n - etcdMajority(n);
}

/** One control plane and the failure domain it shares fate with. */
export interface ControlPlane {
  readonly host: string;
  /** The Proxmox node its VM runs on, or physicalDomain(host) for a machine of its own. */
  readonly domain: string;
}

const PHYSICAL = "host:";

/** The failure domain of a physical control plane: the machine itself, `host:<name>`. */
export function physicalDomain(host: string): string {
  return `${PHYSICAL}${host}`;
}

function isPhysical(domain: string): boolean {
  return domain.startsWith(PHYSICAL);
}

/** A Proxmox node holding too many control planes, and a fix that can be followed. */
export interface QuorumBreach {
  readonly node: string;
  /** The control planes on it, in name order. */
  readonly hosts: readonly string[];
  readonly limit: number;
  /** Moves that fix it, `host -> node`, onto candidate nodes with room; may be fewer than needed. */
  readonly moves: readonly { readonly host: string; readonly to: string }[];
  /** Proxmox nodes the control plane VMs need at least: ceil(VMs / limit) (or VMs + 1 when limit is 0). */
  readonly nodesNeeded: number;
}

/**
 * Every Proxmox node whose loss would cost etcd its quorum, with moves onto `candidates`
 * (nodes that can run a control plane of the segment) that bring each under the limit.
 * n counts every control plane, physical ones included; only VMs can be moved.
 */
export function quorumBreaches(cps: readonly ControlPlane[], candidates: readonly string[]): QuorumBreach[] {
  const n = cps.length;
  const vms = cps.filter((cp) => !isPhysical(cp.domain)).length;
  const limit = maxPerNode(n);
  const count = new Map<string, string[]>();
  for (const cp of cps) count.set(cp.domain, [...(count.get(cp.domain) ?? []), cp.host].sort(compareText));
  const load = (node: string) => count.get(node)?.length ?? 0;
  const breaches: QuorumBreach[] = [];
  for (const node of [...count.keys()].sort(compareText)) {
    // A machine is one control plane: it cannot hold more, and it cannot be split.
    if (isPhysical(node)) continue;
    const hosts = count.get(node)!;
    if (hosts.length <= limit) continue;
    const moves: { host: string; to: string }[] = [];
    // Move the last ones by name; each to the candidate with the fewest control planes.
    for (const host of hosts.slice(limit).reverse()) {
      const to = candidates.filter((c) => c !== node && load(c) < limit).sort((a, b) => load(a) - load(b) || compareText(a, b))[0];
      if (!to) break;
      moves.push({ host, to });
      count.set(to, [...(count.get(to) ?? []), host]);
    }
    breaches.push({ node, hosts, limit, moves: moves.reverse(), nodesNeeded: limit === 0 ? vms + 1 : Math.ceil(vms / limit) });
  }
  return breaches;
}

/** The etcd-quorum problems of a segment's control planes: one per Proxmox node that holds too many. */
export function quorumProblems(ix: LabIndex, seg: Segment, cps: readonly ControlPlane[]): Problem[] {
  const n = cps.length;
  // Fewer than 3: the count itself is reported by talos.cluster. One node: nothing survives its loss (one warning, labWarnings).
  if (n < 3 || singleNode(ix.lab) !== undefined) return [];
  const candidates = ix.nodesWithNetwork(seg.name);
  const vms = cps.filter((cp) => !isPhysical(cp.domain)).length;
  const planes = vms === n ? `${n} control planes` : `${vms} control plane VMs (beside ${n - vms} physical)`;
  return quorumBreaches(cps, candidates).map((b) => {
    const excess = b.hosts.slice(b.limit);
    const fix =
      b.moves.length === excess.length
        ? b.moves.map((m) => `move ${m.host} to ${m.to} (hosts.${m.host}.vm.node: ${m.to})`).join(" and ")
        : `${planes} at most ${b.limit} per node need at least ${b.nodesNeeded} Proxmox nodes with a bridge into ${seg.name} (now ${candidates.length}: ${list(candidates)}); add ${seg.name} to the networks of more nodes, then move ${excess.join(", ")} there`;
    return problem(
      { file: seg.file, path: sp("hosts", excess[0]!, "vm.node") },
      b.node,
      `control planes ${b.hosts.join(", ")} of ${seg.name} all run on ${b.node}; etcd keeps quorum while ${etcdMajority(n)} of its ${n} members are up, so one node may hold at most ${b.limit}, and losing ${b.node} would leave ${n - b.hosts.length}`,
      fix,
    );
  });
}
