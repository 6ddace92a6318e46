/**
 * Flows: derived once here (published services, storage, DNS/NTP, SSH through jump hosts,
 * explicit flows); every renderer, the docs and the twin read this one list.
 */
import {
  DMZ_STACK,
  dmzServiceAddresses,
  type Lab,
  own,
  parsePortProto,
  type PortSpec,
  type Segment,
  segmentList,
  type Service,
  serviceProto,
  showPort,
} from "../lab";
import { Cidr } from "../net";
import { compareText } from "../order";
import { DATA_PORTS } from "../data/ports";
import { unreachable } from "../unreachable";
import { findHost, findHostAddress, mayUse, planServices, segmentHosts } from "./hosts";
import { type Deadline, untilOf } from "./until";

/** Where a flow starts or ends. */
export interface Endpoint {
  /** A segment name, `dmz`, `admin` (the admins' workstations) or `internet`: see `zoneKind`. */
  readonly zone: string;
  /** A host id inside the zone, when the endpoint is one host. */
  readonly host?: string;
  /** The addresses: one /32 per host, or the zone's networks. */
  readonly cidrs: readonly Cidr[];
  /** For humans: `cluster/worker-1`, `cluster`, `dmz/proxy`, `internet`. */
  readonly label: string;
}

/** The kinds of zone a flow runs between. */
export type ZoneKind = "segment" | "dmz" | "admin" | "internet";

/**
 * The kind of an endpoint's zone. `admin` and `internet` are reserved (names.unique refuses
 * a segment of either name) and `dmz` is the DMZ stack, so every other zone is a segment.
 * Kept out of the plan's data, which crosses into plan.json unchanged.
 */
export function zoneKind(e: Pick<Endpoint, "zone">): ZoneKind {
  if (e.zone === DMZ_STACK || e.zone === "admin" || e.zone === "internet") return e.zone;
  return "segment";
}

/** Why a flow exists. */
export type FlowKind =
  /** proxy -> the firewall's tunnel address:port (WireGuard from the infra host) -> DNAT -> backend, for one published service */
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
  /** a data host's MariaDB users' sources -> its MariaDB */
  | "database"
  /** a data host's registry clients -> its registry, past the proxy */
  | "registry"
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
  /**
   * For flows that cross a router by DNAT: the router's address and port the source connects to,
   * and the side it arrives on: `wan` (its WAN address, on the DMZ) or `tunnel` (its tunnel
   * address, through the WireGuard tunnel from the infra host).
   */
  readonly via?: {
    readonly router: string;
    readonly address: string;
    readonly ports: readonly PortSpec[];
    readonly side: "wan" | "tunnel";
  };
  /** A temporary flow's deadline (a service's or an explicit flow's `until`): its routers stop forwarding it then. */
  readonly until?: Deadline;
}

export const SSH: PortSpec = { port: 22, proto: "tcp" };

/** The port a storage consumer connects to on its server, by protocol. */
export const STORAGE_PORTS: Readonly<Record<"nfs" | "smb", PortSpec>> = {
  nfs: { port: DATA_PORTS.nfs, proto: "tcp" },
  smb: { port: DATA_PORTS.smb, proto: "tcp" },
};

export function hostEndpoint(lab: Lab, seg: Segment, id: string): Endpoint {
  const address = findHostAddress(lab, seg, id);
  return { zone: seg.name, host: id, cidrs: [Cidr.host(address)], label: `${seg.name}/${id}` };
}

export function segmentEndpoint(seg: Segment): Endpoint {
  return { zone: seg.name, cidrs: [seg.subnet], label: seg.name };
}

/** The DMZ endpoints flows can name: `dmz` (its subnet) and its service addresses. */
export function dmzEndpoint(lab: Lab, host?: string): Endpoint {
  if (host === undefined) return { zone: "dmz", cidrs: [lab.dmz.subnet], label: "dmz" };
  const address = dmzAddress(lab, host);
  if (!address) throw new Error(`bug: dmz host ${host} not found after validation`);
  return { zone: "dmz", host, cidrs: [Cidr.host(address)], label: `dmz/${host}` };
}

/** Named addresses in the DMZ: `infra`, `dns`, `ntp`, `proxy`, and the segment routers' WAN sides. */
export function dmzAddress(lab: Lab, name: string): string | undefined {
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
  return findHost(lab, seg, host) ? hostEndpoint(lab, seg, host) : undefined;
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

/** Where the proxy listens for one service: 80 and 443 for HTTP, its own port for a stream. */
function proxyListens(s: Service): PortSpec[] {
  switch (s.kind) {
    case "http":
      return [
        { port: 80, proto: "tcp" },
        { port: 443, proto: "tcp" },
      ];
    case "tcp":
    case "udp":
      return [{ port: s.port, proto: s.kind }];
    default:
      return unreachable(s, "service kind");
  }
}

/** The ports the proxy listens on: 80 and 443 for HTTP, plus every stream port. */
export function proxyPorts(lab: Lab, filter: (s: Service) => boolean = () => true): PortSpec[] {
  const ports = new Map<string, PortSpec>();
  for (const seg of segmentList(lab)) {
    for (const s of Object.values(seg.services)) {
      if (!filter(s)) continue;
      for (const p of proxyListens(s)) ports.set(showPort(p), p);
    }
  }
  return sortPorts([...ports.values()]);
}

export function sortPorts(ports: PortSpec[]): PortSpec[] {
  return ports.sort((a, b) => compareText(a.proto, b.proto) || a.port - b.port);
}

/** The internet, as a flow endpoint. */
const INTERNET: Endpoint = { zone: "internet", cidrs: [Cidr.of("0.0.0.0/0")], label: "internet" };

/** Flows already planned, by lab: a lab is immutable once loaded (validation and the plan both read them). */
const planned = new WeakMap<Lab, readonly Flow[]>();

/** Derive every allowed flow of the lab, sorted by id; the same lab object is planned once per process. */
export function planFlows(lab: Lab): Flow[] {
  let flows = planned.get(lab);
  if (!flows) planned.set(lab, (flows = computeFlows(lab)));
  return [...flows];
}

function computeFlows(lab: Lab): Flow[] {
  const flows: Flow[] = [];
  const exposed = proxyPorts(lab, (s) => s.exposure === "internet");
  if (exposed.length > 0) {
    flows.push({
      id: "expose:proxy",
      kind: "expose",
      from: INTERNET,
      to: dmzEndpoint(lab, "proxy"),
      ports: exposed,
      reason: "internet clients reach internet-exposed services through the ISP edge and the reverse proxy",
    });
  }
  for (const seg of segmentList(lab)) {
    flows.push(
      // The proxy's ports of the services the segment may use by name (mayUse: the proxy admits it).
      ...infraFlows(
        lab,
        seg,
        proxyPorts(lab, (s) => mayUse(s, seg)),
      ),
      ...sshFlows(lab, seg),
      ...publishFlows(lab, seg),
      ...storageFlows(lab, seg),
      ...dataFlows(lab, seg),
      ...explicitFlows(lab, seg),
    );
  }
  return flows.sort((a, b) => compareText(a.id, b.id));
}

/** What every segment uses in the DMZ: DNS, NTP, and the proxy for the services it may use. */
function infraFlows(lab: Lab, seg: Segment, usable: readonly PortSpec[]): Flow[] {
  const whole = segmentEndpoint(seg);
  const flows: Flow[] = [
    {
      id: `dns:${seg.name}`,
      kind: "dns",
      from: whole,
      to: dmzEndpoint(lab, "dns"),
      ports: [
        { port: 53, proto: "tcp" },
        { port: 53, proto: "udp" },
      ],
      reason: "every segment resolves names with the DMZ DNS",
    },
    {
      id: `ntp:${seg.name}`,
      kind: "ntp",
      from: whole,
      to: dmzEndpoint(lab, "ntp"),
      ports: [{ port: 123, proto: "udp" }],
      reason: "every segment keeps time with the DMZ NTP server",
    },
  ];
  if (usable.length > 0) {
    flows.push({
      id: `proxy:${seg.name}`,
      kind: "proxy",
      from: whole,
      to: dmzEndpoint(lab, "proxy"),
      ports: [...usable],
      reason: `${seg.name} uses the lab's published services by name through the proxy`,
    });
  }
  return flows;
}

/** The admins' way in: to the jump host through the router's WAN address, and from the jump host to the segment. */
function sshFlows(lab: Lab, seg: Segment): Flow[] {
  const admin: Endpoint = { zone: "admin", cidrs: lab.ssh.adminSources, label: "admin workstations" };
  const jump = hostEndpoint(lab, seg, seg.jumpHost);
  return [
    {
      id: `ssh:${seg.name}`,
      kind: "ssh",
      from: admin,
      to: jump,
      ports: [SSH],
      reason: `admins enter ${seg.name} only through its jump host, at the router's WAN address`,
      via: { router: seg.router.name, address: seg.router.wanAddress, ports: [SSH], side: "wan" },
    },
    {
      id: `ssh:${seg.name}/jump`,
      kind: "ssh",
      from: jump,
      to: segmentEndpoint(seg),
      ports: [SSH],
      reason: `the jump host is the only source of SSH inside ${seg.name}`,
    },
  ];
}

/**
 * Where the proxy's connections to published services come from: the infra host's tunnel
 * address, through the WireGuard tunnel. A lab that publishes without a tunnel fails validation
 * (tunnel.peers); until then its flows name the proxy's DMZ address.
 */
export function proxyUpstreamEndpoint(lab: Lab): Endpoint {
  const t = lab.dmz.tunnel;
  if (!t) return dmzEndpoint(lab, "proxy");
  return { zone: "dmz", host: "proxy", cidrs: [Cidr.host(t.address)], label: "dmz/proxy (tunnel)" };
}

/** The proxy to each published service's backend, through the tunnel and a DNAT on the segment's router. */
function publishFlows(lab: Lab, seg: Segment): Flow[] {
  const from = proxyUpstreamEndpoint(lab);
  return planServices(lab, seg).map((s) => ({
    id: `publish:${seg.name}/${s.id}`,
    kind: "publish",
    from,
    to: hostEndpoint(lab, seg, s.backend.host),
    ports: [{ port: s.backend.port, proto: serviceProto(s) }],
    reason: `${s.fqdn ?? `${s.port}/${s.kind}`} is published through ${seg.router.name}`,
    via: {
      router: seg.router.name,
      address: s.firewall.address,
      ports: [{ port: s.firewall.port, proto: serviceProto(s) }],
      side: lab.dmz.tunnel && seg.router.tunnel ? "tunnel" : "wan",
    },
    ...(s.until ? { until: s.until } : {}),
  }));
}

/** Each storage consumer to its server. */
function storageFlows(lab: Lab, seg: Segment): Flow[] {
  return Object.entries(seg.storage).flatMap(([id, st]) => {
    const server = resolveTarget(lab, st.server)!;
    return [...st.consumers].sort().map((consumer): Flow => ({
      id: `storage:${seg.name}/${id}/${consumer}`,
      kind: "storage",
      from: hostEndpoint(lab, seg, consumer),
      to: server,
      ports: [STORAGE_PORTS[st.protocol]],
      reason: st.reason ?? `${seg.name}/${consumer} mounts ${st.protocol.toUpperCase()} ${st.export} from ${st.server}`,
    }));
  });
}

/**
 * The data host's clients: each MariaDB user's sources to 3306/tcp, each registry client to the
 * registry's port. A source that names nothing of the lab (data.sources reports it) has no flow.
 */
function dataFlows(lab: Lab, seg: Segment): Flow[] {
  const dh = seg.dataHost;
  if (!dh || !segmentHosts(lab, seg).some((h) => h.id === dh.host)) return [];
  const server = hostEndpoint(lab, seg, dh.host);
  const one = (kind: "database" | "registry", id: string, text: string, port: number, reason: (src: string) => string): Flow[] => {
    const from = resolveTarget(lab, text);
    if (!from || from.zone === DMZ_STACK) return [];
    return [
      {
        id: `${kind}:${server.label}/${id}${from.label}`,
        kind,
        from,
        to: server,
        ports: [{ port, proto: "tcp" }],
        reason: reason(from.label),
      },
    ];
  };
  const flows: Flow[] = [];
  for (const [user, u] of Object.entries(dh.mariadb?.users ?? {})) {
    for (const text of [...new Set(u.from)].sort()) {
      flows.push(
        ...one(
          "database",
          `${user}/`,
          text,
          DATA_PORTS.mariadb,
          (src) =>
            `${src} logs in to MariaDB on ${server.label} as ${user} (databases ${[...u.databases].sort().join(", ")}), with its password`,
        ),
      );
    }
  }
  const reg = dh.registry;
  for (const text of [...new Set(reg?.clients ?? [])].sort()) {
    flows.push(
      ...one(
        "registry",
        "",
        text,
        reg!.port,
        (src) => `${src} pushes and pulls images at the registry on ${server.label}, which authenticates it`,
      ),
    );
  }
  return flows;
}

/** The segment's explicit flows: one from the whole segment, or one per listed source host. */
function explicitFlows(lab: Lab, seg: Segment): Flow[] {
  return Object.entries(seg.flows).flatMap(([id, f]): Flow[] => {
    const to = resolveTarget(lab, f.to)!;
    const ports = sortPorts(f.ports.map(parsePortProto));
    const until = untilOf(f.until);
    if (!f.from)
      return [{ id: `flow:${seg.name}/${id}`, kind: "explicit", from: segmentEndpoint(seg), to, ports, reason: f.reason, ...until }];
    return [...f.from].sort().map((src) => ({
      id: `flow:${seg.name}/${id}/${src}`,
      kind: "explicit",
      from: hostEndpoint(lab, seg, src),
      to,
      ports,
      reason: f.reason,
      ...until,
    }));
  });
}
