/**
 * A stack's Proxmox VMs: the provider built from the stack's config, the image files its VMs
 * are installed from, and one ProxmoxVm per VM the model gives the stack. Used by the segment
 * stacks (stacks/parts/compute.ts) and the DMZ stack (the infra host's VM).
 */
import * as px from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import { imageKey, ProxmoxImages } from "../components/proxmox-images";
import { ProxmoxUserData } from "../components/proxmox-user-data";
import { ProxmoxVm } from "../components/proxmox-vm";
import { planImageFiles, type Machine } from "../model/compute/machine";
import { CONFIG_KEYS, type Lab } from "../model/lab";
import type { PlannedLab } from "../model/plan";
import { ConfigError } from "../model/problems";
import { renderUserData } from "../render/cloud-init";
import { proxmoxTokenProblem, readSecret } from "./secrets";

/** What a stack declared on the cluster. */
export interface StackMachines {
  readonly provider: px.Provider;
  /** Each VM by its host id in the stack. */
  readonly vms: Readonly<Record<string, ProxmoxVm>>;
  /** The image files, when any VM is installed from one. */
  readonly images?: ProxmoxImages;
}

/**
 * The stack's explicit Proxmox provider: the lab's endpoint, the stack's API token (a config
 * secret, so it stays secret in the provider's inputs and state), and SSH as the lab's
 * sshUser with the deployer's agent only when the lab names one. A missing token or endpoint
 * is the user's mistake, with the command that fixes it.
 */
export function proxmoxProvider(lab: Lab, stack: string, vms: number): px.Provider {
  const { endpoint, sshUser } = lab.hardware.proxmox;
  const token = readSecret(CONFIG_KEYS.proxmoxApiToken);
  // Validation (rule proxmox.endpoint) and loadContext (missingSecrets) refused both already.
  if (endpoint === undefined) throw new Error("bug: a lab with VMs and no hardware.proxmox.endpoint passed validation");
  if (token === undefined) throw new ConfigError([proxmoxTokenProblem(stack, vms)], "cannot run this stack");
  return new px.Provider("proxmox", {
    endpoint,
    apiToken: token,
    ...(sshUser !== undefined ? { ssh: { agent: true, username: sshUser } } : {}),
  });
}

/** What a stack already declared on the cluster before its VMs: the owner's provider and PCI mappings. */
export interface BeforeMachines {
  /** The stack's provider, when an earlier part made it. @default a new one (proxmoxProvider) */
  readonly provider?: px.Provider;
  /** PCI mappings the stack declares itself, by name: a VM that names one waits for it. @default none */
  readonly mappings?: Readonly<Record<string, pulumi.Resource>>;
}

/**
 * Declare the stack's VMs (none when the model gives it none). A VM waits for the image file it
 * is installed from through the file's volume id, which is one of its inputs, and for each PCI
 * mapping it names that this stack declares (the owner's own passthrough VMs).
 */
export function declareMachines(lab: Lab, planned: PlannedLab, stack: string, before: BeforeMachines = {}): StackMachines | undefined {
  const machines = planned.machines.filter((m) => m.stack === stack);
  if (machines.length === 0) return undefined;
  const provider = before.provider ?? proxmoxProvider(lab, stack, machines.length);
  const files = planImageFiles(lab, machines, stack, planned.placement.ha);
  const images = files.length > 0 ? new ProxmoxImages("images", { files }, { providers: [provider] }) : undefined;
  const vms: Record<string, ProxmoxVm> = {};
  const userData = new Map(planned.userData.filter((u) => u.stack === stack).map((u) => [u.host, u]));
  for (const m of machines) {
    const mappings = m.pci.flatMap((p) => (before.mappings?.[p.mapping] ? [before.mappings[p.mapping]!] : []));
    const ud = userData.get(m.host);
    const snippet = ud
      ? new ProxmoxUserData(`${m.host}-user-data`, { plan: ud, content: renderUserData(ud), node: m.node }, { providers: [provider] })
      : undefined;
    // The VM waits for every copy of its snippet: its failover node's too, which it may start on.
    const dependsOn = [...mappings, ...(snippet ? snippet.files : [])];
    vms[m.host] = new ProxmoxVm(
      `${m.host}-vm`,
      { machine: m, images: imagesOf(m, images), ...(snippet ? { userDataFileId: snippet.fileId } : {}) },
      { providers: [provider], ...(dependsOn.length > 0 ? { dependsOn } : {}) },
    );
  }
  return { provider, vms, ...(images ? { images } : {}) };
}

/** The volume id of the image `m` uses, on its node (planImageFiles downloads every one). */
function imagesOf(m: Machine, images: ProxmoxImages | undefined): Record<string, pulumi.Input<string>> {
  if (m.image === undefined) return {};
  const volume = images?.volumes[imageKey(m.image, m.node)];
  if (volume === undefined) throw new Error(`bug: no file of image ${m.image} on ${m.node} for VM ${m.name}`);
  return { [m.image]: volume };
}

/** The stack output of its VMs: each host's VM id and node, as Proxmox reports them. */
export function machinesOutput(declared: StackMachines): Record<string, pulumi.Output<{ vmId: number; node: string }>> {
  return Object.fromEntries(
    Object.entries(declared.vms).map(([host, vm]) => [host, pulumi.all([vm.vmId, vm.node]).apply(([vmId, node]) => ({ vmId, node }))]),
  );
}
