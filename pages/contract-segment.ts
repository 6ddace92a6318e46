/**
 * A segment's docs contract (what a segment stack exports as `docs`), from the planned lab.
 * It plans nothing: every fact comes from the PlannedLab or the lab's own config.
 */
import { showPort, type Lab, type Segment } from "../model/lab";
import type { PlannedLab, SegmentPlan } from "../model/plan";
import type { PlacedVm, Placement } from "../model/compute/placement";
import type { Endpoint, Flow } from "../model/network/flows";
import type { PlannedHost, PlannedService } from "../model/network/hosts";
import { sshAlias } from "../model/network/ssh";
import { diskGiB } from "../model/words";
import { docsBackups } from "./contract-backups";
import { renderKnownHosts, renderSshClientConfig } from "../render/ssh-client";
import {
  DOCS_CONTRACT_VERSION,
  type DocsEndpoint,
  type DocsFlow,
  type DocsHost,
  type DocsService,
  type DocsSshTarget,
  type DocsTalos,
  type DocsTalosNode,
  type DocsVm,
  type SegmentDocs,
} from "./contract";

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
    ...(f.until ? { until: { ...f.until } } : {}),
  };
}

/** A placed VM as plain JSON, with where it fails over to and its recovery point from the placement's HA plan. */
export function docsVm(vm: PlacedVm, placement: Pick<Placement, "ha">): DocsVm {
  const ha = placement.ha.find((h) => h.vm === vm.name);
  return {
    node: vm.node,
    vmId: vm.vmId,
    cores: vm.cores,
    memoryMiB: vm.memoryMiB,
    diskGiB: diskGiB(vm.disks),
    passthrough: [...vm.passthrough],
    ha: vm.ha,
    ...(ha?.to !== undefined ? { failover: { to: ha.to, ...(ha.replication ? { replicationMinutes: ha.replication.minutes } : {}) } } : {}),
    nics: vm.nics.map((n) => ({ ...n })),
  };
}

/** A planned host as plain JSON, with its VM (docsVm) and its alias in the client config when it has them. */
export function docsHost(h: PlannedHost, vm: DocsVm | undefined, alias: string | undefined): DocsHost {
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
    ...(vm ? { vm } : {}),
    ...(alias ? { sshAlias: alias } : {}),
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
    ...(s.usedBy ? { usedBy: [...s.usedBy] } : {}),
    ...(s.until ? { until: { ...s.until } } : {}),
  };
}

/** The segment's Talos cluster, its nodes placed as the planned VMs are. */
function docsTalos(talos: NonNullable<Segment["talos"]>, plan: SegmentPlan, vmOf: ReadonlyMap<string, PlacedVm>): DocsTalos {
  const hostsById = new Map(plan.hosts.map((h) => [h.id, h]));
  const talosNode = (id: string): DocsTalosNode => {
    const vm = vmOf.get(id);
    return {
      name: id,
      address: hostsById.get(id)!.address,
      ...(vm ? { node: vm.node, ha: vm.ha } : {}),
      passthrough: vm ? [...vm.passthrough] : [],
    };
  };
  return {
    clusterName: talos.clusterName,
    vip: talos.vip,
    apiEndpoint: `https://${talos.vip}:6443`,
    talosVersion: talos.talosVersion,
    kubernetesVersion: talos.kubernetesVersion,
    controlPlanes: talos.controlPlanes.map(talosNode),
    workers: talos.workers.map(talosNode),
  };
}

/** How admins reach the segment: its planned SSH paths and the rendered client files. */
function docsSsh(planned: PlannedLab, plan: SegmentPlan, targets: readonly DocsSshTarget[]): SegmentDocs["ssh"] {
  return {
    entry: {
      router: plan.router.name,
      address: plan.router.wan.address,
      port: 22,
      jumpHost: plan.jumpHost.id,
      jumpAddress: plan.jumpHost.address,
    },
    adminSources: planned.ssh.adminSources.map(String),
    users: planned.ssh.users.map((u) => u.name),
    targets,
    config: renderSshClientConfig(plan),
    knownHosts: renderKnownHosts(plan),
  };
}

/** The docs contract of one segment of a planned lab. */
export function docsOfSegment(lab: Lab, planned: PlannedLab, name: string): SegmentDocs {
  const seg = lab.segments[name];
  const plan = planned.segments[name];
  if (!seg || !plan) throw new Error(`bug: unknown segment ${name}`);
  const vmOf = new Map(planned.vms.filter((v) => v.segment === name).map((v) => [v.host, v]));

  // The planned SSH paths, in the order the client config (render/ssh-client.ts) names them.
  const targets = planned.sshPaths[name]!.map((t): DocsSshTarget => ({
    name: t.id,
    alias: sshAlias(plan, t.id),
    fqdn: t.fqdn,
    address: t.lanAddress,
    hostName: t.hostName,
    ...(t.proxyJump ? { proxyJump: t.proxyJump } : {}),
    ...(t.hostKey ? { hostKey: t.hostKey } : {}),
  }));
  const aliases = new Map(targets.map((t) => [t.name, t.alias]));
  const flows = plan.flows.map(docsFlow);
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
      wanInterface: plan.router.wan.iface,
      lanInterface: plan.router.lan.iface,
      wanMac: plan.router.wan.mac,
    },
    jumpHost: { name: plan.jumpHost.id, fqdn: plan.jumpHost.fqdn, address: plan.jumpHost.address },
    dhcp: { start: seg.dhcp.start, end: seg.dhcp.end, leaseTime: seg.dhcp.leaseTime, dns: lab.dmz.dns, ntp: lab.dmz.ntp },
    hosts: plan.hosts.map((h) => {
      const vm = vmOf.get(h.id);
      return docsHost(h, vm ? docsVm(vm, planned.placement) : undefined, aliases.get(h.id));
    }),
    services: plan.services.map((s) => docsService(lab, s)),
    flows: {
      inbound: flows.filter((f) => f.to.zone === name && f.from.zone !== name),
      outbound: flows.filter((f) => f.from.zone === name && f.to.zone !== name),
      inside: flows.filter((f) => f.from.zone === name && f.to.zone === name),
    },
    ssh: docsSsh(planned, plan, targets),
    ...(seg.talos ? { talos: docsTalos(seg.talos, plan, vmOf) } : {}),
    backups: docsBackups(planned.backups, name),
  };
}
