/**
 * Planning: pure functions from a validated lab to what each box must do. Flows are
 * derived once here (published services, storage, DNS/NTP, SSH through jump hosts,
 * explicit flows) and every renderer, the docs and the twin read this one list.
 */
import { compareText } from "./order";
import { Cidr, compareIp } from "./net";
import {
  dmzServiceAddresses,
  hostFqdn,
  parsePortProto,
  segmentList,
  serviceFqdn,
  showPort,
  own,
  type Lab,
  type PortSpec,
  type Proto,
  type Segment,
  type Service,
  type VmSpec,
} from "./lab";

/** Where a flow starts or ends. */
export interface Endpoint {
  /** A segment name, `dmz`, `admin` (the admins' workstations) or `internet`. */
  readonly zone: string;
  /** A host id inside the zone, when the endpoint is one host. */
  readonly host?: string;
  /** The addresses: one /32 per host, or the zone's networks. */
  readonly cidrs: readonly Cidr[];
  /** For humans: `cluster/worker-1`, `cluster`, `dmz/proxy`, `internet`. */
  readonly label: string;
}

/** Why a flow exists. */
export type FlowKind =
  /** proxy -> firewall WAN:port -> DNAT -> backend, for one published service */
  | "publish"
  /** the internet (through the ISP edge) -> the proxy, for internet-exposed services */
  | "expose"
  /** a segment -> the proxy, to use the lab's published services by name */
  | "proxy"
  /** a segment -> DMZ DNS */
  | "dns"
  /** a segment -> DMZ NTP */
  | "ntp"
  /** storage consumers -> their NFS/SMB server */
  | "storage"
  /** admins -> a segment's jump host (through the router's WAN), and the jump host -> the segment */
  | "ssh"
  /** an explicit flow from a segment's config, with its reason */
  | "explicit";

/** One allowed flow. Everything not listed is denied. */
export interface Flow {
  /** Stable id from model ids, e.g. `publish:internal/grafana`, `storage:cluster/k8s-nfs`. */
  readonly id: string;
  readonly kind: FlowKind;
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly ports: readonly PortSpec[];
  readonly reason: string;
  /** For flows that cross a router by DNAT: the WAN address and port the source connects to. */
  readonly via?: { readonly router: string; readonly address: string; readonly ports: readonly PortSpec[] };
}

/** One rule a router enforces for a flow: addresses, protocol and port, and the flow it serves. */
export interface FlowRule {
  readonly from: Cidr;
  readonly to: Cidr;
  readonly proto: Proto;
  readonly port: number;
  readonly flow: string;
}

/** A destination NAT on a router's WAN address. */
export interface Dnat {
  readonly proto: Proto;
  /** Port on the router's WAN address. */
  readonly wanPort: number;
  readonly to: string;
  readonly toPort: number;
  /** Only these sources are translated; anyone else hits the drop policy. */
  readonly sources: readonly Cidr[];
  /** The flows it serves: several published services may share one backend port (an ingress). */
  readonly flows: readonly string[];
}

/** A static DHCP lease. */
export interface DhcpHost {
  readonly name: string;
  readonly mac: string;
  readonly address: string;
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
  readonly wan: { readonly iface: string; readonly address: string; readonly subnet: Cidr; readonly gateway: string };
  readonly lan: { readonly iface: string; readonly address: string; readonly subnet: Cidr };
  /** Other segments, reached through their routers' WAN addresses. */
  readonly routes: readonly { readonly to: Cidr; readonly via: string; readonly segment: string }[];
  /** Every network of the lab (DMZ and all segments): lab-bound traffic is checked against the flows, the rest is internet. */
  readonly labNets: readonly Cidr[];
  /** Hosts may reach the internet (masqueraded). */
  readonly internet: boolean;
  /** Forwarded from WAN to LAN (other segments or the DMZ into this one), not by DNAT. */
  readonly inbound: readonly FlowRule[];
  /** Forwarded from LAN to WAN towards lab networks. */
  readonly outbound: readonly FlowRule[];
  /** Published services and the SSH entry to the jump host. */
  readonly dnat: readonly Dnat[];
  /** The jump host's address: the only source allowed SSH into the router itself. */
  readonly jumpAddress: string;
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

/** One host of a segment as the plan sees it, including hardware that sits in the segment. */
export interface PlannedHost {
  readonly id: string;
  readonly segment: string;
  readonly fqdn: string;
  readonly address: string;
  readonly mac?: string;
  readonly role: string;
  readonly os: string;
  readonly description: string;
  readonly listens: readonly PortSpec[];
  readonly sshHostKey?: string;
  /** `vm` (Proxmox VM), `node`, `nas`, `switch`, `router`, `vip` or `physical`. */
  readonly source: "vm" | "node" | "nas" | "switch" | "vip" | "physical";
}

/** One published service, resolved. */
export interface PlannedService {
  readonly id: string;
  readonly segment: string;
  readonly kind: Service["kind"];
  readonly description: string;
  /** For HTTP: the public name. */
  readonly fqdn?: string;
  /** For TCP/UDP: the port the proxy listens on. */
  readonly port?: number;
  readonly backend: { readonly host: string; readonly address: string; readonly port: number; readonly tls: boolean };
  readonly firewall: { readonly router: string; readonly address: string; readonly port: number };
  readonly auth: Service["auth"];
  readonly exposure: Service["exposure"];
  readonly reason?: string;
}

/** A segment's whole plan. */
export interface SegmentPlan {
  readonly name: string;
  readonly description: string;
  readonly trust: Segment["trust"];
  readonly subnet: Cidr;
  readonly router: RouterPlan;
  readonly jumpHost: PlannedHost;
  readonly hosts: readonly PlannedHost[];
  readonly services: readonly PlannedService[];
  /** Flows that start or end in this segment. */
  readonly flows: readonly Flow[];
}

/** The whole lab's plan. */
export interface LabPlan {
  readonly domain: string;
  readonly segments: Readonly<Record<string, SegmentPlan>>;
  readonly flows: readonly Flow[];
  readonly placement: Placement;
}

/** Where VMs run, and whether HA VMs still fit when any one node fails. */
export interface Placement {
  readonly nodes: readonly NodeLoad[];
  /** One entry per node: what happens to its VMs when it fails. */
  readonly failover: readonly Failover[];
}

/** One VM on the Proxmox cluster. */
export interface PlacedVm {
  readonly name: string;
  readonly segment: string;
  readonly host: string;
  readonly vmId: number;
  readonly node: string;
  readonly cores: number;
  readonly memoryMiB: number;
  /** Datastore -> GiB. */
  readonly disks: Readonly<Record<string, number>>;
  readonly networks: readonly string[];
  /** PCI ids passed through (NICs and others). */
  readonly passthrough: readonly string[];
  readonly ha: boolean;
}

/** A node's load. */
export interface NodeLoad {
  readonly node: string;
  readonly cpuCores: number;
  readonly vcpuLimit: number;
  readonly memoryMiB: number;
  readonly storageGiB: Readonly<Record<string, number>>;
  readonly networks: readonly string[];
  readonly vms: readonly PlacedVm[];
  readonly usedVcpus: number;
  readonly usedMemoryMiB: number;
  readonly usedStorageGiB: Readonly<Record<string, number>>;
}

/** What happens when one node fails. */
export interface Failover {
  readonly failed: string;
  /** HA VMs and where they go. */
  readonly moves: readonly { readonly vm: string; readonly to: string }[];
  /** HA VMs that fit nowhere. */
  readonly stranded: readonly string[];
  /** For each stranded VM, why each survivor could not take it, at the moment it was placed. */
  readonly strandedWhy: Readonly<Record<string, readonly string[]>>;
  /** Pinned VMs that are down until the node returns. */
  readonly down: readonly string[];
}

// --------------------------------------------------------------------------------------------------

const SSH: PortSpec = { port: 22, proto: "tcp" };
/** The port a storage consumer connects to on its server, by protocol. */
export const STORAGE_PORTS: Readonly<Record<"nfs" | "smb", PortSpec>> = {
  nfs: { port: 2049, proto: "tcp" },
  smb: { port: 445, proto: "tcp" },
};

/** The hardware of the lab's inventory that sits in `zone` (a segment or `dmz`), as hosts. */
export function hardwareHosts(lab: Lab, zone: string, fqdn: (id: string) => string): PlannedHost[] {
  const hosts: PlannedHost[] = [];
  const add = (
    id: string,
    n: {
      readonly segment: string;
      readonly address: string;
      readonly mac: string;
      readonly description: string;
      readonly sshHostKey?: string;
    },
    h: Pick<PlannedHost, "role" | "os" | "listens" | "source">,
  ) => {
    if (n.segment !== zone) return;
    hosts.push({
      id,
      segment: zone,
      fqdn: fqdn(id),
      address: n.address,
      mac: n.mac,
      description: n.description,
      ...(n.sshHostKey ? { sshHostKey: n.sshHostKey } : {}),
      ...h,
    });
  };
  for (const [id, n] of Object.entries(lab.hardware.proxmox.nodes))
    add(id, n, { role: "hypervisor", os: "proxmox", listens: [{ port: 8006, proto: "tcp" }], source: "node" });
  for (const [id, n] of Object.entries(lab.hardware.nas))
    add(id, n, { role: "nas", os: "truenas", listens: [{ port: 443, proto: "tcp" }], source: "nas" });
  for (const [id, n] of Object.entries(lab.hardware.switches)) add(id, n, { role: "switch", os: "none", listens: [], source: "switch" });
  return hosts;
}

/** Every host of a segment: its configured hosts plus the hardware whose address lies in it. */
export function segmentHosts(lab: Lab, seg: Segment): PlannedHost[] {
  const hosts: PlannedHost[] = [];
  const add = (id: string, h: Omit<PlannedHost, "id" | "segment" | "fqdn">) =>
    hosts.push({ id, segment: seg.name, fqdn: hostFqdn(lab, seg.name, id), ...h });
  for (const [id, h] of Object.entries(seg.hosts)) {
    add(id, {
      address: h.address,
      ...(h.mac ? { mac: h.mac } : {}),
      role: h.role,
      os: h.os,
      description: h.description,
      listens: h.listens.map(parsePortProto),
      ...(h.sshHostKey ? { sshHostKey: h.sshHostKey } : {}),
      source: h.vm ? "vm" : h.role === "vip" ? "vip" : "physical",
    });
  }
  hosts.push(...hardwareHosts(lab, seg.name, (id) => hostFqdn(lab, seg.name, id)));
  return hosts.sort((a, b) => compareIp(a.address, b.address));
}

function hostEndpoint(lab: Lab, seg: Segment, id: string): Endpoint {
  const address = findHostAddress(lab, seg, id);
  return { zone: seg.name, host: id, cidrs: [Cidr.host(address)], label: `${seg.name}/${id}` };
}

function findHostAddress(lab: Lab, seg: Segment, id: string): string {
  const h = segmentHosts(lab, seg).find((x) => x.id === id);
  if (!h) throw new Error(`bug: host ${seg.name}/${id} not found after validation`);
  return h.address;
}

function segmentEndpoint(seg: Segment): Endpoint {
  return { zone: seg.name, cidrs: [seg.subnet], label: seg.name };
}

/** The DMZ endpoints flows can name: `dmz` (its subnet) and its service addresses. */
function dmzEndpoint(lab: Lab, host?: string): Endpoint {
  if (host === undefined) return { zone: "dmz", cidrs: [lab.dmz.subnet], label: "dmz" };
  const address = dmzAddress(lab, host);
  if (!address) throw new Error(`bug: dmz host ${host} not found after validation`);
  return { zone: "dmz", host, cidrs: [Cidr.host(address)], label: `dmz/${host}` };
}

/** Named addresses in the DMZ: `infra`, `dns`, `ntp`, `proxy`, and the segment routers' WAN sides. */
function dmzAddress(lab: Lab, name: string): string | undefined {
  const fixed = own(dmzServiceAddresses(lab), name);
  if (fixed !== undefined) return fixed;
  for (const seg of segmentList(lab)) if (seg.router.name === name) return seg.router.wanAddress;
  return undefined;
}

/** Resolve a flow target: `dmz`, `dmz/<name>`, `<segment>` or `<segment>/<host>`. */
export function resolveTarget(lab: Lab, target: string): Endpoint | undefined {
  const [zone, host, extra] = target.split("/");
  if (extra !== undefined || !zone) return undefined;
  if (zone === "dmz") return host === undefined || dmzAddress(lab, host) ? dmzEndpoint(lab, host) : undefined;
  const seg = Object.hasOwn(lab.segments, zone) ? lab.segments[zone] : undefined;
  if (!seg) return undefined;
  if (host === undefined) return segmentEndpoint(seg);
  return segmentHosts(lab, seg).some((h) => h.id === host) ? hostEndpoint(lab, seg, host) : undefined;
}

/**
 * Every flow target `resolveTarget` accepts, for did-you-mean hints: `dmz`, `dmz/<name>`
 * for the DMZ's own names and each router, and each segment and `<segment>/<host>`.
 * Kept next to the resolver so the two cannot drift apart.
 */
export function targetNames(lab: Lab): string[] {
  const out = ["dmz", ...Object.keys(dmzServiceAddresses(lab)).map((n) => `dmz/${n}`)];
  for (const seg of segmentList(lab)) {
    out.push(`dmz/${seg.router.name}`, seg.name, ...segmentHosts(lab, seg).map((h) => `${seg.name}/${h.id}`));
  }
  return out;
}

/** The port on the router's WAN address a service is reached on. */
export function wanPort(service: Service): number {
  return service.wanPort ?? service.backend.port;
}

/** Every published service of a segment, resolved. */
export function planServices(lab: Lab, seg: Segment): PlannedService[] {
  return Object.entries(seg.services)
    .map(([id, s]): PlannedService => ({
      id,
      segment: seg.name,
      kind: s.kind,
      description: s.description,
      ...(s.kind === "http" ? { fqdn: serviceFqdn(lab, id, s) } : { port: s.port }),
      backend: { host: s.backend.host, address: findHostAddress(lab, seg, s.backend.host), port: s.backend.port, tls: s.backend.tls },
      firewall: { router: seg.router.name, address: seg.router.wanAddress, port: wanPort(s) },
      auth: s.auth,
      exposure: s.exposure,
      ...(s.reason ? { reason: s.reason } : {}),
    }))
    .sort((a, b) => compareText(a.id, b.id));
}

/** The ports the proxy listens on: 80 and 443 for HTTP, plus every stream port. */
function proxyPorts(lab: Lab, filter: (s: Service) => boolean = () => true): PortSpec[] {
  const ports = new Map<string, PortSpec>();
  for (const seg of segmentList(lab)) {
    for (const s of Object.values(seg.services)) {
      if (!filter(s)) continue;
      const list: PortSpec[] =
        s.kind === "http"
          ? [
              { port: 80, proto: "tcp" },
              { port: 443, proto: "tcp" },
            ]
          : [{ port: s.port, proto: s.kind }];
      for (const p of list) ports.set(showPort(p), p);
    }
  }
  return sortPorts([...ports.values()]);
}

function sortPorts(ports: PortSpec[]): PortSpec[] {
  return ports.sort((a, b) => compareText(a.proto, b.proto) || a.port - b.port);
}

/** Derive every allowed flow of the lab, sorted by id. */
export function planFlows(lab: Lab): Flow[] {
  const flows: Flow[] = [];
  const proxy = dmzEndpoint(lab, "proxy");
  const internet: Endpoint = { zone: "internet", cidrs: [Cidr.of("0.0.0.0/0")], label: "internet" };
  const admin: Endpoint = { zone: "admin", cidrs: lab.ssh.adminSources, label: "admin workstations" };

  const exposed = proxyPorts(lab, (s) => s.exposure === "internet");
  if (exposed.length > 0) {
    flows.push({
      id: "expose:proxy",
      kind: "expose",
      from: internet,
      to: proxy,
      ports: exposed,
      reason: "internet clients reach internet-exposed services through the ISP edge and the reverse proxy",
    });
  }

  for (const seg of segmentList(lab)) {
    const whole = segmentEndpoint(seg);
    flows.push({
      id: `dns:${seg.name}`,
      kind: "dns",
      from: whole,
      to: dmzEndpoint(lab, "dns"),
      ports: [
        { port: 53, proto: "tcp" },
        { port: 53, proto: "udp" },
      ],
      reason: "every segment resolves names with the DMZ DNS",
    });
    flows.push({
      id: `ntp:${seg.name}`,
      kind: "ntp",
      from: whole,
      to: dmzEndpoint(lab, "ntp"),
      ports: [{ port: 123, proto: "udp" }],
      reason: "every segment keeps time with the DMZ NTP server",
    });
    const usable = proxyPorts(lab, (s) => s.exposure === "internet" || seg.trust === "trusted");
    if (usable.length > 0) {
      flows.push({
        id: `proxy:${seg.name}`,
        kind: "proxy",
        from: whole,
        to: proxy,
        ports: usable,
        reason: `${seg.name} uses the lab's published services by name through the proxy`,
      });
    }
    const jump = hostEndpoint(lab, seg, seg.jumpHost);
    flows.push({
      id: `ssh:${seg.name}`,
      kind: "ssh",
      from: admin,
      to: jump,
      ports: [SSH],
      reason: `admins enter ${seg.name} only through its jump host, at the router's WAN address`,
      via: { router: seg.router.name, address: seg.router.wanAddress, ports: [SSH] },
    });
    flows.push({
      id: `ssh:${seg.name}/jump`,
      kind: "ssh",
      from: jump,
      to: whole,
      ports: [SSH],
      reason: `the jump host is the only source of SSH inside ${seg.name}`,
    });

    for (const s of planServices(lab, seg)) {
      flows.push({
        id: `publish:${seg.name}/${s.id}`,
        kind: "publish",
        from: proxy,
        to: hostEndpoint(lab, seg, s.backend.host),
        ports: [{ port: s.backend.port, proto: s.kind === "udp" ? "udp" : "tcp" }],
        reason: `${s.fqdn ?? `${s.port}/${s.kind}`} is published through ${seg.router.name}`,
        via: {
          router: seg.router.name,
          address: seg.router.wanAddress,
          ports: [{ port: s.firewall.port, proto: s.kind === "udp" ? "udp" : "tcp" }],
        },
      });
    }

    for (const [id, st] of Object.entries(seg.storage)) {
      const server = resolveTarget(lab, st.server)!;
      for (const consumer of [...st.consumers].sort()) {
        flows.push({
          id: `storage:${seg.name}/${id}/${consumer}`,
          kind: "storage",
          from: hostEndpoint(lab, seg, consumer),
          to: server,
          ports: [STORAGE_PORTS[st.protocol]],
          reason: st.reason ?? `${seg.name}/${consumer} mounts ${st.protocol.toUpperCase()} ${st.export} from ${st.server}`,
        });
      }
    }

    for (const [id, f] of Object.entries(seg.flows)) {
      const to = resolveTarget(lab, f.to)!;
      const ports = sortPorts(f.ports.map(parsePortProto));
      const sources = f.from ? [...f.from].sort() : undefined;
      if (!sources) {
        flows.push({ id: `flow:${seg.name}/${id}`, kind: "explicit", from: whole, to, ports, reason: f.reason });
        continue;
      }
      for (const src of sources) {
        flows.push({
          id: `flow:${seg.name}/${id}/${src}`,
          kind: "explicit",
          from: hostEndpoint(lab, seg, src),
          to,
          ports,
          reason: f.reason,
        });
      }
    }
  }
  return flows.sort((a, b) => compareText(a.id, b.id));
}

/** Turn flows into per-router rules: the lab-bound traffic each router forwards, and its DNATs. */
function planRouter(lab: Lab, seg: Segment, flows: readonly Flow[]): RouterPlan {
  const hw = lab.hardware.routers[seg.router.hardware]!;
  const segs = segmentList(lab);
  const labNets = [lab.dmz.subnet, ...segs.map((s) => s.subnet)].sort((a, b) => compareIp(a.network, b.network));
  const inbound: FlowRule[] = [];
  const outbound: FlowRule[] = [];
  const dnat: Dnat[] = [];
  const rules = (f: Flow) =>
    f.from.cidrs.flatMap((from) =>
      f.to.cidrs.flatMap((to) => f.ports.map((p) => ({ from, to, proto: p.proto, port: p.port, flow: f.id }))),
    );

  for (const f of flows) {
    const fromHere = f.from.zone === seg.name;
    const toHere = f.to.zone === seg.name;
    if (f.kind === "publish" || (f.kind === "ssh" && f.via)) {
      if (!toHere || !f.via) continue;
      const toPort = f.ports[0]!.port;
      for (const p of f.via.ports)
        dnat.push({ proto: p.proto, wanPort: p.port, to: f.to.cidrs[0]!.network, toPort, sources: f.from.cidrs, flows: [f.id] });
      continue;
    }
    if (fromHere && toHere) continue; // stays on the segment's switch; the router never sees it
    if (toHere && f.from.zone !== "internet") inbound.push(...rules(f));
    if (fromHere && f.to.zone !== "internet") outbound.push(...rules(f));
  }
  const byRule = (a: FlowRule, b: FlowRule) =>
    compareIp(a.from.network, b.from.network) ||
    a.from.prefix - b.from.prefix ||
    compareIp(a.to.network, b.to.network) ||
    a.to.prefix - b.to.prefix ||
    compareText(a.proto, b.proto) ||
    a.port - b.port ||
    compareText(a.flow, b.flow);
  // Two published services on one backend port share one DNAT (an ingress routes by Host);
  // validation guarantees shared WAN ports lead to the same backend.
  const shared = new Map<string, Dnat>();
  for (const d of dnat) {
    const key = `${d.proto}/${d.wanPort}`;
    const seen = shared.get(key);
    shared.set(key, seen ? { ...seen, flows: [...seen.flows, ...d.flows].sort() } : d);
  }
  const uniqueDnat = [...shared.values()].sort((a, b) => compareText(a.proto, b.proto) || a.wanPort - b.wanPort);

  const hosts = segmentHosts(lab, seg);
  const jump = hosts.find((h) => h.id === seg.jumpHost)!;
  return {
    name: seg.router.name,
    segment: seg.name,
    fqdn: hostFqdn(lab, seg.name, seg.router.name),
    hardware: seg.router.hardware,
    linkGbps: hw.linkGbps,
    sshHostKey: seg.router.sshHostKey,
    wan: { iface: hw.wanInterface, address: seg.router.wanAddress, subnet: lab.dmz.subnet, gateway: lab.dmz.gateway },
    lan: { iface: hw.lanInterface, address: seg.router.lanAddress, subnet: seg.subnet },
    routes: segs.filter((s) => s.name !== seg.name).map((s) => ({ to: s.subnet, via: s.router.wanAddress, segment: s.name })),
    labNets,
    internet: seg.internet,
    inbound: dedupe(inbound).sort(byRule),
    outbound: dedupe(outbound).sort(byRule),
    dnat: uniqueDnat,
    jumpAddress: jump.address,
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

function dedupe(rules: FlowRule[]): FlowRule[] {
  const seen = new Map<string, FlowRule>();
  for (const r of rules) {
    const key = `${r.from}|${r.to}|${r.proto}|${r.port}`;
    if (!seen.has(key)) seen.set(key, r);
  }
  return [...seen.values()];
}

/** The VMs of the lab, in VM-id order. */
export function labVms(lab: Lab): PlacedVm[] {
  return vmHosts(lab)
    .map(({ segment, host, name, vm }): PlacedVm => {
      const disks: Record<string, number> = {};
      for (const d of Object.values(vm.disks)) disks[d.datastore] = (disks[d.datastore] ?? 0) + d.sizeGiB;
      const nics = vm.nics.flatMap((n) => ("bridge" in n ? [] : [n.passthrough]));
      return {
        name,
        segment,
        host,
        vmId: vm.vmId,
        node: vm.node,
        cores: vm.cores,
        memoryMiB: vm.memoryMiB,
        disks,
        networks: [...new Set(vm.nics.flatMap((n) => ("bridge" in n ? [n.bridge] : [])))].sort(),
        passthrough: [...nics, ...vm.passthrough].sort(),
        ha: vm.ha && nics.length === 0 && vm.passthrough.length === 0,
      };
    })
    .sort((a, b) => a.vmId - b.vmId);
}

/** Every host of the lab that is a VM, with its VM name (`<segment>-<host>`, or `infra`). */
export function vmHosts(lab: Lab): { readonly segment: string; readonly host: string; readonly name: string; readonly vm: VmSpec }[] {
  const out = [{ segment: "dmz", host: "infra", name: "infra", vm: lab.dmz.infra.vm }];
  for (const seg of segmentList(lab)) {
    for (const [id, h] of Object.entries(seg.hosts))
      if (h.vm) out.push({ segment: seg.name, host: id, name: `${seg.name}-${id}`, vm: h.vm });
  }
  return out;
}

/** Per-node load, and for each node, where its HA VMs go when it fails. */
export function planPlacement(lab: Lab): Placement {
  const vms = labVms(lab);
  const { nodes: hw, cpuOvercommit } = lab.hardware.proxmox;
  const names = Object.keys(hw).sort();
  const load = (node: string, list: readonly PlacedVm[]): NodeLoad => {
    const n = hw[node]!;
    const mine = list.filter((v) => v.node === node);
    const usedStorageGiB: Record<string, number> = {};
    for (const v of mine) for (const [ds, gib] of Object.entries(v.disks)) usedStorageGiB[ds] = (usedStorageGiB[ds] ?? 0) + gib;
    return {
      node,
      cpuCores: n.cpuCores,
      vcpuLimit: Math.floor(n.cpuCores * cpuOvercommit),
      memoryMiB: (n.memoryGiB - n.reservedMemoryGiB) * 1024,
      storageGiB: n.storage,
      networks: [...n.networks].sort(),
      vms: mine,
      usedVcpus: mine.reduce((a, v) => a + v.cores, 0),
      usedMemoryMiB: mine.reduce((a, v) => a + v.memoryMiB, 0),
      usedStorageGiB,
    };
  };
  const nodes = names.map((n) => load(n, vms));
  const failover = names.map((failed) => planFailover(failed, nodes));
  return { nodes, failover };
}

/** Load a failover has already moved onto a node. */
export interface ExtraLoad {
  vcpus: number;
  memoryMiB: number;
  storage: Record<string, number>;
}

/** Why `vm` does not fit on a node with the given extra load; empty when it fits. */
export function misfits(vm: PlacedVm, node: NodeLoad, extra: ExtraLoad): string[] {
  const why: string[] = [];
  const missing = vm.networks.filter((x) => !node.networks.includes(x));
  if (missing.length > 0) why.push(`no bridge into ${[...missing].sort().join(", ")}`);
  if (vm.cores > node.cpuCores) why.push(`${node.cpuCores} cores (needs ${vm.cores})`);
  const vcpus = node.vcpuLimit - node.usedVcpus - extra.vcpus;
  if (vcpus < vm.cores) why.push(`${Math.max(vcpus, 0)} vCPUs free (needs ${vm.cores})`);
  const mem = node.memoryMiB - node.usedMemoryMiB - extra.memoryMiB;
  if (mem < vm.memoryMiB) why.push(`${Math.max(mem, 0)} MiB free (needs ${vm.memoryMiB})`);
  for (const [ds, gib] of Object.entries(vm.disks)) {
    const cap = own(node.storageGiB, ds);
    const free = cap === undefined ? 0 : cap - (node.usedStorageGiB[ds] ?? 0) - (extra.storage[ds] ?? 0);
    if (cap === undefined) why.push(`no datastore ${ds}`);
    else if (free < gib) why.push(`${Math.max(free, 0)} GiB free on ${ds} (needs ${gib})`);
  }
  return why;
}

/** True when `vm` fits on a node with the given load. */
export function fits(vm: PlacedVm, node: NodeLoad, extra: ExtraLoad): boolean {
  return misfits(vm, node, extra).length === 0;
}

/**
 * Re-place the failed node's HA VMs on the survivors: largest memory first, each on the
 * survivor with the most free memory that fits it. A heuristic, so "stranded" means
 * "no placement found", which is what an owner needs to know before it happens.
 */
function planFailover(failed: string, nodes: readonly NodeLoad[]): Failover {
  const victim = nodes.find((n) => n.node === failed)!;
  const survivors = nodes.filter((n) => n.node !== failed);
  const extra = new Map(survivors.map((n): [string, ExtraLoad] => [n.node, { vcpus: 0, memoryMiB: 0, storage: {} }]));
  const moves: { vm: string; to: string }[] = [];
  const stranded: string[] = [];
  const strandedWhy: Record<string, string[]> = {};
  const ha = victim.vms.filter((v) => v.ha).sort((a, b) => b.memoryMiB - a.memoryMiB || a.vmId - b.vmId);
  for (const vm of ha) {
    const candidates = survivors
      .filter((n) => fits(vm, n, extra.get(n.node)!))
      .sort(
        (a, b) =>
          b.memoryMiB - b.usedMemoryMiB - extra.get(b.node)!.memoryMiB - (a.memoryMiB - a.usedMemoryMiB - extra.get(a.node)!.memoryMiB) ||
          compareText(a.node, b.node),
      );
    const target = candidates[0];
    if (!target) {
      stranded.push(vm.name);
      // Recorded now: the survivors' load at this moment is what kept the VM out.
      strandedWhy[vm.name] = survivors.map((n) => `${n.node}: ${misfits(vm, n, extra.get(n.node)!).join(", ")}`);
      continue;
    }
    const e = extra.get(target.node)!;
    e.vcpus += vm.cores;
    e.memoryMiB += vm.memoryMiB;
    for (const [ds, gib] of Object.entries(vm.disks)) e.storage[ds] = (e.storage[ds] ?? 0) + gib;
    moves.push({ vm: vm.name, to: target.node });
  }
  return {
    failed,
    moves: moves.sort((a, b) => compareText(a.vm, b.vm)),
    stranded: stranded.sort(),
    strandedWhy,
    down: victim.vms
      .filter((v) => !v.ha)
      .map((v) => v.name)
      .sort(),
  };
}

/** Plan one segment. */
export function planSegment(lab: Lab, seg: Segment, flows: readonly Flow[] = planFlows(lab)): SegmentPlan {
  const hosts = segmentHosts(lab, seg);
  return {
    name: seg.name,
    description: seg.description,
    trust: seg.trust,
    subnet: seg.subnet,
    router: planRouter(lab, seg, flows),
    jumpHost: hosts.find((h) => h.id === seg.jumpHost)!,
    hosts,
    services: planServices(lab, seg),
    flows: flows.filter((f) => f.from.zone === seg.name || f.to.zone === seg.name),
  };
}

/** Plan the whole lab. Call only on a lab that passed validation. */
export function planLab(lab: Lab): LabPlan {
  const flows = planFlows(lab);
  const segments: Record<string, SegmentPlan> = {};
  for (const seg of segmentList(lab)) segments[seg.name] = planSegment(lab, seg, flows);
  return { domain: lab.domain, segments, flows, placement: planPlacement(lab) };
}

/** Who may log in over SSH, with which keys. The same list feeds every sshd and NixOS host. */
export interface SshAccess {
  /** Admins and the deploy identity, in name order. */
  readonly users: readonly { readonly name: string; readonly keys: readonly string[]; readonly deploy: boolean }[];
  /** The admins' workstations: the only sources a jump host (or the DMZ infra host) accepts. */
  readonly adminSources: readonly Cidr[];
}

/** SSH users and keys from the lab-wide facts. */
export function planSshAccess(lab: Lab): SshAccess {
  const users = [
    ...Object.entries(lab.admins).map(([name, a]) => ({ name, keys: [...a.keys], deploy: false })),
    { name: lab.ssh.deploy.user, keys: [lab.ssh.deploy.key], deploy: true },
  ].sort((a, b) => compareText(a.name, b.name));
  return { users, adminSources: lab.ssh.adminSources };
}
