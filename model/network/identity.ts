/**
 * Who is who on the DMZ. The DMZ is the home network behind the ISP edge, shared with the
 * unmanaged edge router and every home device, so an address there proves nothing: one ARP
 * reply takes it over. Every managed box on it (the segment routers and the infra host)
 * therefore knows the others by address *and* MAC:
 *
 * - static neighbours: its own traffic to another party's address always goes to that
 *   party's MAC, whatever ARP says (`ip neigh replace ... nud permanent`);
 * - a source guard: a packet that arrives on its DMZ side claiming a party's address (or a
 *   network routed behind a party) passes only with that party's Ethernet source; any other
 *   is dropped and counted (nftables `ip saddr . ether saddr`, render/nft-identity.ts).
 *
 * Defence in depth: whatever else authenticates a hop, a DMZ host that spoofs a party's
 * address gets nothing through these boxes. Addresses no party claims (the admins'
 * workstations, home devices) stay unbound.
 */
import { dmzServiceAddresses, type Lab, segmentList } from "../lab";
import { Cidr, compareCidr, compareIp } from "../net";
import { compareText } from "../order";

/** One managed or pinned box on the DMZ: its MAC, its own addresses, and the networks it routes into the DMZ. */
export interface DmzParty {
  /** `edge`, `infra` or the router's name. */
  readonly id: string;
  /** What it is, for comments: `the ISP edge router`, `internal-fw (internal)`. */
  readonly label: string;
  readonly mac: string;
  /** Its addresses on the DMZ. */
  readonly addresses: readonly string[];
  /** Networks whose traffic it forwards onto the DMZ (a segment behind its router). */
  readonly networks: readonly Cidr[];
}

/** One binding of the source guard: traffic from `from` must come from `mac`. */
export interface MacBinding {
  readonly from: Cidr;
  readonly mac: string;
  /** The party, for the element's comment. */
  readonly what: string;
}

/** A static neighbour entry on one interface. */
export interface StaticNeighbour {
  readonly iface: string;
  readonly address: string;
  readonly mac: string;
  readonly what: string;
}

/** What one box enforces on its DMZ interface. */
export interface DmzGuard {
  /** The box's DMZ interface. */
  readonly iface: string;
  /**
   * Every source the DMZ parties are known by, the box's own included: a packet from one of
   * these passes only through a binding; the box's own addresses and networks have none, so
   * a packet that claims them from outside is always dropped.
   */
  readonly bound: readonly Cidr[];
  /** Address (or network) . MAC pairs of every other party. */
  readonly bindings: readonly MacBinding[];
  /** The other parties' addresses, pinned to their MACs on `iface`. */
  readonly neighbours: readonly StaticNeighbour[];
}

/** The facts the parties are built from: lab-wide ones, and each segment's router as its contract tells it. */
export interface DmzPartyFacts {
  readonly gateway: string;
  readonly gatewayMac: string;
  readonly infra: { readonly mac: string; readonly addresses: readonly string[] };
  readonly routers: readonly {
    readonly name: string;
    readonly segment: string;
    readonly wanAddress: string;
    readonly wanMac: string;
    readonly subnet: Cidr;
  }[];
}

/** The parties' facts straight from the model (a segment stack's view; the DMZ reads routers from contracts). */
export function labPartyFacts(lab: Lab): DmzPartyFacts {
  return {
    gateway: lab.dmz.gateway,
    gatewayMac: lab.dmz.gatewayMac,
    infra: { mac: lab.dmz.infra.mac, addresses: Object.values(dmzServiceAddresses(lab)) },
    routers: segmentList(lab).map((s) => ({
      name: s.router.name,
      segment: s.name,
      wanAddress: s.router.wanAddress,
      wanMac: lab.hardware.routers[s.router.hardware]!.wanMac,
      subnet: s.subnet,
    })),
  };
}

/** Every party of the DMZ: the edge, the infra host, then the routers by name. */
export function dmzParties(facts: DmzPartyFacts): DmzParty[] {
  return [
    { id: "edge", label: "the ISP edge router", mac: facts.gatewayMac, addresses: [facts.gateway], networks: [] },
    {
      id: "infra",
      label: "the infra host",
      mac: facts.infra.mac,
      addresses: [...new Set(facts.infra.addresses)].sort(compareIp),
      networks: [],
    },
    ...[...facts.routers]
      .sort((a, b) => compareText(a.name, b.name))
      .map((r) => ({
        id: r.name,
        label: `${r.name} (${r.segment})`,
        mac: r.wanMac,
        addresses: [r.wanAddress],
        networks: [r.subnet],
      })),
  ];
}

/** The sources of one party: its addresses as /32s, then its networks. */
function partySources(p: DmzParty): Cidr[] {
  return [...p.addresses.map((a) => Cidr.host(a)), ...p.networks];
}

/** What the party `self` enforces on its DMZ interface `iface`. */
export function planDmzGuard(parties: readonly DmzParty[], self: string, iface: string): DmzGuard {
  if (!parties.some((p) => p.id === self)) throw new Error(`bug: ${self} is not a party of the DMZ`);
  const others = parties.filter((p) => p.id !== self);
  const bound = new Map(parties.flatMap(partySources).map((c) => [c.toString(), c]));
  return {
    iface,
    bound: [...bound.values()].sort(compareCidr),
    bindings: others
      .flatMap((p) => partySources(p).map((from) => ({ from, mac: p.mac, what: p.label })))
      .sort((a, b) => compareCidr(a.from, b.from) || compareText(a.mac, b.mac)),
    neighbours: others
      .flatMap((p) => p.addresses.map((address) => ({ iface, address, mac: p.mac, what: p.label })))
      .sort((a, b) => compareIp(a.address, b.address)),
  };
}
