/** A segment router's plan: the flows it forwards, its DNATs, routes and DHCP leases. */
import { unreachable } from "../unreachable";
import { hostFqdn, type Lab, type Proto, type Segment, segmentList } from "../lab";
import { Cidr, compareIp } from "../net";
import { compareText } from "../order";
import { type EgressGuard, planEgress, planEgressGuard, type RouterEgress } from "./egress";
import { type Endpoint, type Flow, zoneKind } from "./flows";
import { segmentHosts } from "./hosts";
import { type DmzGuard, dmzParties, labPartyFacts, planDmzGuard, type StaticNeighbour } from "./identity";
import { parseIface } from "./interface";
import { planRouterTunnel, type RouterTunnelPlan } from "./tunnel";
import { type Deadline, withLaterDeadline } from "./until";

/** One rule a router enforces for a flow: addresses, protocol and port, and the flow it serves. */
export interface FlowRule {
  readonly from: Cidr;
  readonly to: Cidr;
  readonly proto: Proto;
  readonly port: number;
  readonly flow: string;
  /** A temporary flow's deadline: the router stops forwarding it then. */
  readonly until?: Deadline;
}

/** A destination NAT on one side of a router: its WAN address, or its tunnel address. */
export interface Dnat {
  /** Where the translated traffic arrives: `wan` (the jump host's SSH, for the admins) or `tunnel` (published services, from the infra host). */
  readonly side: "wan" | "tunnel";
  readonly proto: Proto;
  /** Port on the router's address of that side. */
  readonly wanPort: number;
  readonly to: string;
  readonly toPort: number;
  /** Only these sources are translated; anyone else hits the drop policy. */
  readonly sources: readonly Cidr[];
  /** The flows it serves: several published services may share one backend port (an ingress). */
  readonly flows: readonly string[];
  /** A temporary hole's deadline (the latest of its flows'; none if any is for good): the router stops translating it then. */
  readonly until?: Deadline;
}

/** A static DHCP lease. */
export interface DhcpHost {
  readonly name: string;
  readonly mac: string;
  readonly address: string;
}

/** One side of a router: its interface name (what the ruleset and dnsmasq name), address and, on a VLAN, its port and tag. */
export interface RouterIface {
  readonly iface: string;
  readonly address: string;
  /** Set when `iface` is a VLAN sub-interface (`enp2s0.20`): its parent port and VLAN id. */
  readonly vlan?: { readonly parent: string; readonly id: number };
}

/** A router interface from its name and address. */
function routerIface(name: string, address: string): RouterIface {
  const i = parseIface(name);
  return { iface: name, address, ...(i.kind === "vlan" ? { vlan: { parent: i.parent, id: i.vlan } } : {}) };
}

/** Everything a segment's router must do. */
export interface RouterPlan {
  readonly name: string;
  readonly segment: string;
  readonly fqdn: string;
  readonly hardware: string;
  readonly linkGbps: number;
  /** The router's own SSH host key, pinned by Pulumi and by the client config. */
  readonly sshHostKey: string;
  /** The WAN side, on the DMZ; `mac` is its port's own. */
  readonly wan: RouterIface & { readonly subnet: Cidr; readonly gateway: string; readonly mac: string };
  readonly lan: RouterIface & { readonly subnet: Cidr };
  /** Other segments, reached through their routers' WAN addresses. */
  readonly routes: readonly { readonly to: Cidr; readonly via: string; readonly segment: string }[];
  /** Every network of the lab (DMZ and all segments): lab-bound traffic is checked against the flows, the rest is internet. */
  readonly labNets: readonly Cidr[];
  /** Where internet-bound traffic may go (masqueraded): nowhere, the internet, or an allowlist. */
  readonly egress: RouterEgress;
  /** Untrusted segments only: the edge router and non-public ranges, which are never "the internet". */
  readonly guard: EgressGuard;
  /** Forwarded from WAN to LAN (other segments or the DMZ into this one), not by DNAT. */
  readonly inbound: readonly FlowRule[];
  /** Forwarded from LAN to WAN towards lab networks. */
  readonly outbound: readonly FlowRule[];
  /** Published services (on the tunnel side) and the SSH entry to the jump host (on the WAN side). */
  readonly dnat: readonly Dnat[];
  /** The jump host's address and MAC: the only source allowed SSH into the router itself, both together. */
  readonly jumpAddress: string;
  readonly jumpMac: string;
  /** What the router enforces on its WAN side: the DMZ parties' addresses bound to their MACs (model/network/identity.ts). */
  readonly dmzGuard: DmzGuard;
  /**
   * Static neighbours, pinned at every boot and by every release: the DMZ parties on the WAN
   * side, and the jump host on the LAN side (so the router's SSH answers go to its MAC only).
   */
  readonly neighbours: readonly StaticNeighbour[];
  /** Its end of the WireGuard tunnel from the infra host (model/network/tunnel.ts), when it has one. */
  readonly tunnel?: RouterTunnelPlan;
  readonly dhcp: {
    readonly start: string;
    readonly end: string;
    readonly leaseTime: string;
    readonly netmask: string;
    readonly dns: string;
    readonly ntp: string;
    readonly domain: string;
    readonly hosts: readonly DhcpHost[];
  };
}

/** What a router forwards for the flows: lab-bound rules in each direction, and DNATs on its WAN address. */
interface Forwarding {
  readonly inbound: FlowRule[];
  readonly outbound: FlowRule[];
  readonly dnat: Dnat[];
}

/** One rule per source network, destination network and port of the flow. */
function flowRules(f: Flow): FlowRule[] {
  return f.from.cidrs.flatMap((from) =>
    f.to.cidrs.flatMap((to) =>
      f.ports.map((p) => ({ from, to, proto: p.proto, port: p.port, flow: f.id, ...(f.until ? { until: f.until } : {}) })),
    ),
  );
}

/** Whether traffic from or to this endpoint is checked against the lab's flows; internet traffic is masqueraded or dropped instead. */
function isLabBound(e: Endpoint): boolean {
  const kind = zoneKind(e);
  switch (kind) {
    case "segment":
    case "dmz":
    case "admin":
      return true;
    case "internet":
      return false;
    default:
      return unreachable(kind, "zone kind");
  }
}

/** A flow this router forwards by address: inbound when it ends here, outbound when it starts here. */
function forward(seg: Segment, f: Flow, into: Forwarding): void {
  const fromHere = f.from.zone === seg.name;
  const toHere = f.to.zone === seg.name;
  if (fromHere && toHere) return; // stays on the segment's switch; the router never sees it
  if (toHere && isLabBound(f.from)) into.inbound.push(...flowRules(f));
  if (fromHere && isLabBound(f.to)) into.outbound.push(...flowRules(f));
}

/** A flow that enters the segment through a DNAT on the router's WAN address. */
function translate(seg: Segment, f: Flow, into: Forwarding): void {
  if (f.to.zone !== seg.name || !f.via) return;
  const toPort = f.ports[0]!.port;
  for (const p of f.via.ports)
    into.dnat.push({
      side: f.via.side,
      proto: p.proto,
      wanPort: p.port,
      to: f.to.cidrs[0]!.network,
      toPort,
      sources: f.from.cidrs,
      flows: [f.id],
      ...(f.until ? { until: f.until } : {}),
    });
}

/** Sort every flow into what this segment's router forwards, by the kind of flow. */
function planForwarding(seg: Segment, flows: readonly Flow[]): Forwarding {
  const into: Forwarding = { inbound: [], outbound: [], dnat: [] };
  for (const f of flows) {
    switch (f.kind) {
      case "publish":
        translate(seg, f, into);
        break;
      case "ssh":
        // The admins' SSH enters by DNAT to the jump host; the jump host's SSH inside is forwarded.
        if (f.via) translate(seg, f, into);
        else forward(seg, f, into);
        break;
      case "expose":
      case "proxy":
      case "dns":
      case "ntp":
      case "storage":
      case "database":
      case "registry":
      case "explicit":
        forward(seg, f, into);
        break;
      default:
        unreachable(f.kind, "flow kind");
    }
  }
  return into;
}

/** Order of a router's flow rules: source, destination, protocol, port, flow. */
function byRule(a: FlowRule, b: FlowRule): number {
  return (
    compareIp(a.from.network, b.from.network) ||
    a.from.prefix - b.from.prefix ||
    compareIp(a.to.network, b.to.network) ||
    a.to.prefix - b.to.prefix ||
    compareText(a.proto, b.proto) ||
    a.port - b.port ||
    compareText(a.flow, b.flow)
  );
}

/**
 * Two published services on one backend port share one DNAT (an ingress routes by Host);
 * validation guarantees shared WAN ports lead to the same backend.
 */
function mergeDnat(dnat: readonly Dnat[]): Dnat[] {
  const shared = new Map<string, Dnat>();
  for (const d of dnat) {
    const key = `${d.side}/${d.proto}/${d.wanPort}`;
    const seen = shared.get(key);
    if (!seen) {
      shared.set(key, d);
      continue;
    }
    // One ingress port serves both: it stays open as long as the longest-lived of them.
    shared.set(key, { ...withLaterDeadline(seen, d), flows: [...seen.flows, ...d.flows].sort() });
  }
  return [...shared.values()].sort((a, b) => compareText(a.side, b.side) || compareText(a.proto, b.proto) || a.wanPort - b.wanPort);
}

/** Turn flows into per-router rules: the lab-bound traffic each router forwards, and its DNATs. */
export function planRouter(lab: Lab, seg: Segment, flows: readonly Flow[]): RouterPlan {
  const hw = lab.hardware.routers[seg.router.hardware]!;
  const segs = segmentList(lab);
  const labNets = [lab.dmz.subnet, ...segs.map((s) => s.subnet)].sort((a, b) => compareIp(a.network, b.network));
  const { inbound, outbound, dnat } = planForwarding(seg, flows);
  const hosts = segmentHosts(lab, seg);
  const jump = hosts.find((h) => h.id === seg.jumpHost)!;
  // Validation (ssh.jump-hosts) guarantees the jump host's MAC.
  const jumpMac = jump.mac!;
  const dmzGuard = planDmzGuard(dmzParties(labPartyFacts(lab)), seg.router.name, hw.wanInterface);
  const tunnel = planRouterTunnel(lab, seg);
  return {
    name: seg.router.name,
    segment: seg.name,
    fqdn: hostFqdn(lab, seg.name, seg.router.name),
    hardware: seg.router.hardware,
    linkGbps: hw.linkGbps,
    sshHostKey: seg.router.sshHostKey,
    wan: { ...routerIface(hw.wanInterface, seg.router.wanAddress), subnet: lab.dmz.subnet, gateway: lab.dmz.gateway, mac: hw.wanMac },
    lan: { ...routerIface(hw.lanInterface, seg.router.lanAddress), subnet: seg.subnet },
    routes: segs.filter((s) => s.name !== seg.name).map((s) => ({ to: s.subnet, via: s.router.wanAddress, segment: s.name })),
    labNets,
    egress: planEgress(seg.internet, seg.egress),
    guard: planEgressGuard(seg.trust, lab.dmz.gateway),
    inbound: dedupe(inbound).sort(byRule),
    outbound: dedupe(outbound).sort(byRule),
    dnat: mergeDnat(dnat),
    jumpAddress: jump.address,
    jumpMac,
    dmzGuard,
    neighbours: [
      ...dmzGuard.neighbours,
      { iface: hw.lanInterface, address: jump.address, mac: jumpMac, what: `the jump host ${seg.name}/${jump.id}` },
    ],
    ...(tunnel ? { tunnel } : {}),
    dhcp: {
      start: seg.dhcp.start,
      end: seg.dhcp.end,
      leaseTime: seg.dhcp.leaseTime,
      netmask: seg.subnet.netmask,
      dns: lab.dmz.dns,
      ntp: lab.dmz.ntp,
      domain: `${seg.name}.${lab.domain}`,
      hosts: hosts.filter((h) => h.mac).map((h) => ({ name: h.id, mac: h.mac!, address: h.address })),
    },
  };
}

/** One rule per source, destination, protocol and port: the first flow's, open as long as the longest-lived flow it serves. */
export function dedupe(rules: FlowRule[]): FlowRule[] {
  const seen = new Map<string, FlowRule>();
  for (const r of rules) {
    const key = `${r.from}|${r.to}|${r.proto}|${r.port}`;
    const first = seen.get(key);
    if (!first) {
      seen.set(key, r);
      continue;
    }
    seen.set(key, withLaterDeadline(first, r));
  }
  return [...seen.values()];
}
