/**
 * The floor of the offline plan: what Pulumi itself costs for a lab's resources. Each stack's
 * resources, as a plan recorded them (type, name, parent, dependsOn, explicit provider,
 * ignoreChanges, inputs with their secrets and string assets), are declared again directly, under the same mock runtime
 * (cli/mock-runtime.ts) with the same references, and the stack returns the same outputs:
 * no lab is read, validated, planned or rendered. plan ÷ floor is what the model costs.
 */
import * as px from "@muhlba91/pulumi-proxmoxve";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as talos from "../providers/talos";
import type { PlanResult, StackPlan } from "../cli/plan";
import { SIG } from "../cli/mock-providers";
import { ASSET_SIG, type RecordedResource, runUnderMocks, type StackOutputsByName } from "../cli/mock-runtime";
import { DMZ_STACK } from "../model/lab";

const PROVIDER_TYPE = "pulumi:providers:";

type Make = (name: string, inputs: pulumi.Inputs, opts: pulumi.CustomResourceOptions) => pulumi.CustomResource;

/**
 * The SDK classes of the types the program declares: each declares its output properties as
 * well, which the engine resolves (a VmLegacy has about a hundred), so the floor pays what
 * the program pays for the same resources. A recorded type missing here is an error
 * (`floorGaps`), never declared by a cheaper stand-in.
 */
const SDK: Readonly<Record<string, Make>> = {
  "command:local:Command": (n, i, o) => new command.local.Command(n, i, o),
  "command:remote:Command": (n, i, o) => new command.remote.Command(n, i as unknown as command.remote.CommandArgs, o),
  "command:remote:CopyToRemote": (n, i, o) => new command.remote.CopyToRemote(n, i as unknown as command.remote.CopyToRemoteArgs, o),
  "proxmoxve:index/vmLegacy:VmLegacy": (n, i, o) => new px.VmLegacy(n, i as unknown as px.VmLegacyArgs, o),
  "proxmoxve:download/file:File": (n, i, o) => new px.download.File(n, i as unknown as px.download.FileArgs, o),
  "proxmoxve:hardware/mapping/pci:Pci": (n, i, o) => new px.hardware.mapping.Pci(n, i as unknown as px.hardware.mapping.PciArgs, o),
  "proxmoxve:index/hagroup:Hagroup": (n, i, o) => new px.Hagroup(n, i as unknown as px.HagroupArgs, o),
  "proxmoxve:index/haresource:Haresource": (n, i, o) => new px.Haresource(n, i as unknown as px.HaresourceArgs, o),
  "proxmoxve:index/harule:Harule": (n, i, o) => new px.Harule(n, i as unknown as px.HaruleArgs, o),
  "proxmoxve:index/replication:Replication": (n, i, o) => new px.Replication(n, i as unknown as px.ReplicationArgs, o),
  "proxmoxve:backup/job:Job": (n, i, o) => new px.backup.Job(n, i as unknown as px.backup.JobArgs, o),
  "proxmoxve:index/fileLegacy:FileLegacy": (n, i, o) => new px.FileLegacy(n, i as unknown as px.FileLegacyArgs, o),
  "proxmoxve:cluster/firewallLegacy:FirewallLegacy": (n, i, o) => new px.cluster.FirewallLegacy(n, i, o),
  "proxmoxve:firewall/optionsLegacy:OptionsLegacy": (n, i, o) =>
    new px.firewall.OptionsLegacy(n, i as unknown as px.firewall.OptionsLegacyArgs, o),
  "proxmoxve:firewall/ipsetLegacy:IpsetLegacy": (n, i, o) => new px.firewall.IpsetLegacy(n, i, o),
  // The Talos provider's resources, through the project's typed binding (its npm SDK is not served here).
  "talos:machine/secrets:Secrets": (n, i, o) => new talos.Secrets(n, i, o),
  "talos:machine/configurationApply:ConfigurationApply": (n, i, o) =>
    new talos.ConfigurationApply(n, i as unknown as talos.ConfigurationApplyArgs, o),
  "talos:machine/bootstrap:Bootstrap": (n, i, o) =>
    new talos.Bootstrap(n, i as unknown as ConstructorParameters<typeof talos.Bootstrap>[1], o),
  "talos:cluster/kubeconfig:Kubeconfig": (n, i, o) => new talos.Kubeconfig(n, i as unknown as talos.KubeconfigArgs, o),
};

/** The SDK providers of the packages the program configures explicitly. */
const SDK_PROVIDERS: Readonly<
  Record<string, (name: string, inputs: pulumi.Inputs, opts: pulumi.ResourceOptions) => pulumi.ProviderResource>
> = {
  // The SDK sends `ssh` as JSON text, which is what the plan recorded: hand it the object again.
  talos: (n, i, o) => new talos.Provider(n, i, o),
  proxmoxve: (n, i, o) => new px.Provider(n, typeof i.ssh === "string" ? { ...i, ssh: JSON.parse(i.ssh) as px.ProviderArgs["ssh"] } : i, o),
};

/** A component of the floor: the recorded type and name, no children of its own. */
class FloorComponent extends pulumi.ComponentResource {
  constructor(type: string, name: string, opts: pulumi.ComponentResourceOptions) {
    super(type, name, {}, opts);
    this.registerOutputs({});
  }
}

/** Recorded inputs made declarable again: string assets as StringAssets, secret paths as secrets. */
function revive(value: unknown, path: string, secrets: ReadonlySet<string>): unknown {
  const wrap = (v: unknown) => (secrets.has(path || "(root)") ? pulumi.secret(v) : v);
  if (Array.isArray(value)) return wrap(value.map((v, i) => revive(v, `${path}[${i}]`, secrets)));
  if (value === null || typeof value !== "object") return wrap(value);
  const o = value as Record<string, unknown>;
  if (o[SIG] === ASSET_SIG && typeof o.text === "string") return wrap(new pulumi.asset.StringAsset(o.text));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = revive(v, path ? `${path}.${k}` : k, secrets);
  return wrap(out);
}

/** Declare one stack's recorded resources, in the order they were registered (parents first). */
function declare(stack: StackPlan): Record<string, unknown> {
  const made = new Map<string, pulumi.Resource>();
  const providers = new Map<string, pulumi.ProviderResource>();
  const list = (names: readonly string[] | undefined) => (names ?? []).flatMap((n) => made.get(n) ?? []);
  for (const r of stack.resources) {
    if (r.type === "pulumi:pulumi:Stack") continue;
    const parent = r.parent !== undefined ? made.get(r.parent) : undefined;
    const provider = r.provider !== undefined ? providers.get(r.provider) : undefined;
    const opts: pulumi.CustomResourceOptions = {
      ...(parent ? { parent } : {}),
      dependsOn: list(r.dependsOn),
      ...(provider ? { provider } : {}),
      ...(r.ignoreChanges ? { ignoreChanges: [...r.ignoreChanges] } : {}),
    };
    if (r.type.startsWith(PROVIDER_TYPE)) {
      const inputs = revive(stack.rawInputs.get(r.name) ?? {}, "", new Set(r.secretInputs)) as pulumi.Inputs;
      const p = SDK_PROVIDERS[r.type.slice(PROVIDER_TYPE.length)]!(r.name, inputs, opts);
      providers.set(r.name, p);
      made.set(r.name, p);
    } else made.set(r.name, resource(r, stack, opts));
  }
  return stack.outputs;
}

function resource(r: RecordedResource, stack: StackPlan, opts: pulumi.CustomResourceOptions): pulumi.Resource {
  if (r.type === "pulumi:pulumi:StackReference") return new pulumi.StackReference(r.name, undefined, opts);
  if (!r.custom) return new FloorComponent(r.type, r.name, opts);
  const inputs = revive(stack.rawInputs.get(r.name) ?? {}, "", new Set(r.secretInputs)) as pulumi.Inputs;
  return SDK[r.type]!(r.name, inputs, opts);
}

/** The recorded custom types and providers the floor has no SDK class for, each with a resource of it. */
export function floorGaps(plan: PlanResult): string[] {
  const gaps = new Map<string, string>();
  for (const s of plan.stacks) {
    for (const r of s.resources) {
      if (!r.custom || r.type === "pulumi:pulumi:StackReference") continue;
      const known = r.type.startsWith(PROVIDER_TYPE) ? r.type.slice(PROVIDER_TYPE.length) in SDK_PROVIDERS : r.type in SDK;
      if (!known && !gaps.has(r.type)) gaps.set(r.type, `${s.stack}/${r.name}`);
    }
  }
  return [...gaps].map(([t, at]) => `${t} (${at})`);
}

/** How many resources of each type: what a plan or a floor recorded. */
export function typeCounts(stacks: readonly { readonly resources: readonly RecordedResource[] }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of stacks) for (const r of s.resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
  return counts;
}

/**
 * Where the floor's recorded types differ from the plan's: a type with another count, or
 * missing on either side. Empty when the floor declared exactly what the plan did.
 */
export function typeDifferences(plan: PlanResult, floor: FloorResult): string[] {
  const [p, f] = [typeCounts(plan.stacks), typeCounts(floor)];
  return [...new Set([...p.keys(), ...f.keys()])]
    .sort()
    .filter((t) => p.get(t) !== f.get(t))
    .map((t) => `${t}: plan ${p.get(t) ?? 0}, floor ${f.get(t) ?? 0}`);
}

/** What the floor declared: each stack's resources, as the recorder saw them. */
export type FloorResult = { readonly stack: string; readonly resources: readonly RecordedResource[] }[];

/**
 * Run the floor of a recorded plan: every stack, segments first, then the DMZ, each with the
 * plan's outputs of every stack as its references (the DMZ reads the segments; a segment whose
 * VMs pass a device through reads the owner of the lab-wide Proxmox objects).
 */
export async function runFloor(plan: PlanResult, stackPrefix: string): Promise<FloorResult> {
  const gaps = floorGaps(plan);
  if (gaps.length > 0) {
    throw new Error(
      `the floor has no SDK class for ${gaps.length} recorded type${gaps.length === 1 ? "" : "s"}: ${gaps.join(", ")}; add each to SDK or SDK_PROVIDERS in bench/plan-floor.ts`,
    );
  }
  const out: { stack: string; resources: RecordedResource[] }[] = [];
  const references: StackOutputsByName = prefixed(Object.fromEntries(plan.stacks.map((s) => [s.stack, s.outputs])), stackPrefix);
  const ordered = [...plan.stacks.filter((s) => s.stack !== DMZ_STACK), ...plan.stacks.filter((s) => s.stack === DMZ_STACK)];
  for (const stack of ordered) {
    const run = await runUnderMocks({ stack: stack.stack, program: () => declare(stack), references });
    out.push({ stack: stack.stack, resources: run.recorder.withParents() });
  }
  return out;
}

function prefixed(outputs: Record<string, Record<string, unknown>>, prefix: string): StackOutputsByName {
  return Object.fromEntries(Object.entries(outputs).map(([s, o]) => [`${prefix}/${s}`, o]));
}
