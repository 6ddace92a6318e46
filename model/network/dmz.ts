/**
 * The DMZ's plan: DNS records, proxy routes and streams, NTP clients and routes, built
 * from what each segment publishes. The DMZ stack gets `PublishedSegment`s through
 * StackReferences; the offline tools build them from the model with the same function
 * the segment stacks export with, so both paths plan identically.
 */
import type { PublishedSegment } from "../contracts";
import { comparePorts, DMZ_STACK, dmzServiceAddresses, hostFqdn, type Lab, type Proto, segmentList } from "../lab";
import { planCertificate, type ProxyCertificate } from "./certificate";
import type { BackendTrust } from "./backend-tls";
import { DEFAULT_MAX_BODY_MIB, type Exposure } from "./schema";
import { Cidr, compareIp } from "../net";
import { compareText } from "../order";
import { type Flow, planFlows } from "./flows";
import { hardwareHosts, mayUse, type PlannedHost, type PlannedService, planServices, segmentHosts } from "./hosts";
import { type DmzParty, dmzParties } from "./identity";
import { type InfraTunnelPlan, planInfraTunnel } from "./tunnel";
import type { Deadline } from "./until";

// What a segment tells the DMZ crosses a StackReference as plain JSON; its type is derived
// from the contract's schema (model/contracts.ts).
export type { DmzFlow, PublishedSegment } from "../contracts";

/** What a segment publishes, straight from the model; `flows` are the lab's (planFlows), when the caller has them. */
export function publishSegment(lab: Lab, name: string, flows: readonly Flow[] = planFlows(lab)): PublishedSegment {
  const seg = lab.segments[name];
  if (!seg) throw new Error(`bug: unknown segment ${name}`);
  const hosts = segmentHosts(lab, seg);
  const jump = hosts.find((h) => h.id === seg.jumpHost)!;
  return {
    name,
    trust: seg.trust,
    subnet: seg.subnet.toString(),
    router: {
      name: seg.router.name,
      fqdn: hostFqdn(lab, name, seg.router.name),
      wanAddress: seg.router.wanAddress,
      lanAddress: seg.router.lanAddress,
      wanMac: lab.hardware.routers[seg.router.hardware]!.wanMac,
      ...(seg.router.tunnel ? { tunnel: { address: seg.router.tunnel.address, publicKey: seg.router.tunnel.publicKey } } : {}),
    },
    jumpHost: { name: jump.id, fqdn: jump.fqdn, address: jump.address },
    hosts: hosts.map((h) => ({ name: h.id, fqdn: h.fqdn, address: h.address, role: h.role })),
    services: planServices(lab, seg),
    dmzFlows: flows
      .filter((f) => f.kind === "explicit" && f.from.zone === name && f.to.zone === "dmz")
      .map((f) => ({
        flow: f.id,
        from: f.from.cidrs.map(String),
        ...(f.to.host !== undefined ? { to: f.to.cidrs[0]!.network } : {}),
        ports: f.ports,
        reason: f.reason,
      })),
  };
}

/** Every segment of the lab, published, the lab's flows planned once. */
export function publishAll(lab: Lab, flows: readonly Flow[] = planFlows(lab)): PublishedSegment[] {
  return segmentList(lab).map((s) => publishSegment(lab, s.name, flows));
}

/**
 * What the segments the DMZ lists in its stack file publish (every segment when the lab has
 * none), built from the model: what the deployed DMZ reads through its StackReferences, so
 * the offline tools plan the DMZ exactly as it does.
 */
export function publishListed(lab: Lab, flows: readonly Flow[] = planFlows(lab)): PublishedSegment[] {
  const listed = lab.dmzStack?.segments ?? segmentList(lab).map((s) => s.name);
  return segmentList(lab)
    .filter((s) => listed.includes(s.name))
    .map((s) => publishSegment(lab, s.name, flows));
}

/**
 * Every stack of the lab, segments first (in name order), then the DMZ when the lab has its
 * stack file; each with its full name (fullStackName).
 */
export function labStacks(lab: Lab): { readonly stack: string; readonly full: string }[] {
  return [...segmentList(lab).map((s) => s.name), ...(lab.dmzStack ? [DMZ_STACK] : [])].map((stack) => ({
    stack,
    full: fullStackName(lab, stack),
  }));
}

/** The full name of a stack, `<org>/<project>/<stack>`; the bare name when the lab has no Pulumi.dmz.yaml to name the prefix. */
export function fullStackName(lab: Lab, stack: string): string {
  return lab.dmzStack ? `${lab.dmzStack.stackPrefix}/${stack}` : stack;
}

/** The DMZ infra host's facts. What it serves follows from the DMZ plan: its firewall (render/dmz.ts infraFirewall) opens those ports. */
export type InfraHost = Omit<PlannedHost, "listens"> & { readonly mac: string; readonly sshHostKey: string };

/** The DMZ infra host as a host of the lab: the one place that states its name, role and OS. */
export function infraHost(lab: Lab): InfraHost {
  return {
    id: "infra",
    segment: "dmz",
    fqdn: `infra.${lab.domain}`,
    address: lab.dmz.infra.address,
    mac: lab.dmz.infra.mac,
    role: "server",
    os: "nixos",
    description: "DMZ infra host: DNS (dnsmasq), NTP (chrony) and the reverse proxy (nginx)",
    sshHostKey: lab.dmz.infra.sshHostKey,
    source: "vm",
  };
}

/**
 * Hardware (Proxmox nodes, NAS, switches) whose management address lies in the DMZ, by
 * address, as segmentHosts plans a segment's hardware, but named `<id>.<domain>`.
 */
export function dmzHardware(lab: Lab): PlannedHost[] {
  return hardwareHosts(lab, "dmz", (id) => `${id}.${lab.domain}`).sort((a, b) => compareIp(a.address, b.address));
}

/** One DNS A record. */
export interface DnsRecord {
  readonly name: string;
  readonly address: string;
  /** Why it exists: a published `service`, a `host`, a router's `entry` (WAN), or the DMZ's own. */
  readonly kind: "service" | "host" | "entry" | "dmz";
}

/** What each kind of DNS record is, in words. */
export const DNS_RECORD_KIND: Readonly<Record<DnsRecord["kind"], string>> = {
  service: "published service, at the proxy",
  host: "host",
  entry: "a firewall's WAN side",
  dmz: "the DMZ's own",
};

/** One HTTP route of the reverse proxy. */
export interface HttpRoute {
  readonly fqdn: string;
  readonly segment: string;
  readonly service: string;
  /**
   * The segment firewall's WAN address and port; the firewall DNATs to the backend. `tls`:
   * how the proxy verifies the backend's certificate; absent for plain HTTP.
   */
  readonly upstream: { readonly address: string; readonly port: number; readonly tls?: BackendTrust };
  readonly auth: PlannedService["auth"];
  /** Sources allowed; empty means everyone (internet exposure). */
  readonly allow: readonly Cidr[];
  readonly exposure: Exposure;
  /** The largest request body the proxy accepts, in MiB. */
  readonly maxBodyMiB: number;
  /** The proxy forwards WebSocket upgrades to this service. */
  readonly websockets: boolean;
  /** A temporary hole's deadline: the segment's firewall stops translating it then. */
  readonly until?: Deadline;
}

/** One TCP or UDP stream of the reverse proxy. */
export interface StreamRoute {
  readonly proto: Proto;
  readonly port: number;
  readonly segment: string;
  readonly service: string;
  readonly upstream: { readonly address: string; readonly port: number };
  readonly allow: readonly Cidr[];
  readonly exposure: Exposure;
  /** A temporary hole's deadline: the segment's firewall stops translating it then. */
  readonly until?: Deadline;
}

/** Everything the DMZ infra host serves. */
export interface DmzPlan {
  readonly domain: string;
  readonly timezone: string;
  readonly infra: {
    readonly name: string;
    readonly fqdn: string;
    readonly address: string;
    readonly subnet: Cidr;
    readonly gateway: string;
    /** Service addresses the host carries besides its own. */
    readonly serviceAddresses: { readonly dns: string; readonly ntp: string; readonly proxy: string };
    /** Segments, through their routers' WAN addresses, so replies go back the way they came. */
    readonly routes: readonly { readonly to: Cidr; readonly via: string; readonly segment: string }[];
    /** Who is who on the DMZ (the infra host is the party `infra`): what its static neighbours and source guard bind. */
    readonly parties: readonly DmzParty[];
    /** Explicit flows from segments to the infra host's addresses (the whole DMZ counts as every address). */
    readonly inbound: readonly {
      readonly flow: string;
      readonly from: readonly Cidr[];
      readonly to?: string;
      readonly proto: Proto;
      readonly port: number;
      readonly reason: string;
    }[];
  };
  readonly dns: {
    readonly listen: string;
    readonly upstream: readonly string[];
    readonly records: readonly DnsRecord[];
    readonly clients: readonly Cidr[];
  };
  readonly ntp: { readonly listen: string; readonly upstream: readonly string[]; readonly clients: readonly Cidr[] };
  readonly proxy: {
    readonly listen: string;
    /** The certificate for every published name: issued and renewed by ACME, or placed by hand. */
    readonly tls: ProxyCertificate;
    readonly http: readonly HttpRoute[];
    readonly streams: readonly StreamRoute[];
  };
  /** Who may SSH into the infra host. */
  readonly ssh: { readonly adminSources: readonly Cidr[] };
  /** The infra host's end of the WireGuard tunnel, a peer per router (model/network/tunnel.ts); none when the lab has no tunnel. */
  readonly tunnel?: InfraTunnelPlan;
}

/**
 * Plan the DMZ from lab-wide facts and what the segments publish.
 * "lab" exposure is open to the admins' workstations and the segments that use the service:
 * those its usedBy lists, else the trusted ones; "admins" exposure to the admins' workstations only.
 */
export function planDmz(lab: Lab, segments: readonly PublishedSegment[]): DmzPlan {
  const segs = [...segments].sort((a, b) => compareText(a.name, b.name));
  // Who the proxy admits to a lab- or admins-exposed service: the segments that may use it (mayUse: none for admins) and the admins.
  const allowFor = (s: PlannedService): Cidr[] =>
    s.exposure === "internet" ? [] : [...segs.filter((u) => mayUse(s, u)).map((u) => Cidr.of(u.subnet)), ...lab.ssh.adminSources];
  const infra = infraHost(lab);

  const records: DnsRecord[] = [
    { name: infra.fqdn, address: infra.address, kind: "dmz" },
    { name: `dns.${lab.domain}`, address: lab.dmz.dns, kind: "dmz" },
    { name: `ntp.${lab.domain}`, address: lab.dmz.ntp, kind: "dmz" },
    { name: `proxy.${lab.domain}`, address: lab.dmz.proxy, kind: "dmz" },
  ];
  const http: HttpRoute[] = [];
  const streams: StreamRoute[] = [];
  for (const seg of segs) {
    records.push({ name: `${seg.router.name}.${lab.domain}`, address: seg.router.wanAddress, kind: "entry" });
    records.push({ name: seg.router.fqdn, address: seg.router.lanAddress, kind: "host" });
    for (const h of seg.hosts) records.push({ name: h.fqdn, address: h.address, kind: "host" });
    for (const s of seg.services) {
      if (s.kind === "http") {
        records.push({ name: s.fqdn!, address: lab.dmz.proxy, kind: "service" });
        http.push({
          fqdn: s.fqdn!,
          segment: seg.name,
          service: s.id,
          upstream: { address: s.firewall.address, port: s.firewall.port, ...(s.backend.tls ? { tls: s.backend.tls } : {}) },
          auth: s.auth,
          allow: allowFor(s),
          exposure: s.exposure,
          maxBodyMiB: s.maxBodyMiB ?? DEFAULT_MAX_BODY_MIB,
          websockets: s.websockets ?? false,
          ...(s.until ? { until: s.until } : {}),
        });
      } else {
        streams.push({
          proto: s.kind,
          port: s.port!,
          segment: seg.name,
          service: s.id,
          upstream: { address: s.firewall.address, port: s.firewall.port },
          allow: allowFor(s),
          exposure: s.exposure,
          ...(s.until ? { until: s.until } : {}),
        });
      }
    }
  }
  const labClients = [lab.dmz.subnet, ...segs.map((s) => Cidr.of(s.subnet))].sort((a, b) => compareIp(a.network, b.network));
  const tunnel = planInfraTunnel(lab, segs);
  return {
    domain: lab.domain,
    timezone: lab.timezone,
    infra: {
      name: infra.id,
      fqdn: infra.fqdn,
      address: infra.address,
      subnet: lab.dmz.subnet,
      gateway: lab.dmz.gateway,
      serviceAddresses: { dns: lab.dmz.dns, ntp: lab.dmz.ntp, proxy: lab.dmz.proxy },
      routes: segs.map((s) => ({ to: Cidr.of(s.subnet), via: s.router.wanAddress, segment: s.name })),
      parties: planParties(lab, segs),
      inbound: infraInbound(lab, segs),
    },
    dns: { listen: lab.dmz.dns, upstream: lab.dmz.upstreamDns, records: dedupeRecords(records), clients: labClients },
    ntp: { listen: lab.dmz.ntp, upstream: lab.dmz.upstreamNtp, clients: labClients },
    proxy: {
      listen: lab.dmz.proxy,
      tls: planCertificate(lab),
      http: http.sort((a, b) => compareText(a.fqdn, b.fqdn)),
      streams: streams.sort(comparePorts),
    },
    ssh: { adminSources: lab.ssh.adminSources },
    ...(tunnel ? { tunnel } : {}),
  };
}

/** The DMZ's parties as the infra host knows them: lab-wide facts, and each router as its segment's contract tells it. */
function planParties(lab: Lab, segs: readonly PublishedSegment[]): DmzParty[] {
  return dmzParties({
    gateway: lab.dmz.gateway,
    gatewayMac: lab.dmz.gatewayMac,
    infra: { mac: lab.dmz.infra.mac, addresses: Object.values(dmzServiceAddresses(lab)) },
    routers: segs.map((s) => ({
      name: s.router.name,
      segment: s.name,
      wanAddress: s.router.wanAddress,
      wanMac: s.router.wanMac,
      subnet: Cidr.of(s.subnet),
    })),
  });
}

/** The segments' explicit flows that end on the infra host (or the whole DMZ), one rule per port. */
function infraInbound(lab: Lab, segs: readonly PublishedSegment[]): DmzPlan["infra"]["inbound"] {
  const infraAddresses = Object.values(dmzServiceAddresses(lab));
  return segs
    .flatMap((s) => s.dmzFlows)
    .filter((f) => f.to === undefined || infraAddresses.includes(f.to))
    .flatMap((f) =>
      f.ports.map((p) => ({
        flow: f.flow,
        from: f.from.map((c) => Cidr.of(c)),
        ...(f.to !== undefined ? { to: f.to } : {}),
        proto: p.proto,
        port: p.port,
        reason: f.reason,
      })),
    )
    .sort((a, b) => compareText(a.flow, b.flow) || comparePorts(a, b));
}

/** One record per name, the first one seen; sorted by name. */
function dedupeRecords(records: DnsRecord[]): DnsRecord[] {
  const byName = new Map<string, DnsRecord>();
  for (const r of records) if (!byName.has(r.name)) byName.set(r.name, r);
  return [...byName.values()].sort((a, b) => compareText(a.name, b.name));
}
