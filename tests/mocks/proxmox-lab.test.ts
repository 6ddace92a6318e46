// Proves, under the strict mock recorder: the lab-wide Proxmox objects (a PCI mapping per inventory device with node, vendor:device,
// path, IOMMU group and subsystem id; HA groups on Proxmox VE 8 only) are declared by the owner alone and exported as a contract only
// once they exist (unknown in a preview, which declares the same); every HA VM gets an HA resource by the model's VM id, a strict node-affinity rule on 9 or its
// group on 8, and a replication to its failover node on its schedule, all after the VM; pinned VMs get none; a stack reading the
// owner's contract is refused with what to do when the owner is not deployed, exports no contract, another version, or lacks a
// mapping or group its VMs name. Does not prove the stacks' wiring (segment-stack, program) or a live Proxmox.
import * as px from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import { runUnderMocks, type MockRun } from "../../cli/mock-runtime";
import { planHaVms, planLabObjects, proxmoxContract } from "../../model/compute/lab-objects";
import { planPlacement } from "../../model/compute/placement";
import type { Lab } from "../../model/lab";
import { readReference } from "../../stacks/contracts";
import { declareHa, declareLabObjects, labObjectNeeds, missingObjects, proxmoxContractSpec } from "../../stacks/proxmox-lab";
import type { ProxmoxContract } from "../../model/contracts";
import { planLab } from "../../model/plan";
import { parseFiles, referenceFiles, referenceLab } from "../support/lab";

/** The reference lab on Proxmox VE 8. */
function pve8(): Lab {
  const files = referenceFiles();
  files["homelab.yaml"].hardware.proxmox.version = 8;
  return parseFiles(files).lab!;
}

/** Declare `stack`'s lab-wide objects and HA under mocks, with an explicit provider. */
function run(lab: Lab, stack: string, preview = false): Promise<MockRun> {
  return runUnderMocks({
    stack,
    preview,
    program: () => {
      const provider = new px.Provider("proxmox", { endpoint: "https://10.10.0.21:8006", apiToken: pulumi.secret("root@pam!t=00") });
      const planned = planLab(lab);
      const vm = new pulumi.ComponentResource("homelab:test:Vm", "data-vm", {});
      const objects = declareLabObjects(lab, planned, stack, provider);
      declareHa(lab, planned, stack, provider, { data: vm });
      return objects ? { proxmox: objects.contract } : {};
    },
  });
}

const ofType = (r: MockRun, type: string) => r.recorder.withParents().filter((x) => x.type === `proxmoxve:${type}`);

describe("the owner's lab-wide objects", () => {
  test("a PCI mapping for every device of the inventory, with everything a complete mapping needs", async () => {
    const r = await run(referenceLab(), "internal");
    const pci = ofType(r, "hardware/mapping/pci:Pci");
    expect(pci.map((p) => `${p.name} <- ${p.parent}`)).toEqual([
      "proxmox-lab-pci-pve1-gpu0 <- proxmox-lab",
      "proxmox-lab-pci-pve1-nic0 <- proxmox-lab",
      "proxmox-lab-pci-pve2-nic0 <- proxmox-lab",
      "proxmox-lab-pci-pve3-nic0 <- proxmox-lab",
    ]);
    expect(pci[0]!.inputs).toEqual({
      name: "pve1-gpu0",
      comment: "NVIDIA RTX 3060 12 GB",
      maps: [{ node: "pve1", id: "10de:2504", path: "0000:01:00.0", iommuGroup: 14, subsystemId: "1458:4074" }],
    });
    expect(pci[2]!.inputs.maps).toEqual([
      { node: "pve2", id: "8086:125c", path: "0000:58:00.0", iommuGroup: 16, subsystemId: "8086:0000" },
    ]);
    // Proxmox VE 9: no HA groups; the contract names every mapping
    expect(ofType(r, "index/hagroup:Hagroup")).toEqual([]);
    expect(r.resolved.proxmox).toEqual(proxmoxContract(planLabObjects(referenceLab(), planPlacement(referenceLab()))));
    expect((r.resolved.proxmox as ProxmoxContract).mappings.map((m) => m.name)).toEqual([
      "pve1-gpu0",
      "pve1-nic0",
      "pve2-nic0",
      "pve3-nic0",
    ]);
  });

  test("only the owner declares them: no other stack has a mapping or a group", async () => {
    for (const stack of ["cluster", "lab", "sandbox", "dmz"]) {
      const r = await run(pve8(), stack);
      expect(ofType(r, "hardware/mapping/pci:Pci")).toEqual([]);
      expect(ofType(r, "index/hagroup:Hagroup")).toEqual([]);
      expect(r.resolved.proxmox).toBeUndefined();
    }
  });

  test("Proxmox VE 8: one restricted HA group per home and failover node, home first", async () => {
    const r = await run(pve8(), "internal");
    const groups = ofType(r, "index/hagroup:Hagroup");
    const pairs = new Set(planPlacement(pve8()).ha.map((h) => `ha-${h.node}-${h.to!}`));
    expect(groups.map((g) => g.inputs.group)).toEqual([...pairs].sort());
    expect(groups.find((g) => g.inputs.group === "ha-pve5-pve4")!.inputs).toEqual({
      group: "ha-pve5-pve4",
      nodes: { pve5: 2, pve4: 1 },
      restricted: true,
      noFailback: false,
      comment: "HA VMs at home on pve5 that fail over to pve4",
    });
    expect((r.resolved.proxmox as ProxmoxContract).haGroups.map((g) => g.name)).toEqual([...pairs].sort());
  });

  test("preview: every object is declared with the same inputs, and the contract is unknown until they exist", async () => {
    const [up, preview] = [await run(referenceLab(), "internal"), await run(referenceLab(), "internal", true)];
    const inputs = (r: MockRun) => r.recorder.withParents().map((x) => ({ name: x.name, type: x.type, inputs: x.inputs }));
    expect(inputs(preview)).toEqual(inputs(up));
    expect(up.resolved.proxmox).toBeDefined();
    expect(preview.resolved.proxmox).toBeUndefined();
    expect(ofType(preview, "hardware/mapping/pci:Pci")).toHaveLength(4);
    expect(ofType(preview, "index/replication:Replication").length).toBeGreaterThan(0);
  });
});

describe("each HA VM's HA resource, rule and replication", () => {
  test("internal/data: an HA resource by the model's VM id, a strict node-affinity rule, a replication to its failover node, after the VM", async () => {
    const r = await run(referenceLab(), "internal");
    const byName = new Map(r.recorder.withParents().map((x) => [x.name, x]));
    expect(byName.get("data-ha-resource")).toMatchObject({
      parent: "data-ha",
      dependsOn: ["data-vm"],
      inputs: { resourceId: "vm:1010", state: "started", comment: "internal-data: home pve4, fails over to pve1" },
    });
    expect(byName.get("data-ha-resource")!.inputs.group).toBeUndefined();
    expect(byName.get("data-ha-rule")).toMatchObject({
      parent: "data-ha",
      dependsOn: ["data-ha-resource"],
      inputs: { rule: "vm-1010", type: "node-affinity", resources: ["vm:1010"], nodes: { pve4: 2, pve1: 1 }, strict: true },
    });
    expect(byName.get("data-ha-replication-pve1")).toMatchObject({
      parent: "data-ha",
      dependsOn: ["data-vm"],
      inputs: { resourceId: "1010-0", target: "pve1", type: "local", schedule: "*/15" },
    });
  });

  test("every HA VM of a stack, and no pinned one", async () => {
    // cluster's Talos nodes are all pinned (ha: false): only its jump host is HA.
    const r = await run(referenceLab(), "cluster");
    expect(ofType(r, "index/haresource:Haresource").map((x) => x.inputs.resourceId)).toEqual(["vm:2002"]);
    expect(ofType(r, "index/replication:Replication").map((x) => `${x.name} ${String(x.inputs.resourceId)}`)).toEqual([
      "jump-ha-replication-pve4 2002-3",
    ]);
    const dmz = await run(referenceLab(), "dmz");
    expect(ofType(dmz, "index/harule:Harule").map((x) => x.inputs)).toEqual([
      expect.objectContaining({ rule: "vm-100", resources: ["vm:100"], nodes: { pve5: 2, pve4: 1 }, strict: true }),
    ]);
    const lab = await run(referenceLab(), "lab");
    expect(ofType(lab, "index/haresource:Haresource").map((x) => x.inputs.resourceId)).not.toContain("vm:3020");
  });

  test("Proxmox VE 8: the HA resource joins its group, and there is no rule", async () => {
    const r = await run(pve8(), "internal");
    expect(ofType(r, "index/harule:Harule")).toEqual([]);
    const data = ofType(r, "index/haresource:Haresource").find((x) => x.inputs.resourceId === "vm:1010")!;
    expect(data.inputs.group).toBe("ha-pve4-pve1");
  });

  test("a VM's own interval is its replication's schedule; shared storage needs no replication", () => {
    const files = referenceFiles();
    files["Pulumi.internal.yaml"].config["homelab:segment"].hosts.monitor.vm.replicationMinutes = 120;
    files["homelab.yaml"].hardware.proxmox.datastores.ceph = { type: "rbd" };
    for (const n of Object.values<any>(files["homelab.yaml"].hardware.proxmox.nodes)) n.storage.ceph = 500;
    files["Pulumi.internal.yaml"].config["homelab:segment"].hosts.jump.vm.disks.root.datastore = "ceph";
    const lab = parseFiles(files).lab!;
    const ha = planHaVms(lab, planPlacement(lab), "internal");
    expect(ha.find((h) => h.host === "monitor")!.replication).toEqual({ id: "1030-3", target: "pve4", schedule: "0/2:00", minutes: 120 });
    expect(ha.find((h) => h.host === "jump")!.replication).toBeUndefined();
  });
});

describe("reading the owner's contract", () => {
  const lab = referenceLab();
  const planned = planLab(lab);
  const contract = proxmoxContract(planLabObjects(lab, planned.placement));

  /** A StackReference that answers `outputs` for the owner, or throws like a stack that does not exist. */
  const ref = (outputs: Record<string, unknown> | "missing") => ({
    getOutputDetails: (name: string) =>
      outputs === "missing" ? Promise.reject(new Error("stack not found")) : Promise.resolve({ value: outputs[name] }),
    requireOutput: () => {
      throw new Error("no secret fields");
    },
  });
  const read = (r: ReturnType<typeof ref>, stack = "lab") =>
    readReference<ProxmoxContract>(r, "organization/homelab/internal", proxmoxContractSpec(lab, stack));

  test("the stacks whose VMs name lab-wide objects, and what they name", () => {
    expect(labObjectNeeds(lab, planned, "lab")).toEqual([
      { kind: "PCI mapping", name: "pve1-gpu0", why: "lab/vdi passes through pve1's gpu0" },
    ]);
    expect(labObjectNeeds(lab, planned, "cluster").map((n) => n.name)).toEqual(["pve1-nic0", "pve2-nic0", "pve3-nic0"]);
    expect(labObjectNeeds(lab, planned, "sandbox")).toEqual([]);
    expect(labObjectNeeds(lab, planned, "internal")).toEqual([]);
    // Proxmox VE 8: HA groups too
    expect(labObjectNeeds(pve8(), planLab(pve8()), "sandbox").map((n) => `${n.kind} ${n.name}`)).toEqual([
      "HA group ha-pve5-pve4",
      "HA group ha-pve4-pve1",
      "HA group ha-pve4-pve1",
    ]);
  });

  test.each([
    [
      "the owner is not deployed",
      ref("missing"),
      "stack organization/homelab/internal cannot be read (stack not found): it does not exist or this account cannot see it. Fix: run `pulumi up -s internal` from this commit first, then `pulumi up -s lab`",
    ],
    [
      "the owner was deployed without the objects",
      ref({}),
      'stack organization/homelab/internal has no "proxmox" output: the lab-wide Proxmox objects (PCI mappings, HA groups) are not deployed by internal (hardware.proxmox.owner). Fix: run `pulumi up -s internal` from this commit first, then `pulumi up -s lab`',
    ],
    [
      "the owner exports another version",
      ref({ proxmox: { ...contract, version: 0 } }),
      "stack organization/homelab/internal exports proxmox version 0; this program reads version 1. Fix: run `pulumi up -s internal` from this commit first, then `pulumi up -s lab`",
    ],
  ])("refused when %s", async (_name, r, message) => {
    expect(await read(r)).toEqual({ ok: false, problems: [message] });
  });

  test("a mapping the owner lacks is named with the VM that needs it and the fix", async () => {
    const r = await read(ref({ proxmox: { ...contract, mappings: contract.mappings.filter((m) => m.name !== "pve1-gpu0") } }));
    if (!r.ok) throw new Error(r.problems.join("\n"));
    expect(
      missingObjects(
        r.value.value,
        labObjectNeeds(lab, planned, "lab"),
        "organization/homelab/internal",
        proxmoxContractSpec(lab, "lab").fix,
      ),
    ).toEqual([
      "stack organization/homelab/internal declares no PCI mapping pve1-gpu0, which lab/vdi passes through pve1's gpu0. Fix: run `pulumi up -s internal` from this commit first, then `pulumi up -s lab`",
    ]);
    expect(missingObjects(contract, labObjectNeeds(lab, planned, "lab"), "organization/homelab/internal", "x")).toEqual([]);
  });
});
