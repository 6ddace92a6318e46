// Proves, under the strict mock recorder, how the stacks of the reference lab carry the Proxmox objects besides VMs: the PCI mappings
// are declared by the owner (internal) alone, through its explicit provider, and its Proxmox contract output names them; every HA VM's
// HA resource, rule and replication are its own stack's, after its VM, the replication ignoring the target a failover swaps; pinned VMs
// have none; a stack whose VMs pass a device through is refused, before it declares anything, when the owner is not deployed or lacks
// the mapping, with what to do; a preview declares the same objects with the contract unknown. Does not prove a live Proxmox.
import type { MockRun, RecordedResource } from "../../cli/mock-runtime";
import { planLabObjects, proxmoxContract } from "../../model/compute/lab-objects";
import { planLab } from "../../model/plan";
import { OUTPUTS } from "../../stacks/contracts";
import { copyLab, referenceLab } from "../support/lab";
import { ownerReferences, runStack, segmentReferences } from "../support/mocks";

const STACKS = ["internal", "cluster", "lab", "sandbox"] as const;
const runs = new Map<string, MockRun>();

beforeAll(async () => {
  for (const s of STACKS) runs.set(s, await runStack(s));
  runs.set("dmz", await runStack("dmz", { references: segmentReferences() }));
}, 60_000);

const resources = (stack: string): RecordedResource[] => runs.get(stack)!.recorder.withParents();
const ofType = (stack: string, type: string) => resources(stack).filter((r) => r.type === `proxmoxve:${type}`);
const byName = (stack: string, name: string) => {
  const r = resources(stack).find((x) => x.name === name);
  if (!r) throw new Error(`${stack} has no resource ${name}`);
  return r;
};

test("only the owner declares PCI mappings, through its explicit provider, and exports the contract that names them", () => {
  expect(ofType("internal", "hardware/mapping/pci:Pci").map((r) => `${r.name} <- ${r.parent!} via ${r.provider!}`)).toEqual([
    "proxmox-lab-pci-pve1-gpu0 <- proxmox-lab via proxmox",
    "proxmox-lab-pci-pve1-nic0 <- proxmox-lab via proxmox",
    "proxmox-lab-pci-pve2-nic0 <- proxmox-lab via proxmox",
    "proxmox-lab-pci-pve3-nic0 <- proxmox-lab via proxmox",
  ]);
  for (const s of ["cluster", "lab", "sandbox", "dmz"]) {
    expect(ofType(s, "hardware/mapping/pci:Pci")).toEqual([]);
    expect(runs.get(s)!.resolved[OUTPUTS.proxmox]).toBeUndefined();
  }
  const lab = referenceLab();
  expect(runs.get("internal")!.resolved[OUTPUTS.proxmox]).toEqual(proxmoxContract(planLabObjects(lab, planLab(lab).placement)));
});

test("the VMs name exactly the mappings the owner declares", () => {
  const declared = new Set(ofType("internal", "hardware/mapping/pci:Pci").map((r) => r.inputs.name));
  const named = [...runs.keys()].flatMap((s) =>
    ofType(s, "index/vmLegacy:VmLegacy").flatMap((r) =>
      ((r.inputs.hostpcis as { mapping: string }[] | undefined) ?? []).map((h) => h.mapping),
    ),
  );
  expect(named.sort()).toEqual(["pve1-gpu0", "pve1-nic0", "pve2-nic0", "pve3-nic0"]);
  for (const m of named) expect(declared).toContain(m);
});

test("every HA VM has its HA resource, strict rule and replication in its own stack, after its VM; pinned VMs none", () => {
  const lab = referenceLab();
  const { placement } = planLab(lab);
  for (const h of placement.ha) {
    const stack = h.segment;
    const vm = `${h.host}-vm-qemu`;
    expect(byName(stack, vm).type).toBe("proxmoxve:index/vmLegacy:VmLegacy");
    expect(byName(stack, `${h.host}-ha-resource`)).toMatchObject({
      parent: `${h.host}-ha`,
      provider: "proxmox",
      dependsOn: [vm],
      inputs: { resourceId: `vm:${h.vmId}`, state: "started" },
    });
    expect(byName(stack, `${h.host}-ha-rule`)).toMatchObject({
      dependsOn: [`${h.host}-ha-resource`],
      inputs: { type: "node-affinity", resources: [`vm:${h.vmId}`], nodes: { [h.node]: 2, [h.to!]: 1 }, strict: true },
    });
    expect(byName(stack, `${h.host}-ha-replication-${h.to!}`)).toMatchObject({
      dependsOn: [vm],
      ignoreChanges: ["target"],
      inputs: { target: h.to, type: "local", schedule: "*/15" },
    });
  }
  const all = [...runs.keys()].flatMap((s) => ofType(s, "index/haresource:Haresource").map((r) => r.inputs.resourceId));
  expect(all.sort()).toEqual(placement.ha.map((h) => `vm:${h.vmId}`).sort());
  for (const pinned of ["vm:2021", "vm:2022", "vm:2023", "vm:3020"]) expect(all).not.toContain(pinned);
});

test("an owner's own passthrough VM waits for the mapping it names (lab owning the objects: the VDI and its GPU)", async () => {
  const dir = copyLab((f) => (f["homelab.yaml"].hardware.proxmox.owner = "lab"));
  const run = await runStack("lab", { dir, references: {} });
  const rs = run.recorder.withParents();
  const named = (n: string) => rs.find((r) => r.name === n)!;
  expect(named("vdi-vm-qemu").dependsOn).toEqual(["proxmox-lab-pci-pve1-gpu0"]);
  expect(named("vdi-vm-qemu").inputs.hostpcis).toEqual([expect.objectContaining({ mapping: "pve1-gpu0" })]);
  expect(named("proxmox-lab-pci-pve1-gpu0").provider).toBe(named("vdi-vm-qemu").provider);
  // the one provider of the stack, made once
  expect(rs.filter((r) => r.type === "pulumi:providers:proxmoxve")).toHaveLength(1);
  expect(run.resolved[OUTPUTS.proxmox]).toMatchObject({ owner: "lab" });
});

describe("a stack whose VMs pass a device through reads the owner's mappings first", () => {
  test("the owner not deployed: refused with the command to run, nothing declared", async () => {
    await expect(runStack("lab", { references: { "organization/homelab/internal": {} } })).rejects.toThrow(
      'lab cannot use the lab-wide Proxmox objects: 1 problem\n  - stack organization/homelab/internal has no "proxmox" output: the lab-wide Proxmox objects (PCI mappings, HA groups) are not deployed by internal (hardware.proxmox.owner). Fix: run `pulumi up -s internal` from this commit first, then `pulumi up -s lab`',
    );
  });

  test("a mapping the owner lacks is named with the VM that needs it", async () => {
    const refs = ownerReferences();
    const owner = refs["organization/homelab/internal"]![OUTPUTS.proxmox] as { mappings: { name: string }[] };
    owner.mappings = owner.mappings.filter((m) => m.name !== "pve2-nic0" && m.name !== "pve3-nic0");
    await expect(runStack("cluster", { references: refs })).rejects.toThrow(
      "cluster cannot use the lab-wide Proxmox objects: 2 problems\n  - stack organization/homelab/internal declares no PCI mapping pve2-nic0, which cluster/worker-2 passes through pve2's nic0. Fix: run `pulumi up -s internal` from this commit first, then `pulumi up -s cluster`\n  - stack organization/homelab/internal declares no PCI mapping pve3-nic0, which cluster/worker-3 passes through pve3's nic0. Fix: run `pulumi up -s internal` from this commit first, then `pulumi up -s cluster`",
    );
  });

  test("a stack without passthrough (sandbox) needs no owner on Proxmox VE 9", async () => {
    const run = await runStack("sandbox", { references: {} });
    expect(run.recorder.withParents().filter((r) => r.type === "pulumi:pulumi:StackReference")).toEqual([]);
  });
});

test("preview: the owner declares the same mappings and HA objects, its contract unknown until they exist", async () => {
  const preview = await runStack("internal", { preview: true });
  const shape = (rs: readonly RecordedResource[]) =>
    rs
      .filter((r) => r.type.startsWith("proxmoxve:") && !r.type.includes("vmLegacy"))
      .map((r) => ({ name: r.name, type: r.type, inputs: r.inputs }));
  expect(shape(preview.recorder.withParents())).toEqual(shape(resources("internal")));
  expect(preview.resolved[OUTPUTS.proxmox]).toBeUndefined();
  const cluster = await runStack("cluster", { preview: true });
  expect(cluster.recorder.withParents().filter((r) => r.type === "proxmoxve:index/replication:Replication")).toHaveLength(1);
});
