/**
 * The DMZ's docs contract (what the DMZ stack exports as `docs`), and every stack's docs
 * built offline, from the planned lab. It plans nothing: the deployed DMZ passes the DMZ
 * plan it made from the contracts it read, the offline tools the model's (PlannedLab.dmz).
 */
import type { DmzPlan, PublishedSegment } from "../model/network/dmz";
import { comparePorts, DMZ_STACK, keyMaterial, segmentList, showPort, type Lab, type PortSpec } from "../model/lab";
import { compareText } from "../model/order";
import type { PlannedDmz, PlannedLab } from "../model/plan";
import type { Placement } from "../model/compute/placement";
import { infraFirewall } from "../render/dmz";
import { DOCS_CONTRACT_VERSION, type CatalogEntry, type DmzDocs, type DocsBundle, type DocsNodeLoad, type DocsPlacement } from "./contract";
import { docsFlow, docsHost, docsOfSegment, docsVm } from "./contract-segment";
import { planWeek } from "../model/maintenance/weekly";
import { maintenanceSteps } from "../render/maintenance";
import type { DocsMaintenance } from "./contract";
import { docsBackups } from "./contract-backups";

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

/** What the infra host serves: every port its own firewall opens (render/dmz.ts), once each, in port order. */
function infraListens(plan: DmzPlan): PortSpec[] {
  const ports = new Map(infraFirewall(plan).rules.map((r) => [showPort(r), { port: r.port, proto: r.proto }]));
  return [...ports.values()].sort(comparePorts);
}

/** One node's worst load: after any one other node fails and its HA VMs restart here. */
function worstCase(node: Placement["nodes"][number], placement: Placement): DocsNodeLoad["worstCase"] {
  const byName = new Map(placement.nodes.flatMap((n) => n.vms).map((v) => [v.name, v]));
  let worst = { usedVcpus: node.usedVcpus, usedMemoryMiB: node.usedMemoryMiB, whenFails: "" };
  for (const f of placement.failover) {
    if (f.failed === node.node) continue;
    const moved = f.moves.filter((m) => m.to === node.node).map((m) => byName.get(m.vm)!);
    const memory = node.usedMemoryMiB + moved.reduce((a, v) => a + v.memoryMiB, 0);
    const vcpus = node.usedVcpus + moved.reduce((a, v) => a + v.cores, 0);
    if (memory > worst.usedMemoryMiB || (memory === worst.usedMemoryMiB && vcpus > worst.usedVcpus))
      worst = { usedVcpus: vcpus, usedMemoryMiB: memory, whenFails: f.failed };
  }
  return worst;
}

/** The lab-wide placement with, per node, its worst load after any one other node fails. */
function docsPlacement(lab: Lab, planned: PlannedLab): DocsPlacement {
  const { placement } = planned;
  const nodes = placement.nodes.map((n): DocsNodeLoad => ({
    node: n.node,
    description: lab.hardware.proxmox.nodes[n.node]!.description,
    cpuCores: n.cpuCores,
    vcpuLimit: n.vcpuLimit,
    usedVcpus: n.usedVcpus,
    memoryMiB: n.memoryMiB,
    usedMemoryMiB: n.usedMemoryMiB,
    storage: Object.keys(n.storageGiB)
      .sort()
      .map((ds) => ({ datastore: ds, usedGiB: n.usedStorageGiB[ds] ?? 0, replicaGiB: n.replicaGiB[ds] ?? 0, limitGiB: n.storageGiB[ds]! })),
    networks: [...n.networks],
    worstCase: worstCase(n, placement),
  }));
  return {
    cpuOvercommit: lab.hardware.proxmox.cpuOvercommit,
    nodes,
    vms: planned.vms
      .map((v) => ({ name: v.name, segment: v.segment, host: v.host, ...docsVm(v, placement) }))
      .sort((a, b) => compareText(a.name, b.name)),
    failover: placement.failover.map((f) => ({
      failed: f.failed,
      moves: f.moves.map((m) => ({ ...m })),
      stranded: [...f.stranded],
      down: [...f.down],
    })),
  };
}

/** The weekly plan, each node's maintenance with its commands, and the update windows. */
function docsMaintenance(lab: Lab, planned: PlannedLab): DocsMaintenance {
  const week = planWeek(lab, planned.placement);
  return {
    targetSeconds: week.targetSeconds,
    migrationPauseSeconds: lab.hardware.proxmox.migrationPauseSeconds,
    nodes: week.nodes.map((n) => ({
      node: n.node,
      rebootSeconds: n.rebootSeconds,
      moves: n.moves.map((m) => ({ vm: m.vm, to: m.to, how: m.how, secondsEachWay: m.secondsEachWay })),
      outages: n.outages.map((o) => ({ vm: o.vm, why: o.why, downSeconds: o.downSeconds })),
      criticalDown: n.criticalDown.map((c) => ({ ...c })),
      redundancy: n.redundancy.map((r) => ({ ...r })),
      steps: maintenanceSteps(n).map((s) => ({ what: s.what, commands: [...s.commands] })),
    })),
    vms: week.vms.map((v) => ({
      vm: v.vm,
      node: v.node,
      seconds: v.seconds,
      restarts: v.restarts,
      meetsTarget: v.meetsTarget,
      causes: v.causes.map((c) => ({ seconds: c.seconds, what: c.what })),
    })),
    updates: {
      day: week.updates.day,
      windowMinutes: week.updates.windowMinutes,
      windows: week.updates.windows.map((w) => ({
        box: w.box.id,
        kind: w.box.kind,
        via: w.box.via,
        start: w.start,
        end: w.end,
        declared: w.declared,
        restartSeconds: w.box.restartSeconds,
      })),
      clashes: week.updates.clashes.map((c) => ({ ...c })),
    },
  };
}

/** The DMZ's own facts: its addresses, the infra host and the hardware in it. */
function docsDmzFacts(lab: Lab, planned: PlannedLab, plan: DmzPlan): DmzDocs["dmz"] {
  const { infra } = planned.dmz;
  const infraVm = planned.vms.find((v) => v.segment === infra.segment && v.host === infra.id);
  return {
    subnet: lab.dmz.subnet.toString(),
    gateway: lab.dmz.gateway,
    dns: lab.dmz.dns,
    ntp: lab.dmz.ntp,
    proxy: lab.dmz.proxy,
    upstreamDns: [...lab.dmz.upstreamDns],
    upstreamNtp: [...lab.dmz.upstreamNtp],
    infra: {
      ...docsHost(
        { ...infra, listens: infraListens(plan) },
        infraVm ? docsVm(infraVm, planned.placement) : undefined,
        `${infra.id}.${infra.segment}`,
      ),
      hostKey: keyMaterial(infra.sshHostKey),
    },
    hardware: planned.dmz.hardware.map((h) => docsHost(h, undefined, undefined)),
  };
}

/**
 * The DMZ stack's docs contract: the DMZ, the catalog and DNS names it serves (planned
 * from the segments' contracts it read: `dmz`, the model's own when not given), and the
 * lab-wide placement and flows.
 */
export function docsOfDmz(lab: Lab, planned: PlannedLab, dmz: Pick<PlannedDmz, "plan" | "segments"> = planned.dmz): DmzDocs {
  const segmentZones = new Set(segmentList(lab).map((s) => s.name));
  return {
    version: DOCS_CONTRACT_VERSION,
    kind: "dmz",
    domain: lab.domain,
    timezone: lab.timezone,
    dmz: docsDmzFacts(lab, planned, dmz.plan),
    adminSources: lab.ssh.adminSources.map(String),
    admins: Object.keys(lab.admins)
      .sort()
      .map((name) => ({ name, fullName: lab.admins[name]!.fullName })),
    deployUser: lab.ssh.deploy.user,
    segments: [...dmz.segments]
      .sort((a, b) => compareText(a.name, b.name))
      .map((s) => ({ name: s.name, trust: s.trust, subnet: s.subnet, router: s.router.name, wanAddress: s.router.wanAddress })),
    catalog: catalog(dmz.plan, dmz.segments),
    names: dmz.plan.dns.records.map((r) => ({ name: r.name, address: r.address, kind: r.kind })),
    flows: planned.flows.filter((f) => !segmentZones.has(f.from.zone) && !segmentZones.has(f.to.zone)).map(docsFlow),
    placement: docsPlacement(lab, planned),
    maintenance: docsMaintenance(lab, planned),
    backups: docsBackups(planned.backups, DMZ_STACK),
  };
}

/**
 * Every stack's docs built offline from the planned lab: each segment's, and the DMZ's
 * planned from the segments the DMZ lists (every segment when the lab has no DMZ stack
 * file), exactly as the deployed DMZ plans from the contracts it reads.
 */
export function docsOfLab(lab: Lab, planned: PlannedLab): DocsBundle {
  return {
    segments: segmentList(lab).map((s) => docsOfSegment(lab, planned, s.name)),
    dmz: docsOfDmz(lab, planned),
  };
}
