/** Proxmox placement (placement.md): node loads, VMs, and what happens when a node fails. */
import { gib, minutesText, placementText } from "../model/words";
import { cell, code, joinWords, Page, table } from "./markdown";
import { nav, type DocsContext } from "./context";
import type { DocsFlow, DocsVm } from "./contract";
import { compareText } from "../model/order";
import { mayUse } from "../model/network/hosts";
import type { PlannedNic } from "../model/compute/placement";
import { unreachable } from "../model/unreachable";

/** A VM's NICs: `lab`, `lab (VLAN 30)`, `passthrough nic0`. */
function nicsText(nics: readonly PlannedNic[]): string {
  return nics
    .map((n) => {
      switch (n.kind) {
        case "bridge":
          return n.vlan === undefined ? cell(n.bridge) : `${cell(n.bridge)} (VLAN ${n.vlan})`;
        case "passthrough":
          return `passthrough ${cell(n.device)}`;
        default: {
          return unreachable(n, "NIC kind");
        }
      }
    })
    .join(", ");
}

/** The rules of placement; with one node, N-1 is not one of them. */
function introText(cpuOvercommit: number, nodes: number): string {
  const limits = `A node hands out at most ${cpuOvercommit} vCPUs per CPU thread; its memory limit is its RAM less what the hypervisor keeps. VMs with a passed-through device are pinned to the node that has it.`;
  return nodes === 1
    ? `${limits} With one node there is nowhere to fail over to, so N-1 is not checked (see below). \`npm run check\` refuses a lab whose VMs do not fit the node.`
    : `${limits} Their migration is off. Every other VM is HA-managed, and must still fit on the surviving nodes when any one node fails (N-1). An HA VM restarts on its failover node from the disks that node already has: node-local ZFS disks are replicated there on a schedule, so its recovery point (the writes a failover loses at most) is the replication interval, and each replica takes room on that node's datastore all the time. \`npm run check\` refuses a lab that breaks any of this.`;
}

/** The writes a VM loses when its node fails and it restarts elsewhere. */
function recoveryText(v: DocsVm): string {
  if (!v.failover) return "down with its node";
  return v.failover.replicationMinutes === undefined ? "nothing (shared storage)" : minutesText(v.failover.replicationMinutes);
}

/** Order `22/tcp`-style ports: TCP before UDP, then by number. */
function comparePortText(a: string, b: string): number {
  const [pa, ta] = a.split("/") as [string, string];
  const [pb, tb] = b.split("/") as [string, string];
  return compareText(ta, tb) || Number(pa) - Number(pb);
}

/**
 * Whom the proxy admits to a published service, for a flow from the proxy: anyone for an
 * internet service, else the segments that use it (its usedBy, or every trusted segment; none
 * for an admins-exposed one) and the admin workstations (render/nginx.ts's allow list).
 */
function admittedText(ctx: DocsContext, f: DocsFlow): string {
  if (f.kind !== "publish") return cell(f.from.label);
  const [, rest = ""] = f.id.split(":");
  const [segment, service] = rest.split("/");
  const svc = ctx.segments.find((s) => s.name === segment)?.services.find((x) => x.name === service);
  if (!svc) return cell(f.from.label);
  const who =
    svc.exposure === "internet"
      ? "the internet"
      : joinWords([...ctx.dmz.segments.filter((s) => mayUse(svc, s)).map((s) => cell(s.name)), "admin workstations"]);
  return `${cell(f.from.label)} (${cell(svc.name)}: ${who})`;
}

/**
 * Who may reach a VM from another network, per port: the source of every flow that ends at
 * it or its whole network, and behind the proxy whom the proxy admits. Hosts on its own
 * network switch reach it directly; the table's intro says so.
 */
function reachText(ctx: DocsContext, v: { readonly segment: string; readonly host: string }): string {
  const byPort = new Map<string, Set<string>>();
  for (const f of ctx.flowsTo(v.segment, v.host)) {
    // The jump host's SSH into its whole segment does not reach the jump host from elsewhere.
    if (f.from.zone === v.segment && f.from.host === v.host) continue;
    const from = admittedText(ctx, f);
    for (const port of f.ports) byPort.set(port, (byPort.get(port) ?? new Set()).add(from));
  }
  if (byPort.size === 0) return "nobody (no flow)";
  return [...byPort]
    .sort(([a], [b]) => comparePortText(a, b))
    .map(([port, froms]) => `${code(port)} from ${[...froms].sort(compareText).join(", ")}`)
    .join("<br>");
}

/** The VMs table: where each runs, where it fails over to and what a failover loses. */
function addVms(p: Page, ctx: DocsContext, from: string): void {
  const pl = ctx.dmz.placement;
  p.heading(2, "VMs");
  p.add(
    "Who may reach it: per port, every source a flow lets through a firewall to the VM (the proxy, for a published service, with whom the proxy admits to it); everything else from another network is dropped. Hosts on the VM's own network reach it directly, with no router between.",
  );
  p.add(
    table(
      ["VM", "host", "id", "node", "vCPU", "memory", "disk", "NICs", "placement", "fails over to", "recovery point", "who may reach it"],
      pl.vms.map((v) => [
        cell(v.name),
        ctx.hostLink(v.segment, v.host, from, `${v.host} in ${v.segment}`),
        String(v.vmId),
        cell(v.node),
        String(v.cores),
        `${gib(v.memoryMiB)} GiB`,
        `${v.diskGiB} GiB`,
        nicsText(v.nics),
        placementText(v),
        v.failover ? cell(v.failover.to) : v.ha ? "nowhere" : "none (pinned)",
        recoveryText(v),
        reachText(ctx, v),
      ]),
    ),
  );
}

/** The placement page: nodes with their N-1 headroom, VMs, and each node failure. */
export function renderPlacement(ctx: DocsContext): string {
  const from = "placement.md";
  const pl = ctx.dmz.placement;
  const p = new Page();
  p.heading(1, "Proxmox placement");
  p.add(nav(from));
  p.add(introText(pl.cpuOvercommit, pl.nodes.length));
  p.heading(2, "Nodes");
  p.add(
    table(
      [
        "node",
        "hardware",
        "vCPU used / limit",
        "memory used / limit",
        "storage used / limit",
        "worst case after one other node fails",
        "networks",
      ],
      pl.nodes.map((n) => [
        cell(n.node),
        cell(n.description),
        `${n.usedVcpus} / ${n.vcpuLimit}`,
        `${gib(n.usedMemoryMiB)} / ${gib(n.memoryMiB)} GiB`,
        n.storage
          .map((s) => `${cell(s.datastore)} ${s.usedGiB}${s.replicaGiB > 0 ? ` + ${s.replicaGiB} replicas` : ""} / ${s.limitGiB} GiB`)
          .join("<br>"),
        n.worstCase.whenFails === ""
          ? "unchanged: no HA VM restarts here"
          : `${gib(n.worstCase.usedMemoryMiB)} / ${gib(n.memoryMiB)} GiB, ${n.worstCase.usedVcpus} / ${n.vcpuLimit} vCPU, when ${cell(n.worstCase.whenFails)} fails (${gib(n.memoryMiB - n.worstCase.usedMemoryMiB)} GiB left)`,
        n.networks.map(cell).join(", "),
      ]),
    ),
  );
  addVms(p, ctx, from);
  p.heading(2, "When a node fails");
  if (pl.nodes.length === 1) {
    const only = pl.nodes[0]!.node;
    p.add(
      `The lab has one Proxmox node, ${cell(only)}: no VM can fail over, and \`ha\` has no effect. While ${cell(only)} is down, every VM is down. N-1 is not checked; \`npm run check\` says so in one warning.`,
    );
    return p.text();
  }
  const stranded = pl.failover.filter((f) => f.stranded.length > 0);
  p.add(
    stranded.length === 0
      ? "Every HA VM finds room on the surviving nodes whichever node fails."
      : `**N-1 is broken**: when ${joinWords(stranded.map((f) => f.failed))} fails, some HA VMs fit nowhere.`,
  );
  p.add(
    table(
      ["node fails", "HA VMs restart on", "down until it returns (pinned)", "fit nowhere"],
      pl.failover.map((f) => [
        cell(f.failed),
        f.moves.length === 0 ? "none" : f.moves.map((m) => `${cell(m.vm)} → ${cell(m.to)}`).join("<br>"),
        f.down.length === 0 ? "none" : f.down.map(cell).join(", "),
        f.stranded.length === 0 ? "none" : f.stranded.map(cell).join(", "),
      ]),
    ),
  );
  return p.text();
}
