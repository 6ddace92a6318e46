/**
 * The documentation contract: what every stack exports as its `docs` output, and what
 * `npm run docs` renders pages from. One pure function per stack kind builds it from the
 * validated lab, so the deployed stacks (live outputs) and the offline docs (the model)
 * describe the lab with the same data and the pages cannot tell the two apart.
 *
 * Everything here is plain JSON: strings, numbers, booleans, arrays and objects, no
 * `undefined` values, no secrets (public SSH host keys are not secrets).
 */
import { type DmzPlan, planDmz, type PublishedSegment, publishListed } from "../model/network/dmz";
import { comparePorts, keyMaterial, segmentList, showPort, type Lab } from "../model/lab";
import { compareText } from "../model/order";
import { compareIp } from "../model/net";
import { labVms, type PlacedVm, type Placement, planPlacement } from "../model/compute/placement";
import { type Endpoint, type Flow, type FlowKind, planFlows } from "../model/network/flows";
import { hardwareHosts, type PlannedHost, type PlannedService } from "../model/network/hosts";
import { planSshAccess } from "../model/network/ssh";
import { type LabPlan, planLab, planSegment, type SegmentPlan } from "../model/plan";
import { diskGiB } from "../model/words";
import { infraFirewall } from "./dmz";
import { renderKnownHosts, renderSshClientConfig, sshAlias, sshTargets } from "./ssh-client";

/** The docs contract version this program writes and reads. Bump on any incompatible change. */
export const DOCS_CONTRACT_VERSION = 1;

/** How a service authenticates its users (the model's own union). */
export type DocsAuth = PlannedService["auth"];

/** A VM's placement and size. */
export interface DocsVm {
  readonly node: string;
  readonly vmId: number;
  readonly cores: number;
  readonly memoryMiB: number;
  /** Every disk of the VM, added up. */
  readonly diskGiB: number;
  /** PCI devices of its node passed through to it (NICs, GPUs), by the node's device id. */
  readonly passthrough: readonly string[];
  /** HA-managed: restarts on another node when its node fails. False: pinned to its node. */
  readonly ha: boolean;
}

/** One host of a segment (configured hosts plus the hardware whose address lies in it). */
export interface DocsHost {
  readonly name: string;
  readonly fqdn: string;
  readonly address: string;
  readonly mac?: string;
  readonly role: string;
  readonly os: string;
  /** `vm` (Proxmox VM), `node` (a Proxmox node), `nas`, `switch`, `vip` or `physical`. */
  readonly kind: PlannedHost["source"];
  readonly description: string;
  /** Ports it serves that others rely on, `3306/tcp`. */
  readonly listens: readonly string[];
  readonly vm?: DocsVm;
  /** Its alias in the generated SSH client config; absent when it runs no sshd an admin logs in to. */
  readonly sshAlias?: string;
}

/** One published service, as a user and an operator see it. */
export interface DocsService {
  readonly name: string;
  readonly kind: "http" | "tcp" | "udp";
  readonly description: string;
  /** HTTP: `https://<name>.<domain>/`. */
  readonly url?: string;
  /** TCP/UDP: the proxy's address, port and protocol, `192.168.1.80:25565/tcp`. */
  readonly endpoint?: string;
  readonly backend: { readonly host: string; readonly address: string; readonly port: number; readonly tls: boolean };
  readonly firewall: { readonly router: string; readonly address: string; readonly port: number };
  readonly auth: DocsAuth;
  readonly exposure: "internet" | "lab";
  readonly reason?: string;
}

/** One end of a flow. */
export interface DocsEndpoint {
  /** A segment name, `dmz`, `admin` or `internet`. */
  readonly zone: string;
  readonly host?: string;
  /** `cluster/worker-1`, `cluster`, `dmz/proxy`, `internet`. */
  readonly label: string;
  readonly cidrs: readonly string[];
}

/** One allowed flow. Everything not listed is denied. */
export interface DocsFlow {
  readonly id: string;
  readonly kind: FlowKind;
  readonly from: DocsEndpoint;
  readonly to: DocsEndpoint;
  /** `2049/tcp`. */
  readonly ports: readonly string[];
  readonly reason: string;
  /** For flows a router translates (DNAT): its WAN address and ports. */
  readonly via?: { readonly router: string; readonly address: string; readonly ports: readonly string[] };
}

/** One box an admin can SSH to. */
export interface DocsSshTarget {
  readonly name: string;
  /** `<host>.<segment>`, the alias in the client config. */
  readonly alias: string;
  readonly fqdn: string;
  /** The address inside its network. */
  readonly address: string;
  /** What ssh connects to: the address, or the router's WAN address for a jump host. */
  readonly hostName: string;
  /** The alias of the jump host in between, when there is one. */
  readonly proxyJump?: string;
  /** The pinned host key (`type base64`), when the model has one. */
  readonly hostKey?: string;
}

/** How admins reach a segment over SSH, with the ready-to-use client files. */
export interface DocsSsh {
  /** The only way in: the router's WAN port 22, forwarded to the jump host for the admin workstations only. */
  readonly entry: {
    readonly router: string;
    readonly address: string;
    readonly port: number;
    readonly jumpHost: string;
    readonly jumpAddress: string;
  };
  readonly adminSources: readonly string[];
  /** Who may log in: the admins and the deploy identity. */
  readonly users: readonly string[];
  readonly targets: readonly DocsSshTarget[];
  /** The segment's rendered OpenSSH client config (render/ssh-client.ts). */
  readonly config: string;
  /** The segment's rendered known_hosts. */
  readonly knownHosts: string;
}

/** A Talos Kubernetes cluster. */
export interface DocsTalos {
  readonly clusterName: string;
  readonly vip: string;
  /** The Kubernetes API at the VIP. */
  readonly apiEndpoint: string;
  readonly talosVersion: string;
  readonly kubernetesVersion: string;
  readonly controlPlanes: readonly DocsTalosNode[];
  readonly workers: readonly DocsTalosNode[];
}

/** One Talos node. */
export interface DocsTalosNode {
  readonly name: string;
  readonly address: string;
  /** The Proxmox node it runs on, when it is a VM. */
  readonly node?: string;
  readonly passthrough: readonly string[];
}

/** What a segment stack exports as `docs`. */
export interface SegmentDocs {
  readonly version: typeof DOCS_CONTRACT_VERSION;
  readonly kind: "segment";
  readonly name: string;
  readonly description: string;
  readonly trust: "trusted" | "untrusted";
  readonly subnet: string;
  /** The DNS domain of its hosts, `<segment>.<domain>`. */
  readonly domain: string;
  /** Hosts may reach the internet (masqueraded by the router). */
  readonly internet: boolean;
  readonly router: {
    readonly name: string;
    readonly fqdn: string;
    readonly hardware: string;
    readonly linkGbps: number;
    readonly wanAddress: string;
    readonly lanAddress: string;
  };
  readonly jumpHost: { readonly name: string; readonly fqdn: string; readonly address: string };
  readonly dhcp: { readonly start: string; readonly end: string; readonly leaseTime: string; readonly dns: string; readonly ntp: string };
  readonly hosts: readonly DocsHost[];
  readonly services: readonly DocsService[];
  readonly flows: {
    /** From elsewhere into this segment. */
    readonly inbound: readonly DocsFlow[];
    /** From this segment to elsewhere. */
    readonly outbound: readonly DocsFlow[];
    /** Inside the segment (the jump host's SSH). */
    readonly inside: readonly DocsFlow[];
  };
  readonly ssh: DocsSsh;
  readonly talos?: DocsTalos;
}

/** One published name in the lab-wide catalog: where it leads and through which firewall. */
export interface CatalogEntry {
  /** `wiki.lab.example.net`, or `192.168.1.80:25565/tcp` for a stream. */
  readonly name: string;
  readonly kind: "http" | "tcp" | "udp";
  readonly segment: string;
  readonly service: string;
  /** The firewall's WAN address and port the proxy forwards to. */
  readonly firewall: string;
  /** The firewall (the segment's router) by name. */
  readonly router: string;
  /** Where the firewall translates it to: `<host> <address>:<port>`. */
  readonly backend: string;
  readonly auth: DocsAuth;
  readonly exposure: "internet" | "lab";
}

/** One DNS name the DMZ DNS answers. */
export interface DocsName {
  readonly name: string;
  readonly address: string;
  /** A published `service` (at the proxy), a `host`, a router's `entry` (its WAN side) or the DMZ's own. */
  readonly kind: "service" | "host" | "entry" | "dmz";
}

/** A Proxmox node's load and its headroom when any other node fails. */
export interface DocsNodeLoad {
  readonly node: string;
  readonly description: string;
  readonly cpuCores: number;
  readonly vcpuLimit: number;
  readonly usedVcpus: number;
  readonly memoryMiB: number;
  readonly usedMemoryMiB: number;
  readonly storage: readonly { readonly datastore: string; readonly usedGiB: number; readonly limitGiB: number }[];
  readonly networks: readonly string[];
  /** The most it carries after any one other node fails and its HA VMs restart here. */
  readonly worstCase: { readonly usedVcpus: number; readonly usedMemoryMiB: number; readonly whenFails: string };
}

/** Where VMs run and what happens when a node fails. */
export interface DocsPlacement {
  readonly cpuOvercommit: number;
  readonly nodes: readonly DocsNodeLoad[];
  readonly vms: readonly (DocsVm & { readonly name: string; readonly segment: string; readonly host: string })[];
  readonly failover: readonly {
    readonly failed: string;
    readonly moves: readonly { readonly vm: string; readonly to: string }[];
    readonly stranded: readonly string[];
    readonly down: readonly string[];
  }[];
}

/** What the DMZ stack exports as `docs`: the DMZ itself and everything lab-wide. */
export interface DmzDocs {
  readonly version: typeof DOCS_CONTRACT_VERSION;
  readonly kind: "dmz";
  readonly domain: string;
  readonly timezone: string;
  readonly dmz: {
    readonly subnet: string;
    /** The ISP edge router (not managed). */
    readonly gateway: string;
    readonly dns: string;
    readonly ntp: string;
    readonly proxy: string;
    readonly upstreamDns: readonly string[];
    readonly upstreamNtp: readonly string[];
    readonly infra: DocsHost & { readonly hostKey: string };
    /** Hardware whose address lies in the DMZ (a switch, say). */
    readonly hardware: readonly DocsHost[];
  };
  readonly adminSources: readonly string[];
  readonly admins: readonly { readonly name: string; readonly fullName: string }[];
  readonly deployUser: string;
  /** The segments the DMZ publishes, from their contracts. */
  readonly segments: readonly {
    readonly name: string;
    readonly trust: "trusted" | "untrusted";
    readonly subnet: string;
    readonly router: string;
    readonly wanAddress: string;
  }[];
  readonly catalog: readonly CatalogEntry[];
  readonly names: readonly DocsName[];
  /** Flows that touch no segment (the internet to the proxy). */
  readonly flows: readonly DocsFlow[];
  readonly placement: DocsPlacement;
}

// --------------------------------------------------------------------------------------------------

function docsEndpoint(e: Endpoint): DocsEndpoint {
  return { zone: e.zone, ...(e.host !== undefined ? { host: e.host } : {}), label: e.label, cidrs: e.cidrs.map(String) };
}

/** A planned flow as plain JSON. */
export function docsFlow(f: Flow): DocsFlow {
  return {
    id: f.id,
    kind: f.kind,
    from: docsEndpoint(f.from),
    to: docsEndpoint(f.to),
    ports: f.ports.map(showPort),
    reason: f.reason,
    ...(f.via ? { via: { router: f.via.router, address: f.via.address, ports: f.via.ports.map(showPort) } } : {}),
  };
}

function docsVm(vm: PlacedVm): DocsVm {
  return {
    node: vm.node,
    vmId: vm.vmId,
    cores: vm.cores,
    memoryMiB: vm.memoryMiB,
    diskGiB: diskGiB(vm.disks),
    passthrough: [...vm.passthrough],
    ha: vm.ha,
  };
}

/** A planned host as plain JSON, with its VM and its alias in the client config when it has them. */
function docsHost(h: PlannedHost, vm: PlacedVm | undefined, alias: string | undefined): DocsHost {
  return {
    name: h.id,
    fqdn: h.fqdn,
    address: h.address,
    ...(h.mac ? { mac: h.mac } : {}),
    role: h.role,
    os: h.os,
    kind: h.source,
    description: h.description,
    listens: h.listens.map(showPort),
    ...(vm ? { vm: docsVm(vm) } : {}),
    ...(alias ? { sshAlias: alias } : {}),
  };
}

/**
 * The docs contract of one segment, straight from the model. `segmentPlan` and `vms` (the
 * lab's) are planned here unless the caller has them: docsOfLab plans the lab once.
 */
export function docsOfSegment(lab: Lab, name: string, segmentPlan?: SegmentPlan, vms: readonly PlacedVm[] = labVms(lab)): SegmentDocs {
  const seg = lab.segments[name];
  if (!seg) throw new Error(`bug: unknown segment ${name}`);
  const plan = segmentPlan ?? planSegment(lab, seg);
  const access = planSshAccess(lab);
  const vmOf = new Map(vms.filter((v) => v.segment === name).map((v) => [v.host, v]));

  // The boxes render/ssh-client.ts names in the client config, in its order.
  const targets = sshTargets(plan).map((t): DocsSshTarget => ({
    name: t.id,
    alias: sshAlias(plan, t.id),
    fqdn: t.fqdn,
    address: t.lanAddress,
    hostName: t.hostName,
    ...(t.proxyJump ? { proxyJump: t.proxyJump } : {}),
    ...(t.hostKey ? { hostKey: t.hostKey } : {}),
  }));
  const aliases = new Map(targets.map((t) => [t.name, t.alias]));
  const hosts = plan.hosts.map((h) => docsHost(h, vmOf.get(h.id), aliases.get(h.id)));

  const flows = plan.flows.map(docsFlow);
  const hostsById = new Map(plan.hosts.map((h) => [h.id, h]));
  const talosNode = (id: string): DocsTalosNode => {
    const vm = vmOf.get(id);
    return { name: id, address: hostsById.get(id)!.address, ...(vm ? { node: vm.node } : {}), passthrough: vm ? [...vm.passthrough] : [] };
  };

  return {
    version: DOCS_CONTRACT_VERSION,
    kind: "segment",
    name,
    description: seg.description,
    trust: seg.trust,
    subnet: seg.subnet.toString(),
    domain: `${name}.${lab.domain}`,
    internet: seg.internet,
    router: {
      name: plan.router.name,
      fqdn: plan.router.fqdn,
      hardware: plan.router.hardware,
      linkGbps: plan.router.linkGbps,
      wanAddress: plan.router.wan.address,
      lanAddress: plan.router.lan.address,
    },
    jumpHost: { name: plan.jumpHost.id, fqdn: plan.jumpHost.fqdn, address: plan.jumpHost.address },
    dhcp: { start: seg.dhcp.start, end: seg.dhcp.end, leaseTime: seg.dhcp.leaseTime, dns: lab.dmz.dns, ntp: lab.dmz.ntp },
    hosts,
    services: plan.services.map((s) => docsService(lab, s)),
    flows: {
      inbound: flows.filter((f) => f.to.zone === name && f.from.zone !== name),
      outbound: flows.filter((f) => f.from.zone === name && f.to.zone !== name),
      inside: flows.filter((f) => f.from.zone === name && f.to.zone === name),
    },
    ssh: {
      entry: {
        router: plan.router.name,
        address: plan.router.wan.address,
        port: 22,
        jumpHost: plan.jumpHost.id,
        jumpAddress: plan.jumpHost.address,
      },
      adminSources: access.adminSources.map(String),
      users: access.users.map((u) => u.name),
      targets,
      config: renderSshClientConfig(plan),
      knownHosts: renderKnownHosts(plan),
    },
    ...(seg.talos
      ? {
          talos: {
            clusterName: seg.talos.clusterName,
            vip: seg.talos.vip,
            apiEndpoint: `https://${seg.talos.vip}:6443`,
            talosVersion: seg.talos.talosVersion,
            kubernetesVersion: seg.talos.kubernetesVersion,
            controlPlanes: seg.talos.controlPlanes.map(talosNode),
            workers: seg.talos.workers.map(talosNode),
          },
        }
      : {}),
  };
}

function docsService(lab: Lab, s: PlannedService): DocsService {
  return {
    name: s.id,
    kind: s.kind,
    description: s.description,
    ...(s.kind === "http" ? { url: `https://${s.fqdn!}/` } : { endpoint: `${lab.dmz.proxy}:${s.port!}/${s.kind}` }),
    backend: { ...s.backend },
    firewall: { ...s.firewall },
    auth: { ...s.auth },
    exposure: s.exposure,
    ...(s.reason ? { reason: s.reason } : {}),
  };
}

/**
 * Every published name: where it leads and through which firewall. `segments` are the
 * contracts the DMZ planned from, which know each service's backend.
 */
function catalog(plan: DmzPlan, segments: readonly PublishedSegment[]): CatalogEntry[] {
  const services = new Map(
    segments.flatMap((s) => s.services.map((svc) => [`${s.name}/${svc.id}`, { svc, router: s.router.name }] as const)),
  );
  const more = (segment: string, service: string) => {
    const found = services.get(`${segment}/${service}`);
    if (!found) throw new Error(`bug: proxy route for ${segment}/${service} without a published service`);
    const b = found.svc.backend;
    return { router: found.router, backend: `${b.host} ${b.address}:${b.port}`, auth: { ...found.svc.auth } };
  };
  return [
    ...plan.proxy.http.map((r): CatalogEntry => ({
      name: r.fqdn,
      kind: "http",
      segment: r.segment,
      service: r.service,
      firewall: `${r.upstream.address}:${r.upstream.port}`,
      ...more(r.segment, r.service),
      exposure: r.exposure,
    })),
    ...plan.proxy.streams.map((s): CatalogEntry => ({
      name: `${plan.infra.serviceAddresses.proxy}:${s.port}/${s.proto}`,
      kind: s.proto,
      segment: s.segment,
      service: s.service,
      firewall: `${s.upstream.address}:${s.upstream.port}`,
      ...more(s.segment, s.service),
      exposure: s.exposure,
    })),
  ];
}

/** What the infra host serves: every port its own firewall opens (render/dmz.ts), once each. */
function infraListens(plan: DmzPlan): string[] {
  const ports = new Map(infraFirewall(plan).rules.map((r) => [showPort(r), r]));
  return [...ports.values()].sort(comparePorts).map(showPort);
}

/**
 * Hardware (Proxmox nodes, NAS, switches) whose management address lies in the DMZ, as
 * model/plan.ts segmentHosts plans a segment's hardware, but named `<id>.<domain>`.
 */
function dmzHardware(lab: Lab): PlannedHost[] {
  return hardwareHosts(lab, "dmz", (id) => `${id}.${lab.domain}`).sort((a, b) => compareIp(a.address, b.address));
}

/** The lab-wide placement with, per node, its worst load after any one other node fails. */
function docsPlacement(lab: Lab, placement: Placement): DocsPlacement {
  const vms = placement.nodes.flatMap((n) => n.vms);
  const byName = new Map(vms.map((v) => [v.name, v]));
  const nodes = placement.nodes.map((n): DocsNodeLoad => {
    let worst = { usedVcpus: n.usedVcpus, usedMemoryMiB: n.usedMemoryMiB, whenFails: "" };
    for (const f of placement.failover) {
      if (f.failed === n.node) continue;
      const moved = f.moves.filter((m) => m.to === n.node).map((m) => byName.get(m.vm)!);
      const memory = n.usedMemoryMiB + moved.reduce((a, v) => a + v.memoryMiB, 0);
      const vcpus = n.usedVcpus + moved.reduce((a, v) => a + v.cores, 0);
      if (memory > worst.usedMemoryMiB || (memory === worst.usedMemoryMiB && vcpus > worst.usedVcpus))
        worst = { usedVcpus: vcpus, usedMemoryMiB: memory, whenFails: f.failed };
    }
    return {
      node: n.node,
      description: lab.hardware.proxmox.nodes[n.node]!.description,
      cpuCores: n.cpuCores,
      vcpuLimit: n.vcpuLimit,
      usedVcpus: n.usedVcpus,
      memoryMiB: n.memoryMiB,
      usedMemoryMiB: n.usedMemoryMiB,
      storage: Object.keys(n.storageGiB)
        .sort()
        .map((ds) => ({ datastore: ds, usedGiB: n.usedStorageGiB[ds] ?? 0, limitGiB: n.storageGiB[ds]! })),
      networks: [...n.networks],
      worstCase: worst,
    };
  });
  return {
    cpuOvercommit: lab.hardware.proxmox.cpuOvercommit,
    nodes,
    vms: vms.map((v) => ({ name: v.name, segment: v.segment, host: v.host, ...docsVm(v) })).sort((a, b) => compareText(a.name, b.name)),
    failover: placement.failover.map((f) => ({
      failed: f.failed,
      moves: f.moves.map((m) => ({ ...m })),
      stranded: [...f.stranded],
      down: [...f.down],
    })),
  };
}

/**
 * The DMZ stack's docs contract: the DMZ, the catalog and DNS names it serves (planned
 * from the segments' contracts it read), and the lab-wide placement. `planned` holds the
 * lab's flows and placement, planned here unless the caller has them.
 */
export function docsOfDmz(
  lab: Lab,
  plan: DmzPlan,
  segments: readonly PublishedSegment[],
  planned: Pick<LabPlan, "flows" | "placement"> = { flows: planFlows(lab), placement: planPlacement(lab) },
): DmzDocs {
  const infraVm = planned.placement.nodes.flatMap((n) => n.vms).find((v) => v.segment === "dmz" && v.host === "infra");
  const infraFqdn = plan.infra.fqdn;
  const segmentZones = new Set(segmentList(lab).map((s) => s.name));
  return {
    version: DOCS_CONTRACT_VERSION,
    kind: "dmz",
    domain: lab.domain,
    timezone: lab.timezone,
    dmz: {
      subnet: lab.dmz.subnet.toString(),
      gateway: lab.dmz.gateway,
      dns: lab.dmz.dns,
      ntp: lab.dmz.ntp,
      proxy: lab.dmz.proxy,
      upstreamDns: [...lab.dmz.upstreamDns],
      upstreamNtp: [...lab.dmz.upstreamNtp],
      infra: {
        name: "infra",
        fqdn: infraFqdn,
        address: lab.dmz.infra.address,
        mac: lab.dmz.infra.mac,
        role: "server",
        os: "nixos",
        kind: "vm",
        description: "DMZ infra host: DNS (dnsmasq), NTP (chrony) and the reverse proxy (nginx)",
        listens: infraListens(plan),
        ...(infraVm ? { vm: docsVm(infraVm) } : {}),
        sshAlias: "infra.dmz",
        hostKey: keyMaterial(lab.dmz.infra.sshHostKey),
      },
      hardware: dmzHardware(lab).map((h) => docsHost(h, undefined, undefined)),
    },
    adminSources: lab.ssh.adminSources.map(String),
    admins: Object.keys(lab.admins)
      .sort()
      .map((name) => ({ name, fullName: lab.admins[name]!.fullName })),
    deployUser: lab.ssh.deploy.user,
    segments: [...segments]
      .sort((a, b) => compareText(a.name, b.name))
      .map((s) => ({ name: s.name, trust: s.trust, subnet: s.subnet, router: s.router.name, wanAddress: s.router.wanAddress })),
    catalog: catalog(plan, segments),
    names: plan.dns.records.map((r) => ({ name: r.name, address: r.address, kind: r.kind })),
    flows: planned.flows.filter((f) => !segmentZones.has(f.from.zone) && !segmentZones.has(f.to.zone)).map(docsFlow),
    placement: docsPlacement(lab, planned.placement),
  };
}

/** Every stack's docs, as `npm run docs` renders them. */
export interface DocsBundle {
  readonly segments: readonly SegmentDocs[];
  readonly dmz: DmzDocs;
}

/**
 * Every stack's docs built offline from the model: each segment's, and the DMZ's planned
 * from the segments the DMZ lists (every segment when the lab has no DMZ stack file),
 * exactly as the deployed DMZ plans from the contracts it reads.
 */
export function docsOfLab(lab: Lab): DocsBundle {
  const planned = planLab(lab);
  const vms = planned.placement.nodes.flatMap((n) => n.vms);
  const published = publishListed(lab, planned.flows);
  return {
    segments: segmentList(lab).map((s) => docsOfSegment(lab, s.name, planned.segments[s.name], vms)),
    dmz: docsOfDmz(lab, planDmz(lab, published), published, planned),
  };
}
