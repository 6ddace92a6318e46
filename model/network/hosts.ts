/** The hosts of a segment as the plan sees them (configured hosts and hardware in it), and its published services. */
import type { HostOs, HostRole } from "./schema";
import { hostFqdn, type Lab, parsePortProto, type PortSpec, type Segment, type Service, serviceFqdn } from "../lab";
import { ipToInt } from "../net";
import { compareText } from "../order";
import { NAS_UI_PORTS } from "./schema";
import { unreachable } from "../unreachable";
import { dataHostPorts } from "../data/ports";
import { type BackendTrust, planBackendTrust } from "./backend-tls";
import { type Deadline, untilOf } from "./until";

/** One host of a segment as the plan sees it, including hardware that sits in the segment. */
export interface PlannedHost {
  readonly id: string;
  readonly segment: string;
  readonly fqdn: string;
  readonly address: string;
  readonly mac?: string;
  /** The configured role, or `switch` for a switch of the inventory. */
  readonly role: HostRole | "switch";
  readonly os: HostOs;
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
  /** For HTTP: the largest request body the proxy accepts, in MiB. */
  readonly maxBodyMiB?: number;
  /** For HTTP: the proxy forwards WebSocket upgrades. */
  readonly websockets?: boolean;
  /** `tls`: how the proxy verifies the backend's certificate; absent for plain HTTP. */
  readonly backend: { readonly host: string; readonly address: string; readonly port: number; readonly tls?: BackendTrust };
  readonly firewall: { readonly router: string; readonly address: string; readonly port: number };
  readonly auth: Service["auth"];
  readonly exposure: Service["exposure"];
  readonly reason?: string;
  /** For a lab-exposed service: the segments that use it through the proxy, when it names them (else every trusted segment). */
  readonly usedBy?: readonly string[];
  /** A temporary hole's deadline: its firewall stops translating it then (model/network/until.ts). */
  readonly until?: Deadline;
}

/**
 * Whether hosts of the segment `user` (of trust `trust`) may use a service by name through the
 * proxy: an internet-exposed one always; a lab-exposed one when it lists the segment in usedBy,
 * or, listing none, when the segment is trusted; an admins-exposed one never.
 */
export function mayUse(
  service: { readonly exposure: Service["exposure"]; readonly usedBy?: readonly string[] },
  user: { readonly name: string; readonly trust: "trusted" | "untrusted" },
): boolean {
  if (service.exposure === "internet") return true;
  // The admins' workstations only: no segment, whatever its trust.
  if (service.exposure === "admins") return false;
  return service.usedBy ? service.usedBy.includes(user.name) : user.trust === "trusted";
}

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
    add(id, n, { role: "nas", os: nasOs(n), listens: [{ port: nasUiPort(n), proto: "tcp" }], source: "nas" });
  for (const [id, n] of Object.entries(lab.hardware.switches)) add(id, n, { role: "switch", os: "none", listens: [], source: "switch" });
  return hosts;
}

/** A NAS's operating system: TrueNAS, Synology's DSM, or for a generic NAS none the lab knows (nothing logs in to manage it). */
function nasOs(nas: Lab["hardware"]["nas"][string]): HostOs {
  switch (nas.kind) {
    case "truenas":
    case "synology":
      return nas.kind;
    case "generic":
      return "none";
    default: {
      return unreachable(nas, "NAS kind");
    }
  }
}

/** The port a NAS serves its web UI on: its uiPort, or its kind's default. */
export function nasUiPort(nas: Lab["hardware"]["nas"][string]): number {
  switch (nas.kind) {
    case "truenas":
    case "synology":
      return nas.uiPort ?? NAS_UI_PORTS[nas.kind];
    case "generic":
      return nas.uiPort;
    default: {
      return unreachable(nas, "NAS kind");
    }
  }
}

/** A host's configured ports plus those it serves as the segment's data host (derived, so never copied by hand), once each. */
function withDataPorts(listens: readonly PortSpec[], data: readonly number[]): PortSpec[] {
  const out = [...listens];
  for (const port of data) if (!out.some((p) => p.port === port && p.proto === "tcp")) out.push({ port, proto: "tcp" });
  return out;
}

/** One segment's hosts, built once per lab: in address order, and by id. */
interface SegmentHostIndex {
  readonly hosts: readonly PlannedHost[];
  readonly byId: ReadonlyMap<string, PlannedHost>;
}

/** Host indexes by lab and segment name: a lab is immutable once loaded, so its hosts never change. */
const indexes = new WeakMap<Lab, Map<string, SegmentHostIndex>>();

function hostIndex(lab: Lab, seg: Segment): SegmentHostIndex {
  let bySeg = indexes.get(lab);
  if (!bySeg) indexes.set(lab, (bySeg = new Map<string, SegmentHostIndex>()));
  let ix = bySeg.get(seg.name);
  // A segment object that is not the lab's own (a test's edited copy) is indexed on its own.
  if (ix && lab.segments[seg.name] === seg) return ix;
  ix = buildHostIndex(lab, seg);
  if (lab.segments[seg.name] === seg) bySeg.set(seg.name, ix);
  return ix;
}

function buildHostIndex(lab: Lab, seg: Segment): SegmentHostIndex {
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
      listens: withDataPorts(h.listens.map(parsePortProto), dataHostPorts(lab, seg, id)),
      ...(h.sshHostKey ? { sshHostKey: h.sshHostKey } : {}),
      source: h.vm ? "vm" : h.role === "vip" ? "vip" : "physical",
    });
  }
  hosts.push(...hardwareHosts(lab, seg.name, (id) => hostFqdn(lab, seg.name, id)));
  // Each address parsed once, not once per comparison.
  const sorted = hosts
    .map((h) => ({ h, at: ipToInt(h.address) }))
    .sort((a, b) => a.at - b.at)
    .map((k) => k.h);
  const byId = new Map<string, PlannedHost>();
  for (const h of sorted) if (!byId.has(h.id)) byId.set(h.id, h);
  return { hosts: sorted, byId };
}

/** Every host of a segment: its configured hosts plus the hardware whose address lies in it, in address order. */
export function segmentHosts(lab: Lab, seg: Segment): PlannedHost[] {
  return [...hostIndex(lab, seg).hosts];
}

/** The host `id` of a segment (a configured host or hardware in it), if there is one. */
export function findHost(lab: Lab, seg: Segment, id: string): PlannedHost | undefined {
  return hostIndex(lab, seg).byId.get(id);
}

export function findHostAddress(lab: Lab, seg: Segment, id: string): string {
  const h = findHost(lab, seg, id);
  if (!h) throw new Error(`bug: host ${seg.name}/${id} not found after validation`);
  return h.address;
}

/** The port on the router's WAN address a service is reached on. */
export function wanPort(service: Service): number {
  return service.wanPort ?? service.backend.port;
}

/** A service's backend, resolved: its address, and how the proxy verifies it when it speaks TLS. */
function backendOf(lab: Lab, seg: Segment, s: Service): PlannedService["backend"] {
  const tls = planBackendTrust(lab, seg, s);
  return { host: s.backend.host, address: findHostAddress(lab, seg, s.backend.host), port: s.backend.port, ...(tls ? { tls } : {}) };
}

/**
 * Where the proxy reaches a segment's published services: its router's tunnel address. Only a
 * lab without the tunnel (which validation refuses once anything is published) uses the WAN address.
 */
function firewallAddress(lab: Lab, seg: Segment): string {
  return lab.dmz.tunnel && seg.router.tunnel ? seg.router.tunnel.address : seg.router.wanAddress;
}

/** Every published service of a segment, resolved. */
export function planServices(lab: Lab, seg: Segment): PlannedService[] {
  return Object.entries(seg.services)
    .map(([id, s]): PlannedService => ({
      id,
      segment: seg.name,
      kind: s.kind,
      description: s.description,
      ...(s.kind === "http" ? { fqdn: serviceFqdn(lab, id, s), maxBodyMiB: s.maxBodyMiB, websockets: s.websockets } : { port: s.port }),
      backend: backendOf(lab, seg, s),
      firewall: { router: seg.router.name, address: firewallAddress(lab, seg), port: wanPort(s) },
      auth: s.auth,
      exposure: s.exposure,
      ...(s.reason ? { reason: s.reason } : {}),
      ...(s.usedBy ? { usedBy: [...new Set(s.usedBy)].sort(compareText) } : {}),
      ...untilOf(s.until),
    }))
    .sort((a, b) => compareText(a.id, b.id));
}
