/**
 * The lab's index: its inventory as rules see it, built once per validation and handed to
 * every rule (`Rule.check(ix)`), so no rule rebuilds a lookup and the placement is planned
 * once. Also the shared lookup helpers behind it: every address and where it is
 * configured, every VM, the hardware that sits in a segment, the DMZ's own names, and the
 * free values a fix can suggest. Every field is total on any lab the schema accepts.
 */
import { planPlacement, vmHosts, type Placement } from "./compute/placement";
import { segmentHosts, type PlannedHost } from "./network/hosts";
import { dayOf, epochOf, utcNow } from "./network/certificate";
import { targetNames } from "./network/flows";
import { DMZ_STACK, type DmzService, dmzServiceAddresses, type Lab, LAB_FILE, own, type Segment, segmentList, type VmSpec } from "./lab";
import { Cidr, intToIp, ipToInt, type Ipv4Range } from "./net";
import { joinPath } from "./problems";
import { list, type PathPart, sp, type Where } from "./rule";

/** Where the Proxmox nodes are configured in homelab.yaml. */
export const PROXMOX = "hardware.proxmox.nodes";

/** The DMZ's own names (infra, dns, ntp, proxy), in dmzServiceAddresses' order. */
export function dmzNames(lab: Lab): DmzService[] {
  return Object.keys(dmzServiceAddresses(lab)) as DmzService[];
}

/**
 * Where a DMZ name is configured in homelab.yaml: `dmz.infra` (the host) or `dmz.dns`
 * (an address); with `address`, the path of its address (`dmz.infra.address`, `dmz.dns`).
 */
export function dmzPath(name: DmzService, address = false): string {
  if (name !== "infra") return `dmz.${name}`;
  return address ? "dmz.infra.address" : "dmz.infra";
}

/** A network addresses live in: a segment or the DMZ. */
export interface Zone {
  readonly name: string;
  readonly cidr: Cidr;
  /** The gateway: a segment router's LAN address, or the ISP edge for the DMZ. */
  readonly gateway: string;
  readonly gatewayLabel: string;
  /** The DHCP pool, for segments. */
  readonly pool?: Ipv4Range;
}

/** The network `name` (a segment or `dmz`) as addresses see it; undefined for an unknown name. */
export function zoneOf(lab: Lab, name: string): Zone | undefined {
  if (name === DMZ_STACK) return { name, cidr: lab.dmz.subnet, gateway: lab.dmz.gateway, gatewayLabel: "the ISP edge router" };
  const seg = own(lab.segments, name);
  if (!seg) return undefined;
  return { name, cidr: seg.subnet, gateway: seg.router.lanAddress, gatewayLabel: `${seg.router.name}'s LAN address`, pool: seg.dhcp };
}

/** One address of the lab and where it is configured. */
export interface AddressRef extends Where {
  readonly address: string;
  /** The network it must lie in; undefined when its hardware names an unknown segment. */
  readonly zone: string | undefined;
  readonly label: string;
  /** A gateway address (router LAN side, ISP edge): checked for placement, not for uniqueness. */
  readonly gateway: boolean;
}

/** A piece of hardware that sits in a segment (or the DMZ), with its homelab.yaml path. */
export interface HardwareRef {
  readonly id: string;
  readonly kind: "proxmox node" | "NAS" | "switch";
  readonly path: string;
  readonly segment: string;
  readonly address: string;
  readonly mac: string;
}

/** The hardware that sits in segments, in homelab.yaml order: nodes, NAS, switches. */
export function hardwareInSegments(lab: Lab): HardwareRef[] {
  const out: HardwareRef[] = [];
  for (const [id, n] of Object.entries(lab.hardware.proxmox.nodes))
    out.push({ id, kind: "proxmox node", path: joinPath(PROXMOX, id), segment: n.segment, address: n.address, mac: n.mac });
  for (const [id, n] of Object.entries(lab.hardware.nas))
    out.push({ id, kind: "NAS", path: joinPath("hardware.nas", id), segment: n.segment, address: n.address, mac: n.mac });
  for (const [id, n] of Object.entries(lab.hardware.switches))
    out.push({ id, kind: "switch", path: joinPath("hardware.switches", id), segment: n.segment, address: n.address, mac: n.mac });
  return out;
}

/** Every address in the lab, in a stable order: homelab.yaml first, then segments by name. */
export function addressBook(lab: Lab): AddressRef[] {
  const book: AddressRef[] = [];
  const lf = (path: string) => ({ file: LAB_FILE, path });
  book.push({ ...lf("dmz.gateway"), address: lab.dmz.gateway, zone: DMZ_STACK, label: "the ISP edge router (dmz.gateway)", gateway: true });
  const dmz = dmzServiceAddresses(lab);
  for (const n of dmzNames(lab)) {
    const label = n === "infra" ? "the DMZ infra host" : `the DMZ ${n} service address`;
    book.push({ ...lf(dmzPath(n, true)), address: dmz[n], zone: DMZ_STACK, label, gateway: false });
  }
  for (const h of hardwareInSegments(lab)) {
    const zone = h.segment === DMZ_STACK || own(lab.segments, h.segment) ? h.segment : undefined;
    book.push({ ...lf(`${h.path}.address`), address: h.address, zone, label: `${h.kind} ${h.id}`, gateway: false });
  }
  for (const seg of segmentList(lab)) {
    const sf = (path: string) => ({ file: seg.file, path });
    book.push({
      ...sf(sp("router.wanAddress")),
      address: seg.router.wanAddress,
      zone: DMZ_STACK,
      label: `${seg.router.name}'s WAN address`,
      gateway: false,
    });
    book.push({
      ...sf(sp("router.lanAddress")),
      address: seg.router.lanAddress,
      zone: seg.name,
      label: `${seg.router.name}'s LAN address`,
      gateway: true,
    });
    for (const [id, h] of Object.entries(seg.hosts)) {
      book.push({ ...sf(sp("hosts", id, "address")), address: h.address, zone: seg.name, label: `${seg.name}/${id}`, gateway: false });
    }
    if (seg.talos)
      book.push({ ...sf(sp("talos.vip")), address: seg.talos.vip, zone: seg.name, label: `the Talos VIP of ${seg.name}`, gateway: false });
  }
  return book;
}

/**
 * The first address of `zone` a new host could take: inside the subnet, not the
 * network, broadcast or gateway, outside the DHCP pool (and, in the DMZ, outside the
 * admin sources), and not used anywhere in the lab.
 */
export function freeAddress(lab: Lab, zone: Zone, taken: ReadonlySet<number>): string | undefined {
  const first = ipToInt(zone.cidr.firstHost);
  const last = ipToInt(zone.cidr.lastHost);
  const gateway = ipToInt(zone.gateway);
  const blocked = [
    ...(zone.pool ? [[ipToInt(zone.pool.start), ipToInt(zone.pool.end)] as const] : []),
    ...(zone.name === DMZ_STACK ? lab.ssh.adminSources.map((c) => [ipToInt(c.network), ipToInt(c.broadcast)] as const) : []),
  ];
  // Bounded: a suggestion is a courtesy, not worth scanning a /8.
  for (let v = first, tries = 0; v <= last && tries < 65536; v++, tries++) {
    if (taken.has(v) || v === gateway || blocked.some(([lo, hi]) => v >= lo && v <= hi)) continue;
    return intToIp(v);
  }
  return undefined;
}

/** `10.20.0.100-10.20.0.199`. */
export function showRange(r: Ipv4Range): string {
  return `${r.start}-${r.end}`;
}

/** What a static address of the zone may be, in words. */
export function allowedStatic(lab: Lab, z: Zone, gateway: boolean): string {
  const span = `${z.cidr.firstHost}-${z.cidr.lastHost}`;
  const pool = z.pool ? `, outside the DHCP pool ${showRange(z.pool)}` : "";
  const admin = z.name === DMZ_STACK ? `, outside the admin sources ${list(lab.ssh.adminSources.map(String))}` : "";
  if (gateway) return `${z.gatewayLabel} must be a usable address of ${z.cidr} (${span})${pool}`;
  return `static addresses of ${z.name} lie in ${span}${pool}${admin}, other than the gateway ${z.gateway}`;
}

/** One VM of the lab and where it is configured. */
export interface VmRef {
  /** `cluster/worker-1`, `dmz/infra`. */
  readonly label: string;
  /** The planner's name (`cluster-worker-1`, `infra`), which failover results use. */
  readonly name: string;
  /** The network its address is in: a segment or `dmz`. */
  readonly zone: string;
  readonly address: string;
  readonly file: string;
  /** Path of the `vm` object. */
  readonly base: string;
  readonly vm: VmSpec;
}

/** Every VM of the lab with where it is configured: the DMZ infra host first, then segments by name. */
export function vmRefs(lab: Lab): VmRef[] {
  return vmHosts(lab).map(({ segment, host, name, vm }) => {
    if (segment === DMZ_STACK)
      return { label: "dmz/infra", name, zone: DMZ_STACK, address: lab.dmz.infra.address, file: LAB_FILE, base: "dmz.infra.vm", vm };
    const seg = lab.segments[segment]!;
    return {
      label: `${segment}/${host}`,
      name,
      zone: segment,
      address: seg.hosts[host]!.address,
      file: seg.file,
      base: sp("hosts", host, "vm"),
      vm,
    };
  });
}

/** Where a part of a VM is configured. */
export function vmWhere(ref: VmRef, ...parts: readonly PathPart[]): Where {
  return { file: ref.file, path: joinPath(ref.base, ...parts) };
}

/** The PCI devices a VM takes from its node, with their paths. */
export function vmDevices(ref: VmRef): { id: string; nic: boolean; where: Where }[] {
  const out: { id: string; nic: boolean; where: Where }[] = [];
  ref.vm.nics.forEach((n, i) => {
    if ("passthrough" in n) out.push({ id: n.passthrough, nic: true, where: vmWhere(ref, "nics", i, "passthrough") });
  });
  ref.vm.passthrough.forEach((id, i) => out.push({ id, nic: false, where: vmWhere(ref, "passthrough", i) }));
  return out;
}

/** Every `<label>.<domain>` name the DMZ DNS serves besides services: its own names and the routers' WAN entries. */
export function dmzLabels(lab: Lab): Map<string, Where & { what: string }> {
  const names = new Map<string, Where & { what: string }>();
  for (const n of dmzNames(lab)) names.set(n, { file: LAB_FILE, path: dmzPath(n), what: `the DMZ's ${n} record` });
  for (const seg of segmentList(lab)) {
    if (!names.has(seg.router.name))
      names.set(seg.router.name, { file: seg.file, path: sp("router.name"), what: `the WAN entry of ${seg.name}'s router` });
  }
  return names;
}

/** The lab, indexed once for the rules. */
export interface LabIndex {
  readonly lab: Lab;
  /** Segments in name order. */
  readonly segments: readonly Segment[];
  /** The hardware that sits in segments. */
  readonly hardware: readonly HardwareRef[];
  /** Every address of the lab and where it is configured (addressBook). */
  readonly addresses: readonly AddressRef[];
  /** Every address in use, as numbers: what a suggested free address must avoid. */
  readonly taken: ReadonlySet<number>;
  /** Every VM, and the same by its planner name. */
  readonly vms: readonly VmRef[];
  readonly vmsByName: ReadonlyMap<string, VmRef>;
  /** Every flow target name (`dmz/proxy`, `cluster/worker-1`), for did-you-mean hints: built on first use, by a problem that needs one. */
  readonly targets: readonly string[];
  /** The names the DMZ DNS serves besides services. */
  readonly dmzLabels: ReadonlyMap<string, Where & { readonly what: string }>;
  /** The planner's placement and failover, computed once. */
  readonly placement: Placement;
  /** Today in UTC (YYYY-MM-DD): what a declared expiry is checked against. */
  readonly today: string;
  /** The moment of the check, in seconds since the epoch: what a temporary hole's deadline is checked against. */
  readonly now: number;
  /** The hosts of a segment (configured and hardware), by address; none for an unknown segment. */
  hostsOf(segment: string): readonly PlannedHost[];
  /** The ids of `hostsOf(segment)`. */
  hostIds(segment: string): readonly string[];
  /** The nodes with a bridge into `network`, in homelab.yaml order. */
  nodesWithNetwork(network: string): readonly string[];
  /** A network (a segment or `dmz`) as addresses see it. */
  zone(name: string): Zone | undefined;
}

/**
 * Index the lab once, at `moment`: a day (UTC, YYYY-MM-DD, taken as its midnight) or an instant
 * (ISO 8601 with its zone). Total on any schema-valid lab, like every rule.
 */
export function indexLab(lab: Lab, moment: string = utcNow()): LabIndex {
  const segments = segmentList(lab);
  const hosts = new Map(segments.map((seg) => [seg.name, segmentHosts(lab, seg)]));
  const ids = new Map([...hosts].map(([name, hs]) => [name, hs.map((h) => h.id)]));
  const addresses = addressBook(lab);
  const vms = vmRefs(lab);
  let targets: readonly string[] | undefined;
  const networks = new Map<string, string[]>();
  for (const [id, n] of Object.entries(lab.hardware.proxmox.nodes))
    for (const net of new Set(n.networks)) networks.set(net, [...(networks.get(net) ?? []), id]);
  return {
    lab,
    today: dayOf(moment),
    now: epochOf(moment),
    segments,
    hardware: hardwareInSegments(lab),
    addresses,
    taken: new Set(addresses.map((a) => ipToInt(a.address))),
    vms,
    vmsByName: new Map(vms.map((r) => [r.name, r])),
    get targets() {
      return (targets ??= targetNames(lab));
    },
    dmzLabels: dmzLabels(lab),
    placement: planPlacement(lab),
    hostsOf: (segment) => hosts.get(segment) ?? [],
    hostIds: (segment) => ids.get(segment) ?? [],
    nodesWithNetwork: (network) => networks.get(network) ?? [],
    zone: (name) => zoneOf(lab, name),
  };
}
