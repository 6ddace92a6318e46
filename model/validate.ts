/**
 * Semantic validation of a schema-checked lab: a table of named rules (`RULES`), all run
 * on every check, so the owner sees every problem of the lab in one report. Each rule is
 * total on any lab the schema accepts (a property test holds it to that), never stops at
 * the first problem, and says where the value is, what is allowed, and a concrete fix.
 *
 * Decisions the rules encode (each rule's description repeats its own):
 * - The DMZ service addresses (dns, ntp, proxy) are addresses of their own, distinct from
 *   each other, from the infra host's address and from every other address, so a service
 *   can move to another host without renumbering its clients.
 * - Addresses equal to a gateway (a router's LAN address, the ISP edge) are reported by
 *   `addresses.in-network` ("is the gateway"), not again by `addresses.unique`.
 * - A service's backend port need not appear in the backend's `listens`: `listens` feeds
 *   docs and the twin, hardware hosts have implied ports, and there is no warning level.
 * - A passthrough NIC (`{ passthrough: id }`) puts a VM on whatever network the device is
 *   cabled to; the model cannot see cables, so such a first NIC is accepted for any segment.
 * - No DMZ address (infra, dns, ntp, proxy, router WAN sides, DMZ hardware, the ISP edge)
 *   may lie inside an admin source: jump hosts trust those networks like workstations.
 * - A flow whose target lies in its own segment is a mistake: no router sees that traffic.
 * - Storage must be served by one host of a segment, never a whole segment or the DMZ.
 * - The N-1 check runs only when every VM names an existing node and datastore; otherwise
 *   `vms.references` reports those first and the failover result would be meaningless.
 */
import { compareText } from "./order";
import {
  CONFIG_KEYS,
  DMZ_STACK,
  LAB_FILE,
  dmzServiceAddresses,
  keyMaterial,
  own,
  segmentList,
  serviceFqdn,
  serviceProto,
  showPort,
  type DmzService,
  type Lab,
  type Segment,
  type VmSpec,
} from "./lab";
import { Cidr, intToIp, ipToInt, rangeContains, type Ipv4Range } from "./net";
import {
  STORAGE_PORTS,
  planPlacement,
  resolveTarget,
  segmentHosts,
  targetNames,
  vmHosts,
  wanPort,
  type Endpoint,
  type NodeLoad,
  type PlacedVm,
} from "./plan";
import { joinPath, problem, sortProblems, type Problem } from "./problems";
import { didYouMean, suggest } from "./suggest";

/** One validation rule: a stable id, what it checks, and the check itself. */
export interface Rule {
  /** Stable id, `<area>.<what>`, e.g. `addresses.unique`: `check --json` tags each problem with it. */
  readonly id: string;
  /**
   * What the rule checks and why, in one or two sentences, for whoever reads this file
   * or looks up a rule id from `check --json`. Nothing renders it.
   */
  readonly description: string;
  /** Every violation in the lab. Must not throw on any schema-valid lab. */
  check(lab: Lab): Problem[];
}

/** A problem found by a rule, tagged with the rule's id (shown in `--json` output). */
export interface RuleProblem extends Problem {
  readonly rule: string;
}

// --- paths, places and phrasing -----------------------------------------------------------------

type PathPart = string | number;

/** A path inside a segment file's `homelab:segment` key. */
function sp(...parts: readonly PathPart[]): string {
  return joinPath(CONFIG_KEYS.segment, ...parts);
}

/** Where a value lives. */
interface Where {
  readonly file: string;
  readonly path: string;
}

/** `Pulumi.cluster.yaml homelab:segment.hosts.cp-1.address`, for naming the other place. */
function place(w: Where): string {
  return `${w.file} ${w.path}`;
}

/** A sorted, comma-separated list, or "none". */
function list(names: Iterable<string>): string {
  const all = [...names].sort();
  return all.length > 0 ? all.join(", ") : "none";
}

/** `, e.g. X` or nothing. */
function eg(example: string | undefined): string {
  return example === undefined ? "" : `, e.g. ${example}`;
}

const PROXMOX = "hardware.proxmox.nodes";
/** Zone names the planner gives the admins' workstations and the internet; a segment may not take them. */
const RESERVED_ZONES = ["admin", "internet"] as const;

// --- the lab's inventory, as rules see it ----------------------------------------------------

/** The DMZ's own names (infra, dns, ntp, proxy), in dmzServiceAddresses' order. */
function dmzNames(lab: Lab): DmzService[] {
  return Object.keys(dmzServiceAddresses(lab)) as DmzService[];
}

/**
 * Where a DMZ name is configured in homelab.yaml: `dmz.infra` (the host) or `dmz.dns`
 * (an address); with `address`, the path of its address (`dmz.infra.address`, `dmz.dns`).
 */
function dmzPath(name: DmzService, address = false): string {
  if (name !== "infra") return `dmz.${name}`;
  return address ? "dmz.infra.address" : "dmz.infra";
}

/** A network addresses live in: a segment or the DMZ. */
interface Zone {
  readonly name: string;
  readonly cidr: Cidr;
  /** The gateway: a segment router's LAN address, or the ISP edge for the DMZ. */
  readonly gateway: string;
  readonly gatewayLabel: string;
  /** The DHCP pool, for segments. */
  readonly pool?: Ipv4Range;
}

function zoneOf(lab: Lab, name: string): Zone | undefined {
  if (name === DMZ_STACK) return { name, cidr: lab.dmz.subnet, gateway: lab.dmz.gateway, gatewayLabel: "the ISP edge router" };
  const seg = own(lab.segments, name);
  if (!seg) return undefined;
  return { name, cidr: seg.subnet, gateway: seg.router.lanAddress, gatewayLabel: `${seg.router.name}'s LAN address`, pool: seg.dhcp };
}

/** One address of the lab and where it is configured. */
interface AddressRef extends Where {
  readonly address: string;
  /** The network it must lie in; undefined when its hardware names an unknown segment. */
  readonly zone: string | undefined;
  readonly label: string;
  /** A gateway address (router LAN side, ISP edge): checked for placement, not for uniqueness. */
  readonly gateway: boolean;
}

/** Kinds of hardware that sit in a segment, with their homelab.yaml path. */
function hardwareInSegments(lab: Lab): { id: string; kind: string; path: string; segment: string; address: string; mac: string }[] {
  const out: { id: string; kind: string; path: string; segment: string; address: string; mac: string }[] = [];
  for (const [id, n] of Object.entries(lab.hardware.proxmox.nodes))
    out.push({ id, kind: "proxmox node", path: joinPath(PROXMOX, id), segment: n.segment, address: n.address, mac: n.mac });
  for (const [id, n] of Object.entries(lab.hardware.nas))
    out.push({ id, kind: "NAS", path: joinPath("hardware.nas", id), segment: n.segment, address: n.address, mac: n.mac });
  for (const [id, n] of Object.entries(lab.hardware.switches))
    out.push({ id, kind: "switch", path: joinPath("hardware.switches", id), segment: n.segment, address: n.address, mac: n.mac });
  return out;
}

/** Every address in the lab, in a stable order: homelab.yaml first, then segments by name. */
function addressBook(lab: Lab): AddressRef[] {
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
function freeAddress(lab: Lab, zone: Zone, taken: ReadonlySet<number>): string | undefined {
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

function takenAddresses(lab: Lab): Set<number> {
  return new Set(addressBook(lab).map((a) => ipToInt(a.address)));
}

/** `10.20.0.100-10.20.0.199`. */
function showRange(r: Ipv4Range): string {
  return `${r.start}-${r.end}`;
}

/** What a static address of the zone may be, in words. */
function allowedStatic(lab: Lab, z: Zone, gateway: boolean): string {
  const span = `${z.cidr.firstHost}-${z.cidr.lastHost}`;
  const pool = z.pool ? `, outside the DHCP pool ${showRange(z.pool)}` : "";
  const admin = z.name === DMZ_STACK ? `, outside the admin sources ${list(lab.ssh.adminSources.map(String))}` : "";
  if (gateway) return `${z.gatewayLabel} must be a usable address of ${z.cidr} (${span})${pool}`;
  return `static addresses of ${z.name} lie in ${span}${pool}${admin}, other than the gateway ${z.gateway}`;
}

/** One VM of the lab and where it is configured. */
interface VmRef {
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

function vmRefs(lab: Lab): VmRef[] {
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

function vmWhere(ref: VmRef, ...parts: readonly PathPart[]): Where {
  return { file: ref.file, path: joinPath(ref.base, ...parts) };
}

/** The PCI devices a VM takes from its node, with their paths. */
function vmDevices(ref: VmRef): { id: string; nic: boolean; where: Where }[] {
  const out: { id: string; nic: boolean; where: Where }[] = [];
  ref.vm.nics.forEach((n, i) => {
    if ("passthrough" in n) out.push({ id: n.passthrough, nic: true, where: vmWhere(ref, "nics", i, "passthrough") });
  });
  ref.vm.passthrough.forEach((id, i) => out.push({ id, nic: false, where: vmWhere(ref, "passthrough", i) }));
  return out;
}

/** Nodes that have a bridge into `network`. */
function nodesWithNetwork(lab: Lab, network: string): string[] {
  return Object.entries(lab.hardware.proxmox.nodes)
    .filter(([, n]) => n.networks.includes(network))
    .map(([id]) => id);
}

/** Every `<label>.<domain>` name the DMZ DNS serves besides services: its own names and the routers' WAN entries. */
function dmzLabels(lab: Lab): Map<string, Where & { what: string }> {
  const names = new Map<string, Where & { what: string }>();
  for (const n of dmzNames(lab)) names.set(n, { file: LAB_FILE, path: dmzPath(n), what: `the DMZ's ${n} record` });
  for (const seg of segmentList(lab)) {
    if (!names.has(seg.router.name))
      names.set(seg.router.name, { file: seg.file, path: sp("router.name"), what: `the WAN entry of ${seg.name}'s router` });
  }
  return names;
}

/** Key material of an OpenSSH public key (type and base64), without its comment. */

/** The short fingerprint-like form of a key for messages: type and the last 12 characters. */
function showKey(key: string): string {
  const [type, data] = key.split(" ");
  return `${type} ...${(data ?? "").slice(-12)}`;
}

/** Report every later occurrence of a key already seen. */
function duplicates<T extends Where>(items: readonly T[], keyOf: (t: T) => string, report: (dup: T, first: T) => Problem): Problem[] {
  const seen = new Map<string, T>();
  const out: Problem[] = [];
  for (const item of items) {
    const k = keyOf(item);
    const first = seen.get(k);
    if (first) out.push(report(item, first));
    else seen.set(k, item);
  }
  return out;
}

/** The first port >= `from` (skipping 22) not in `used`. */
function freePort(used: ReadonlySet<number>, from: number): number | undefined {
  for (let p = Math.max(1, from); p <= 65535; p++) if (p !== 22 && !used.has(p)) return p;
  return undefined;
}

/**
 * A free network of `prefix` bits for a suggestion: the first block of that size in
 * 10.0.0.0/8 (starting near `near` when it is in there) that overlaps nothing taken.
 */
function freeSubnet(prefix: number, near: Cidr, taken: readonly Cidr[]): string | undefined {
  if (prefix < 8) return undefined;
  const ten = Cidr.of("10.0.0.0/8");
  const size = 2 ** (32 - prefix);
  const base = ipToInt(ten.network);
  const blocks = 2 ** (prefix - 8);
  const start = ten.contains(near.network) ? Math.floor((ipToInt(near.network) - base) / size) : 0;
  for (let i = 0; i < Math.min(blocks, 4096); i++) {
    const c = Cidr.parse(`${intToIp(base + ((start + i) % blocks) * size)}/${prefix}`);
    if (c && !taken.some((t) => t.overlaps(c))) return c.toString();
  }
  return undefined;
}

// --- the rules ----------------------------------------------------------------------------------

const subnetsDisjoint: Rule = {
  id: "subnets.disjoint",
  description:
    "The DMZ subnet and every segment subnet are pairwise disjoint (a router must know where an address lives), and every admin source network lies inside the DMZ subnet (the admins' workstations sit on the home LAN behind the ISP edge).",
  check(lab) {
    const nets: (Where & { name: string; cidr: Cidr })[] = [
      { file: LAB_FILE, path: "dmz.subnet", name: "the DMZ", cidr: lab.dmz.subnet },
      ...segmentList(lab).map((s) => ({ file: s.file, path: sp("subnet"), name: s.name, cidr: s.subnet })),
    ];
    const out: Problem[] = [];
    nets.forEach((b, j) => {
      for (const a of nets.slice(0, j)) {
        if (!a.cidr.overlaps(b.cidr)) continue;
        const free = freeSubnet(
          b.cidr.prefix,
          b.cidr,
          nets.map((n) => n.cidr),
        );
        out.push(
          problem(
            b,
            b.cidr.toString(),
            `${b.name}'s subnet ${b.cidr} overlaps ${a.name}'s ${a.cidr} (${place(a)}); every network of the lab must be disjoint from every other, or routes and firewall rules become ambiguous`,
            `give ${b.name} a subnet that overlaps no other network of the lab${eg(free)}`,
          ),
        );
      }
    });
    lab.ssh.adminSources.forEach((c, i) => {
      if (lab.dmz.subnet.covers(c)) return;
      out.push(
        problem(
          { file: LAB_FILE, path: joinPath("ssh.adminSources", i) },
          c.toString(),
          `admin source ${c} is not inside the DMZ subnet ${lab.dmz.subnet}; the admins' workstations sit on the home LAN behind the ISP edge, so every admin source must lie within ${lab.dmz.subnet.firstHost}-${lab.dmz.subnet.lastHost}`,
          `use a network inside ${lab.dmz.subnet} that holds only the admins' workstations, e.g. ${lab.dmz.subnet.prefix <= 27 ? `${intToIp(ipToInt(lab.dmz.subnet.broadcast) - 31)}/27` : lab.dmz.subnet.toString()}`,
        ),
      );
    });
    return out;
  },
};

const addressesInNetwork: Rule = {
  id: "addresses.in-network",
  description:
    "Every address lies inside its network (hosts, VIPs, hardware, router LAN sides in their segment; router WAN sides, the infra host, DNS, NTP, proxy and DMZ hardware in the DMZ) and is not the network, broadcast or gateway address; static addresses stay outside the DHCP pool; no DMZ address lies inside an admin source (it would be trusted like an admin workstation).",
  check(lab) {
    const taken = takenAddresses(lab);
    const out: Problem[] = [];
    for (const a of addressBook(lab)) {
      if (a.zone === undefined) continue; // refs.hardware-segments reports the unknown segment
      const z = zoneOf(lab, a.zone);
      if (!z) continue;
      const free = () => freeAddress(lab, z, taken);
      const pick = () => `give ${a.label} a free address${eg(free())}`;
      if (!z.cidr.contains(a.address)) {
        out.push(
          problem(
            a,
            a.address,
            `${a.label} ${a.address} is not inside ${z.name}'s network ${z.cidr}; ${allowedStatic(lab, z, a.gateway)}`,
            `use an address inside ${z.cidr}${eg(free())}`,
          ),
        );
        continue;
      }
      if (!z.cidr.isUsable(a.address)) {
        const which = a.address === z.cidr.network ? "network" : "broadcast";
        out.push(
          problem(
            a,
            a.address,
            `${a.label} ${a.address} is the ${which} address of ${z.name} (${z.cidr}); usable addresses are ${z.cidr.firstHost}-${z.cidr.lastHost}`,
            pick(),
          ),
        );
        continue;
      }
      if (!a.gateway && a.address === z.gateway) {
        out.push(
          problem(
            a,
            a.address,
            `${a.label} ${a.address} is ${z.gatewayLabel}, the gateway of ${z.name}; ${allowedStatic(lab, z, a.gateway)}`,
            pick(),
          ),
        );
        continue;
      }
      // The router's own address inside the pool is reported by dhcp.pool, at the pool.
      if (!a.gateway && z.pool && rangeContains(z.pool, a.address)) {
        out.push(
          problem(
            a,
            a.address,
            `${a.label} ${a.address} lies inside ${z.name}'s DHCP pool ${showRange(z.pool)}: dnsmasq could lease it to another machine; ${allowedStatic(lab, z, a.gateway)}`,
            `pick a free address outside ${showRange(z.pool)}${eg(free())}`,
          ),
        );
        continue;
      }
      const admin = z.name === DMZ_STACK ? lab.ssh.adminSources.find((c) => c.contains(a.address)) : undefined;
      if (admin) {
        out.push(
          problem(
            a,
            a.address,
            `${a.label} ${a.address} lies inside the admin source ${admin}: jump hosts accept SSH from every address there, so it would be trusted like an admin's workstation; DMZ addresses must lie outside ${list(lab.ssh.adminSources.map(String))}`,
            `give ${a.label} a free address outside the admin sources${eg(free())}, or narrow ssh.adminSources to the workstations only`,
          ),
        );
      }
    }
    return out;
  },
};

const dhcpPool: Rule = {
  id: "dhcp.pool",
  description:
    "Each segment's DHCP pool lies inside its subnet, excludes the network and broadcast addresses, starts at or before its end, and does not contain the router's LAN address.",
  check(lab) {
    const out: Problem[] = [];
    for (const seg of segmentList(lab)) {
      const c = seg.subnet;
      const { start, end } = seg.dhcp;
      let ok = true;
      for (const [key, ip] of [
        ["start", start],
        ["end", end],
      ] as const) {
        const where = { file: seg.file, path: sp("dhcp", key) };
        if (!c.contains(ip)) {
          out.push(
            problem(
              where,
              ip,
              `the DHCP pool ${key} ${ip} is not inside ${seg.name}'s subnet ${c}; the pool must lie within ${c.firstHost}-${c.lastHost}`,
              `set dhcp.${key} to an address inside ${c}`,
            ),
          );
          ok = false;
        } else if (!c.isUsable(ip)) {
          out.push(
            problem(
              where,
              ip,
              `the DHCP pool ${key} ${ip} is the ${ip === c.network ? "network" : "broadcast"} address of ${c}; the pool must lie within ${c.firstHost}-${c.lastHost}`,
              `set dhcp.${key} to an address within ${c.firstHost}-${c.lastHost}`,
            ),
          );
          ok = false;
        }
      }
      if (ipToInt(start) > ipToInt(end)) {
        out.push(
          problem(
            { file: seg.file, path: sp("dhcp") },
            { start, end },
            `the DHCP pool of ${seg.name} starts at ${start}, after its end ${end}`,
            `swap them: start: ${end}, end: ${start}`,
          ),
        );
        continue;
      }
      if (ok && rangeContains(seg.dhcp, seg.router.lanAddress)) {
        const lan = seg.router.lanAddress;
        const fix =
          lan === start && lan !== end
            ? `start the pool after the router: start: ${intToIp(ipToInt(start) + 1)}`
            : lan === end && lan !== start
              ? `end the pool before the router: end: ${intToIp(ipToInt(end) - 1)}`
              : `move the pool so it excludes ${lan}, or move the router out of it`;
        out.push(
          problem(
            { file: seg.file, path: sp("dhcp") },
            { start, end },
            `${seg.name}'s DHCP pool ${showRange(seg.dhcp)} contains the router's LAN address ${lan}; dnsmasq would lease the gateway's own address`,
            fix,
          ),
        );
      }
    }
    return out;
  },
};

const addressesUnique: Rule = {
  id: "addresses.unique",
  description:
    "No two hosts, VIPs, routers, hardware or DMZ service addresses share an address anywhere in the lab; the DMZ's dns, ntp and proxy addresses are distinct from each other and from the infra host's own address.",
  check(lab) {
    const book = addressBook(lab).filter((a) => !a.gateway);
    const taken = takenAddresses(lab);
    return duplicates(
      book,
      (a) => a.address,
      (dup, first) => {
        const z = dup.zone === undefined ? undefined : zoneOf(lab, dup.zone);
        const free = z ? freeAddress(lab, z, taken) : undefined;
        return problem(
          dup,
          dup.address,
          `${dup.label} uses ${dup.address}, which is already the address of ${first.label} (${place(first)}); every address in the lab must be unique`,
          `give ${dup.label} a free address${eg(free)}`,
        );
      },
    );
  },
};

const namesUnique: Rule = {
  id: "names.unique",
  description:
    "Names resolve to one thing: within a segment, hosts, hardware in it and its router have distinct names (they share <name>.<segment>.<domain>); router names are unique lab-wide and differ from the DMZ's infra/dns/ntp/proxy (they share <name>.<domain>); hardware ids are unique across kinds; VM names (<segment>-<host>) are unique; no segment is named admin or internet.",
  check(lab) {
    const out: Problem[] = [];
    for (const seg of segmentList(lab)) {
      if ((RESERVED_ZONES as readonly string[]).includes(seg.name)) {
        out.push(
          problem(
            { file: seg.file, path: "(stack name)" },
            seg.name,
            `"${seg.name}" is reserved: flows call the admins' workstations "admin" and the world "internet"`,
            `rename the stack and ${seg.file}`,
          ),
        );
      }
      const names: (Where & { name: string; what: string })[] = [
        { file: seg.file, path: sp("router.name"), name: seg.router.name, what: `${seg.name}'s router` },
        ...Object.keys(seg.hosts).map((id) => ({ file: seg.file, path: sp("hosts", id), name: id, what: `host ${seg.name}/${id}` })),
        ...hardwareInSegments(lab)
          .filter((h) => h.segment === seg.name)
          .map((h) => ({ file: LAB_FILE, path: h.path, name: h.id, what: `${h.kind} ${h.id} (in ${seg.name})` })),
      ];
      out.push(
        ...duplicates(
          names,
          (n) => n.name,
          (dup, first) =>
            problem(
              dup,
              dup.name,
              `${dup.what} and ${first.what} (${place(first)}) both claim the name ${dup.name}.${seg.name}.${lab.domain}`,
              `rename one of them; names within ${seg.name} must be distinct`,
            ),
        ),
      );
    }
    const routers: (Where & { name: string; what: string; segment?: string })[] = [
      ...dmzNames(lab).map((n) => ({ file: LAB_FILE, path: dmzPath(n), name: n, what: `the DMZ's ${n}` })),
      ...segmentList(lab).map((s) => ({
        file: s.file,
        path: sp("router.name"),
        name: s.router.name,
        what: `${s.name}'s router`,
        segment: s.name,
      })),
    ];
    const routerNames = new Set(routers.map((r) => r.name));
    out.push(
      ...duplicates(
        routers,
        (r) => r.name,
        (dup, first) => {
          const base = `${dup.segment ?? dup.name}-fw`;
          const example = [base, `${base}2`, `${base}3`].find((n) => !routerNames.has(n));
          return problem(
            dup,
            dup.name,
            `${dup.what} is named ${dup.name}, like ${first.what} (${place(first)}); both would own ${dup.name}.${lab.domain} and dmz/${dup.name}`,
            `rename ${dup.what}${eg(example)}`,
          );
        },
      ),
    );
    const hw: (Where & { name: string; what: string })[] = [
      ...hardwareInSegments(lab).map((h) => ({ file: LAB_FILE, path: h.path, name: h.id, what: `${h.kind} ${h.id}` })),
      ...Object.keys(lab.hardware.routers).map((id) => ({
        file: LAB_FILE,
        path: joinPath("hardware.routers", id),
        name: id,
        what: `router box ${id}`,
      })),
    ];
    out.push(
      ...duplicates(
        hw,
        (h) => h.name,
        (dup, first) =>
          problem(
            dup,
            dup.name,
            `${dup.what} has the same id as ${first.what} (${place(first)}); hardware ids name monitoring targets and must be unique`,
            `rename ${dup.what}`,
          ),
      ),
    );
    const vms = vmRefs(lab).map((r) => ({ ...vmWhere(r), name: r.name, label: r.label }));
    out.push(
      ...duplicates(
        vms,
        (v) => v.name,
        (dup, first) =>
          problem(
            dup,
            dup.name,
            `the VM of ${dup.label} would be named ${dup.name}, like the VM of ${first.label} (${place(first)}); VM names are <segment>-<host> and name Proxmox VMs and Pulumi resources`,
            `rename the host ${dup.label}`,
          ),
      ),
    );
    return out;
  },
};

const macsUnique: Rule = {
  id: "macs.unique",
  description: "No two hosts, VMs or hardware share a MAC address (static DHCP leases and switches key on it).",
  check(lab) {
    const macs: (Where & { mac: string; label: string })[] = [
      { file: LAB_FILE, path: "dmz.infra.mac", mac: lab.dmz.infra.mac, label: "the DMZ infra host" },
    ];
    for (const h of hardwareInSegments(lab)) macs.push({ file: LAB_FILE, path: `${h.path}.mac`, mac: h.mac, label: `${h.kind} ${h.id}` });
    for (const seg of segmentList(lab)) {
      for (const [id, h] of Object.entries(seg.hosts))
        if (h.mac) macs.push({ file: seg.file, path: sp("hosts", id, "mac"), mac: h.mac, label: `${seg.name}/${id}` });
    }
    return duplicates(
      macs,
      (m) => m.mac,
      (dup, first) =>
        problem(
          dup,
          dup.mac,
          `${dup.label} has MAC ${dup.mac}, already the MAC of ${first.label} (${place(first)}); every MAC address must be unique`,
          `give ${dup.label} its own MAC; for a VM use a locally administered one such as 52:54:00:xx:xx:xx`,
        ),
    );
  },
};

const vmIdsUnique: Rule = {
  id: "vm-ids.unique",
  description: "No two VMs (segment hosts and the DMZ infra host) share a Proxmox VM id: ids are cluster-wide.",
  check(lab) {
    const refs = vmRefs(lab);
    const used = new Set(refs.map((r) => r.vm.vmId));
    return duplicates(
      refs.map((r) => ({ ...vmWhere(r, "vmId"), ref: r })),
      (x) => String(x.ref.vm.vmId),
      (dup, first) => {
        let free = dup.ref.vm.vmId + 1;
        while (used.has(free)) free++;
        return problem(
          dup,
          dup.ref.vm.vmId,
          `${dup.ref.label} has VM id ${dup.ref.vm.vmId}, already the id of ${first.ref.label} (${place(first)}); Proxmox VM ids are unique across the cluster`,
          `give ${dup.ref.label} a free VM id, e.g. ${free}`,
        );
      },
    );
  },
};

const vmReferences: Rule = {
  id: "vms.references",
  description: "Every VM names an existing Proxmox node, and each of its disks a datastore of that node.",
  check(lab) {
    const nodes = lab.hardware.proxmox.nodes;
    const out: Problem[] = [];
    for (const ref of vmRefs(lab)) {
      const node = own(nodes, ref.vm.node);
      if (!node) {
        out.push(
          problem(
            vmWhere(ref, "node"),
            ref.vm.node,
            `${ref.label} runs on node "${ref.vm.node}", which is not a Proxmox node${didYouMean(ref.vm.node, Object.keys(nodes))} (nodes: ${list(Object.keys(nodes))})`,
            `set node to one of ${list(Object.keys(nodes))}`,
          ),
        );
        continue;
      }
      for (const [d, disk] of Object.entries(ref.vm.disks)) {
        if (own(node.storage, disk.datastore) !== undefined) continue;
        const stores = Object.keys(node.storage);
        out.push(
          problem(
            vmWhere(ref, "disks", d, "datastore"),
            disk.datastore,
            `node ${ref.vm.node} has no datastore "${disk.datastore}"${didYouMean(disk.datastore, stores)} (its datastores: ${list(stores)})`,
            `use one of ${list(stores)}, or add the datastore to ${PROXMOX}.${ref.vm.node}.storage`,
          ),
        );
      }
    }
    return out;
  },
};

const vmNics: Rule = {
  id: "vms.nics",
  description:
    "A bridge NIC's network is one of its node's networks; a VM's first NIC carries its address, so it bridges into the network the address is in (or is a passthrough NIC, whose cabling the model cannot see).",
  check(lab) {
    const out: Problem[] = [];
    for (const ref of vmRefs(lab)) {
      const first = ref.vm.nics[0];
      if (first && "bridge" in first && first.bridge !== ref.zone) {
        out.push(
          problem(
            vmWhere(ref, "nics", 0, "bridge"),
            first.bridge,
            `the first NIC of ${ref.label} carries its address ${ref.address}, which is in ${ref.zone}, but it bridges into ${first.bridge}`,
            `set nics[0] to { bridge: ${ref.zone} } (or a passthrough NIC cabled to ${ref.zone})`,
          ),
        );
      }
      const node = own(lab.hardware.proxmox.nodes, ref.vm.node);
      if (!node) continue; // vms.references
      ref.vm.nics.forEach((n, i) => {
        if (!("bridge" in n) || node.networks.includes(n.bridge)) return;
        const others = nodesWithNetwork(lab, n.bridge);
        out.push(
          problem(
            vmWhere(ref, "nics", i, "bridge"),
            n.bridge,
            `${ref.label} runs on ${ref.vm.node}, which has no bridge into ${n.bridge} (its networks: ${list(node.networks)})`,
            others.length > 0
              ? `move ${ref.label} to a node with a bridge into ${n.bridge} (${list(others)}), or add ${n.bridge} to ${PROXMOX}.${ref.vm.node}.networks`
              : `add ${n.bridge} to ${PROXMOX}.${ref.vm.node}.networks (no node has a bridge into it yet)`,
          ),
        );
      });
    }
    return out;
  },
};

const vmPassthrough: Rule = {
  id: "vms.passthrough",
  description:
    "Every passed-through device (a NIC { passthrough: id } or vm.passthrough[]) exists in the VM's node's pci map, a NIC entry names a device of kind nic, each device (and each IOMMU group) goes to one VM only, and a VM with passthrough says ha: false explicitly (it is pinned to its node; ha defaults to true).",
  check(lab) {
    const out: Problem[] = [];
    const claimed = new Map<string, { label: string; where: Where }>();
    const groups = new Map<string, { label: string; id: string; where: Where }>();
    for (const ref of vmRefs(lab)) {
      const node = own(lab.hardware.proxmox.nodes, ref.vm.node);
      if (!node) continue; // vms.references
      const devices = vmDevices(ref);
      for (const d of devices) {
        const dev = own(node.pci, d.id);
        if (!dev) {
          const known = Object.keys(node.pci);
          const elsewhere = Object.entries(lab.hardware.proxmox.nodes)
            .filter(([id, n]) => id !== ref.vm.node && own(n.pci, d.id))
            .map(([id]) => id);
          out.push(
            problem(
              d.where,
              d.id,
              `node ${ref.vm.node} has no PCI device "${d.id}"${didYouMean(d.id, known)} (its devices: ${list(known)})${elsewhere.length > 0 ? `; ${list(elsewhere)} ${elsewhere.length === 1 ? "has" : "have"} one` : ""}`,
              elsewhere.length > 0
                ? `move ${ref.label} to ${elsewhere[0]} (node: ${elsewhere[0]}), or use a device of ${ref.vm.node}: ${list(known)}`
                : `use a device of ${ref.vm.node} (${list(known)}), or add it to ${PROXMOX}.${ref.vm.node}.pci`,
            ),
          );
          continue;
        }
        if (d.nic && dev.kind !== "nic") {
          out.push(
            problem(
              d.where,
              d.id,
              `${ref.vm.node}'s ${d.id} is a ${dev.kind} (${dev.description}), not a NIC; a NIC entry needs a device of kind nic`,
              `pass ${d.id} through under vm.passthrough instead, or name a nic device of ${ref.vm.node}`,
            ),
          );
        }
        const key = `${ref.vm.node}/${d.id}`;
        const prev = claimed.get(key);
        if (prev) {
          out.push(
            problem(
              d.where,
              d.id,
              `${ref.vm.node}'s ${d.id} is already passed through to ${prev.label} (${place(prev.where)}); a device can belong to one VM only`,
              `give ${ref.label} another device of ${ref.vm.node}, or remove it from one of the two VMs`,
            ),
          );
          continue;
        }
        claimed.set(key, { label: ref.label, where: d.where });
        const gkey = `${ref.vm.node}/${dev.iommuGroup}`;
        const g = groups.get(gkey);
        if (g && g.label !== ref.label) {
          out.push(
            problem(
              d.where,
              d.id,
              `${ref.vm.node}'s ${d.id} shares IOMMU group ${dev.iommuGroup} with ${g.id}, which is passed through to ${g.label} (${place(g.where)}); a whole IOMMU group goes to one VM`,
              `pass both devices to the same VM, or use a device in another IOMMU group`,
            ),
          );
        } else if (!g) groups.set(gkey, { label: ref.label, id: d.id, where: d.where });
      }
      if (devices.length > 0 && ref.vm.ha) {
        out.push(
          problem(
            vmWhere(ref, "ha"),
            true,
            `${ref.label} passes through ${list(devices.map((d) => d.id))} of ${ref.vm.node}, so it is pinned to ${ref.vm.node} and cannot be HA-managed; ha defaults to true, so a passthrough VM must say ha: false explicitly`,
            `add ha: false to ${ref.base}`,
          ),
        );
      }
    }
    return out;
  },
};

/** `2 vCPUs, 4096 MiB, local-zfs 32 GiB`. */
function showVmSize(vm: PlacedVm): string {
  const disks = Object.entries(vm.disks).map(([ds, gib]) => `${ds} ${gib} GiB`);
  return [`${vm.cores} vCPU${vm.cores === 1 ? "" : "s"}`, `${vm.memoryMiB} MiB`, ...disks].join(", ");
}

const capacityNodes: Rule = {
  id: "capacity.nodes",
  description:
    "Per node: the VMs' memory fits in (memoryGiB - reservedMemoryGiB) x 1024 MiB, their vCPUs in cpuCores x cpuOvercommit, each VM's cores in cpuCores, and each datastore holds its disks.",
  check(lab) {
    const out: Problem[] = [];
    const refs = new Map(vmRefs(lab).map((r) => [r.name, r]));
    const { nodes: hardware, cpuOvercommit } = lab.hardware.proxmox;
    // The planner's load per node; VMs on unknown nodes are vms.references' problem.
    const loads = planPlacement(lab).nodes;
    const free = (n: NodeLoad) => n.memoryMiB - n.usedMemoryMiB;
    for (const n of loads) {
      const id = n.node;
      const hw = hardware[id]!;
      const mine = n.vms.map((v) => refs.get(v.name)!);
      const p = (key: string) => ({ file: LAB_FILE, path: joinPath(PROXMOX, id, key) });
      if (hw.reservedMemoryGiB >= hw.memoryGiB) {
        out.push(
          problem(
            p("reservedMemoryGiB"),
            hw.reservedMemoryGiB,
            `${id} reserves ${hw.reservedMemoryGiB} GiB for the hypervisor out of its ${hw.memoryGiB} GiB, leaving nothing for VMs`,
            `set reservedMemoryGiB below ${hw.memoryGiB} (the default is 8), or correct memoryGiB`,
          ),
        );
      } else if (n.usedMemoryMiB > n.memoryMiB) {
        const roomiest = loads.filter((o) => o.node !== id).sort((a, b) => free(b) - free(a) || compareText(a.node, b.node))[0];
        out.push(
          problem(
            p("memoryGiB"),
            hw.memoryGiB,
            `the VMs on ${id} need ${n.usedMemoryMiB} MiB but ${id} has ${n.memoryMiB} MiB for VMs (${hw.memoryGiB} GiB minus ${hw.reservedMemoryGiB} GiB reserved): ${mine.map((r) => `${r.label} ${r.vm.memoryMiB}`).join(", ")}`,
            `move VMs with at least ${n.usedMemoryMiB - n.memoryMiB} MiB to another node${roomiest ? ` (${roomiest.node} has ${free(roomiest)} MiB free)` : ""}, or lower their memoryMiB`,
          ),
        );
      }
      if (n.usedVcpus > n.vcpuLimit) {
        out.push(
          problem(
            p("cpuCores"),
            hw.cpuCores,
            `the VMs on ${id} have ${n.usedVcpus} vCPUs but ${id} may hand out ${n.vcpuLimit} (${hw.cpuCores} cores x cpuOvercommit ${cpuOvercommit})`,
            `move VMs with at least ${n.usedVcpus - n.vcpuLimit} vCPUs to another node, or lower their cores`,
          ),
        );
      }
      for (const r of mine) {
        if (r.vm.cores <= n.cpuCores) continue;
        out.push(
          problem(
            vmWhere(r, "cores"),
            r.vm.cores,
            `${r.label} has ${r.vm.cores} cores but its node ${id} has only ${n.cpuCores}; a VM cannot have more vCPUs than its node has threads`,
            `set cores to at most ${n.cpuCores}, or move it to a larger node`,
          ),
        );
      }
      for (const [ds, size] of Object.entries(n.storageGiB)) {
        const used = n.usedStorageGiB[ds] ?? 0;
        if (used <= size) continue;
        const disks = mine.flatMap((r) =>
          Object.values(r.vm.disks)
            .filter((d) => d.datastore === ds)
            .map((d) => `${r.label} ${d.sizeGiB}`),
        );
        out.push(
          problem(
            p(`storage.${ds}`),
            size,
            `the disks on ${id}'s datastore ${ds} need ${used} GiB but it holds ${size} GiB: ${disks.join(", ")}`,
            `move disks with at least ${used - size} GiB elsewhere, or shrink them`,
          ),
        );
      }
    }
    return out;
  },
};

const capacityFailover: Rule = {
  id: "capacity.n-minus-1",
  description:
    "For every node, when it fails, each of its HA VMs is placed on a surviving node with the network, cores, vCPUs, memory and datastore space it needs (the planner's failover); pinned VMs are down until their node returns. Runs only when every VM names an existing node and datastore.",
  check(lab) {
    if (vmReferences.check(lab).length > 0) return []; // meaningless on dangling references
    const placement = planPlacement(lab);
    const refs = new Map(vmRefs(lab).map((r) => [r.name, r]));
    const out: Problem[] = [];
    for (const f of placement.failover) {
      const victim = placement.nodes.find((n) => n.node === f.failed);
      for (const name of f.stranded) {
        const vm = victim?.vms.find((v) => v.name === name);
        const ref = refs.get(name);
        if (!vm || !ref) continue;
        out.push(
          problem(
            vmWhere(ref, "ha"),
            true,
            `when ${f.failed} fails, the HA VM ${ref.label} (${showVmSize(vm)}) fits on no surviving node: ${(f.strandedWhy[name] ?? []).join("; ") || "there is no other node"}`,
            `add the missing capacity or bridge on one surviving node, move VMs off it, or set ha: false on ${ref.label} and accept that it is down while ${f.failed} is`,
          ),
        );
      }
    }
    return out;
  },
};

const talosCluster: Rule = {
  id: "talos.cluster",
  description:
    "A Talos cluster has an odd number (>= 3) of control planes, each a host of its segment with role k8s-control-plane and os talos, on distinct Proxmox nodes; each worker a host with role k8s-worker and os talos; no host twice; every k8s-* host belongs to the cluster. The VIP is checked with every other address (addresses.in-network, addresses.unique).",
  check(lab) {
    const out: Problem[] = [];
    for (const seg of segmentList(lab)) {
      const w = (...parts: PathPart[]) => ({ file: seg.file, path: sp(...parts) });
      const t = seg.talos;
      const listed = new Set<string>();
      if (t) {
        const n = t.controlPlanes.length;
        if (n < 3 || n % 2 === 0) {
          out.push(
            problem(
              w("talos.controlPlanes"),
              t.controlPlanes,
              `${seg.name}'s Talos cluster has ${n} control plane${n === 1 ? "" : "s"}; etcd needs a majority, so use an odd number, at least 3 (3 tolerate 1 failure, 5 tolerate 2)`,
              n < 3 ? `add control planes until there are 3` : `use ${n + 1} control planes (or ${n - 1})`,
            ),
          );
        }
        const nodeOf = new Map<string, { host: string; where: Where }>();
        for (const [key, role, what] of [
          ["controlPlanes", "k8s-control-plane", "control plane"],
          ["workers", "k8s-worker", "worker"],
        ] as const) {
          t[key].forEach((name, i) => {
            const where = w("talos", key, i);
            if (listed.has(name)) {
              out.push(
                problem(
                  where,
                  name,
                  `${name} is listed more than once in ${seg.name}'s Talos cluster; a node is either one control plane or one worker`,
                  `remove the repeated ${name}`,
                ),
              );
              return;
            }
            listed.add(name);
            const h = own(seg.hosts, name);
            if (!h) {
              const candidates = Object.entries(seg.hosts)
                .filter(([, x]) => x.role === role)
                .map(([id]) => id);
              out.push(
                problem(
                  where,
                  name,
                  `${name} is not a host of ${seg.name}${didYouMean(name, Object.keys(seg.hosts))} (its ${role} hosts: ${list(candidates)})`,
                  `name a host of ${seg.name} with role ${role}, or add ${name} under hosts`,
                ),
              );
              return;
            }
            if (h.role !== role) {
              out.push(
                problem(
                  where,
                  name,
                  `${seg.name}/${name} has role ${h.role}; a Talos ${what} must have role ${role}`,
                  `set hosts.${name}.role to ${role}, or list ${name} where its role belongs`,
                ),
              );
            } else if (h.os !== "talos") {
              out.push(
                problem(
                  w("hosts", name, "os"),
                  h.os,
                  `${seg.name}/${name} is a Talos ${what} but has os ${h.os}`,
                  `set hosts.${name}.os to talos`,
                ),
              );
            }
            if (key !== "controlPlanes" || !h.vm) return;
            const prev = nodeOf.get(h.vm.node);
            if (prev) {
              const free = nodesWithNetwork(lab, seg.name).filter((x) => !nodeOf.has(x));
              out.push(
                problem(
                  w("hosts", name, "vm.node"),
                  h.vm.node,
                  `control planes ${prev.host} and ${name} of ${seg.name} both run on ${h.vm.node}; losing that node would lose two etcd members and quorum`,
                  `move ${name} to another node${free.length > 0 ? ` with a bridge into ${seg.name}: ${list(free)}` : ""}`,
                ),
              );
            } else nodeOf.set(h.vm.node, { host: name, where: w("hosts", name, "vm.node") });
          });
        }
      }
      for (const [id, h] of Object.entries(seg.hosts)) {
        if ((h.role !== "k8s-control-plane" && h.role !== "k8s-worker") || listed.has(id)) continue;
        const key = h.role === "k8s-control-plane" ? "controlPlanes" : "workers";
        out.push(
          problem(
            w("hosts", id, "role"),
            h.role,
            t
              ? `${seg.name}/${id} has role ${h.role} but is not in talos.${key}, so it would never join the cluster`
              : `${seg.name}/${id} has role ${h.role} but ${seg.name} has no talos cluster`,
            t ? `add ${id} to talos.${key}, or change its role` : `add a talos section to ${seg.file}, or change the role`,
          ),
        );
      }
    }
    return out;
  },
};

const servicesBackends: Rule = {
  id: "services.backends",
  description:
    "Every published service's backend host is a host of its segment (configured hosts and the hardware in it). The backend port need not be in the host's listens (that list is for docs and the twin).",
  check(lab) {
    const out: Problem[] = [];
    for (const seg of segmentList(lab)) {
      const ids = segmentHosts(lab, seg).map((h) => h.id);
      for (const [id, s] of Object.entries(seg.services)) {
        if (ids.includes(s.backend.host)) continue;
        out.push(
          problem(
            { file: seg.file, path: sp("services", id, "backend.host") },
            s.backend.host,
            `service ${id}'s backend "${s.backend.host}" is not a host of ${seg.name}${didYouMean(s.backend.host, ids)} (hosts: ${list(ids)})`,
            `set backend.host to a host of ${seg.name}; a service is published from its own segment only`,
          ),
        );
      }
    }
    return out;
  },
};

const servicesAuth: Rule = {
  id: "services.auth",
  description: "A service exposed to the internet has authentication (auth kind app or basic), or states in reason why it must be open.",
  check(lab) {
    const out: Problem[] = [];
    for (const seg of segmentList(lab)) {
      for (const [id, s] of Object.entries(seg.services)) {
        if (s.exposure !== "internet" || s.auth.kind !== "none" || s.reason !== undefined) continue;
        out.push(
          problem(
            { file: seg.file, path: sp("services", id, "auth") },
            s.auth,
            `${seg.name} service ${id} is exposed to the internet with auth kind "none": anyone can use it; an internet-exposed service needs auth kind app or basic, or a stated reason`,
            `set auth to { kind: basic, realm: ${id} } or { kind: app, note: <how the app authenticates> }, or add reason: <why it must be open>; or set exposure: lab`,
          ),
        );
      }
    }
    return out;
  },
};

const servicesPorts: Rule = {
  id: "services.ports",
  description:
    "On each router, two services share a WAN port and protocol only when they share the backend address and port (one DNAT); WAN port 22/tcp is the jump host's entry; stream (tcp/udp) proxy ports are unique lab-wide per protocol and never 80/443 tcp, which the proxy serves HTTP on.",
  check(lab) {
    const out: Problem[] = [];
    const streams: (Where & { key: string; label: string })[] = [];
    for (const seg of segmentList(lab)) {
      const addr = new Map(segmentHosts(lab, seg).map((h) => [h.id, h.address]));
      const used = new Map<string, { id: string; backend: string; where: Where }>();
      // Every WAN port this router forwards, so a suggested port collides with no service, earlier or later.
      const usedPorts = (proto: string) =>
        new Set(
          Object.values(seg.services)
            .filter((x) => serviceProto(x) === proto)
            .map(wanPort),
        );
      for (const id of Object.keys(seg.services).sort()) {
        const s = seg.services[id]!;
        const proto = serviceProto(s);
        const port = wanPort(s);
        const where = { file: seg.file, path: sp("services", id, "wanPort") };
        const whence = s.wanPort === undefined ? ` (wanPort defaults to backend.port)` : "";
        if (port === 22 && proto === "tcp") {
          out.push(
            problem(
              where,
              port,
              `service ${id} would take WAN port 22/tcp on ${seg.router.name}${whence}; that port is the DNAT to ${seg.name}'s jump host, the admins' only way in`,
              `set wanPort to a free port, e.g. ${freePort(usedPorts("tcp"), 2222)}`,
            ),
          );
          continue;
        }
        const backendAddr = addr.get(s.backend.host);
        if (backendAddr === undefined) continue; // services.backends
        const backend = `${backendAddr}:${s.backend.port}`;
        const key = `${port}/${proto}`;
        const prev = used.get(key);
        if (prev && prev.backend !== backend) {
          out.push(
            problem(
              where,
              port,
              `service ${id} needs WAN port ${key} on ${seg.router.name} (${seg.router.wanAddress})${whence} for its backend ${backend}, but ${prev.id} (${place(prev.where)}) already forwards it to ${prev.backend}; services share a WAN port only with the same backend address and port`,
              `set wanPort of ${id} to a free port, e.g. ${freePort(usedPorts(proto), port < 1024 ? 8080 : port + 1)}`,
            ),
          );
        } else if (!prev) used.set(key, { id, backend, where });
      }
      for (const id of Object.keys(seg.services).sort()) {
        const s = seg.services[id]!;
        if (s.kind === "http") continue;
        const where = { file: seg.file, path: sp("services", id, "port") };
        if (s.kind === "tcp" && (s.port === 80 || s.port === 443)) {
          out.push(
            problem(
              where,
              s.port,
              `${s.kind} service ${id} asks the proxy to listen on ${s.port}/tcp, where it serves HTTP and HTTPS for every http service`,
              `use another port for the stream, or publish it as kind: http`,
            ),
          );
          continue;
        }
        streams.push({ ...where, key: `${s.port}/${s.kind}`, label: `${seg.name} service ${id}` });
      }
    }
    out.push(
      ...duplicates(
        streams,
        (s) => s.key,
        (dup, first) => {
          const [, proto] = dup.key.split("/");
          const usedSet = new Set(streams.filter((s) => s.key.endsWith(`/${proto}`)).map((s) => Number(s.key.split("/")[0])));
          const port = Number(dup.key.split("/")[0]);
          return problem(
            dup,
            port,
            `${dup.label} asks the proxy to listen on ${dup.key}, which ${first.label} (${place(first)}) already uses; the proxy has one listener per port and protocol`,
            `use a free port, e.g. ${freePort(usedSet, port + 1)}`,
          );
        },
      ),
    );
    return out;
  },
};

const servicesNames: Rule = {
  id: "services.names",
  description:
    "Every HTTP service's public name (<hostname or id>.<domain>) is unique lab-wide and is not a name the DMZ already serves (infra, dns, ntp, proxy, a router's WAN entry).",
  check(lab) {
    const reserved = dmzLabels(lab);
    const names: (Where & { fqdn: string; label: string; value: string })[] = [];
    const out: Problem[] = [];
    for (const seg of segmentList(lab)) {
      for (const id of Object.keys(seg.services).sort()) {
        const s = seg.services[id]!;
        if (s.kind !== "http") continue;
        const hostname = s.hostname ?? id;
        const where = { file: seg.file, path: sp("services", id, ...(s.hostname ? ["hostname"] : [])) };
        const clash = reserved.get(hostname);
        if (clash) {
          out.push(
            problem(
              where,
              hostname,
              `service ${id} of ${seg.name} would be ${hostname}.${lab.domain}, which is ${clash.what} (${place(clash)})`,
              `set hostname to another name, e.g. ${hostname}-web`,
            ),
          );
          continue;
        }
        names.push({ ...where, fqdn: serviceFqdn(lab, id, s), label: `${seg.name} service ${id}`, value: hostname });
      }
    }
    out.push(
      ...duplicates(
        names,
        (n) => n.fqdn,
        (dup, first) =>
          problem(
            dup,
            dup.value,
            `${dup.label} is published as ${dup.fqdn}, like ${first.label} (${place(first)}); each HTTP name routes to one service`,
            `set hostname to a distinct name, e.g. ${dup.value}-2`,
          ),
      ),
    );
    return out;
  },
};

const sshJumpHosts: Rule = {
  id: "ssh.jump-hosts",
  description:
    "Each segment's jumpHost names a host of the segment with role jump and an sshHostKey (admins and Pulumi verify it on first contact).",
  check(lab) {
    const out: Problem[] = [];
    for (const seg of segmentList(lab)) {
      const where = { file: seg.file, path: sp("jumpHost") };
      const h = own(seg.hosts, seg.jumpHost);
      if (!h) {
        const jumps = Object.entries(seg.hosts)
          .filter(([, x]) => x.role === "jump")
          .map(([id]) => id);
        out.push(
          problem(
            where,
            seg.jumpHost,
            `jumpHost "${seg.jumpHost}" is not a host of ${seg.name}${didYouMean(seg.jumpHost, Object.keys(seg.hosts))} (hosts with role jump: ${list(jumps)})`,
            jumps.length > 0 ? `set jumpHost to ${jumps[0]}` : `add a host with role jump and an sshHostKey, and name it in jumpHost`,
          ),
        );
        continue;
      }
      if (h.role !== "jump")
        out.push(
          problem(
            where,
            seg.jumpHost,
            `${seg.name}/${seg.jumpHost} has role ${h.role}; the jump host must have role jump`,
            `set hosts.${seg.jumpHost}.role to jump, or name the jump host in jumpHost`,
          ),
        );
      if (h.sshHostKey === undefined)
        out.push(
          problem(
            { file: seg.file, path: sp("hosts", seg.jumpHost, "sshHostKey") },
            undefined,
            `the jump host ${seg.name}/${seg.jumpHost} has no sshHostKey; admins and Pulumi must verify it before they trust it`,
            `add its host key: ssh-keyscan -t ed25519 ${h.address}`,
          ),
        );
    }
    return out;
  },
};

const sshHostKeys: Rule = {
  id: "ssh.host-keys",
  description: "Every NixOS host has an sshHostKey: Pulumi deploys it over SSH and must verify what it connects to.",
  check(lab) {
    const out: Problem[] = [];
    for (const seg of segmentList(lab)) {
      for (const [id, h] of Object.entries(seg.hosts)) {
        if (h.os !== "nixos" || h.sshHostKey !== undefined || id === seg.jumpHost) continue; // the jump host: ssh.jump-hosts
        out.push(
          problem(
            { file: seg.file, path: sp("hosts", id, "sshHostKey") },
            undefined,
            `${seg.name}/${id} runs NixOS, which Pulumi deploys over SSH, but has no sshHostKey to verify`,
            `add its host key: ssh-keyscan -t ed25519 ${h.address}`,
          ),
        );
      }
    }
    return out;
  },
};

const sshKeys: Rule = {
  id: "ssh.keys",
  description:
    "Every public key appears once: admins do not share keys (that defeats attribution), the deploy key is nobody's admin key, and no two hosts or routers share a host key (a cloned machine); the deploy user is not also an admin's name.",
  check(lab) {
    const keys: (Where & { key: string; label: string; kind: "admin" | "deploy" | "host" })[] = [];
    for (const name of Object.keys(lab.admins).sort()) {
      lab.admins[name]!.keys.forEach((key, i) =>
        keys.push({ file: LAB_FILE, path: joinPath("admins", name, "keys", i), key, label: `admin ${name}`, kind: "admin" }),
      );
    }
    keys.push({ file: LAB_FILE, path: "ssh.deploy.key", key: lab.ssh.deploy.key, label: "the deploy identity", kind: "deploy" });
    keys.push({ file: LAB_FILE, path: "dmz.infra.sshHostKey", key: lab.dmz.infra.sshHostKey, label: "the DMZ infra host", kind: "host" });
    for (const seg of segmentList(lab)) {
      keys.push({
        file: seg.file,
        path: sp("router.sshHostKey"),
        key: seg.router.sshHostKey,
        label: `router ${seg.router.name}`,
        kind: "host",
      });
      for (const [id, h] of Object.entries(seg.hosts))
        if (h.sshHostKey)
          keys.push({ file: seg.file, path: sp("hosts", id, "sshHostKey"), key: h.sshHostKey, label: `${seg.name}/${id}`, kind: "host" });
    }
    const out = duplicates(
      keys,
      (k) => keyMaterial(k.key),
      (dup, first) => {
        const why =
          dup.kind === "host" && first.kind === "host"
            ? "two machines with one host key are clones, and SSH can no longer tell them apart"
            : dup.kind === "deploy" || first.kind === "deploy"
              ? "the deploy key must be Pulumi's alone, so a person's key can be revoked without breaking deploys"
              : dup.kind === "admin" && first.kind === "admin"
                ? "a shared key defeats attribution: logs cannot tell who logged in"
                : "a host key and a login key must never be the same key";
        const fix =
          dup.kind === "host"
            ? `regenerate ${dup.label}'s host key (ssh-keygen -t ed25519) and record the new public key`
            : dup.kind === "deploy"
              ? "generate a separate deploy key (ssh-keygen -t ed25519 -C pulumi-deploy) and store its private key in homelab:deployKey"
              : `give ${dup.label} a key of their own (ssh-keygen -t ed25519)`;
        return problem(
          dup,
          showKey(dup.key),
          `${dup.label} uses the key ${showKey(dup.key)}, which is also ${first.label}'s (${place(first)}); ${why}`,
          fix,
        );
      },
    );
    const user = lab.ssh.deploy.user;
    if (own(lab.admins, user)) {
      out.push(
        problem(
          { file: LAB_FILE, path: "ssh.deploy.user" },
          user,
          `the deploy user "${user}" is also an admin's name (admins.${user}); sshd and NixOS would merge the two accounts`,
          `rename the deploy user, e.g. deploy or pulumi`,
        ),
      );
    }
    // Login names that are system accounts: root logins are refused by every sshd, and the
    // others belong to daemons (NixOS would redefine them).
    const system = new Set(["root", "daemon", "bin", "sys", "nobody", "sshd", "nginx", "dnsmasq", "chrony", "nixbld"]);
    for (const name of Object.keys(lab.admins).sort()) {
      if (system.has(name))
        out.push(
          problem(
            { file: LAB_FILE, path: `admins.${name}` },
            name,
            `"${name}" is a system account, not a person: root login is refused everywhere and daemon accounts must not get keys`,
            `name the admin after the person, e.g. alice`,
          ),
        );
    }
    if (system.has(user))
      out.push(
        problem(
          { file: LAB_FILE, path: "ssh.deploy.user" },
          user,
          `"${user}" is a system account; the deploy identity needs its own account with sudo for the apply command`,
          "use deploy",
        ),
      );
    return out;
  },
};

const flowsTargets: Rule = {
  id: "flows.targets",
  description:
    "Every explicit flow's `to` resolves (dmz, dmz/<name>, <segment>, <segment>/<host>) to somewhere outside its own segment (traffic inside a segment never crosses a router), and each `from` names a host of the segment.",
  check(lab) {
    const out: Problem[] = [];
    const targets = targetNames(lab);
    for (const seg of segmentList(lab)) {
      const ids = segmentHosts(lab, seg).map((h) => h.id);
      for (const [id, f] of Object.entries(seg.flows)) {
        const to = resolveTarget(lab, f.to);
        const where = { file: seg.file, path: sp("flows", id, "to") };
        if (!to) {
          out.push(
            problem(
              where,
              f.to,
              `flow ${id}'s target "${f.to}" names nothing in the lab (a target is dmz, dmz/<infra|dns|ntp|proxy|router>, <segment> or <segment>/<host>; segments: ${list(Object.keys(lab.segments))})${didYouMean(f.to, targets)}`,
              suggest(f.to, targets) ? `set to: ${suggest(f.to, targets)}` : "name an existing segment or host",
            ),
          );
        } else if (to.zone === seg.name) {
          out.push(
            problem(
              where,
              f.to,
              `flow ${id} goes from ${seg.name} to ${f.to}, inside ${seg.name} itself; that traffic never crosses the router, so the flow allows nothing`,
              `remove the flow, or point it at another segment or the DMZ`,
            ),
          );
        }
        (f.from ?? []).forEach((src, i) => {
          if (ids.includes(src)) return;
          out.push(
            problem(
              { file: seg.file, path: sp("flows", id, "from", i) },
              src,
              `flow ${id}'s source "${src}" is not a host of ${seg.name}${didYouMean(src, ids)} (hosts: ${list(ids)})`,
              `name a host of ${seg.name}, or leave out from to allow the whole segment`,
            ),
          );
        });
      }
    }
    return out;
  },
};

/** The endpoint a storage `server` names, when it is one host of a segment (not a whole segment, not the DMZ). */
function storageServer(lab: Lab, server: string): Endpoint | undefined {
  const to = resolveTarget(lab, server);
  return to?.host !== undefined && to.zone !== DMZ_STACK ? to : undefined;
}

/** A plausible server for a broken `server` value: the did-you-mean, or a host of the named segment that listens on the protocol's port. */
function storageExample(lab: Lab, server: string, protocol: "nfs" | "smb", servers: readonly string[]): string | undefined {
  const hint = suggest(server, servers);
  if (hint) return hint;
  const seg = own(lab.segments, server.split("/")[0] ?? "");
  if (!seg) return undefined;
  const port = showPort(STORAGE_PORTS[protocol]);
  const host = Object.entries(seg.hosts).find(([, h]) => h.listens.includes(port));
  return host ? `${seg.name}/${host[0]}` : undefined;
}

const storageTargets: Rule = {
  id: "storage.targets",
  description:
    "Every storage mount's server is one host of a segment (<segment>/<host>, not a whole segment or the DMZ), and each consumer is a host of the mounting segment.",
  check(lab) {
    const out: Problem[] = [];
    const servers = targetNames(lab).filter((t) => storageServer(lab, t));
    for (const seg of segmentList(lab)) {
      const ids = segmentHosts(lab, seg).map((h) => h.id);
      for (const [id, st] of Object.entries(seg.storage)) {
        if (!storageServer(lab, st.server)) {
          const example = storageExample(lab, st.server, st.protocol, servers);
          out.push(
            problem(
              { file: seg.file, path: sp("storage", id, "server") },
              st.server,
              `storage ${id}'s server "${st.server}" is not a host of a segment (a server is <segment>/<host>, the one machine that exports the ${st.protocol.toUpperCase()} share)${didYouMean(st.server, servers)}`,
              `name the host that serves ${st.export}${eg(example)}`,
            ),
          );
        }
        st.consumers.forEach((c, i) => {
          if (ids.includes(c)) return;
          out.push(
            problem(
              { file: seg.file, path: sp("storage", id, "consumers", i) },
              c,
              `storage ${id}'s consumer "${c}" is not a host of ${seg.name}${didYouMean(c, ids)} (hosts: ${list(ids)})`,
              `name a host of ${seg.name}; a segment mounts storage for its own hosts only`,
            ),
          );
        });
      }
    }
    return out;
  },
};

const untrustedReasons: Rule = {
  id: "untrusted.reasons",
  description:
    "An untrusted segment opens nothing into another segment or the DMZ without a stated reason: explicit flows always carry one (the schema requires it), and a storage mount from an untrusted segment needs `reason` when its server is in another segment.",
  check(lab) {
    const out: Problem[] = [];
    for (const seg of segmentList(lab)) {
      if (seg.trust !== "untrusted") continue;
      for (const [id, st] of Object.entries(seg.storage)) {
        const server = storageServer(lab, st.server);
        if (!server || server.zone === seg.name || st.reason !== undefined) continue;
        const port = showPort(STORAGE_PORTS[st.protocol]);
        out.push(
          problem(
            { file: seg.file, path: sp("storage", id, "reason") },
            undefined,
            `${seg.name} is untrusted, and mounting ${st.protocol.toUpperCase()} ${st.export} from ${st.server} opens ${port} from ${list(st.consumers)} into ${server.zone}; an untrusted segment needs a stated reason for every opening`,
            `add reason: <why ${seg.name} must mount ${st.export}> (at least 10 characters), or serve the data from inside ${seg.name}`,
          ),
        );
      }
    }
    return out;
  },
};

const refsRouters: Rule = {
  id: "refs.routers",
  description:
    "Each segment's router.hardware names a box in hardware.routers, and no two segments share a box (isolation is by separate hardware).",
  check(lab) {
    const out: Problem[] = [];
    const boxes = Object.keys(lab.hardware.routers);
    const owner = new Map<string, Segment>();
    for (const seg of segmentList(lab)) {
      const box = seg.router.hardware;
      const where = { file: seg.file, path: sp("router.hardware") };
      if (!own(lab.hardware.routers, box)) {
        out.push(
          problem(
            where,
            box,
            `router box "${box}" is not in hardware.routers${didYouMean(box, boxes)} (boxes: ${list(boxes)})`,
            `name a box of hardware.routers, or add ${box} there`,
          ),
        );
        continue;
      }
      const prev = owner.get(box);
      if (prev) {
        const spare = boxes.filter((b) => !segmentList(lab).some((s) => s.router.hardware === b));
        out.push(
          problem(
            where,
            box,
            `router box ${box} already serves ${prev.name} (${prev.file}); each segment has its own router hardware`,
            spare.length > 0 ? `use a spare box: ${list(spare)}` : `add a box to hardware.routers for ${seg.name}`,
          ),
        );
      } else owner.set(box, seg);
    }
    return out;
  },
};

const refsHardwareSegments: Rule = {
  id: "refs.hardware-segments",
  description: "Every hardware `segment` and every Proxmox node `networks` entry names an existing segment stack or dmz.",
  check(lab) {
    const known = [...Object.keys(lab.segments), DMZ_STACK];
    const out: Problem[] = [];
    for (const h of hardwareInSegments(lab)) {
      if (known.includes(h.segment)) continue;
      out.push(
        problem(
          { file: LAB_FILE, path: `${h.path}.segment` },
          h.segment,
          `${h.kind} ${h.id} is in segment "${h.segment}", which does not exist${didYouMean(h.segment, known)} (segments: ${list(known)})`,
          `name an existing segment or dmz, or add Pulumi.${h.segment}.yaml`,
        ),
      );
    }
    for (const [id, n] of Object.entries(lab.hardware.proxmox.nodes)) {
      n.networks.forEach((net, i) => {
        if (known.includes(net)) return;
        out.push(
          problem(
            { file: LAB_FILE, path: joinPath(PROXMOX, id, "networks", i) },
            net,
            `node ${id} has a bridge into "${net}", which is no network of the lab${didYouMean(net, known)} (networks: ${list(known)})`,
            `name an existing segment or dmz`,
          ),
        );
      });
    }
    return out;
  },
};

const refsDmzSegments: Rule = {
  id: "refs.dmz-segments",
  description:
    "The DMZ stack exists; its segments list names existing segment stacks, each once; and every segment stack is in it (otherwise its services are never published and its names never resolve).",
  check(lab) {
    const file = "Pulumi.dmz.yaml";
    const key = CONFIG_KEYS.dmz;
    const known = Object.keys(lab.segments).sort();
    if (!lab.dmzStack) {
      return [
        problem(
          { file, path: key },
          undefined,
          `the lab has no DMZ stack config; the DMZ runs DNS, NTP and the reverse proxy every segment relies on`,
          `create ${file} with ${key}: { segments: [${known.join(", ")}], stackPrefix: organization/homelab }`,
        ),
      ];
    }
    const out: Problem[] = [];
    const listed = lab.dmzStack.segments;
    listed.forEach((name, i) => {
      const where = { file, path: joinPath(key, "segments", i) };
      if (!own(lab.segments, name)) {
        out.push(
          problem(
            where,
            name,
            `"${name}" is not a segment stack${didYouMean(name, known)} (segment stacks: ${list(known)})`,
            `name one of ${list(known)}, or add Pulumi.${name}.yaml`,
          ),
        );
      } else if (listed.indexOf(name) !== i) {
        out.push(problem(where, name, `${name} is listed twice in the DMZ's segments`, `remove the repeated ${name}`));
      }
    });
    const missing = known.filter((name) => !listed.includes(name));
    if (missing.length > 0) {
      const one = missing.length === 1;
      out.push(
        problem(
          { file, path: joinPath(key, "segments") },
          listed,
          `segment stack${one ? "" : "s"} ${list(missing)} ${one ? "is" : "are"} not in the DMZ's segments, so ${one ? "its" : "their"} services are never published and ${one ? "its" : "their"} hosts get no DNS names`,
          `add ${one ? "it" : "them"} to homelab:dmz.segments: [${[...new Set(listed.filter((n) => own(lab.segments, n))), ...missing].join(", ")}]`,
        ),
      );
    }
    return out;
  },
};

/** Every rule. The order is only the order they run in; problems are sorted afterwards. */
export const RULES: readonly Rule[] = [
  subnetsDisjoint,
  addressesInNetwork,
  dhcpPool,
  addressesUnique,
  namesUnique,
  macsUnique,
  vmIdsUnique,
  vmReferences,
  vmNics,
  vmPassthrough,
  capacityNodes,
  capacityFailover,
  talosCluster,
  servicesBackends,
  servicesAuth,
  servicesPorts,
  servicesNames,
  sshJumpHosts,
  sshHostKeys,
  sshKeys,
  flowsTargets,
  storageTargets,
  untrustedReasons,
  refsRouters,
  refsHardwareSegments,
  refsDmzSegments,
];

/** Every problem of the lab, from every rule, in a stable order (file, path, message). */
export function validateLab(lab: Lab): RuleProblem[] {
  const all: RuleProblem[] = [];
  for (const rule of RULES) for (const p of rule.check(lab)) all.push({ ...p, rule: rule.id });
  return sortProblems(all);
}
