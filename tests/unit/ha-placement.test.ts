// Proves: placement respects the hardware and HA really fails over: each failing config (an N-1 shortfall, a missing bridge or VLAN on a
// failover node, passthrough on the wrong node, an HA VM with a passthrough device, an HA VM whose disks cannot be replicated, a node with
// no room for a replica, and each new rule) gets its exact message and fix at its exact path; the planner gives every HA VM a failover node
// and a replication to it on the schedule the model asks for, keeps replicas on their targets' datastores, and needs none for shared
// storage. Does not prove the Pulumi resources (tests/mocks/proxmox-lab.test.ts) or the CLI output (tests/cli).
import { replicationSchedule, planPlacement } from "../../model/compute/placement";
import type { Lab } from "../../model/lab";
import { formatProblems } from "../../model/problems";
import type { RuleProblem } from "../../model/rule";
import { validateLab } from "../../model/validate";
import { parseFiles, referenceFiles, referenceLab, segOf, type LabFiles } from "../support/lab";

const proxmox = (f: LabFiles) => f["homelab.yaml"].hardware.proxmox;

/** The lab after `edit`; fails the test if the edit breaks the schema. */
function labWith(edit: (f: LabFiles) => void): Lab {
  const files = referenceFiles();
  edit(files);
  const parsed = parseFiles(files);
  if (!parsed.lab) throw new Error(`the edit broke the schema:\n${formatProblems(parsed.problems)}`);
  return parsed.lab;
}

/** Every problem of the lab after `edit`, as `rule file path: message | fix`. */
function problemsWith(edit: (f: LabFiles) => void): string[] {
  return validateLab(labWith(edit)).map((p: RuleProblem) => `${p.rule} ${p.file} ${p.path}: ${p.message} | fix: ${p.fix}`);
}

/** Every schema problem of the files after `edit`. */
function schemaProblems(edit: (f: LabFiles) => void): string[] {
  const files = referenceFiles();
  edit(files);
  const parsed = parseFiles(files);
  return parsed.problems.map((p) => `${p.file} ${p.path}: ${p.message} | fix: ${p.fix}`);
}

interface Case {
  readonly name: string;
  readonly edit: (f: LabFiles) => void;
  /** Every problem the edit causes, exactly. */
  readonly problems: readonly string[];
}

const CASES: readonly Case[] = [
  {
    name: "an N-1 shortfall: the largest VM of pve4 fits nowhere when pve4 fails",
    edit: (f) => (segOf(f, "sandbox").hosts.agent.vm.memoryMiB = 60000),
    problems: [
      "capacity.n-minus-1 Pulumi.sandbox.yaml homelab:segment.hosts.agent.vm.ha: when pve4 fails, the HA VM sandbox/agent (4 vCPUs, 60000 MiB, local-zfs 200 GiB) fits on no surviving node: pve1: 53248 MiB free (needs 60000); pve2: no bridge into sandbox, 23552 MiB free (needs 60000); pve3: no bridge into sandbox, 32768 MiB free (needs 60000); pve5: 10240 MiB free (needs 60000) | fix: add what is missing on one surviving node (memory, vCPUs, a bridge or VLAN, datastore room for its replica), move VMs off it, or set ha: false on sandbox/agent and accept that it is down while pve4 is",
    ],
  },
  {
    name: "a missing bridge on the failover node a VM names",
    edit: (f) => (segOf(f, "cluster").hosts.jump.vm.failover = "pve2"),
    problems: [
      "vms.failover Pulumi.cluster.yaml homelab:segment.hosts.jump.vm.failover: cluster/jump fails over to pve2, which cannot run it: no bridge into cluster; a VM restarts only where its bridges, VLANs and datastores exist | fix: set failover to a node that has them (pve1, pve4), or add cluster to hardware.proxmox.nodes.pve2.networks",
    ],
  },
  {
    name: "a missing bridge on every node the planner could fail over to: the infra host has no other node into the DMZ",
    edit: (f) => (proxmox(f).nodes.pve4.networks = ["internal", "cluster", "lab", "sandbox"]),
    problems: [
      "capacity.n-minus-1 homelab.yaml dmz.infra.vm.ha: when pve5 fails, the HA VM dmz/infra (2 vCPUs, 4096 MiB, local-zfs 32 GiB) fits on no surviving node: pve1: no bridge into dmz; pve2: no bridge into dmz; pve3: no bridge into dmz; pve4: no bridge into dmz | fix: add what is missing on one surviving node (memory, vCPUs, a bridge or VLAN, datastore room for its replica), move VMs off it, or set ha: false on dmz/infra and accept that it is down while pve5 is",
    ],
  },
  {
    name: "a tagged VLAN the failover node's bridge does not carry",
    edit: (f) => {
      segOf(f, "lab").hosts["mirror-1"].vm.nics = [{ bridge: "lab", vlan: 30 }];
      proxmox(f).nodes.pve4.vlans = { lab: [30] };
      segOf(f, "lab").hosts["mirror-1"].vm.failover = "pve1";
    },
    problems: [
      "vms.failover Pulumi.lab.yaml homelab:segment.hosts.mirror-1.vm.failover: lab/mirror-1 fails over to pve1, which cannot run it: no VLAN 30 on its lab bridge; a VM restarts only where its bridges, VLANs and datastores exist | fix: add 30 to hardware.proxmox.nodes.pve1.vlans.lab",
    ],
  },
  {
    name: "a tagged VLAN its own node's bridge does not carry",
    edit: (f) => {
      segOf(f, "lab").hosts["mirror-1"].vm.nics = [{ bridge: "lab", vlan: 30 }];
      proxmox(f).nodes.pve1.vlans = { lab: [30] };
      proxmox(f).nodes.pve4.vlans = { lab: [31] };
    },
    problems: [
      "vms.nics Pulumi.lab.yaml homelab:segment.hosts.mirror-1.vm.nics[0].vlan: lab/mirror-1's NIC 0 is tagged VLAN 30 on lab, but pve4's lab bridge carries only VLAN 31 | fix: add 30 to hardware.proxmox.nodes.pve4.vlans.lab (the bridge is VLAN-aware with that vid), or tag the NIC with one of 31",
    ],
  },
  {
    name: "passthrough on the wrong node: the GPU VM moved to a node without the GPU",
    edit: (f) => (segOf(f, "lab").hosts.vdi.vm.node = "pve4"),
    problems: [
      'vms.passthrough Pulumi.lab.yaml homelab:segment.hosts.vdi.vm.passthrough[0]: node pve4 has no PCI device "gpu0" (its pci inventory is empty); pve1 has one | fix: move lab/vdi to pve1 (node: pve1)',
    ],
  },
  {
    name: "an HA VM with a passthrough device",
    edit: (f) => delete segOf(f, "lab").hosts.vdi.vm.ha,
    problems: [
      "vms.passthrough Pulumi.lab.yaml homelab:segment.hosts.vdi.vm.ha: lab/vdi passes through gpu0 of pve1, so it is pinned to pve1 and cannot be HA-managed; ha defaults to true, so a passthrough VM must say ha: false explicitly | fix: add ha: false to homelab:segment.hosts.vdi.vm",
    ],
  },
  {
    name: "an HA VM without replication: its disk on node-local LVM",
    edit: (f) => {
      proxmox(f).datastores["local-lvm"] = { type: "lvmthin" };
      proxmox(f).nodes.pve2.storage["local-lvm"] = 400;
      segOf(f, "internal").hosts.monitor.vm.disks.root.datastore = "local-lvm";
    },
    problems: [
      "ha.storage Pulumi.internal.yaml homelab:segment.hosts.monitor.vm.disks.root.datastore: internal/monitor is HA, but its disk root is on local-lvm, lvmthin storage local to pve2 that Proxmox cannot replicate: when pve2 fails, no other node has the disk to restart it from | fix: put the disk on node-local ZFS (zfspool, replicated to its failover node every 15 minutes) or shared storage (nfs, cifs, rbd, cephfs) (pve2 has local-zfs), or set ha: false and accept that it is down while pve2 is",
    ],
  },
  {
    name: "a node with no room for a replica: pve1 cannot hold mirror-1's 500 GiB beside its own disks and other replicas",
    edit: (f) => (proxmox(f).nodes.pve1.storage["local-zfs"] = 2000),
    problems: [
      "capacity.n-minus-1 Pulumi.lab.yaml homelab:segment.hosts.mirror-1.vm.ha: when pve4 fails, the HA VM lab/mirror-1 (2 vCPUs, 4096 MiB, local-zfs 500 GiB) fits on no surviving node: pve1: 436 GiB free on local-zfs for its replica (needs 500); pve2: no bridge into lab, 320 GiB free on local-zfs for its replica (needs 500); pve3: no bridge into lab; pve5: no bridge into lab | fix: add what is missing on one surviving node (memory, vCPUs, a bridge or VLAN, datastore room for its replica), move VMs off it, or set ha: false on lab/mirror-1 and accept that it is down while pve4 is",
    ],
  },
  {
    name: "a node with no room for its own disks",
    edit: (f) => (proxmox(f).nodes.pve1.storage["local-zfs"] = 1000),
    problems: [
      "capacity.nodes homelab.yaml hardware.proxmox.nodes.pve1.storage.local-zfs: the disks on pve1's datastore local-zfs need 1264 GiB together but it holds 1000 GiB: cluster/cp-1 64, cluster/worker-1 200, lab/vdi 500, lab/mirror-2 500 | fix: move disks with at least 264 GiB elsewhere, or shrink them",
    ],
  },
  {
    name: "a datastore without a storage type",
    edit: (f) => (proxmox(f).nodes.pve3.storage["local-lvm"] = 200),
    problems: [
      'datastores.declared homelab.yaml hardware.proxmox.nodes.pve3.storage.local-lvm: datastore local-lvm (on pve3) has no storage type in hardware.proxmox.datastores; the type decides whether an HA VM\'s disks on it can follow the VM to another node; did you mean "local-zfs"? | fix: add local-lvm: { type: <its storage.cfg type> } under hardware.proxmox.datastores: zfspool, lvmthin, lvm, dir, nfs, cifs, rbd or cephfs',
    ],
  },
  {
    name: "an owner of the lab-wide Proxmox objects that is no segment",
    edit: (f) => (proxmox(f).owner = "intern"),
    problems: [
      'proxmox.owner homelab.yaml hardware.proxmox.owner: the lab-wide Proxmox objects (PCI mappings, HA groups) are owned by "intern", which is not a segment; did you mean "internal"? (segments: cluster, internal, lab, sandbox) | fix: set owner to one of cluster, internal, lab, sandbox: the segment whose stack is deployed first, usually the one with the nodes\' management addresses',
    ],
  },
  {
    name: "a VM that names its own node as failover",
    edit: (f) => (segOf(f, "internal").hosts.monitor.vm.failover = "pve2"),
    problems: [
      "vms.failover Pulumi.internal.yaml homelab:segment.hosts.monitor.vm.failover: internal/monitor runs on pve2 and names it as its failover node; when pve2 fails it must restart on another node | fix: set failover to another node (pve1, pve3, pve4, pve5), or leave it out to let the planner choose",
    ],
  },
  {
    name: "a failover node that does not exist",
    edit: (f) => (segOf(f, "internal").hosts.monitor.vm.failover = "pve7"),
    problems: [
      'vms.failover Pulumi.internal.yaml homelab:segment.hosts.monitor.vm.failover: internal/monitor fails over to "pve7", which is not a Proxmox node; did you mean "pve1"? (nodes: pve1, pve2, pve3, pve4, pve5) | fix: set failover to one of pve1, pve3, pve4, pve5, or leave it out to let the planner choose',
    ],
  },
  {
    name: "a pinned VM that names a failover node",
    edit: (f) => (segOf(f, "lab").hosts.vdi.vm.failover = "pve4"),
    problems: [
      "vms.failover Pulumi.lab.yaml homelab:segment.hosts.vdi.vm.failover: lab/vdi names failover node pve4, but it is pinned to pve1 (it passes through gpu0): it never moves | fix: remove failover from homelab:segment.hosts.vdi.vm",
    ],
  },
];

describe("placement and HA rules: exact messages", () => {
  test.each(CASES)("$name", ({ edit, problems }) => {
    expect(problemsWith(edit)).toEqual(problems);
  });

  test("the reference lab is clean", () => {
    expect(validateLab(referenceLab())).toEqual([]);
  });
});

describe("the schema refuses", () => {
  test.each([
    [
      "a replication interval that drifts against the hour",
      (f: LabFiles) => (proxmox(f).replicationMinutes = 7),
      "homelab.yaml hardware.proxmox.replicationMinutes: must divide an hour or a day evenly: one of 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440 minutes | fix: write 6",
    ],
    [
      "a VM's own replication interval that drifts",
      (f: LabFiles) => (segOf(f, "internal").hosts.data.vm.replicationMinutes = 90),
      "Pulumi.internal.yaml homelab:segment.hosts.data.vm.replicationMinutes: must divide an hour or a day evenly: one of 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440 minutes | fix: write 60",
    ],
    [
      "a Proxmox version it has no HA objects for",
      (f: LabFiles) => (proxmox(f).version = 7),
      "homelab.yaml hardware.proxmox.version: must be one of 8, 9 | fix: write one of 8, 9",
    ],
    [
      "a passthrough device without its subsystem id",
      (f: LabFiles) => delete proxmox(f).nodes.pve2.pci.nic0.subsystemId,
      "homelab.yaml hardware.proxmox.nodes.pve2.pci.nic0.subsystemId: is required | fix: add subsystemId: under hardware.proxmox.nodes.pve2.pci.nic0",
    ],
    [
      "a subsystem id that is not vendor:device",
      (f: LabFiles) => (proxmox(f).nodes.pve2.pci.nic0.subsystemId = "8086"),
      'homelab.yaml hardware.proxmox.nodes.pve2.pci.nic0.subsystemId: must be the subsystem "vendor:device" in lower-case hex, as `lspci -nnv -s <path>` prints it after Subsystem, such as "1458:4074" | fix: write it in the same form as 1458:4074',
    ],
    [
      "an unknown datastore type",
      (f: LabFiles) => (proxmox(f).datastores["local-zfs"] = { type: "zfs-pool" }),
      'homelab.yaml hardware.proxmox.datastores.local-zfs.type: must be one of "zfspool", "lvmthin", "lvm", "dir", "nfs", "cifs", "rbd", "cephfs"; did you mean "zfspool"? | fix: write "zfspool"',
    ],
  ])("%s", (_name, edit, problem) => {
    expect(schemaProblems(edit)).toEqual([problem]);
  });
});

describe("the planner's HA plan", () => {
  const plan = planPlacement(referenceLab());

  test("every HA VM fails over to a node the failover plan moves it to, replicated there every 15 minutes", () => {
    const moves = new Map(plan.failover.flatMap((f) => f.moves.map((m) => [m.vm, m.to])));
    expect(plan.ha.map((h) => h.vm)).toEqual(
      plan.nodes
        .flatMap((n) => n.vms)
        .filter((v) => v.ha)
        .sort((a, b) => a.vmId - b.vmId)
        .map((v) => v.name),
    );
    for (const h of plan.ha) {
      expect(h.to).toBe(moves.get(h.vm));
      expect(h.to).not.toBe(h.node);
      expect(h.replication).toEqual({ minutes: 15, schedule: "*/15", datastores: ["local-zfs"] });
    }
    expect(plan.ha.find((h) => h.vm === "infra")).toMatchObject({ node: "pve5", to: "pve4", vmId: 100 });
  });

  test("pinned VMs get no HA plan", () => {
    const names = plan.ha.map((h) => h.vm);
    for (const v of ["cluster-worker-1", "cluster-worker-2", "cluster-worker-3", "lab-vdi"]) expect(names).not.toContain(v);
  });

  test("each node holds the replicas of the VMs that fail over to it, beside its own disks and within its datastore", () => {
    for (const n of plan.nodes) {
      const incoming = plan.ha
        .filter((h) => h.to === n.node)
        .reduce((a, h) => a + (plan.nodes.flatMap((x) => x.vms).find((v) => v.name === h.vm)!.disks["local-zfs"] ?? 0), 0);
      expect(n.replicaGiB["local-zfs"] ?? 0).toBe(incoming);
      expect((n.usedStorageGiB["local-zfs"] ?? 0) + (n.replicaGiB["local-zfs"] ?? 0)).toBeLessThanOrEqual(n.storageGiB["local-zfs"]!);
    }
    expect(plan.nodes.find((n) => n.node === "pve1")!.replicaGiB).toEqual({ "local-zfs": 1880 });
  });

  test("a VM's own interval and failover node are what its replication and HA plan use", () => {
    const p = planPlacement(
      labWith((f) => {
        Object.assign(segOf(f, "internal").hosts.data.vm, { replicationMinutes: 5, failover: "pve5" });
        proxmox(f).nodes.pve5.memoryGiB = 64;
        proxmox(f).nodes.pve5.storage["local-zfs"] = 3000;
      }),
    );
    expect(p.ha.find((h) => h.vm === "internal-data")).toEqual({
      vm: "internal-data",
      segment: "internal",
      host: "data",
      vmId: 1010,
      node: "pve4",
      to: "pve5",
      replication: { minutes: 5, schedule: "*/5", datastores: ["local-zfs"] },
    });
  });

  test("a VM on shared storage needs no replication and no replica room", () => {
    const p = planPlacement(
      labWith((f) => {
        proxmox(f).datastores.ceph = { type: "rbd" };
        for (const n of Object.values<any>(proxmox(f).nodes)) n.storage.ceph = 100;
        segOf(f, "lab").hosts["mirror-1"].vm.disks.root.datastore = "ceph";
        segOf(f, "lab").hosts["mirror-1"].vm.disks.root.sizeGiB = 100;
      }),
    );
    const h = p.ha.find((x) => x.vm === "lab-mirror-1")!;
    expect(h.to).toBe("pve1");
    expect(h.replication).toBeUndefined();
    expect(p.nodes.find((n) => n.node === "pve1")!.replicaGiB.ceph).toBeUndefined();
  });

  test("with one node, no VM has an HA plan", () => {
    const p = planPlacement(
      labWith((f) => {
        const pve1 = proxmox(f).nodes.pve1;
        proxmox(f).nodes = { pve1: { ...pve1, networks: ["internal", "dmz", "cluster", "lab", "sandbox"] } };
      }),
    );
    expect(p.ha).toEqual([]);
  });

  test.each([
    [1, "*/1"],
    [15, "*/15"],
    [30, "*/30"],
    [60, "0/1:00"],
    [120, "0/2:00"],
    [720, "0/12:00"],
    [1440, "0:00"],
  ])("every %i minutes is the Proxmox schedule %s", (minutes, schedule) => {
    expect(replicationSchedule(minutes)).toBe(schedule);
  });
});
