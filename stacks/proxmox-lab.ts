/**
 * The lab-wide Proxmox objects as the stacks see them: the owner (hardware.proxmox.owner)
 * declares them and exports the Proxmox contract; every other stack whose VMs name a PCI
 * mapping or join an HA group reads that contract through a StackReference first, and
 * refuses to run (one error, every problem, each with what to do) when the owner is not
 * deployed or lacks what it names. Each HA VM's HA resource, rule and replication are its
 * own stack's (components/proxmox-ha.ts).
 */
import type * as px from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import { ProxmoxHa } from "../components/proxmox-ha";
import { ProxmoxLabObjects } from "../components/proxmox-lab";
import { planHaVms, planLabObjects } from "../model/compute/lab-objects";
import { PROXMOX_CONTRACT_VERSION, ProxmoxContractSchema, type ProxmoxContract } from "../model/contracts";
import type { Lab } from "../model/lab";
import { fullStackName } from "../model/network/dmz";
import type { PlannedLab } from "../model/plan";
import { type ContractSpec, OUTPUTS, readReference } from "./contracts";

/** One lab-wide object a stack's VMs name, and which VM names it. */
export interface LabObjectNeed {
  readonly kind: "PCI mapping" | "HA group";
  readonly name: string;
  /** `lab/vdi passes through pve1's gpu0`. */
  readonly why: string;
}

/** The lab-wide objects the VMs of `stack` name (none for the owner, which declares them). */
export function labObjectNeeds(lab: Lab, planned: PlannedLab, stack: string): LabObjectNeed[] {
  if (stack === lab.hardware.proxmox.owner) return [];
  const needs: LabObjectNeed[] = [];
  // What each VM's hostpci names (model/compute/machine.ts), exactly.
  for (const m of planned.machines.filter((x) => x.stack === stack)) {
    for (const p of m.pci)
      needs.push({ kind: "PCI mapping", name: p.mapping, why: `${m.stack}/${m.host} passes through ${m.node}'s ${p.id}` });
  }
  for (const h of planHaVms(lab, planned.placement, stack))
    if (h.affinity.kind === "group")
      needs.push({ kind: "HA group", name: h.affinity.group, why: `${h.segment}/${h.host} runs on ${h.node} and fails over to ${h.to}` });
  return needs;
}

/** How a stack reads the owner's Proxmox contract. */
export function proxmoxContractSpec(lab: Lab, stack: string): ContractSpec {
  const { owner } = lab.hardware.proxmox;
  return {
    output: OUTPUTS.proxmox,
    version: PROXMOX_CONTRACT_VERSION,
    schema: ProxmoxContractSchema,
    missing: `the lab-wide Proxmox objects (PCI mappings, HA groups) are not deployed by ${owner} (hardware.proxmox.owner)`,
    fix: `run \`pulumi up -s ${owner}\` from this commit first, then \`pulumi up -s ${stack}\``,
    secrets: {},
  };
}

/** What the contract lacks of `needs`, each naming the object, the VM that needs it and the fix. */
export function missingObjects(contract: ProxmoxContract, needs: readonly LabObjectNeed[], ownerStack: string, fix: string): string[] {
  const have = new Set([...contract.mappings.map((m) => `PCI mapping ${m.name}`), ...contract.haGroups.map((g) => `HA group ${g.name}`)]);
  return needs
    .filter((n) => !have.has(`${n.kind} ${n.name}`))
    .map((n) => `stack ${ownerStack} declares no ${n.kind} ${n.name}, which ${n.why}. Fix: ${fix}`);
}

/**
 * Read and check the owner's contract when the stack's VMs name anything lab-wide: one
 * RunError with every problem, before any resource is declared. Undefined when they name
 * nothing (or the stack is the owner).
 */
export async function readLabObjects(lab: Lab, planned: PlannedLab, stack: string): Promise<ProxmoxContract | undefined> {
  const needs = labObjectNeeds(lab, planned, stack);
  if (needs.length === 0) return undefined;
  const ownerStack = fullStackName(lab, lab.hardware.proxmox.owner);
  const spec = proxmoxContractSpec(lab, stack);
  const read = await readReference<ProxmoxContract>(new pulumi.StackReference(ownerStack), ownerStack, spec);
  const problems = read.ok ? missingObjects(read.value.value, needs, ownerStack, spec.fix) : [...read.problems];
  if (problems.length > 0) {
    throw new pulumi.RunError(
      `${stack} cannot use the lab-wide Proxmox objects: ${problems.length} problem${problems.length === 1 ? "" : "s"}\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
  return read.ok ? read.value.value : undefined;
}

/** The owner's lab-wide objects, when `stack` is the owner; the contract output goes with them. */
export function declareLabObjects(lab: Lab, planned: PlannedLab, stack: string, provider: px.Provider): ProxmoxLabObjects | undefined {
  if (stack !== lab.hardware.proxmox.owner) return undefined;
  return new ProxmoxLabObjects("proxmox-lab", { plan: planLabObjects(lab, planned.placement) }, { providers: [provider] });
}

/** Each HA VM of `stack`: its HA resource, node binding and replication, after its VM when the stack declares it. */
export function declareHa(
  lab: Lab,
  planned: PlannedLab,
  stack: string,
  provider: px.Provider,
  vms: Readonly<Record<string, pulumi.Resource>> = {},
): ProxmoxHa[] {
  return planHaVms(lab, planned.placement, stack).map((h) => {
    const vm = vms[h.host];
    return new ProxmoxHa(`${h.host}-ha`, { plan: h, ...(vm ? { vm } : {}) }, { providers: [provider] });
  });
}
