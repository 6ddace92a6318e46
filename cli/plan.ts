/**
 * `npm run plan`: run every stack program under Pulumi's mock runtime, with no engine,
 * no credentials and no hardware. Segments run first; the DMZ then reads their real
 * exported contracts through its StackReferences. Prints each stack's resource tree and
 * writes every rendered file under `<out>/<stack>/`.
 */
import { NIXOS_HOST_TYPE } from "../components/nixos-host";
import { ROUTER_TYPE } from "../components/router";
import { TALOS_ROLL_TYPE } from "../components/talos-roll";
import { compareText } from "../model/order";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { labNotices, requireLab } from "../model/check";
import { failureLoads, vmFates } from "../model/compute/load";
import type { Placement } from "../model/compute/placement";
import { acmeCredentialsKey } from "../model/network/certificate";
import type { Problem } from "../model/problems";
import { fullStackName, labStacks } from "../model/network/dmz";
import { tunnelEnd } from "../model/network/tunnel";
import { declaredSecretKeys } from "../model/data/plan";
import { CONFIG_KEYS, DMZ_STACK, own } from "../model/lab";
import { planLab, type PlannedLab } from "../model/plan";
import { ConfigError, count } from "../model/problems";
import { renderUserDataFiles } from "../render/cloud-init";
import type { TextFile } from "../render/files";
import { renderSegmentFiles, ROUTER_DIR } from "../render/segment";
import { renderTalosFiles } from "../render/talos-patches";
import { TALOS_ROLL_DIR } from "../render/talos-roll";
import { UsageError } from "./args";
import { formatWarnings, problemsJson } from "./check";
import { formatPlacement } from "./placement-table";
import { runProgram } from "../stacks";
import { runUnderMocks, type RecordedResource, type StackOutputsByName, type UploadedFile } from "./mock-runtime";

/** Options of a plan run. */
export interface PlanOptions {
  readonly dir: string;
  readonly out: string;
  readonly json: boolean;
  readonly stacks: readonly string[];
  /** Run the programs in preview mode (unknown values). @default false */
  readonly preview?: boolean;
}

/** One stack's planned result. */
export interface StackPlan {
  readonly stack: string;
  readonly resources: readonly RecordedResource[];
  readonly outputs: Record<string, unknown>;
  /** Files written under `<out>/<stack>/`, relative paths. */
  readonly files: readonly TextFile[];
  /** Each resource's inputs as declared, secrets unwrapped: for tests and the benchmark's floor, never printed. */
  readonly rawInputs: ReadonlyMap<string, Record<string, unknown>>;
}

/** The whole plan. */
export interface PlanResult {
  readonly stacks: readonly StackPlan[];
  /** What `check` would warn about (one node: no failover). */
  readonly warnings: readonly Problem[];
  /** Where VMs run and where they go when a node fails: the placement table's facts. */
  readonly placement: Placement;
}

/**
 * The environment the offline plan runs the programs with: an agent socket that is never
 * opened (nothing connects under mocks), so the plan needs no key and reads none.
 */
export const OFFLINE_ENV = { SSH_AUTH_SOCK: "/nonexistent/offline-plan-has-no-ssh-agent" } as const;

/** What the offline plan gives a stack for each secret it reads. */
const OFFLINE_SECRET = "offline-plan-stand-in";

/**
 * The config secrets `stack` reads: its Proxmox API token when it declares VMs, its end of the
 * WireGuard tunnel's private key, the DMZ's ACME DNS credentials when the lab uses ACME, a
 * segment's data host's passwords.
 */
function offlineSecrets(dir: string, stack: string): string[] {
  const lab = requireLab(dir);
  const keys: string[] = planLab(lab).machines.some((m) => m.stack === stack) ? [CONFIG_KEYS.proxmoxApiToken] : [];
  if (tunnelEnd(lab, stack) !== undefined) keys.push(CONFIG_KEYS.wireguardKey);
  if (stack !== DMZ_STACK) return [...keys, ...declaredSecretKeys(own(lab.segments, stack))];
  const acme = lab.dmz.tls.acme;
  return acme ? [...keys, acmeCredentialsKey(acme.credentialsSecret)] : keys;
}

/** What running one stack program under mocks gave. */
interface StackResult {
  readonly stack: string;
  readonly resources: readonly RecordedResource[];
  readonly uploads: readonly UploadedFile[];
  readonly outputs: Record<string, unknown>;
  readonly rawInputs: ReadonlyMap<string, Record<string, unknown>>;
  readonly error?: string;
}

/**
 * Run one stack program under mocks. Stacks run one after another in this process:
 * each run gets a fresh mock runtime and root stack resource.
 */
async function runStackPlan(dir: string, stack: string, preview: boolean, references: StackOutputsByName): Promise<StackResult> {
  try {
    const secrets = offlineSecrets(dir, stack);
    const run = await runUnderMocks({
      stack,
      program: () => runProgram(stack, dir, OFFLINE_ENV),
      // The offline plan holds no secret: each secret a stack reads gets a stand-in, recorded as "[secret]".
      config: Object.fromEntries(secrets.map((k) => [k, OFFLINE_SECRET])),
      secretKeys: secrets,
      references,
      preview,
    });
    const { recorder } = run;
    return { stack, resources: recorder.withParents(), uploads: recorder.uploads, outputs: run.resolved, rawInputs: recorder.rawInputs };
  } catch (e) {
    if (pulumi.RunError.isInstance(e)) return { stack, resources: [], uploads: [], outputs: {}, rawInputs: new Map(), error: e.message };
    throw e;
  }
}

/** The folder a release's files belong in: the owning component's role or name. */
function ownerDir(resources: readonly RecordedResource[], uploadResource: string): string {
  const byName = new Map(resources.map((r) => [r.name, r]));
  let r = byName.get(uploadResource);
  while (r?.parent) {
    r = byName.get(r.parent);
    if (r?.type === ROUTER_TYPE) return ROUTER_DIR;
    if (r?.type === NIXOS_HOST_TYPE) return r.name;
  }
  throw new Error(`bug: upload ${uploadResource} has no Router or NixOS host above it`);
}

/** The Talos roll's step scripts, as its local commands run them: `talos-roll/<step>.sh`. */
function rollScripts(resources: readonly RecordedResource[]): TextFile[] {
  const rolls = new Set(resources.filter((r) => r.type === TALOS_ROLL_TYPE).map((r) => r.name));
  return resources
    .filter(
      (r) => r.type === "command:local:Command" && r.parent !== undefined && rolls.has(r.parent) && typeof r.inputs.create === "string",
    )
    .map((r) => ({ path: `${TALOS_ROLL_DIR}/${r.name.slice(r.parent!.length + 1)}.sh`, content: r.inputs.create as string }));
}

/** Files of one stack: what its resources upload, plus the files only humans use, plus the plan. */
function stackFiles(plan: PlannedLab, result: StackResult): TextFile[] {
  const files: TextFile[] = result.uploads.map((u) => ({
    path: `${ownerDir(result.resources, u.resource)}/${u.remotePath.replace(/^.*\/(homelab-uploads|releases)\/[0-9a-f]{16}\//, "")}`,
    content: u.content,
  }));
  const uploaded = new Set(files.map((f) => f.path));
  if (result.stack === DMZ_STACK) {
    files.push({ path: "plan.json", content: `${JSON.stringify(plan.dmz.plan, null, 2)}\n` });
  } else {
    const segment = plan.segments[result.stack]!;
    for (const f of renderSegmentFiles(segment, plan.ssh)) {
      if (!f.path.startsWith("router/") && !uploaded.has(f.path)) files.push({ path: f.path, content: f.content });
    }
    // The cloud-init user data the stack uploads as each Debian or Ubuntu VM's snippet.
    for (const f of renderUserDataFiles(plan.userData.filter((u) => u.stack === result.stack)))
      files.push({ path: f.path, content: f.content });
    const talos = plan.talos[result.stack];
    if (talos) files.push(...renderTalosFiles(talos));
    files.push(...rollScripts(result.resources));
    files.push({ path: "plan.json", content: `${JSON.stringify(segment, null, 2)}\n` });
  }
  return [...files].sort((a, b) => compareText(a.path, b.path));
}

/**
 * Plan the stacks (all by default), returning results; throws ConfigError for an invalid lab.
 * Only a plan run's scope: where its files go and how it prints are runPlan's business.
 */
export async function planStacks(opts: Pick<PlanOptions, "dir" | "stacks" | "preview">): Promise<PlanResult> {
  const lab = requireLab(opts.dir);
  const known = labStacks(lab).map((s) => s.stack);
  const wanted = opts.stacks.length > 0 ? opts.stacks : known;
  for (const s of wanted) {
    if (!known.includes(s)) throw new UsageError(`unknown stack "${s}"; the known stacks are ${known.join(", ")}`);
  }
  // The DMZ reads the segments it lists, so they run even when only the DMZ is asked for.
  const needed = new Set(wanted.filter((s) => s !== DMZ_STACK));
  if (wanted.includes(DMZ_STACK)) for (const s of lab.dmzStack?.segments ?? []) needed.add(s);
  // Every other stack may read the owner's lab-wide Proxmox objects: the owner runs first.
  const { owner } = lab.hardware.proxmox;
  const results = new Map<string, StackResult>();
  results.set(owner, await runStackPlan(opts.dir, owner, opts.preview ?? false, {}));
  const ownerRef = { [fullStackName(lab, owner)]: results.get(owner)!.outputs };
  for (const s of [...needed].sort()) if (s !== owner) results.set(s, await runStackPlan(opts.dir, s, opts.preview ?? false, ownerRef));
  if (wanted.includes(DMZ_STACK)) {
    const references = Object.fromEntries(lab.dmzStack!.segments.map((s) => [fullStackName(lab, s), results.get(s)?.outputs]));
    results.set(DMZ_STACK, await runStackPlan(opts.dir, DMZ_STACK, opts.preview ?? false, { ...ownerRef, ...references }));
  }

  const failed = wanted.map((s) => results.get(s)!).filter((r) => r.error);
  if (failed.length > 0) throw new PlanError(failed.map((r) => `stack ${r.stack}: ${r.error}`).join("\n\n"));
  const plan = planLab(lab);
  return {
    stacks: wanted.map((s) => {
      const r = results.get(s)!;
      return { stack: s, resources: r.resources, outputs: r.outputs, files: stackFiles(plan, r), rawInputs: r.rawInputs };
    }),
    warnings: labNotices(lab),
    placement: plan.placement,
  };
}

/** A stack program failed under mocks: reported without a stack trace of the CLI itself. */
export class PlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PlanError";
  }
}

/** Write each stack's files under `<out>/<stack>/`, replacing what was there. */
export function writePlan(result: PlanResult, out: string): void {
  for (const s of result.stacks) {
    const dir = path.join(out, s.stack);
    fs.rmSync(dir, { recursive: true, force: true });
    for (const f of s.files) {
      const p = path.join(dir, f.path);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, f.content, { mode: f.path.endsWith(".sh") ? 0o755 : 0o644 });
    }
  }
}

/** What the tree says after a resource's name: where a VM or an image file lives on the cluster. */
function treeNote(r: RecordedResource): string {
  const { nodeName, vmId, hostpcis, fileName } = r.inputs;
  if (r.type === "proxmoxve:index/vmLegacy:VmLegacy") {
    const pci = Array.isArray(hostpcis) ? hostpcis.map((p) => String((p as Record<string, unknown>).mapping)) : [];
    return ` (vm ${String(vmId)} on ${String(nodeName)}${pci.length > 0 ? `, pci ${pci.join(", ")}` : ""})`;
  }
  if (r.type === "proxmoxve:download/file:File") return ` (${String(fileName)} on ${String(nodeName)})`;
  return "";
}

/** The resource tree of one stack, for humans. */
export function formatTree(s: StackPlan): string {
  const children = new Map<string | undefined, RecordedResource[]>();
  for (const r of s.resources) {
    if (r.type === "pulumi:pulumi:Stack") continue;
    const list = children.get(r.parent) ?? [];
    list.push(r);
    children.set(r.parent, list);
  }
  const counts = new Map<string, number>();
  for (const r of s.resources) if (r.type !== "pulumi:pulumi:Stack") counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const lines = [
    `${s.stack}: ${count(total, "resource")} (${[...counts]
      .sort(([a], [b]) => compareText(a, b))
      .map(([t, n]) => `${n} ${t}`)
      .join(", ")})`,
  ];
  const walk = (parent: string | undefined, indent: string) => {
    const list = children.get(parent) ?? [];
    list.forEach((r, i) => {
      const last = i === list.length - 1;
      lines.push(`${indent}${last ? "└─" : "├─"} ${r.type} ${r.name}${treeNote(r)}`);
      walk(r.name, `${indent}${last ? "   " : "│  "}`);
    });
  };
  walk(undefined, "");
  lines.push(`  files: ${s.files.length} under ${s.stack}/`);
  return lines.join("\n");
}

/** `npm run plan`: returns the exit code. */
export async function runPlan(opts: PlanOptions): Promise<number> {
  let result: PlanResult;
  try {
    result = await planStacks(opts);
  } catch (e) {
    // An invalid lab: with --json, the same problems on stdout as `check --json` prints.
    if (opts.json && e instanceof ConfigError) {
      process.stdout.write(problemsJson(opts.dir, e.problems));
      return 1;
    }
    if (e instanceof PlanError) {
      process.stderr.write(`plan failed:\n${e.message}\n`);
      return 1;
    }
    throw e;
  }
  writePlan(result, opts.out);
  process.stderr.write(formatWarnings(result.warnings));
  if (opts.json) {
    const json = {
      out: opts.out,
      warnings: result.warnings,
      stacks: result.stacks.map((s) => ({ stack: s.stack, resources: s.resources, outputs: s.outputs, files: s.files.map((f) => f.path) })),
      placement: { nodes: failureLoads(result.placement), vms: vmFates(result.placement) },
    };
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  } else {
    process.stdout.write(
      `${result.stacks.map(formatTree).join("\n\n")}\n\n${formatPlacement(result.placement)}\n\nwrote ${count(
        result.stacks.reduce((n, s) => n + s.files.length, 0),
        "file",
      )} under ${opts.out}\n`,
    );
  }
  return 0;
}
