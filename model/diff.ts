/**
 * What a change does, in plain words: compare two plans of the lab (the model's flows,
 * placement, hosts, DNS names and proxy routes, plus each stack's resources and rendered
 * files) and state every difference as one sentence. Pure: the plans come in as data.
 */
import { unreachable } from "./unreachable";
import { DNS_RECORD_KIND, type DmzPlan } from "./network/dmz";
import { unifiedDiff } from "./diff-text";
import { compareText } from "./order";
import { comparePorts, SECRET_PLACEHOLDER, showPort, type Lab, type PortSpec } from "./lab";
import type { HaPlan, PlacedVm } from "./compute/placement";
import type { Flow } from "./network/flows";
import { diffHoles } from "./diff-holes";
import { planLab } from "./plan";
import { diskGiB, gib, minutesText, placementText } from "./words";

/** One recorded resource of a stack's plan (cli/mock-runtime's RecordedResource fits). */
interface ResourceSnapshot {
  readonly type: string;
  readonly name: string;
  readonly parent?: string;
  /** Inputs with secrets already redacted. */
  readonly inputs: Readonly<Record<string, unknown>>;
  /** Dotted paths of inputs that were secret. */
  readonly secretInputs: readonly string[];
}

/** One stack's plan: its resources and the files it renders. */
export interface StackSnapshot {
  readonly stack: string;
  readonly resources: readonly ResourceSnapshot[];
  readonly files: readonly { readonly path: string; readonly content: string }[];
}

/** A host of the lab, for address changes. */
interface HostSnapshot {
  readonly label: string;
  readonly address: string;
  readonly role: string;
  readonly os: string;
}

/** Everything the diff compares of one lab. */
export interface LabSnapshot {
  readonly flows: readonly Flow[];
  readonly vms: readonly PlacedVm[];
  /** Every HA VM's failover node and replication. */
  readonly ha: readonly HaPlan[];
  readonly hosts: readonly HostSnapshot[];
  readonly dmz: DmzPlan;
  readonly stacks: readonly StackSnapshot[];
}

/** The model's part of a snapshot from a lab (its planned lab), plus the stacks' plans. */
export function snapshotOfLab(lab: Lab, stacks: readonly StackSnapshot[]): LabSnapshot {
  const planned = planLab(lab);
  const { infra } = planned.dmz;
  const hosts: HostSnapshot[] = [{ label: `${infra.segment}/${infra.id}`, address: infra.address, role: infra.role, os: infra.os }];
  for (const seg of Object.values(planned.segments)) {
    hosts.push({ label: `${seg.name}/${seg.router.name}`, address: seg.router.lan.address, role: "router", os: "" });
    for (const h of seg.hosts) hosts.push({ label: `${seg.name}/${h.id}`, address: h.address, role: h.role, os: h.os });
  }
  return { flows: planned.flows, vms: planned.vms, ha: planned.placement.ha, hosts, dmz: planned.dmz.plan, stacks };
}

/** A changed input of a resource, shown for humans (secrets as "[secret]"). */
export interface InputChange {
  readonly path: string;
  readonly before: string;
  readonly after: string;
  /** When the value only swaps one word for another (a release id, say): the two words. */
  readonly swap?: { readonly from: string; readonly to: string };
}

/** A changed rendered file. */
export interface FileChange {
  readonly path: string;
  readonly change: "added" | "removed" | "changed";
  readonly added: number;
  readonly removed: number;
  /** The unified diff, `a/<stack>/<path>` to `b/<stack>/<path>`. */
  readonly diff: string;
}

/** What changed in one stack. */
export interface StackDiff {
  readonly stack: string;
  readonly added: readonly { readonly type: string; readonly name: string }[];
  readonly removed: readonly { readonly type: string; readonly name: string }[];
  readonly changed: readonly { readonly type: string; readonly name: string; readonly inputs: readonly InputChange[] }[];
  /** The swap most changed values of this stack share (a new release id), when two or more do. */
  readonly commonSwap?: { readonly from: string; readonly to: string; readonly count: number };
  readonly files: readonly FileChange[];
}

/** The whole difference, as sentences per topic plus the stacks' details. */
export interface PlanDiff {
  readonly flows: readonly string[];
  readonly placement: readonly string[];
  readonly hosts: readonly string[];
  readonly dns: readonly string[];
  readonly routes: readonly string[];
  /** Stacks with a resource or file change, in the order planned. */
  readonly stacks: readonly StackDiff[];
}

/** True when nothing differs. */
export function isEmptyDiff(d: PlanDiff): boolean {
  return d.flows.length + d.placement.length + d.hosts.length + d.dns.length + d.routes.length + d.stacks.length === 0;
}

/** Compare the plan at the base (`before`) with the working tree's (`after`). */
export function diffPlans(before: LabSnapshot, after: LabSnapshot): PlanDiff {
  return {
    flows: diffFlows(before.flows, after.flows),
    placement: [...diffPlacement(before.vms, after.vms), ...diffHa(before.ha, after.ha)],
    hosts: diffHosts(before.hosts, after.hosts),
    dns: diffDns(before.dmz, after.dmz),
    routes: diffRoutes(before.dmz, after.dmz),
    stacks: diffStacks(before.stacks, after.stacks),
  };
}

/** Every key of either map, sorted, with its value before and after (undefined where it has none). */
function pairs<T>(
  before: ReadonlyMap<string, T>,
  after: ReadonlyMap<string, T>,
): { key: string; was: T | undefined; now: T | undefined }[] {
  return [...new Set([...before.keys(), ...after.keys()])].sort().map((key) => ({ key, was: before.get(key), now: after.get(key) }));
}

// --- flows -----------------------------------------------------------------------------------------

/** One allowed (from, to, port) of a flow: the unit that opens or closes. */
interface Allow {
  readonly key: string;
  readonly flow: Flow;
  readonly port: PortSpec;
}

function allows(flows: readonly Flow[]): Map<string, Allow> {
  const out = new Map<string, Allow>();
  for (const f of flows) {
    for (const port of f.ports) {
      const key = `${f.from.label}\u0000${f.to.label}\u0000${showPort(port)}`;
      if (!out.has(key)) out.set(key, { key, flow: f, port });
    }
  }
  return out;
}

/** `3306/tcp, 53/udp`: protocol, then port. */
function portsText(ports: readonly PortSpec[]): string {
  return [...ports].sort(comparePorts).map(showPort).join(", ");
}

function viaText(f: Flow): string {
  return f.via ? ` (DNAT at ${f.via.router} ${f.via.address}:${f.via.ports.map(showPort).join(", ")})` : "";
}

/** Sentences for allows that appear or disappear, grouped by flow so one sentence lists its ports. */
function diffFlows(before: readonly Flow[], after: readonly Flow[]): string[] {
  const a = allows(before);
  const b = allows(after);
  const group = (list: Allow[]) => {
    const byFlow = new Map<string, { flow: Flow; ports: PortSpec[] }>();
    for (const x of list) {
      const key = `${x.flow.id}\u0000${x.flow.from.label}\u0000${x.flow.to.label}`;
      const g = byFlow.get(key) ?? { flow: x.flow, ports: [] };
      g.ports.push(x.port);
      byFlow.set(key, g);
    }
    return [...byFlow.values()].sort((x, y) => compareText(x.flow.id, y.flow.id));
  };
  const opened = group([...b.values()].filter((x) => !a.has(x.key)));
  const closed = group([...a.values()].filter((x) => !b.has(x.key)));
  const kept = [...b.values()].filter((x) => a.has(x.key));
  const lines: string[] = [];
  for (const g of opened)
    lines.push(
      `new allow ${g.flow.from.label} → ${g.flow.to.label} ${portsText(g.ports)}${viaText(g.flow)}${g.flow.until ? ` until ${g.flow.until.display}` : ""}: ${g.flow.reason}`,
    );
  for (const g of closed)
    lines.push(`removed allow ${g.flow.from.label} → ${g.flow.to.label} ${portsText(g.ports)}${viaText(g.flow)}: ${g.flow.reason}`);
  // The same allow for another reason, or to other addresses (a host renumbered).
  const reasons = new Map<string, { flow: Flow; was: Flow; ports: PortSpec[] }>();
  for (const x of kept) {
    const was = a.get(x.key)!.flow;
    const addresses = (f: Flow) => `${f.from.cidrs.join(",")}>${f.to.cidrs.join(",")}`;
    if (was.reason === x.flow.reason && addresses(was) === addresses(x.flow)) continue;
    const key = `${x.flow.id}\u0000${was.id}`;
    const g = reasons.get(key) ?? { flow: x.flow, was, ports: [] };
    g.ports.push(x.port);
    reasons.set(key, g);
  }
  for (const g of [...reasons.values()].sort((x, y) => compareText(x.flow.id, y.flow.id))) {
    const what = `allow ${g.flow.from.label} → ${g.flow.to.label} ${portsText(g.ports)}`;
    if (g.was.reason !== g.flow.reason) lines.push(`${what}: reason now "${g.flow.reason}" (was "${g.was.reason}")`);
    const cidrs = (f: Flow) => `${f.from.cidrs.join(" ")} → ${f.to.cidrs.join(" ")}`;
    if (cidrs(g.was) !== cidrs(g.flow)) lines.push(`${what}: addresses now ${cidrs(g.flow)} (were ${cidrs(g.was)})`);
  }
  return lines;
}

// --- placement, hosts ------------------------------------------------------------------------------

function diffPlacement(before: readonly PlacedVm[], after: readonly PlacedVm[]): string[] {
  const lines: string[] = [];
  for (const { key: name, was, now } of pairs(new Map(before.map((v) => [v.name, v])), new Map(after.map((v) => [v.name, v])))) {
    if (!was && now) {
      lines.push(
        `new vm ${name} on ${now.node}: ${now.cores} vCPU, ${gib(now.memoryMiB)} GiB memory, ${diskGiB(now.disks)} GiB disk, ${placementText(now)}`,
      );
      continue;
    }
    if (was && !now) {
      lines.push(`vm ${name} removed from ${was.node}`);
      continue;
    }
    if (!was || !now) continue;
    if (was.node !== now.node) lines.push(`vm ${name} moves ${was.node} → ${now.node}`);
    const size: string[] = [];
    if (was.cores !== now.cores) size.push(`${was.cores} → ${now.cores} vCPU`);
    if (was.memoryMiB !== now.memoryMiB) size.push(`${gib(was.memoryMiB)} GiB → ${gib(now.memoryMiB)} GiB memory`);
    if (diskGiB(was.disks) !== diskGiB(now.disks)) size.push(`${diskGiB(was.disks)} → ${diskGiB(now.disks)} GiB disk`);
    if (size.length > 0) lines.push(`vm ${name} resized: ${size.join(", ")}`);
    if (placementText(was) !== placementText(now)) lines.push(`vm ${name} is now ${placementText(now)} (was ${placementText(was)})`);
    if (was.vmId !== now.vmId) lines.push(`vm ${name} gets VM id ${now.vmId} (was ${was.vmId}): Proxmox recreates it`);
  }
  return lines;
}

/** Failover nodes and replication schedules of VMs that are HA before and after (becoming HA or pinned is diffPlacement's). */
function diffHa(before: readonly HaPlan[], after: readonly HaPlan[]): string[] {
  const lines: string[] = [];
  for (const { key: name, was, now } of pairs(new Map(before.map((h) => [h.vm, h])), new Map(after.map((h) => [h.vm, h])))) {
    if (!was || !now) continue;
    if (was.to !== now.to)
      lines.push(`vm ${name} now fails over to ${now.to ?? "no node"} (was ${was.to ?? "no node"}): its replica is copied there in full`);
    const every = (h: HaPlan) => (h.replication ? `every ${minutesText(h.replication.minutes)}` : "not at all (shared storage)");
    if (every(was) !== every(now)) lines.push(`vm ${name} is replicated ${every(now)} (was ${every(was)})`);
  }
  return lines;
}

function diffHosts(before: readonly HostSnapshot[], after: readonly HostSnapshot[]): string[] {
  const lines: string[] = [];
  for (const { key: label, was, now } of pairs(new Map(before.map((h) => [h.label, h])), new Map(after.map((h) => [h.label, h])))) {
    if (!was && now) lines.push(`new host ${label} ${now.address} (${now.role}${now.os ? `, ${now.os}` : ""})`);
    else if (was && !now) lines.push(`removed host ${label} (was ${was.address})`);
    else if (was && now && was.address !== now.address) lines.push(`host ${label} moves from ${was.address} to ${now.address}`);
  }
  return lines;
}

// --- DNS and proxy routes --------------------------------------------------------------------------

function diffDns(before: DmzPlan, after: DmzPlan): string[] {
  const lines: string[] = [];
  for (const { key: name, was, now } of pairs(
    new Map(before.dns.records.map((r) => [r.name, r])),
    new Map(after.dns.records.map((r) => [r.name, r])),
  )) {
    if (!was && now) lines.push(`new DNS name ${name} → ${now.address} (${DNS_RECORD_KIND[now.kind]})`);
    else if (was && !now) lines.push(`removed DNS name ${name} (was → ${was.address})`);
    else if (was && now && was.address !== now.address) lines.push(`DNS name ${name} now → ${now.address} (was ${was.address})`);
  }
  return lines;
}

function authText(auth: DmzPlan["proxy"]["http"][number]["auth"]): string {
  switch (auth.kind) {
    case "app":
      return "auth by the application";
    case "basic":
      return `basic auth (${auth.realm})`;
    case "none":
      return "no auth";
    default:
      return unreachable(auth, "auth kind");
  }
}

function diffRoutes(before: DmzPlan, after: DmzPlan): string[] {
  type Route = { what: string; to: string; detail: string };
  const routes = (p: DmzPlan): Map<string, Route> =>
    new Map<string, Route>([
      ...p.proxy.http.map((r): [string, Route] => [
        `http ${r.fqdn}`,
        {
          what: `proxy route https://${r.fqdn}/`,
          to: `${r.segment}/${r.service} via ${r.upstream.address}:${r.upstream.port}`,
          detail: `${r.exposure} exposure, ${authText(r.auth)}`,
        },
      ]),
      ...p.proxy.streams.map((s): [string, Route] => [
        `stream ${s.proto} ${s.port}`,
        {
          what: `proxy stream ${p.proxy.listen}:${s.port}/${s.proto}`,
          to: `${s.segment}/${s.service} via ${s.upstream.address}:${s.upstream.port}`,
          detail: `${s.exposure} exposure`,
        },
      ]),
    ]);
  const lines: string[] = [];
  for (const { was, now } of pairs(routes(before), routes(after))) {
    if (!was && now) lines.push(`new ${now.what} → ${now.to} (${now.detail})`);
    else if (was && !now) lines.push(`removed ${was.what} (was → ${was.to})`);
    else if (was && now) {
      if (was.to !== now.to) lines.push(`${now.what} now → ${now.to} (was → ${was.to})`);
      if (was.detail !== now.detail) lines.push(`${now.what}: now ${now.detail} (was ${was.detail})`);
    }
  }
  return [...lines, ...diffHoles(before, after)];
}

// --- resources and files ---------------------------------------------------------------------------

/** Inputs as leaf paths: objects and arrays walked, text assets kept whole. */
function flatten(value: unknown, prefix: string, out: Map<string, unknown>): void {
  if (Array.isArray(value)) {
    if (value.length === 0) out.set(prefix, []);
    value.forEach((v, i) => {
      flatten(v, `${prefix}[${i}]`, out);
    });
    return;
  }
  if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (o.asset === "text" && typeof o.sha256 === "string") {
      out.set(prefix, o);
      return;
    }
    const keys = Object.keys(o).sort();
    if (keys.length === 0) out.set(prefix, {});
    for (const k of keys) flatten(o[k], prefix ? `${prefix}.${k}` : k, out);
    return;
  }
  out.set(prefix, value);
}

/** A value for humans: short, one line; text assets by digest and size. */
function show(value: unknown): string {
  if (value === undefined) return "(none)";
  if (value !== null && typeof value === "object" && (value as { asset?: unknown }).asset === "text") {
    const v = value as { sha256: string; bytes: number };
    return `text ${v.bytes} bytes, sha256 ${v.sha256.slice(0, 12)}`;
  }
  // JSON.stringify returns undefined for a function or a symbol, whatever its type says.
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) return "(unprintable)";
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}

function isSecretPath(path: string, secrets: readonly string[]): boolean {
  return secrets.some((s) => s === "(root)" || path === s || path.startsWith(`${s}.`) || path.startsWith(`${s}[`));
}

/** The one word (letters and digits) `after` has wherever `before` has another, if that is the only difference. */
export function wordSwap(before: string, after: string): { from: string; to: string } | undefined {
  const tokens = (t: string) => t.match(/[A-Za-z0-9]+|[^A-Za-z0-9]+/g) ?? [];
  const a = tokens(before);
  const b = tokens(after);
  if (a.length !== b.length) return undefined;
  let swap: { from: string; to: string } | undefined;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    if (!/^[A-Za-z0-9]+$/.test(a[i]!) || !/^[A-Za-z0-9]+$/.test(b[i]!)) return undefined;
    if (swap && (swap.from !== a[i] || swap.to !== b[i])) return undefined;
    swap = { from: a[i]!, to: b[i]! };
  }
  return swap;
}

/** The inputs that differ between two versions of a resource, secrets never shown. */
export function diffInputs(before: ResourceSnapshot, after: ResourceSnapshot): InputChange[] {
  const a = new Map<string, unknown>();
  const b = new Map<string, unknown>();
  flatten(before.inputs, "", a);
  flatten(after.inputs, "", b);
  const secrets = [...before.secretInputs, ...after.secretInputs];
  const out: InputChange[] = [];
  for (const { key: path, was, now } of pairs(a, b)) {
    if (JSON.stringify(was) === JSON.stringify(now)) continue;
    const secret = isSecretPath(path, secrets);
    const swap = !secret && typeof was === "string" && typeof now === "string" ? wordSwap(was, now) : undefined;
    out.push({
      path: path || "(inputs)",
      before: secret && was !== undefined ? SECRET_PLACEHOLDER : show(was),
      after: secret && now !== undefined ? SECRET_PLACEHOLDER : show(now),
      ...(swap ? { swap } : {}),
    });
  }
  if ((before.parent ?? "") !== (after.parent ?? ""))
    out.push({ path: "(parent)", before: before.parent ?? "(stack)", after: after.parent ?? "(stack)" });
  return out;
}

function diffStacks(before: readonly StackSnapshot[], after: readonly StackSnapshot[]): StackDiff[] {
  const names = [...after.map((s) => s.stack), ...before.map((s) => s.stack).filter((s) => !after.some((x) => x.stack === s))];
  const out: StackDiff[] = [];
  for (const stack of names) {
    const was = before.find((s) => s.stack === stack) ?? { stack, resources: [], files: [] };
    const now = after.find((s) => s.stack === stack) ?? { stack, resources: [], files: [] };
    const key = (r: ResourceSnapshot) => `${r.type}\u0000${r.name}`;
    // The root stack resource is the program itself, not something that changes.
    const real = (list: readonly ResourceSnapshot[]) =>
      new Map(list.filter((r) => r.type !== "pulumi:pulumi:Stack").map((r) => [key(r), r]));
    const a = real(was.resources);
    const b = real(now.resources);
    const added = [...b.values()].filter((r) => !a.has(key(r))).map((r) => ({ type: r.type, name: r.name }));
    const removed = [...a.values()].filter((r) => !b.has(key(r))).map((r) => ({ type: r.type, name: r.name }));
    const changed = [...b.values()]
      .filter((r) => a.has(key(r)))
      .map((r) => ({ type: r.type, name: r.name, inputs: diffInputs(a.get(key(r))!, r) }))
      .filter((c) => c.inputs.length > 0);
    const byName = (x: { type: string; name: string }, y: { type: string; name: string }) =>
      compareText(x.name, y.name) || compareText(x.type, y.type);
    const files = diffFiles(stack, was.files, now.files);
    if (added.length + removed.length + changed.length + files.length === 0) continue;
    const swaps = new Map<string, { from: string; to: string; count: number }>();
    for (const i of changed.flatMap((c) => c.inputs)) {
      if (!i.swap) continue;
      const key = `${i.swap.from} ${i.swap.to}`;
      swaps.set(key, { ...i.swap, count: (swaps.get(key)?.count ?? 0) + 1 });
    }
    const common = [...swaps.values()].sort((x, y) => y.count - x.count || compareText(x.from, y.from))[0];
    out.push({
      stack,
      added: added.sort(byName),
      removed: removed.sort(byName),
      changed: changed.sort(byName),
      ...(common && common.count >= 2 ? { commonSwap: common } : {}),
      files,
    });
  }
  return out;
}

function diffFiles(stack: string, before: StackSnapshot["files"], after: StackSnapshot["files"]): FileChange[] {
  const out: FileChange[] = [];
  for (const { key: path, was, now } of pairs(
    new Map(before.map((f) => [f.path, f.content])),
    new Map(after.map((f) => [f.path, f.content])),
  )) {
    if (was === now) continue;
    const names = {
      from: was === undefined ? "/dev/null" : `a/${stack}/${path}`,
      to: now === undefined ? "/dev/null" : `b/${stack}/${path}`,
    };
    const { diff, added, removed } = unifiedDiff(was ?? "", now ?? "", names);
    out.push({ path, change: was === undefined ? "added" : now === undefined ? "removed" : "changed", added, removed, diff });
  }
  return out;
}
