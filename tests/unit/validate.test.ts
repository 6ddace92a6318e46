// Proves: each rule of model/validate.ts reports its violation at the exact file and config path with the key facts in message and fix, the reference lab is clean, and no schema-valid mutation makes validation throw; does not prove the CLI output (tests/cli/check.test.ts) or schema-level errors (load.test.ts).
import fc from "fast-check";
import { certificateWarnings } from "../../model/network/certificate";
import { planDmz, publishAll } from "../../model/network/dmz";
import { planFlows } from "../../model/network/flows";
import type { Lab } from "../../model/lab";
import { planLab } from "../../model/plan";
import { formatProblems, sortProblems } from "../../model/problems";
import type { RuleProblem } from "../../model/rule";
import { RULES, validateLab } from "../../model/validate";
import { parseFiles, referenceFiles, segOf, type LabFiles } from "../support/lab";

/** The lab built from the reference files after `edit`; fails the test if the edit breaks the schema. */
function labWith(edit: (f: LabFiles) => void): Lab {
  const files = referenceFiles();
  edit(files);
  const parsed = parseFiles(files);
  if (!parsed.lab) throw new Error(`the edit broke the schema:\n${formatProblems(parsed.problems)}`);
  return parsed.lab;
}

function problemsWith(edit: (f: LabFiles) => void): RuleProblem[] {
  return validateLab(labWith(edit));
}

const lab = (f: LabFiles) => f["homelab.yaml"];
const node = (f: LabFiles, name: string) => lab(f).hardware.proxmox.nodes[name];

interface Case {
  /** What is broken. */
  readonly name: string;
  readonly rule: string;
  readonly edit: (f: LabFiles) => void;
  readonly file: string;
  readonly path: string;
  /** Facts message + fix must mention. */
  readonly mentions: readonly string[];
}

const CASES: readonly Case[] = [
  // subnets.disjoint
  {
    name: "segment overlaps segment",
    rule: "subnets.disjoint",
    edit: (f) => (segOf(f, "lab").subnet = "10.20.0.0/16"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.subnet",
    mentions: ["10.20.0.0/16", "cluster's 10.20.0.0/24", "e.g. 10.21.0.0/16"],
  },
  {
    name: "segment overlaps the DMZ",
    rule: "subnets.disjoint",
    edit: (f) => (segOf(f, "sandbox").subnet = "192.168.0.0/16"),
    file: "Pulumi.sandbox.yaml",
    path: "homelab:segment.subnet",
    mentions: ["the DMZ's 192.168.1.0/24"],
  },
  {
    name: "admin source outside the DMZ",
    rule: "subnets.disjoint",
    edit: (f) => lab(f).ssh.adminSources.push("10.99.0.0/24"),
    file: "homelab.yaml",
    path: "ssh.adminSources[1]",
    mentions: ["10.99.0.0/24", "192.168.1.0/24"],
  },
  // addresses.in-network
  {
    name: "host outside its subnet",
    rule: "addresses.in-network",
    edit: (f) => (segOf(f, "cluster").hosts["cp-1"].address = "10.30.0.150"),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.hosts.cp-1.address",
    mentions: ["10.30.0.150", "10.20.0.0/24", "e.g. 10.20.0.3"],
  },
  {
    name: "static host inside the DHCP pool",
    rule: "addresses.in-network",
    edit: (f) => (segOf(f, "cluster").hosts["cp-1"].address = "10.20.0.150"),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.hosts.cp-1.address",
    mentions: ["DHCP pool 10.20.0.100-10.20.0.199", "outside 10.20.0.100-10.20.0.199, e.g. 10.20.0.3"],
  },
  {
    name: "host on the gateway",
    rule: "addresses.in-network",
    edit: (f) => (segOf(f, "cluster").hosts["cp-1"].address = "10.20.0.1"),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.hosts.cp-1.address",
    mentions: ["cluster-fw's LAN address", "gateway", "e.g. 10.20.0.3"],
  },
  {
    name: "host on the broadcast address",
    rule: "addresses.in-network",
    edit: (f) => (segOf(f, "cluster").hosts["cp-1"].address = "10.20.0.255"),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.hosts.cp-1.address",
    mentions: ["broadcast", "10.20.0.1-10.20.0.254"],
  },
  {
    name: "host on the network address",
    rule: "addresses.in-network",
    edit: (f) => (segOf(f, "cluster").hosts["cp-1"].address = "10.20.0.0"),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.hosts.cp-1.address",
    mentions: ["network address", "10.20.0.1-10.20.0.254"],
  },
  {
    name: "Talos VIP inside the DHCP pool",
    rule: "addresses.in-network",
    edit: (f) => (segOf(f, "cluster").talos.vip = "10.20.0.150"),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.talos.vip",
    mentions: ["Talos VIP", "10.20.0.100-10.20.0.199"],
  },
  {
    name: "router LAN side outside its subnet",
    rule: "addresses.in-network",
    edit: (f) => (segOf(f, "lab").router.lanAddress = "10.31.0.1"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.router.lanAddress",
    mentions: ["10.31.0.1", "10.30.0.0/24"],
  },
  {
    name: "router WAN side outside the DMZ",
    rule: "addresses.in-network",
    edit: (f) => (segOf(f, "lab").router.wanAddress = "192.168.2.13"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.router.wanAddress",
    mentions: ["lab-fw's WAN address", "192.168.1.0/24", "e.g. 192.168.1.2"],
  },
  {
    name: "DMZ DNS address outside the DMZ",
    rule: "addresses.in-network",
    edit: (f) => (lab(f).dmz.dns = "10.0.0.53"),
    file: "homelab.yaml",
    path: "dmz.dns",
    mentions: ["10.0.0.53", "192.168.1.0/24"],
  },
  {
    name: "DMZ gateway outside the DMZ",
    rule: "addresses.in-network",
    edit: (f) => (lab(f).dmz.gateway = "192.168.2.1"),
    file: "homelab.yaml",
    path: "dmz.gateway",
    mentions: ["ISP edge router", "192.168.1.0/24"],
  },
  {
    name: "DMZ proxy inside the admin sources",
    rule: "addresses.in-network",
    edit: (f) => (lab(f).dmz.proxy = "192.168.1.200"),
    file: "homelab.yaml",
    path: "dmz.proxy",
    mentions: ["admin source 192.168.1.192/27", "e.g. 192.168.1.2"],
  },
  {
    name: "hardware outside its segment",
    rule: "addresses.in-network",
    edit: (f) => (node(f, "pve1").address = "10.20.0.21"),
    file: "homelab.yaml",
    path: "hardware.proxmox.nodes.pve1.address",
    mentions: ["proxmox node pve1", "10.10.0.0/24"],
  },
  // dhcp.pool
  {
    name: "pool starts after it ends",
    rule: "dhcp.pool",
    edit: (f) => (segOf(f, "cluster").dhcp = { start: "10.20.0.199", end: "10.20.0.100" }),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.dhcp",
    mentions: ["starts at 10.20.0.199", "start: 10.20.0.100, end: 10.20.0.199"],
  },
  {
    name: "pool end outside the subnet",
    rule: "dhcp.pool",
    edit: (f) => (segOf(f, "cluster").dhcp.end = "10.20.1.10"),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.dhcp.end",
    mentions: ["10.20.1.10", "10.20.0.0/24"],
  },
  {
    name: "pool contains the router",
    rule: "dhcp.pool",
    edit: (f) => (segOf(f, "cluster").dhcp = { start: "10.20.0.1", end: "10.20.0.9" }),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.dhcp",
    mentions: ["router's LAN address 10.20.0.1", "start: 10.20.0.2"],
  },
  // addresses.unique
  {
    name: "two hosts share an address",
    rule: "addresses.unique",
    edit: (f) => (segOf(f, "cluster").hosts["cp-2"].address = "10.20.0.11"),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.hosts.cp-2.address",
    mentions: ["cluster/cp-1", "Pulumi.cluster.yaml homelab:segment.hosts.cp-1.address", "e.g. 10.20.0.3"],
  },
  {
    name: "the Talos VIP is a host's address",
    rule: "addresses.unique",
    edit: (f) => (segOf(f, "cluster").talos.vip = "10.20.0.21"),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.talos.vip",
    mentions: ["cluster/worker-1"],
  },
  {
    name: "DMZ NTP shares the DNS address",
    rule: "addresses.unique",
    edit: (f) => (lab(f).dmz.ntp = lab(f).dmz.dns),
    file: "homelab.yaml",
    path: "dmz.ntp",
    mentions: ["192.168.1.53", "dns service address", "homelab.yaml dmz.dns"],
  },
  {
    name: "DMZ proxy shares the infra host's address",
    rule: "addresses.unique",
    edit: (f) => (lab(f).dmz.proxy = "192.168.1.10"),
    file: "homelab.yaml",
    path: "dmz.proxy",
    mentions: ["infra host", "dmz.infra.address"],
  },
  {
    name: "a host takes a switch's address",
    rule: "addresses.unique",
    edit: (f) => (segOf(f, "internal").hosts.data.address = "10.10.0.250"),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.hosts.data.address",
    mentions: ["switch sw-core", "homelab.yaml hardware.switches.sw-core.address"],
  },
  {
    name: "two routers share a WAN address",
    rule: "addresses.unique",
    edit: (f) => (segOf(f, "lab").router.wanAddress = "192.168.1.12"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.router.wanAddress",
    mentions: ["cluster-fw's WAN address"],
  },
  // names.unique
  {
    name: "a host is named like the router",
    rule: "names.unique",
    edit: (f) => (segOf(f, "internal").router.name = "jump"),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.hosts.jump",
    mentions: ["jump.internal.lab.example.net", "internal's router"],
  },
  {
    name: "hardware is named like a host of its segment",
    rule: "names.unique",
    edit: (f) => {
      const sw = lab(f).hardware.switches;
      sw.ingress = sw["sw-cluster"];
      delete sw["sw-cluster"];
    },
    file: "homelab.yaml",
    path: "hardware.switches.ingress",
    mentions: ["host cluster/ingress", "ingress.cluster.lab.example.net"],
  },
  {
    name: "two routers share a name",
    rule: "names.unique",
    edit: (f) => (segOf(f, "lab").router.name = "cluster-fw"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.router.name",
    mentions: ["cluster's router", "cluster-fw.lab.example.net", "e.g. lab-fw"],
  },
  {
    name: "a router takes a DMZ name",
    rule: "names.unique",
    edit: (f) => (segOf(f, "lab").router.name = "proxy"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.router.name",
    mentions: ["the DMZ's proxy", "homelab.yaml dmz.proxy"],
  },
  {
    name: "hardware ids clash across kinds",
    rule: "names.unique",
    edit: (f) => {
      const sw = lab(f).hardware.switches;
      sw.rtr1 = sw["sw-dmz"];
      delete sw["sw-dmz"];
    },
    file: "homelab.yaml",
    path: "hardware.routers.rtr1",
    mentions: ["switch rtr1"],
  },
  {
    name: "two VMs get one name",
    rule: "names.unique",
    edit: (f) => {
      // lab + mirror-a and lab-mirror + a are both "lab-mirror-a".
      f["Pulumi.lab-mirror.yaml"] = structuredClone(f["Pulumi.sandbox.yaml"]);
      const hosts = segOf(f, "lab-mirror").hosts;
      hosts.a = hosts.agent;
      delete hosts.agent;
      const lh = segOf(f, "lab").hosts;
      lh["mirror-a"] = lh["mirror-1"];
      delete lh["mirror-1"];
    },
    file: "Pulumi.lab-mirror.yaml",
    path: "homelab:segment.hosts.a.vm",
    mentions: ["lab-mirror-a", "lab/mirror-a"],
  },
  {
    name: "a segment takes a reserved zone name",
    rule: "names.unique",
    edit: (f) => {
      f["Pulumi.admin.yaml"] = f["Pulumi.sandbox.yaml"];
      delete f["Pulumi.sandbox.yaml"];
    },
    file: "Pulumi.admin.yaml",
    path: "(stack name)",
    mentions: ['"admin" is reserved'],
  },
  // macs.unique
  {
    name: "two hosts share a MAC",
    rule: "macs.unique",
    edit: (f) => (segOf(f, "lab").hosts.vdi.mac = "52:54:00:20:00:0b"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.vdi.mac",
    mentions: ["cluster/cp-1", "52:54:00:20:00:0b"],
  },
  {
    name: "a node has the infra host's MAC",
    rule: "macs.unique",
    edit: (f) => (node(f, "pve5").mac = "52:54:00:00:01:0a"),
    file: "homelab.yaml",
    path: "hardware.proxmox.nodes.pve5.mac",
    mentions: ["DMZ infra host", "dmz.infra.mac"],
  },
  // vm-ids.unique
  {
    name: "two VMs share an id",
    rule: "vm-ids.unique",
    edit: (f) => (segOf(f, "lab").hosts.vdi.vm.vmId = 2011),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.vdi.vm.vmId",
    mentions: ["cluster/cp-1", "e.g. 2014"],
  },
  {
    name: "a VM takes the infra host's id",
    rule: "vm-ids.unique",
    edit: (f) => (segOf(f, "cluster").hosts.jump.vm.vmId = 100),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.hosts.jump.vm.vmId",
    mentions: ["dmz/infra", "e.g. 101"],
  },
  // vms.references
  {
    name: "unknown node",
    rule: "vms.references",
    edit: (f) => (segOf(f, "lab").hosts["mirror-1"].vm.node = "pve9"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.mirror-1.vm.node",
    mentions: ['did you mean "pve1"?', "pve1, pve2, pve3, pve4, pve5"],
  },
  {
    name: "unknown node of the infra host",
    rule: "vms.references",
    edit: (f) => (lab(f).dmz.infra.vm.node = "pve"),
    file: "homelab.yaml",
    path: "dmz.infra.vm.node",
    mentions: ["dmz/infra", "pve1, pve2"],
  },
  {
    name: "unknown datastore",
    rule: "vms.references",
    edit: (f) => (segOf(f, "lab").hosts["mirror-2"].vm.disks.root.datastore = "local-lvm"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.mirror-2.vm.disks.root.datastore",
    mentions: ['did you mean "local-zfs"?', "hardware.proxmox.nodes.pve1.storage"],
  },
  // vms.nics
  {
    name: "bridge the node lacks",
    rule: "vms.nics",
    edit: (f) => (segOf(f, "lab").hosts["mirror-1"].vm.node = "pve2"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.mirror-1.vm.nics[0].bridge",
    mentions: ["pve2", "its networks: internal", "pve1, pve4"],
  },
  {
    name: "first NIC on the wrong segment",
    rule: "vms.nics",
    edit: (f) => (segOf(f, "lab").hosts["mirror-2"].vm.nics = [{ bridge: "cluster" }]),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.mirror-2.vm.nics[0].bridge",
    mentions: ["10.30.0.32", "{ bridge: lab }"],
  },
  {
    name: "infra host not on the DMZ",
    rule: "vms.nics",
    edit: (f) => (lab(f).dmz.infra.vm.nics = [{ bridge: "internal" }]),
    file: "homelab.yaml",
    path: "dmz.infra.vm.nics[0].bridge",
    mentions: ["{ bridge: dmz }"],
  },
  // vms.passthrough
  {
    name: "unknown passthrough NIC",
    rule: "vms.passthrough",
    edit: (f) => (segOf(f, "cluster").hosts["worker-2"].vm.nics = [{ passthrough: "nic1" }]),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.hosts.worker-2.vm.nics[0].passthrough",
    mentions: ['did you mean "nic0"?', "pve2"],
  },
  {
    name: "device on another node",
    rule: "vms.passthrough",
    edit: (f) => (segOf(f, "lab").hosts.vdi.vm.node = "pve4"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.vdi.vm.passthrough[0]",
    mentions: ['no PCI device "gpu0"', "pve1 has one", "node: pve1"],
  },
  {
    name: "a GPU as a NIC",
    rule: "vms.passthrough",
    edit: (f) => (segOf(f, "cluster").hosts["worker-1"].vm.nics = [{ passthrough: "gpu0" }]),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.hosts.worker-1.vm.nics[0].passthrough",
    mentions: ["is a gpu", "kind nic"],
  },
  {
    name: "one device, two VMs",
    rule: "vms.passthrough",
    edit: (f) => (segOf(f, "cluster").hosts["worker-3"].vm.node = "pve1"),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.hosts.worker-3.vm.nics[0].passthrough",
    mentions: ["already passed through to cluster/worker-1", "worker-1.vm.nics[0].passthrough"],
  },
  {
    name: "one IOMMU group, two VMs",
    rule: "vms.passthrough",
    edit: (f) => {
      node(f, "pve1").pci.audio0 = {
        kind: "other",
        vendorDevice: "10de:228e",
        subsystemId: "1458:4074",
        path: "0000:01:00.1",
        iommuGroup: 14,
        description: "RTX 3060 HDMI audio",
      };
      Object.assign(segOf(f, "lab").hosts["mirror-2"].vm, { passthrough: ["audio0"], ha: false });
    },
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.mirror-2.vm.passthrough[0]",
    mentions: ["IOMMU group 14", "gpu0", "lab/vdi"],
  },
  {
    name: "passthrough VM with ha left to default",
    rule: "vms.passthrough",
    edit: (f) => delete segOf(f, "cluster").hosts["worker-2"].vm.ha,
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.hosts.worker-2.vm.ha",
    mentions: ["pinned to pve2", "ha defaults to true", "ha: false"],
  },
  {
    name: "passthrough VM with ha: true",
    rule: "vms.passthrough",
    edit: (f) => (segOf(f, "lab").hosts.vdi.vm.ha = true),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.vdi.vm.ha",
    mentions: ["gpu0", "ha: false"],
  },
  // capacity.nodes
  {
    name: "node memory: VMs that fit alone but not together",
    rule: "capacity.nodes",
    edit: (f) => (segOf(f, "lab").hosts.vdi.vm.memoryMiB = 120000),
    file: "homelab.yaml",
    path: "hardware.proxmox.nodes.pve1.memoryGiB",
    mentions: ["156864 MiB together", "122880 MiB", "8 GiB reserved", "at least 33984 MiB", "lab/vdi 120000"],
  },
  {
    name: "a VM larger than its node is blamed on its own memoryMiB",
    rule: "capacity.nodes",
    edit: (f) => (segOf(f, "sandbox").hosts.agent.vm.memoryMiB = 130000),
    file: "Pulumi.sandbox.yaml",
    path: "homelab:segment.hosts.agent.vm.memoryMiB",
    mentions: ["sandbox/agent asks for 130000 MiB", "its node pve4 has for VMs: 122880 MiB", "at most 122880"],
  },
  {
    name: "reserve above the node's memory",
    rule: "capacity.nodes",
    edit: (f) => Object.assign(node(f, "pve3"), { memoryGiB: 8, reservedMemoryGiB: 8 }),
    file: "homelab.yaml",
    path: "hardware.proxmox.nodes.pve3.reservedMemoryGiB",
    mentions: ["reserves 8 GiB", "of its 8 GiB", "below 8"],
  },
  {
    name: "node vCPUs",
    rule: "capacity.nodes",
    edit: (f) => (node(f, "pve5").cpuCores = 1),
    file: "homelab.yaml",
    path: "hardware.proxmox.nodes.pve5.cpuCores",
    mentions: ["8 vCPUs", "hand out 4", "cpuOvercommit 4"],
  },
  {
    name: "VM cores above the node's",
    rule: "capacity.nodes",
    edit: (f) => (segOf(f, "lab").hosts.vdi.vm.cores = 40),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.vdi.vm.cores",
    mentions: ["40 cores", "only 32", "at most 32"],
  },
  {
    name: "datastore size: disks that fit alone but not together",
    rule: "capacity.nodes",
    edit: (f) => (node(f, "pve1").storage["local-zfs"] = 1000),
    file: "homelab.yaml",
    path: "hardware.proxmox.nodes.pve1.storage.local-zfs",
    mentions: ["1264 GiB together", "holds 1000 GiB", "lab/vdi 500", "at least 264 GiB"],
  },
  {
    name: "a disk larger than its datastore is blamed on its own sizeGiB",
    rule: "capacity.nodes",
    edit: (f) => (node(f, "pve3").storage["local-zfs"] = 100),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.hosts.worker-3.vm.disks.root.sizeGiB",
    mentions: ["cluster/worker-3's disk root asks for 200 GiB", "holds: 100 GiB", "at most 100"],
  },
  // proxmox.owner, datastores.declared, ha.storage, vms.failover (exact wording: ha-placement.test.ts)
  {
    name: "owner of the lab-wide Proxmox objects is no segment",
    rule: "proxmox.owner",
    edit: (f) => (lab(f).hardware.proxmox.owner = "intern"),
    file: "homelab.yaml",
    path: "hardware.proxmox.owner",
    mentions: ['did you mean "internal"?', "set owner to one of"],
  },
  {
    name: "datastore without a storage type",
    rule: "datastores.declared",
    edit: (f) => (node(f, "pve3").storage["local-lvm"] = 200),
    file: "homelab.yaml",
    path: "hardware.proxmox.nodes.pve3.storage.local-lvm",
    mentions: ["local-lvm", "hardware.proxmox.datastores", "zfspool"],
  },
  {
    name: "HA VM on storage that cannot be replicated",
    rule: "ha.storage",
    edit: (f) => {
      lab(f).hardware.proxmox.datastores["local-lvm"] = { type: "lvmthin" };
      node(f, "pve2").storage["local-lvm"] = 400;
      segOf(f, "internal").hosts.monitor.vm.disks.root.datastore = "local-lvm";
    },
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.hosts.monitor.vm.disks.root.datastore",
    mentions: ["lvmthin", "cannot replicate", "ha: false"],
  },
  {
    name: "failover node without the VM's bridge",
    rule: "vms.failover",
    edit: (f) => (segOf(f, "cluster").hosts.jump.vm.failover = "pve2"),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.hosts.jump.vm.failover",
    mentions: ["no bridge into cluster", "pve1, pve4"],
  },
  // capacity.n-minus-1 (pve1 has 120 GiB = 122880 MiB for VMs and runs 69632 MiB; the agent, the largest, is placed first)
  {
    name: "an HA VM has nowhere to go",
    rule: "capacity.n-minus-1",
    edit: (f) => (segOf(f, "sandbox").hosts.agent.vm.memoryMiB = 60000),
    file: "Pulumi.sandbox.yaml",
    path: "homelab:segment.hosts.agent.vm.ha",
    mentions: [
      "when pve4 fails",
      "sandbox/agent",
      "60000 MiB",
      "pve1: 53248 MiB free (needs 60000)",
      "pve2: no bridge into sandbox",
      "pve5:",
      "ha: false",
    ],
  },
  // talos.nodes
  {
    name: "a Talos VM left to HA",
    rule: "talos.nodes",
    edit: (f) => delete segOf(f, "cluster").hosts["cp-2"].vm.ha,
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.hosts.cp-2.vm.ha",
    mentions: ["Talos node", "CPU type host", "ha: false"],
  },
  {
    name: "a Talos node booting an ISO of another schematic",
    rule: "talos.nodes",
    edit: (f) => (segOf(f, "cluster").talos.schematic.officialExtensions = ["siderolabs/iscsi-tools"]),
    file: "homelab.yaml",
    path: "hardware.proxmox.images.talos-v1-13-0.url",
    mentions: ["not an Image Factory ISO", "talos.schematic", "factory.talos.dev/installer/"],
  },
  // talos.cluster
  {
    name: "a disruption budget no drain can meet",
    rule: "talos.upgrade",
    edit: (f) => (segOf(f, "cluster").talos.disruptionBudgets.ingress.maxUnavailable = 0),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.talos.disruptionBudgets.ingress.maxUnavailable",
    mentions: ["lets none of its 3 replicas be unavailable", "maxUnavailable: 1"],
  },
  {
    name: "even number of control planes",
    rule: "talos.cluster",
    edit: (f) => (segOf(f, "cluster").talos.controlPlanes = ["cp-1", "cp-2"]),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.talos.controlPlanes",
    mentions: ["2 control planes", "odd number, at least 3"],
  },
  {
    name: "unknown control plane",
    rule: "talos.cluster",
    edit: (f) => (segOf(f, "cluster").talos.controlPlanes = ["cp-1", "cp-2", "cp3"]),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.talos.controlPlanes[2]",
    mentions: ['did you mean "cp-3"?', "k8s-control-plane"],
  },
  {
    name: "a worker as control plane",
    rule: "talos.cluster",
    edit: (f) => (segOf(f, "cluster").talos.controlPlanes = ["cp-1", "cp-2", "worker-1"]),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.talos.controlPlanes[2]",
    mentions: ["role k8s-worker", "must have role k8s-control-plane"],
  },
  {
    name: "a listed node not running Talos",
    rule: "talos.cluster",
    edit: (f) => (segOf(f, "cluster").hosts["cp-1"].os = "debian"),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.hosts.cp-1.os",
    mentions: ["os debian", "talos"],
  },
  {
    name: "control planes share a node",
    rule: "talos.cluster",
    edit: (f) => (segOf(f, "cluster").hosts["cp-2"].vm.node = "pve1"),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.hosts.cp-2.vm.node",
    mentions: ["cp-1, cp-2", "pve1", "quorum", "2 of its 3", "at most 1", "move cp-2 to pve4"],
  },
  {
    name: "two control plane VMs on one node beside a physical control plane",
    rule: "talos.cluster",
    edit: (f) => {
      const hosts = segOf(f, "cluster").hosts;
      hosts["cp-2"].vm.node = "pve1";
      delete hosts["cp-3"].vm;
    },
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.hosts.cp-2.vm.node",
    mentions: ["cp-1, cp-2", "pve1", "2 of its 3", "at most 1", "would leave 1", "move cp-2 to pve"],
  },
  {
    name: "five control planes, three of them on one node",
    rule: "talos.cluster",
    edit: (f) => {
      const seg = segOf(f, "cluster");
      for (const [id, n] of [
        ["cp-4", "pve1"],
        ["cp-5", "pve1"],
      ] as const)
        seg.hosts[id] = {
          ...structuredClone(seg.hosts["cp-1"]),
          address: `10.20.0.1${id.slice(3)}`,
          mac: `52:54:00:20:00:1${id.slice(3)}`,
          vm: { ...structuredClone(seg.hosts["cp-1"].vm), node: n, vmId: 2010 + Number(id.slice(3)) },
        };
      seg.talos.controlPlanes.push("cp-4", "cp-5");
    },
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.hosts.cp-5.vm.node",
    mentions: ["cp-1, cp-4, cp-5", "3 of its 5", "at most 2", "would leave 2", "move cp-5 to"],
  },
  {
    name: "three control planes on a cluster network two nodes have",
    rule: "talos.cluster",
    edit: (f) => {
      node(f, "pve5").networks = node(f, "pve5").networks.filter((n: string) => n !== "cluster");
      segOf(f, "cluster").hosts.jump.vm.node = "pve4";
      segOf(f, "cluster").hosts["cp-3"].vm.node = "pve4";
    },
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.hosts.cp-3.vm.node",
    mentions: ["cp-2, cp-3", "pve4", "at least 3 Proxmox nodes with a bridge into cluster", "now 2: pve1, pve4"],
  },
  // routers.interfaces
  {
    name: "a VLAN id out of range",
    rule: "routers.interfaces",
    edit: (f) => (lab(f).hardware.routers.rtr3.lanInterface = "enp2s0.4095"),
    file: "homelab.yaml",
    path: "hardware.routers.rtr3.lanInterface",
    mentions: ["VLAN id 4095", "1-4094", "e.g. enp2s0.4094"],
  },
  {
    name: "WAN and LAN on one interface",
    rule: "routers.interfaces",
    edit: (f) => (lab(f).hardware.routers.rtr3.lanInterface = "enp1s0"),
    file: "homelab.yaml",
    path: "hardware.routers.rtr3.lanInterface",
    mentions: ["both enp1s0", "lanInterface: enp1s0.<vlan id>"],
  },
  {
    name: "WAN and LAN on the same VLAN of one port",
    rule: "routers.interfaces",
    edit: (f) => Object.assign(lab(f).hardware.routers.rtr3, { wanInterface: "enp1s0.10", lanInterface: "enp1s0.010" }),
    file: "homelab.yaml",
    path: "hardware.routers.rtr3.lanInterface",
    mentions: ["VLAN 10", "enp1s0", "e.g. enp1s0.11"],
  },
  {
    name: "a VLAN on a port the box does not have",
    rule: "routers.interfaces",
    edit: (f) => Object.assign(lab(f).hardware.routers.rtr3, { ports: ["enp1s0", "enp2s0"], lanInterface: "enp3s0.30" }),
    file: "homelab.yaml",
    path: "hardware.routers.rtr3.lanInterface",
    mentions: ["parent port enp3s0", "enp1s0, enp2s0", "e.g. enp1s0.30"],
  },
  {
    name: "a VLAN on a VLAN",
    rule: "routers.interfaces",
    edit: (f) => (lab(f).hardware.routers.rtr3.lanInterface = "enp2s0.1.30"),
    file: "homelab.yaml",
    path: "hardware.routers.rtr3.lanInterface",
    mentions: ["QinQ", "e.g. enp2s0.30"],
  },
  // vms.vlans
  {
    name: "a VM NIC tagged with another VLAN than its segment's",
    rule: "vms.vlans",
    edit: (f) => {
      lab(f).hardware.routers.rtr3.lanInterface = "enp2s0.30";
      segOf(f, "lab").hosts["mirror-1"].vm.nics = [{ bridge: "lab", vlan: 31 }];
    },
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.mirror-1.vm.nics[0].vlan",
    mentions: ["VLAN 31", "VLAN 30", "enp2s0.30", "set vlan: 30"],
  },
  // ssh.jump-host-kind
  {
    name: "a Debian jump host",
    rule: "ssh.jump-host-kind",
    edit: (f) => (segOf(f, "lab").hosts.jump.os = "debian"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.jump.os",
    mentions: ["os debian", "NixOS only", "set os: nixos"],
  },
  {
    name: "a physical jump host",
    rule: "ssh.jump-host-kind",
    edit: (f) => delete segOf(f, "lab").hosts.jump.vm,
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.jump.vm",
    mentions: ["physical box", "ens18", "nics: [{ bridge: lab }]"],
  },
  {
    name: "a jump host whose first NIC is passed through",
    rule: "ssh.jump-host-kind",
    edit: (f) => {
      const vm = segOf(f, "cluster").hosts.jump.vm;
      Object.assign(vm, { node: "pve1", nics: [{ passthrough: "nic0" }], ha: false });
      segOf(f, "cluster").hosts["worker-1"].vm.nics = [{ bridge: "cluster" }];
      segOf(f, "cluster").hosts["worker-1"].vm.ha = true;
    },
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.hosts.jump.vm.nics[0]",
    mentions: ["nic0", "ens18", "{ bridge: cluster }"],
  },
  {
    name: "a k8s host outside the cluster",
    rule: "talos.cluster",
    edit: (f) => (segOf(f, "cluster").talos.workers = ["worker-1", "worker-2"]),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.hosts.worker-3.role",
    mentions: ["not in talos.workers", "add worker-3 to talos.workers"],
  },
  {
    name: "a node listed twice",
    rule: "talos.cluster",
    edit: (f) => segOf(f, "cluster").talos.workers.push("worker-1"),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.talos.workers[3]",
    mentions: ["more than once"],
  },
  // services.backends
  {
    name: "unknown backend",
    rule: "services.backends",
    edit: (f) => (segOf(f, "internal").services.grafana.backend.host = "monitr"),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.services.grafana.backend.host",
    mentions: ['did you mean "monitor"?', "truenas"],
  },
  // services.auth
  {
    name: "internet without auth or reason",
    rule: "services.auth",
    edit: (f) => Object.assign(segOf(f, "internal").services.registry, { exposure: "internet", auth: { kind: "none" } }),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.services.registry.auth",
    mentions: ['auth kind "none"', "kind: basic", "kind: app", "reason"],
  },
  // services.auth-enforced
  {
    name: "basic auth on a TCP stream",
    rule: "services.auth-enforced",
    edit: (f) => (segOf(f, "sandbox").services.minecraft.auth = { kind: "basic", realm: "minecraft" }),
    file: "Pulumi.sandbox.yaml",
    path: "homelab:segment.services.minecraft.auth",
    mentions: ["stream module has no basic auth", "tcp connection", "kind: app", "kind: http"],
  },
  {
    name: "basic auth on a UDP stream",
    rule: "services.auth-enforced",
    edit: (f) => (segOf(f, "sandbox").services.valheim.auth = { kind: "basic", realm: "valheim" }),
    file: "Pulumi.sandbox.yaml",
    path: "homelab:segment.services.valheim.auth",
    mentions: ["udp connection", "kind: app"],
  },
  {
    name: "a realm of off",
    rule: "services.auth-enforced",
    edit: (f) => (segOf(f, "sandbox").services.agent.auth = { kind: "basic", realm: "off" }),
    file: "Pulumi.sandbox.yaml",
    path: "homelab:segment.services.agent.auth.realm",
    mentions: ["auth_basic off", "turns basic auth off", "set realm to another name"],
  },
  {
    name: "a realm with a variable",
    rule: "services.auth-enforced",
    edit: (f) => (segOf(f, "sandbox").services.agent.auth = { kind: "basic", realm: "agent $host" }),
    file: "Pulumi.sandbox.yaml",
    path: "homelab:segment.services.agent.auth.realm",
    mentions: ['expands "$"', "variable", "e.g. agent host"],
  },
  // services.auth-bypass (exact messages: tests below)
  {
    name: "the registry behind the proxy's basic auth, pushed to directly by a flow",
    rule: "services.auth-bypass",
    edit: (f) => (segOf(f, "internal").services.registry.auth = { kind: "basic", realm: "registry" }),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.services.registry.auth",
    mentions: [
      "internal/data 5000/tcp is reached with no password",
      "flows reach it past the proxy: Pulumi.internal.yaml homelab:segment.dataHost.registry.clients from lab/mirror-1, lab/mirror-2",
      "auth: { kind: app",
    ],
  },
  {
    name: "another service's DNAT to the same backend port",
    rule: "services.auth-bypass",
    edit: (f) => {
      const seg = segOf(f, "sandbox");
      seg.services.agent.auth = { kind: "basic", realm: "agent" };
      seg.services["agent-raw"] = {
        kind: "tcp",
        description: "the agent UI as a raw stream",
        port: 8081,
        backend: { host: "agent", port: 8080 },
        auth: { kind: "app", note: "none really" },
        exposure: "lab",
      };
    },
    file: "Pulumi.sandbox.yaml",
    path: "homelab:segment.services.agent.auth",
    mentions: [
      "sandbox/agent 8080/tcp",
      "flows reach it past the proxy: Pulumi.sandbox.yaml homelab:segment.services.agent-raw from dmz/proxy",
    ],
  },
  // tls.source
  {
    name: "both acme and manual",
    rule: "tls.source",
    edit: (f) =>
      (lab(f).dmz.tls.manual = {
        certificate: "/var/lib/homelab/tls/full.pem",
        key: "/var/lib/homelab/tls/key.pem",
        expires: "2099-01-01",
      }),
    file: "homelab.yaml",
    path: "dmz.tls",
    mentions: ["both acme and manual", "remove the other"],
  },
  {
    name: "no certificate at all",
    rule: "tls.source",
    edit: (f) => (lab(f).dmz.tls = {}),
    file: "homelab.yaml",
    path: "dmz.tls",
    mentions: [
      "names no certificate",
      "acme: { email, dnsProvider, credentialsSecret, acceptTerms: true }",
      "manual: { certificate, key, expires }",
    ],
  },
  // services.tls (word for word in backend-tls.test.ts)
  {
    name: "a TLS backend with tls: true, verified against nothing",
    rule: "services.tls",
    edit: (f) => (segOf(f, "internal").services.pve.backend.tls = true),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.services.pve.backend.tls",
    mentions: ["names nothing to verify", "tls: { ca: <name> }", "tls: { pin: |", "openssl s_client -connect 10.10.0.21:8006"],
  },
  // tls.backend-cas
  {
    name: "a backend CA that is a pinned appliance certificate, not a CA",
    rule: "tls.backend-cas",
    edit: (f) => {
      const nas = segOf(f, "internal").services.nas.backend.tls;
      lab(f).dmz.backendCas.nas = { description: "the NAS's own certificate", certificate: nas.pin };
    },
    file: "homelab.yaml",
    path: "dmz.backendCas.nas.certificate",
    mentions: ["not a CA certificate", "backend.tls.pin"],
  },
  // tls.expiry
  {
    name: "a manual certificate that has expired",
    rule: "tls.expiry",
    edit: (f) =>
      (lab(f).dmz.tls = {
        manual: { certificate: "/var/lib/homelab/tls/full.pem", key: "/var/lib/homelab/tls/key.pem", expires: "2001-02-03" },
      }),
    file: "homelab.yaml",
    path: "dmz.tls.manual.expires",
    mentions: ["expired", "days ago", "place a renewed certificate", "dmz.tls.acme"],
  },
  {
    name: "a manual certificate whose expiry is no calendar date",
    rule: "tls.expiry",
    edit: (f) =>
      (lab(f).dmz.tls = {
        manual: { certificate: "/var/lib/homelab/tls/full.pem", key: "/var/lib/homelab/tls/key.pem", expires: "2030-02-30" },
      }),
    file: "homelab.yaml",
    path: "dmz.tls.manual.expires",
    mentions: ["not a calendar date", "YYYY-MM-DD"],
  },
  // holes.until
  {
    name: "a temporary hole whose deadline has passed",
    rule: "holes.until",
    edit: (f) => (segOf(f, "sandbox").services.minecraft.until = "2001-02-03T02:00+01:00"),
    file: "Pulumi.sandbox.yaml",
    path: "homelab:segment.services.minecraft.until",
    mentions: [
      "sandbox service minecraft, open to the internet, closed at 2001-02-03 02:00 +01:00",
      "days ago: its firewall no longer lets it through",
      "remove it or extend it: remove service minecraft (and its until), or set until to a later date and time",
    ],
  },
  {
    name: "a temporary flow whose deadline has passed",
    rule: "holes.until",
    edit: (f) =>
      (segOf(f, "internal").flows["night-lab"] = {
        from: ["monitor"],
        to: "lab",
        ports: ["8443/tcp"],
        reason: "one night of load tests against the lab",
        until: "2001-02-03T01:00Z",
      }),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.flows.night-lab.until",
    mentions: ["internal flow night-lab to lab 8443/tcp, closed at 2001-02-03 01:00 UTC", "remove flow night-lab"],
  },
  // tunnel.subnet
  {
    name: "the tunnel subnet overlaps a segment",
    rule: "tunnel.subnet",
    edit: (f) => (lab(f).dmz.tunnel.subnet = "10.40.0.0/16"),
    file: "homelab.yaml",
    path: "dmz.tunnel.subnet",
    mentions: ["10.40.0.0/16 overlaps sandbox's 10.40.0.0/24", "Pulumi.sandbox.yaml homelab:segment.subnet", "e.g. 10.255.0.0/16"],
  },
  // tunnel.addresses
  {
    name: "a router's tunnel address outside the tunnel subnet",
    rule: "tunnel.addresses",
    edit: (f) => (segOf(f, "lab").router.tunnel.address = "10.254.0.13"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.router.tunnel.address",
    mentions: ["lab-fw (lab)'s tunnel address 10.254.0.13 is not inside the tunnel subnet 10.255.0.0/24", "e.g. 10.255.0.2"],
  },
  {
    name: "two ends with one tunnel address",
    rule: "tunnel.addresses",
    edit: (f) => (segOf(f, "sandbox").router.tunnel.address = "10.255.0.1"),
    file: "Pulumi.sandbox.yaml",
    path: "homelab:segment.router.tunnel.address",
    mentions: ["is already the infra host's (homelab.yaml dmz.tunnel.address)", "e.g. 10.255.0.2"],
  },
  // tunnel.keys
  {
    name: "a router with the infra host's public key",
    rule: "tunnel.keys",
    edit: (f) => (segOf(f, "cluster").router.tunnel.publicKey = lab(f).dmz.tunnel.publicKey),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.router.tunnel.publicKey",
    mentions: ["the same public key as the infra host (homelab.yaml dmz.tunnel.publicKey)", "wg genkey | tee wireguard.key | wg pubkey"],
  },
  // tunnel.peers
  {
    name: "a publishing segment's router without a tunnel end",
    rule: "tunnel.peers",
    edit: (f) => delete segOf(f, "sandbox").router.tunnel,
    file: "Pulumi.sandbox.yaml",
    path: "homelab:segment.router.tunnel",
    mentions: ["sandbox publishes agent, minecraft, valheim", "e.g. address: 10.255.0.2", "-s sandbox < wireguard.key"],
  },
  {
    name: "published services and no tunnel",
    rule: "tunnel.peers",
    edit: (f) => delete lab(f).dmz.tunnel,
    file: "homelab.yaml",
    path: "dmz.tunnel",
    mentions: ["cluster, internal, lab, sandbox publish services", "e.g. subnet: 10.255.0.0/24 and address: 10.255.0.1", "-s dmz"],
  },
  // services.ports
  {
    name: "two backends on one WAN port",
    rule: "services.ports",
    edit: (f) => (segOf(f, "internal").services.grafana.wanPort = 5000),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.services.registry.wanPort",
    mentions: ["5000/tcp", "internal-fw (192.168.1.11)", "10.10.0.30:3000", "grafana", "e.g. 5001"],
  },
  {
    name: "a service on WAN port 22",
    rule: "services.ports",
    edit: (f) => (segOf(f, "internal").services.nas.wanPort = 22),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.services.nas.wanPort",
    mentions: ["22/tcp", "jump host", "e.g. 2222"],
  },
  {
    name: "WAN port 22 by default from the backend",
    rule: "services.ports",
    edit: (f) =>
      (segOf(f, "sandbox").services.shell = {
        kind: "tcp",
        description: "a shell",
        port: 2200,
        backend: { host: "games", port: 22 },
        auth: { kind: "app", note: "keys" },
        exposure: "lab",
      }),
    file: "Pulumi.sandbox.yaml",
    path: "homelab:segment.services.shell.wanPort",
    mentions: ["defaults to backend.port", "22/tcp"],
  },
  {
    name: "two streams on one proxy port",
    rule: "services.ports",
    edit: (f) => (segOf(f, "sandbox").services.valheim.port = 47998),
    file: "Pulumi.sandbox.yaml",
    path: "homelab:segment.services.valheim.port",
    mentions: ["47998/udp", "lab service vdi-video", "e.g. 48001"],
  },
  {
    name: "a stream on 443/tcp",
    rule: "services.ports",
    edit: (f) => (segOf(f, "sandbox").services.minecraft.port = 443),
    file: "Pulumi.sandbox.yaml",
    path: "homelab:segment.services.minecraft.port",
    mentions: ["443/tcp", "HTTP"],
  },
  // services.names
  {
    name: "two services, one hostname",
    rule: "services.names",
    edit: (f) => (segOf(f, "internal").services.grafana.hostname = "wiki"),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.services.grafana.hostname",
    mentions: ["wiki.lab.example.net", "cluster service wiki"],
  },
  {
    name: "a service named like the DMZ proxy",
    rule: "services.names",
    edit: (f) => (segOf(f, "lab").services.mirror.hostname = "proxy"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.services.mirror.hostname",
    mentions: ["proxy.lab.example.net", "DMZ's proxy record"],
  },
  {
    name: "a service id named like a router",
    rule: "services.names",
    edit: (f) => {
      const s = segOf(f, "lab").services;
      s["cluster-fw"] = s.mirror;
      delete s.mirror;
    },
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.services.cluster-fw",
    mentions: ["WAN entry of cluster's router"],
  },
  // ssh.jump-hosts
  {
    name: "unknown jump host",
    rule: "ssh.jump-hosts",
    edit: (f) => (segOf(f, "lab").jumpHost = "jmp"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.jumpHost",
    mentions: ['did you mean "jump"?', "set jumpHost to jump"],
  },
  {
    name: "jump host without role jump",
    rule: "ssh.jump-hosts",
    edit: (f) => (segOf(f, "lab").jumpHost = "mirror-1"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.jumpHost",
    mentions: ["role mirror", "role jump"],
  },
  {
    name: "jump host without a host key",
    rule: "ssh.jump-hosts",
    edit: (f) => delete segOf(f, "internal").hosts.jump.sshHostKey,
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.hosts.jump.sshHostKey",
    mentions: ["no sshHostKey", "ssh-keyscan -t ed25519 10.10.0.2"],
  },
  // ssh.host-keys
  {
    name: "NixOS host without a host key",
    rule: "ssh.host-keys",
    edit: (f) => delete segOf(f, "sandbox").hosts.agent.sshHostKey,
    file: "Pulumi.sandbox.yaml",
    path: "homelab:segment.hosts.agent.sshHostKey",
    mentions: ["NixOS", "ssh-keyscan -t ed25519 10.40.0.10"],
  },
  // ssh.keys
  {
    name: "two admins share a key",
    rule: "ssh.keys",
    edit: (f) => lab(f).admins.bob.keys.push(lab(f).admins.alice.keys[0].replace("alice@laptop", "bob@laptop")),
    file: "homelab.yaml",
    path: "admins.bob.keys[1]",
    mentions: ["admin alice", "admins.alice.keys[0]", "attribution"],
  },
  {
    name: "the deploy key is an admin's",
    rule: "ssh.keys",
    edit: (f) => (lab(f).ssh.deploy.key = lab(f).admins.bob.keys[0]),
    file: "homelab.yaml",
    path: "ssh.deploy.key",
    mentions: ["admin bob", "separate deploy key"],
  },
  {
    name: "two hosts share a host key",
    rule: "ssh.keys",
    edit: (f) => (segOf(f, "lab").hosts["mirror-2"].sshHostKey = segOf(f, "lab").hosts["mirror-1"].sshHostKey),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.mirror-2.sshHostKey",
    mentions: ["lab/mirror-1", "clones", "regenerate"],
  },
  {
    name: "an admin named root",
    rule: "ssh.keys",
    edit: (f) => {
      lab(f).admins.root = lab(f).admins.bob;
      delete lab(f).admins.bob;
    },
    file: "homelab.yaml",
    path: "admins.root",
    mentions: ["system account", "root login is refused"],
  },
  {
    name: "the deploy user is an admin",
    rule: "ssh.keys",
    edit: (f) => (lab(f).ssh.deploy.user = "alice"),
    file: "homelab.yaml",
    path: "ssh.deploy.user",
    mentions: ["admins.alice"],
  },
  // flows.targets
  {
    name: "unknown flow target",
    rule: "flows.targets",
    edit: (f) => (segOf(f, "internal").flows["scrape-lab"].to = "lab/vdl"),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.flows.scrape-lab.to",
    mentions: ['did you mean "lab/vdi"?', "set to: lab/vdi"],
  },
  {
    name: "flow to the internet",
    rule: "flows.targets",
    edit: (f) => (segOf(f, "internal").flows["scrape-lab"].to = "internet"),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.flows.scrape-lab.to",
    mentions: ["names nothing", "cluster, internal, lab, sandbox"],
  },
  {
    name: "flow inside its own segment",
    rule: "flows.targets",
    edit: (f) => (segOf(f, "internal").flows["scrape-lab"].to = "internal/data"),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.flows.scrape-lab.to",
    mentions: ["inside internal itself", "never crosses the router"],
  },
  {
    name: "unknown flow source",
    rule: "flows.targets",
    edit: (f) => (segOf(f, "internal").flows["scrape-lab"].from = ["monitor", "monitr"]),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.flows.scrape-lab.from[1]",
    mentions: ['did you mean "monitor"?'],
  },
  // data.* (tests/unit/data-host.test.ts has each rule's exact messages)
  {
    name: "a data host that is no host",
    rule: "data.host",
    edit: (f) => (segOf(f, "internal").dataHost.host = "dta"),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.dataHost.host",
    mentions: ['did you mean "data"?'],
  },
  {
    name: "a database user's source that names nothing",
    rule: "data.sources",
    edit: (f) => (segOf(f, "internal").dataHost.mariadb.users.gitea.from[0] = "cluster/wrker-1"),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.dataHost.mariadb.users.gitea.from[0]",
    mentions: ["write cluster/worker-1"],
  },
  {
    name: "a grant of an undeclared database",
    rule: "data.grants",
    edit: (f) => (segOf(f, "internal").dataHost.mariadb.users.gitea.databases = ["wiki"]),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.dataHost.mariadb.users.gitea.databases[0]",
    mentions: ["add wiki to dataHost.mariadb.databases"],
  },
  {
    name: "an SMB mount of a share the data host lacks",
    rule: "data.storage",
    edit: (f) => (segOf(f, "cluster").storage["media-smb"].export = "films"),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.storage.media-smb.export",
    mentions: ['no Samba share "films"', "declare it under dataHost.samba.shares in Pulumi.internal.yaml"],
  },
  {
    name: "an untrusted registry client without a reason",
    rule: "data.untrusted",
    edit: (f) => segOf(f, "internal").dataHost.registry.clients.push("sandbox"),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.dataHost.registry.reason",
    mentions: ["the untrusted sandbox", "5000/tcp"],
  },
  {
    name: "a Samba user named like the deploy user",
    rule: "data.accounts",
    edit: (f) => {
      segOf(f, "internal").dataHost.samba.users = { deploy: { secret: "sambaDeploy" } };
      segOf(f, "internal").dataHost.samba.shares.media.users = ["deploy"];
    },
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.dataHost.samba.users.deploy",
    mentions: ["the deploy user's login", "deploy-smb"],
  },
  {
    name: "a secret named like a stack key",
    rule: "data.secrets",
    edit: (f) => (segOf(f, "internal").dataHost.samba.users.k8s.secret = "confirmTimeoutSeconds"),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.dataHost.samba.users.k8s.secret",
    mentions: ["homelab:confirmTimeoutSeconds", "such as sambaK8s"],
  },
  // storage.targets
  {
    name: "storage from a whole segment",
    rule: "storage.targets",
    edit: (f) => (segOf(f, "cluster").storage["k8s-nfs"].server = "internal"),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.storage.k8s-nfs.server",
    mentions: ["<segment>/<host>", "e.g. internal/data"],
  },
  {
    name: "storage from the DMZ",
    rule: "storage.targets",
    edit: (f) => (segOf(f, "cluster").storage["k8s-nfs"].server = "dmz/infra"),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.storage.k8s-nfs.server",
    mentions: ["not a host of a segment"],
  },
  {
    name: "unknown storage consumer",
    rule: "storage.targets",
    edit: (f) => (segOf(f, "cluster").storage["media-smb"].consumers = ["worker-1", "worker-4"]),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.storage.media-smb.consumers[1]",
    mentions: ["worker-4", 'did you mean "worker-1"?'],
  },
  // backups.* (tests/unit/backups.test.ts has each rule's exact messages)
  {
    name: "a stateful thing without a backup declaration",
    rule: "backups.declared",
    edit: (f) => delete segOf(f, "internal").backups.mariadb,
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.backups.mariadb",
    mentions: ["internal/mariadb", "MariaDB databases gitea", "kind: dump"],
  },
  {
    name: "a backup of a target nobody declared",
    rule: "backups.references",
    edit: (f) => (segOf(f, "lab").backups["vm:vdi"].target = "nsa"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.backups.vm:vdi.target",
    mentions: ['"nsa"', 'did you mean "nas"?', "write target: nas"],
  },
  {
    name: "a retention shorter than the schedule",
    rule: "backups.retention",
    edit: (f) => (segOf(f, "lab").backups["vm:vdi"].retention = "3d"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.backups.vm:vdi.retention",
    mentions: ["3 days", "weekly sun 04:00", "at least 1 week"],
  },
  {
    name: "a target without an offsite copy or a reason",
    rule: "backups.offsite",
    edit: (f) => delete lab(f).backups.targets.nas.offsite,
    file: "homelab.yaml",
    path: "backups.targets.nas.offsite",
    mentions: ["nas", "offsite: { none:"],
  },
  {
    name: "no repository for the code",
    rule: "backups.code",
    edit: (f) => delete lab(f).backups.code,
    file: "homelab.yaml",
    path: "backups.code",
    mentions: ["repository"],
  },
  // untrusted.reasons
  {
    name: "untrusted mount without a reason",
    rule: "untrusted.reasons",
    edit: (f) =>
      (segOf(f, "sandbox").storage = {
        files: { protocol: "nfs", server: "internal/data", export: "/srv/nfs/agent", consumers: ["agent"] },
      }),
    file: "Pulumi.sandbox.yaml",
    path: "homelab:segment.storage.files.reason",
    mentions: ["untrusted", "2049/tcp", "into internal", "add reason"],
  },
  // services.used-by
  {
    name: "usedBy on an internet service",
    rule: "services.used-by",
    edit: (f) => Object.assign(segOf(f, "lab").services.mirror, { exposure: "internet" }),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.services.mirror.usedBy",
    mentions: ["exposed to the internet, where anyone may use it", "remove usedBy"],
  },
  {
    name: "usedBy names no segment",
    rule: "services.used-by",
    edit: (f) => (segOf(f, "lab").services.mirror.usedBy = ["cluster", "sandbx"]),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.services.mirror.usedBy[1]",
    mentions: ['"sandbx" is not a segment of the lab', 'did you mean "sandbox"?'],
  },
  {
    name: "an untrusted user of a service without authentication or a reason",
    rule: "services.used-by",
    edit: (f) => delete segOf(f, "lab").services.mirror.reason,
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.services.mirror.auth",
    mentions: ["used by the untrusted sandbox", "add reason"],
  },
  // segments.isolated
  {
    name: "an isolated segment's flow into another segment",
    rule: "segments.isolated",
    edit: (f) =>
      (segOf(f, "sandbox").flows = { db: { from: ["agent"], to: "internal/data", ports: ["3306/tcp"], reason: "task state in MariaDB" } }),
    file: "Pulumi.sandbox.yaml",
    path: "homelab:segment.flows.db.to",
    mentions: ["sandbox is isolated", "into internal", "usedBy: [sandbox]"],
  },
  {
    name: "an isolated segment's storage from another segment",
    rule: "segments.isolated",
    edit: (f) =>
      (segOf(f, "sandbox").storage = {
        files: {
          protocol: "nfs",
          server: "internal/data",
          export: "/srv/nfs/agent",
          consumers: ["agent"],
          reason: "the agent's workspace",
        },
      }),
    file: "Pulumi.sandbox.yaml",
    path: "homelab:segment.storage.files.server",
    mentions: ["sandbox is isolated", "2049/tcp into internal"],
  },
  {
    name: "a data host that takes an isolated segment's host as a source",
    rule: "segments.isolated",
    edit: (f) => segOf(f, "internal").dataHost.mariadb.users.gitea.from.push("sandbox/agent"),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.dataHost.mariadb.users.gitea.from[3]",
    mentions: ["takes sandbox/agent as a source, in the isolated sandbox", "set isolated: false in Pulumi.sandbox.yaml"],
  },
  // egress.allowlist
  {
    name: "egress allowlist names a lab host",
    rule: "egress.allowlist",
    edit: (f) => (segOf(f, "sandbox").egress = { allow: ["203.0.113.10", "10.10.0.5:3306/tcp"], reason: "The agent needs the database" }),
    file: "Pulumi.sandbox.yaml",
    path: "homelab:segment.egress.allow[1]",
    mentions: ["10.10.0.5/32", "segment internal (10.10.0.0/24)", "add a flow from sandbox"],
  },
  {
    name: "egress allowlist with internet false",
    rule: "egress.allowlist",
    edit: (f) => {
      segOf(f, "sandbox").internet = false;
      segOf(f, "sandbox").egress = { allow: ["203.0.113.10"], reason: "The agent's one destination" };
    },
    file: "Pulumi.sandbox.yaml",
    path: "homelab:segment.egress",
    mentions: ["internet: false", "set internet: true"],
  },
  // refs.routers
  {
    name: "unknown router box",
    rule: "refs.routers",
    edit: (f) => (segOf(f, "sandbox").router.hardware = "rtr9"),
    file: "Pulumi.sandbox.yaml",
    path: "homelab:segment.router.hardware",
    mentions: ["rtr1, rtr2, rtr3, rtr4"],
  },
  {
    name: "two segments, one router box",
    rule: "refs.routers",
    edit: (f) => (segOf(f, "lab").router.hardware = "rtr2"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.router.hardware",
    mentions: ["already serves cluster", "rtr3"],
  },
  // refs.hardware-segments
  {
    name: "hardware in an unknown segment",
    rule: "refs.hardware-segments",
    edit: (f) => (lab(f).hardware.switches["sw-cluster"].segment = "clustr"),
    file: "homelab.yaml",
    path: "hardware.switches.sw-cluster.segment",
    mentions: ['did you mean "cluster"?'],
  },
  {
    name: "a node bridged into an unknown network",
    rule: "refs.hardware-segments",
    edit: (f) => (node(f, "pve3").networks = ["internal", "lab2"]),
    file: "homelab.yaml",
    path: "hardware.proxmox.nodes.pve3.networks[1]",
    mentions: ['did you mean "lab"?'],
  },
  // refs.dmz-segments
  {
    name: "unknown segment in the DMZ list",
    rule: "refs.dmz-segments",
    edit: (f) => (f["Pulumi.dmz.yaml"].config["homelab:dmz"].segments = ["internal", "cluster", "labb", "sandbox"]),
    file: "Pulumi.dmz.yaml",
    path: "homelab:dmz.segments[2]",
    mentions: ['did you mean "lab"?', "cluster, internal, lab, sandbox"],
  },
  {
    name: "a segment missing from the DMZ list",
    rule: "refs.dmz-segments",
    edit: (f) => (f["Pulumi.dmz.yaml"].config["homelab:dmz"].segments = ["internal", "cluster", "lab"]),
    file: "Pulumi.dmz.yaml",
    path: "homelab:dmz.segments",
    mentions: ["sandbox", "never published", "add it to homelab:dmz.segments: [internal, cluster, lab, sandbox]"],
  },
  {
    name: "a segment listed twice",
    rule: "refs.dmz-segments",
    edit: (f) => f["Pulumi.dmz.yaml"].config["homelab:dmz"].segments.push("lab"),
    file: "Pulumi.dmz.yaml",
    path: "homelab:dmz.segments[4]",
    mentions: ["listed twice"],
  },
  {
    name: "no DMZ stack",
    rule: "refs.dmz-segments",
    edit: (f) => delete f["Pulumi.dmz.yaml"],
    file: "Pulumi.dmz.yaml",
    path: "homelab:dmz",
    mentions: ["DNS, NTP and the reverse proxy", "segments: [cluster, internal, lab, sandbox]"],
  },
  // proxmox.endpoint, images.files, vms.images, vms.memory, vms.macs: exact messages in machines.test.ts
  // proxmox.snippets-ssh: exact message in cloud-init.test.ts
  // talos.no-ssh: exact messages in talos-ssh.test.ts
  {
    name: "SSH opened to a Talos node",
    rule: "talos.no-ssh",
    edit: (f) => (segOf(f, "cluster").hosts["worker-1"].listens = ["22/tcp"]),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.hosts.worker-1.listens[0]",
    mentions: ["Talos node", "Talos runs no sshd"],
  },
  {
    name: "a Debian VM's user data and no SSH user to upload it as",
    rule: "proxmox.snippets-ssh",
    edit: (f) => delete lab(f).hardware.proxmox.sshUser,
    file: "homelab.yaml",
    path: "hardware.proxmox.sshUser",
    mentions: ["sandbox/games gets cloud-init user data", "over SSH only", "add sshUser:"],
  },
  {
    name: "VMs and no API endpoint",
    rule: "proxmox.endpoint",
    edit: (f) => delete lab(f).hardware.proxmox.endpoint,
    file: "homelab.yaml",
    path: "hardware.proxmox.endpoint",
    mentions: ["18 VMs", "https://<host>:8006"],
  },
  {
    name: "a checksum of the wrong length",
    rule: "images.files",
    edit: (f) => (lab(f).hardware.proxmox.images["nixos-25-05"].checksumAlgorithm = "sha512"),
    file: "homelab.yaml",
    path: "hardware.proxmox.images.nixos-25-05.checksum",
    mentions: ["64 hex digits", "sha512 digest has 128", "checksumAlgorithm: sha256"],
  },
  {
    name: "a compressed disk image",
    rule: "images.files",
    edit: (f) => (lab(f).hardware.proxmox.images["debian-12"].url = "https://cloud.debian.org/images/debian-12-genericcloud-amd64.tar.xz"),
    file: "homelab.yaml",
    path: "hardware.proxmox.images.debian-12.url",
    mentions: ["debian-12-genericcloud-amd64.tar.xz", "a .qcow2 or a .raw file"],
  },
  {
    name: "an unknown image",
    rule: "vms.images",
    edit: (f) => (segOf(f, "sandbox").hosts.games.vm.image = "debian-13"),
    file: "Pulumi.sandbox.yaml",
    path: "homelab:segment.hosts.games.vm.image",
    mentions: ['did you mean "debian-12"?'],
  },
  {
    name: "a passthrough VM that balloons",
    rule: "vms.memory",
    edit: (f) => (segOf(f, "lab").hosts.vdi.vm.balloonMiB = 8192),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.vdi.vm.balloonMiB",
    mentions: ["gpu0", "pinned"],
  },
  {
    name: "a further NIC without a MAC",
    rule: "vms.macs",
    edit: (f) => segOf(f, "lab").hosts["mirror-1"].vm.nics.push({ bridge: "lab" }),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.mirror-1.vm.nics[1].mac",
    mentions: ["NIC 1 of lab/mirror-1 has no mac"],
  },
  // maintenance.updates
  {
    name: "a router and its jump host declared in one update window",
    rule: "maintenance.updates",
    edit: (f) => (f["homelab.yaml"].maintenance = { updates: { windows: { "lab-fw": "04:00", "lab-jump": "04:15" } } }),
    file: "homelab.yaml",
    path: "maintenance.updates.windows.lab-jump",
    mentions: [
      "lab-jump's update window (Sun 04:15-04:45) overlaps lab-fw's (04:00-04:30), and they must not restart together: lab-fw is the router of lab and lab-jump its jump host",
      'give lab-jump another window, such as "03:00"',
    ],
  },
  {
    name: "an update window for a box that does not update itself",
    rule: "maintenance.updates",
    edit: (f) => (f["homelab.yaml"].maintenance = { updates: { windows: { "lab-vdj": "04:00" } } }),
    file: "homelab.yaml",
    path: "maintenance.updates.windows.lab-vdj",
    mentions: ['"lab-vdj" is not a box that updates itself', "cluster-fw, cluster-jump"],
  },
  {
    name: "an update window past midnight",
    rule: "maintenance.updates",
    edit: (f) => (f["homelab.yaml"].maintenance = { updates: { windows: { infra: "23:45" } } }),
    file: "homelab.yaml",
    path: "maintenance.updates.windows.infra",
    mentions: ["infra's update window 23:45 runs past midnight (windows are 30 minutes long, all on Sun)", "start it at 23:30 or earlier"],
  },
];

describe("validateLab", () => {
  test("the reference lab has no problems", () => {
    expect(validateLab(labWith(() => undefined))).toEqual([]);
  });

  test("every rule has at least one case, and rule ids are unique", () => {
    const ids = RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...new Set(CASES.map((c) => c.rule))].sort()).toEqual([...ids].sort());
    for (const r of RULES) expect(r.description.length).toBeGreaterThan(40);
  });

  test.each(CASES)("$rule: $name", ({ rule, edit, file, path, mentions }) => {
    const problems = problemsWith(edit);
    const hit = problems.find((p) => p.rule === rule && p.file === file && p.path === path);
    if (!hit) throw new Error(`no ${rule} problem at ${file} ${path}; got:\n${formatProblems(problems)}`);
    const text = `${hit.message}\nfix: ${hit.fix}`;
    for (const m of mentions) expect(text).toContain(m);
    for (const p of problems) {
      expect(p.file).not.toBe("");
      expect(p.path).not.toBe("");
      expect(p.message.length).toBeGreaterThan(10);
      expect(p.fix.length).toBeGreaterThan(5);
    }
  });

  test("several independent problems in different files are all reported in one run", () => {
    const problems = problemsWith((f) => {
      segOf(f, "cluster").hosts["cp-2"].address = "10.20.0.11";
      segOf(f, "lab").hosts["mirror-1"].vm.node = "pve9";
      lab(f).admins.bob.keys.push(lab(f).admins.alice.keys[0]);
      segOf(f, "sandbox").services.minecraft.port = 80;
      f["Pulumi.dmz.yaml"].config["homelab:dmz"].segments = ["internal", "cluster", "lab"];
    });
    const where = problems.map((p) => `${p.rule} ${p.file} ${p.path}`);
    expect(where).toEqual(
      expect.arrayContaining([
        "addresses.unique Pulumi.cluster.yaml homelab:segment.hosts.cp-2.address",
        "vms.references Pulumi.lab.yaml homelab:segment.hosts.mirror-1.vm.node",
        "ssh.keys homelab.yaml admins.bob.keys[1]",
        "services.ports Pulumi.sandbox.yaml homelab:segment.services.minecraft.port",
        "refs.dmz-segments Pulumi.dmz.yaml homelab:dmz.segments",
      ]),
    );
    expect(problems).toEqual(sortProblems(problems));
    expect(validateLab(labWith((f) => (segOf(f, "lab").hosts["mirror-1"].vm.node = "pve9")))).toEqual(
      validateLab(labWith((f) => (segOf(f, "lab").hosts["mirror-1"].vm.node = "pve9"))),
    );
  });

  test("what is allowed stays allowed", () => {
    const allowed: ((f: LabFiles) => void)[] = [
      // internet exposure without auth, with a stated reason
      (f) => {
        Object.assign(segOf(f, "lab").services.mirror, { exposure: "internet", reason: "public package mirror for friends, read-only" });
        delete segOf(f, "lab").services.mirror.usedBy;
      },
      // one port number on both protocols, for two streams
      (f) => (segOf(f, "sandbox").services.minecraft.port = 47998),
      // an untrusted mount with a reason, from a segment that is not isolated (its export is on the data host's disks)
      (f) => {
        Object.assign(segOf(f, "sandbox"), { isolated: false }).storage = {
          files: {
            protocol: "nfs",
            server: "internal/data",
            export: "/srv/nfs/agent",
            consumers: ["agent"],
            reason: "the agent's workspace lives on the data host",
          },
        };
        segOf(f, "internal").backups["nfs:/srv/nfs/agent"] = { kind: "included", in: "vm:data" };
      },
      // a flow to a DMZ service address
      (f) => (segOf(f, "lab").flows = { dns: { to: "dmz/dns", ports: ["853/tcp"], reason: "DNS over TLS from the lab" } }),
      // one physical control plane beside two VMs on different nodes: any one loss leaves 2 of 3
      (f) => delete segOf(f, "cluster").hosts["cp-3"].vm,
    ];
    for (const edit of allowed) expect(problemsWith(edit)).toEqual([]);
  });

  test("the N-1 check stays quiet while VM references dangle (vms.references reports them)", () => {
    const problems = problemsWith((f) => (segOf(f, "sandbox").hosts.agent.vm.node = "pve9"));
    expect(problems.map((p) => p.rule)).toEqual(["vms.references"]);
  });

  test("a VM too large for its node is one problem at its own memoryMiB, with no failover noise about other VMs", () => {
    const problems = problemsWith((f) => (segOf(f, "sandbox").hosts.agent.vm.memoryMiB = 130000));
    expect(problems.map((p) => `${p.rule} ${p.file} ${p.path}`)).toEqual([
      "capacity.nodes Pulumi.sandbox.yaml homelab:segment.hosts.agent.vm.memoryMiB",
    ]);
  });
});

// --- totality: random schema-valid mutations --------------------------------------------------

const SEGMENTS = ["internal", "cluster", "lab", "sandbox"] as const;
/** Names including ones Object.prototype answers to, which a careless lookup would resolve. */
const NAMES = ["internal", "cluster", "lab", "sandbox", "dmz", "pve1", "pve4", "pve9", "jump", "data", "constructor", "tostring", "nope"];
const TARGETS = [
  "dmz",
  "dmz/proxy",
  "dmz/constructor",
  "internal/data",
  "lab",
  "constructor/x",
  "toString",
  "cluster/",
  "/x",
  "a/b/c",
  "internet",
];

const octet = fc.integer({ min: 0, max: 255 });
const anyIp = fc.oneof(
  fc.tuple(fc.constantFrom(10, 20, 30, 40, 50), octet).map(([b, d]) => `10.${b}.0.${d}`),
  octet.map((d) => `192.168.1.${d}`),
  fc.tuple(octet, octet, octet, octet).map((o) => o.join(".")),
);
const anyCidr = fc.constantFrom(
  "10.20.0.0/24",
  "10.10.0.0/16",
  "10.0.0.0/8",
  "192.168.1.0/24",
  "192.168.1.0/30",
  "10.50.0.0/31",
  "10.60.0.7/32",
  "0.0.0.0/0",
  "172.16.0.0/12",
);
const anySeg = fc.constantFrom(...SEGMENTS);
const anyName = fc.constantFrom(...NAMES);

/** Pick a host of a segment by index (the segment may have lost hosts to earlier mutations). */
function hostOf(f: LabFiles, s: string, i: number): any {
  const hosts = Object.values(segOf(f, s).hosts);
  return hosts.length > 0 ? hosts[i % hosts.length] : undefined;
}

type Mutation = (f: LabFiles) => void;
const mutations: fc.Arbitrary<Mutation>[] = [
  fc.tuple(anySeg, fc.nat(), anyIp).map(([s, i, ip]) => (f: LabFiles) => {
    const host = hostOf(f, s, i);
    if (host) host.address = ip;
  }),
  fc.tuple(fc.constantFrom("gateway", "dns", "ntp", "proxy"), anyIp).map(
    ([k, ip]) =>
      (f: LabFiles) =>
        void (lab(f).dmz[k] = ip),
  ),
  anyIp.map((ip) => (f: LabFiles) => void (lab(f).dmz.infra.address = ip)),
  // The tunnel: any subnet, any router's end moved, dropped, or given another end's key.
  anyCidr.map((c) => (f: LabFiles) => {
    if (lab(f).dmz.tunnel) lab(f).dmz.tunnel.subnet = c;
  }),
  fc.constant((f: LabFiles) => {
    delete lab(f).dmz.tunnel;
  }),
  fc.tuple(anySeg, anyIp).map(([s, ip]) => (f: LabFiles) => {
    const r = segOf(f, s).router;
    r.tunnel = { publicKey: "MM2Zdz8Sej4IuT9uKuQOxyCK5oGLg434vBa+ngwEPEk=", ...r.tunnel, address: ip };
  }),
  anySeg.map((s) => (f: LabFiles) => {
    delete segOf(f, s).router.tunnel;
  }),
  anySeg.map((s) => (f: LabFiles) => {
    segOf(f, s).router.tunnel = {
      address: "10.255.0.99",
      publicKey: lab(f).dmz.tunnel?.publicKey ?? "XgzT78mAyBgabcy1lZXJbcMwfiQOlILEdgsztgsiDFs=",
    };
  }),
  fc.tuple(anySeg, fc.constantFrom("wanAddress", "lanAddress"), anyIp).map(
    ([s, k, ip]) =>
      (f: LabFiles) =>
        void (segOf(f, s).router[k] = ip),
  ),
  fc.tuple(anySeg, anyIp, anyIp).map(
    ([s, a, b]) =>
      (f: LabFiles) =>
        void (segOf(f, s).dhcp = { start: a, end: b }),
  ),
  fc.tuple(anySeg, anyCidr).map(
    ([s, c]) =>
      (f: LabFiles) =>
        void (segOf(f, s).subnet = c),
  ),
  anyCidr.map((c) => (f: LabFiles) => void (lab(f).dmz.subnet = c)),
  anyCidr.map((c) => (f: LabFiles) => void (lab(f).ssh.adminSources = [c])),
  fc.tuple(anySeg, fc.nat(), anyName).map(([s, i, n]) => (f: LabFiles) => {
    const vm = hostOf(f, s, i)?.vm;
    if (vm) vm.node = n;
  }),
  fc
    .tuple(
      anySeg,
      fc.nat(),
      fc.oneof(
        anyName.map((n) => ({ bridge: n })),
        fc.constantFrom("nic0", "gpu0", "constructor").map((p) => ({ passthrough: p })),
      ),
    )
    .map(([s, i, nic]) => (f: LabFiles) => {
      const vm = hostOf(f, s, i)?.vm;
      if (vm) vm.nics = [nic];
    }),
  fc.tuple(anySeg, fc.nat(), fc.constantFrom<boolean | undefined>(true, false, undefined)).map(([s, i, ha]) => (f: LabFiles) => {
    const vm = hostOf(f, s, i)?.vm;
    if (!vm) return;
    if (ha === undefined) delete vm.ha;
    else vm.ha = ha;
  }),
  fc.tuple(anySeg, fc.nat(), fc.integer({ min: 100, max: 104 })).map(([s, i, id]) => (f: LabFiles) => {
    const vm = hostOf(f, s, i)?.vm;
    if (vm) vm.vmId = id;
  }),
  fc.tuple(anySeg, fc.nat(), anyName).map(([s, i, ds]) => (f: LabFiles) => {
    const vm = hostOf(f, s, i)?.vm;
    if (vm) vm.disks = { root: { datastore: ds, sizeGiB: 10 } };
  }),
  fc.tuple(anySeg, fc.nat(), fc.constantFrom(1, 64, 512), fc.constantFrom(256, 200000)).map(([s, i, c, m]) => (f: LabFiles) => {
    const vm = hostOf(f, s, i)?.vm;
    if (vm) Object.assign(vm, { cores: c, memoryMiB: m });
  }),
  fc.tuple(fc.constantFrom("pve1", "pve2", "pve3", "pve4", "pve5"), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 64 })).map(
    ([n, mem, res]) =>
      (f: LabFiles) =>
        void Object.assign(node(f, n), { memoryGiB: mem, reservedMemoryGiB: res }),
  ),
  fc.constantFrom(0.1, 1, 4).map((o) => (f: LabFiles) => void (lab(f).hardware.proxmox.cpuOvercommit = o)),
  fc.tuple(fc.constantFrom("pve1", "pve2", "sw-core", "sw-dmz", "truenas"), anyName).map(([id, s]) => (f: LabFiles) => {
    const hw = lab(f).hardware;
    const item = hw.proxmox.nodes[id] ?? hw.switches[id] ?? hw.nas[id];
    item.segment = s;
  }),
  fc.tuple(fc.constantFrom("pve1", "pve2", "pve5"), fc.array(anyName, { minLength: 1, maxLength: 3 })).map(
    ([n, nets]) =>
      (f: LabFiles) =>
        void (node(f, n).networks = nets),
  ),
  fc.tuple(anySeg, fc.nat()).map(([s, i]) => (f: LabFiles) => {
    const hosts: Record<string, unknown> = segOf(f, s).hosts;
    const ids = Object.keys(hosts);
    if (ids.length > 0) {
      const gone = ids[i % ids.length];
      segOf(f, s).hosts = Object.fromEntries(Object.entries(hosts).filter(([id]) => id !== gone));
    }
  }),
  fc.tuple(anySeg, anyName).map(
    ([s, j]) =>
      (f: LabFiles) =>
        void (segOf(f, s).jumpHost = j),
  ),
  fc.tuple(anySeg, anyName).map(
    ([s, b]) =>
      (f: LabFiles) =>
        void (segOf(f, s).router.hardware = b),
  ),
  fc.tuple(anySeg, anyName).map(
    ([s, n]) =>
      (f: LabFiles) =>
        void (segOf(f, s).router.name = n),
  ),
  fc.tuple(fc.array(anyName, { maxLength: 3 }), fc.array(anyName, { maxLength: 3 })).map(
    ([cps, ws]) =>
      (f: LabFiles) =>
        void (segOf(f, "cluster").talos = { ...segOf(f, "cluster").talos, controlPlanes: cps, workers: ws }),
  ),
  fc.tuple(anyName, fc.constantFrom(22, 80, 443, 5000), fc.constantFrom(undefined, 22, 80)).map(([h, p, w]) => (f: LabFiles) => {
    const s = segOf(f, "internal").services.grafana;
    s.backend = { host: h, port: p };
    if (w === undefined) delete s.wanPort;
    else s.wanPort = w;
  }),
  fc.constantFrom(80, 443, 2456, 47998).map((p) => (f: LabFiles) => void (segOf(f, "sandbox").services.minecraft.port = p)),
  fc.tuple(fc.constantFrom(...TARGETS), fc.array(anyName, { maxLength: 2 })).map(
    ([to, from]) =>
      (f: LabFiles) =>
        void (segOf(f, "sandbox").flows = {
          random: {
            to,
            ports: ["80/tcp"],
            reason: "random flow for the property test",
            ...(from.length > 0 ? { from } : {}),
          },
        }),
  ),
  fc.tuple(fc.constantFrom(...TARGETS), fc.array(anyName, { minLength: 1, maxLength: 2 })).map(
    ([server, consumers]) =>
      (f: LabFiles) =>
        void (segOf(f, "sandbox").storage = { s: { protocol: "nfs", server, export: "/x", consumers } }),
  ),
  fc.array(anyName, { minLength: 1, maxLength: 5 }).map((segments) => (f: LabFiles) => {
    const dmz = f["Pulumi.dmz.yaml"];
    if (dmz) dmz.config["homelab:dmz"].segments = segments;
  }),
  fc.constant((f: LabFiles) => {
    delete f["Pulumi.dmz.yaml"];
  }),
  fc.constant((f: LabFiles) => void (lab(f).ssh.deploy.key = lab(f).admins.alice.keys[0])),
];

describe("services.auth-bypass: basic auth is only at the proxy", () => {
  const FIX =
    "make the backend authenticate every client itself (its own login, htpasswd or token auth) and write auth: { kind: app, note: <how it authenticates> }";

  test("a backend that shares its segment with other boxes is refused, naming each of them and the DHCP pool, even with no flow to it", () => {
    const problems = problemsWith((f) => (segOf(f, "sandbox").services.agent.auth = { kind: "basic", realm: "agent" }));
    expect(problems).toEqual([
      {
        file: "Pulumi.sandbox.yaml",
        path: "homelab:segment.services.agent.auth",
        value: { kind: "basic", realm: "agent" },
        rule: "services.auth-bypass",
        message:
          "sandbox service agent relies on the proxy's basic auth, but basic auth exists only at the proxy: its backend sandbox/agent 8080/tcp is reached with no password by every other box on the sandbox network, which needs no router to reach it: sandbox/jump (10.40.0.2), sandbox/games (10.40.0.20) and any device that takes a lease from its DHCP pool 10.40.0.100-10.40.0.199. Nothing the lab models isolates boxes inside a segment (a per-VM firewall)",
        fix: FIX,
      },
    ]);
  });

  test("a flow straight to the backend is named too, after the boxes of the segment", () => {
    const [p, ...rest] = problemsWith((f) => (segOf(f, "internal").services.registry.auth = { kind: "basic", realm: "registry" }));
    expect(rest).toEqual([]);
    expect(p).toEqual({
      file: "Pulumi.internal.yaml",
      path: "homelab:segment.services.registry.auth",
      value: { kind: "basic", realm: "registry" },
      rule: "services.auth-bypass",
      message:
        "internal service registry relies on the proxy's basic auth, but basic auth exists only at the proxy: its backend internal/data 5000/tcp is reached with no password by every other box on the internal network, which needs no router to reach it: internal/jump (10.10.0.2), internal/truenas (10.10.0.5), internal/pve1 (10.10.0.21), internal/pve2 (10.10.0.22), internal/pve3 (10.10.0.23), internal/pve4 (10.10.0.24), internal/pve5 (10.10.0.25), internal/monitor (10.10.0.30), internal/sw-core (10.10.0.250) and any device that takes a lease from its DHCP pool 10.10.0.100-10.10.0.199; and flows reach it past the proxy: Pulumi.internal.yaml homelab:segment.dataHost.registry.clients from lab/mirror-1, lab/mirror-2. Nothing the lab models isolates boxes inside a segment (a per-VM firewall)",
      fix: FIX,
    });
  });

  test("past ten neighbours the rest are counted, not listed", () => {
    const problems = problemsWith((f) => {
      const seg = segOf(f, "sandbox");
      seg.services.agent.auth = { kind: "basic", realm: "agent" };
      for (let i = 1; i <= 10; i++)
        seg.hosts[`box-${i}`] = { role: "server", description: `box ${i}`, address: `10.40.0.${50 + i}`, os: "debian" };
    });
    expect(problems.map((p) => p.rule)).toEqual(["services.auth-bypass"]);
    expect(problems[0]!.message).toContain(
      "needs no router to reach it: sandbox/jump (10.40.0.2), sandbox/games (10.40.0.20), sandbox/box-1 (10.40.0.51), sandbox/box-2 (10.40.0.52), sandbox/box-3 (10.40.0.53), sandbox/box-4 (10.40.0.54), sandbox/box-5 (10.40.0.55), sandbox/box-6 (10.40.0.56), sandbox/box-7 (10.40.0.57), sandbox/box-8 (10.40.0.58), 2 other hosts and any device that takes a lease from its DHCP pool 10.40.0.100-10.40.0.199.",
    );
  });

  test("a backend that authenticates itself (auth: app) passes, with the same neighbours", () => {
    expect(problemsWith((f) => (segOf(f, "sandbox").services.agent.auth = { kind: "app", note: "its own login" }))).toEqual([]);
  });
});

describe("an isolated segment and the users of a lab service, word for word", () => {
  const of = (edit: (f: LabFiles) => void, rule: string) =>
    problemsWith(edit)
      .filter((p) => p.rule === rule)
      .map((p) => [p.file, p.path, p.message, p.fix]);

  test("the reference sandbox is isolated, and nothing it runs has a flow into another segment", () => {
    const plan = planFlows(labWith(() => {}));
    expect(labWith(() => {}).segments.sandbox!.isolated).toBe(true);
    const out = plan.filter((f) => f.from.zone === "sandbox" && f.to.zone !== "sandbox" && f.to.zone !== "dmz" && f.to.zone !== "internet");
    expect(out).toEqual([]);
    // Its only ways out of its own network: the DMZ's DNS, NTP and proxy.
    expect(plan.filter((f) => f.from.zone === "sandbox" && f.to.zone !== "sandbox").map((f) => f.id)).toEqual([
      "dns:sandbox",
      "ntp:sandbox",
      "proxy:sandbox",
    ]);
  });

  test("every way out of an isolated segment into another is refused, each at its own place", () => {
    expect(
      of((f) => {
        segOf(f, "sandbox").flows = { db: { from: ["agent"], to: "internal/data", ports: ["3306/tcp"], reason: "task state in MariaDB" } };
        segOf(f, "sandbox").storage = {
          files: {
            protocol: "nfs",
            server: "internal/data",
            export: "/srv/nfs/agent",
            consumers: ["agent"],
            reason: "the agent's workspace",
          },
        };
        segOf(f, "internal").dataHost.mariadb.users.gitea.from.push("sandbox/agent");
        segOf(f, "internal").dataHost.registry.clients.push("sandbox");
      }, "segments.isolated"),
    ).toEqual([
      [
        "Pulumi.internal.yaml",
        "homelab:segment.dataHost.mariadb.users.gitea.from[3]",
        "MariaDB user gitea on internal/data takes sandbox/agent as a source, in the isolated sandbox: that opens 3306/tcp into internal; an isolated segment opens no flow into another segment",
        "remove sandbox/agent, or set isolated: false in Pulumi.sandbox.yaml",
      ],
      [
        "Pulumi.internal.yaml",
        "homelab:segment.dataHost.registry.clients[2]",
        "the registry on internal/data takes sandbox as a source, in the isolated sandbox: that opens 5000/tcp into internal; an isolated segment opens no flow into another segment",
        "remove sandbox, or set isolated: false in Pulumi.sandbox.yaml",
      ],
      [
        "Pulumi.sandbox.yaml",
        "homelab:segment.flows.db.to",
        "sandbox is isolated, and flow db goes to internal/data, into internal: an isolated segment opens no flow into another segment",
        "remove the flow; publish what sandbox needs as a lab-exposed service with usedBy: [sandbox], which its hosts reach by name through the proxy, or set isolated: false",
      ],
      [
        "Pulumi.sandbox.yaml",
        "homelab:segment.storage.files.server",
        "sandbox is isolated, and storage files mounts NFS /srv/nfs/agent from internal/data, which opens 2049/tcp into internal: an isolated segment opens no flow into another segment",
        "serve the data from inside sandbox, or set isolated: false",
      ],
    ]);
  });

  test("the same openings from a segment that is not isolated: none of them is this rule's", () => {
    expect(
      of((f) => {
        Object.assign(segOf(f, "sandbox"), { isolated: false });
        segOf(f, "sandbox").flows = { db: { from: ["agent"], to: "internal/data", ports: ["3306/tcp"], reason: "task state in MariaDB" } };
        segOf(f, "internal").dataHost.registry.clients.push("sandbox");
      }, "segments.isolated"),
    ).toEqual([]);
    // An isolated segment may still reach the DMZ: that is no other segment.
    expect(
      of(
        (f) => (segOf(f, "sandbox").flows = { dot: { to: "dmz/dns", ports: ["853/tcp"], reason: "DNS over TLS from the sandbox" } }),
        "segments.isolated",
      ),
    ).toEqual([]);
  });

  test("usedBy decides whose proxy flow carries a lab stream's port: the segments it lists, trusted or not, and no other", () => {
    const proxyPorts = (edit: (f: LabFiles) => void) =>
      Object.fromEntries(
        planFlows(labWith(edit))
          .filter((f) => f.kind === "proxy")
          .map((f) => [f.from.zone, f.ports.some((p) => p.port === 8443 && p.proto === "tcp")]),
      );
    const stream = (usedBy?: string[]) => (f: LabFiles) =>
      (segOf(f, "lab").services.builds = {
        kind: "tcp",
        description: "build cache",
        port: 8443,
        backend: { host: "mirror-2", port: 8443 },
        auth: { kind: "app", note: "client certificates" },
        exposure: "lab",
        ...(usedBy ? { usedBy } : {}),
      });
    expect(proxyPorts(stream())).toEqual({ cluster: true, internal: true, lab: true, sandbox: false });
    expect(proxyPorts(stream(["sandbox", "lab"]))).toEqual({ cluster: false, internal: false, lab: true, sandbox: true });
    // An admins stream: no segment's proxy flow carries it, trusted or not.
    expect(proxyPorts((f) => (stream()(f), (segOf(f, "lab").services.builds.exposure = "admins")))).toEqual({
      cluster: false,
      internal: false,
      lab: false,
      sandbox: false,
    });
  });

  test("usedBy: only for a lab service, only segments, and an untrusted user needs authentication or a reason", () => {
    expect(of((f) => Object.assign(segOf(f, "lab").services.mirror, { exposure: "internet" }), "services.used-by")).toEqual([
      [
        "Pulumi.lab.yaml",
        "homelab:segment.services.mirror.usedBy",
        "lab service mirror is exposed to the internet, where anyone may use it; usedBy names the segments that may use a lab-exposed service",
        "remove usedBy, or set exposure: lab to admit only the segments it lists",
      ],
    ]);
    expect(of((f) => (segOf(f, "lab").services.sunshine.usedBy = ["lab"]), "services.used-by")).toEqual([
      [
        "Pulumi.lab.yaml",
        "homelab:segment.services.sunshine.usedBy",
        "lab service sunshine is exposed to the admins' workstations only, which no segment's hosts are; usedBy names the segments that may use a lab-exposed service",
        "remove usedBy, or set exposure: lab to admit the segments it lists besides the admins",
      ],
    ]);
    expect(of((f) => (segOf(f, "lab").services.mirror.usedBy = ["cluster", "sandbx"]), "services.used-by")).toEqual([
      [
        "Pulumi.lab.yaml",
        "homelab:segment.services.mirror.usedBy[1]",
        'lab service mirror\'s user "sandbx" is not a segment of the lab; did you mean "sandbox"? (segments: cluster, internal, lab, sandbox)',
        "name a segment whose hosts use the service through the proxy",
      ],
    ]);
    expect(of((f) => delete segOf(f, "lab").services.mirror.reason, "services.used-by")).toEqual([
      [
        "Pulumi.lab.yaml",
        "homelab:segment.services.mirror.auth",
        'lab service mirror has auth kind "none" and is used by the untrusted sandbox: anything there can use it; a service an untrusted segment uses needs auth kind app or basic, or a stated reason',
        "give it authentication (auth: { kind: app, note: <how the app authenticates> }), or add reason: <why sandbox may use it unauthenticated>, or remove sandbox from usedBy",
      ],
    ]);
    // Trusted users only, or authentication: no reason owed.
    expect(
      of((f) => {
        delete segOf(f, "lab").services.mirror.reason;
        segOf(f, "lab").services.mirror.usedBy = ["cluster", "internal"];
      }, "services.used-by"),
    ).toEqual([]);
  });
});

describe("a manual certificate's expiry, against a given day", () => {
  const manual = (expires: string) =>
    labWith(
      (f) => (lab(f).dmz.tls = { manual: { certificate: "/var/lib/homelab/tls/full.pem", key: "/var/lib/homelab/tls/key.pem", expires } }),
    );
  const expiry = (l: Lab, today: string) =>
    validateLab(l, today)
      .filter((p) => p.rule === "tls.expiry")
      .map((p) => p.message);

  test.each([
    ["2030-06-01", "2030-06-02", "expired 1 day ago"],
    ["2030-06-01", "2030-07-01", "expired 30 days ago"],
  ])("expires %s, today %s: refused (%s)", (expires, today, said) => {
    expect(expiry(manual(expires), today)).toEqual([expect.stringContaining(said)]);
    expect(certificateWarnings(manual(expires), today)).toEqual([]);
  });

  test.each([
    ["2030-06-01", "2030-06-01", "expires in 0 days"],
    ["2030-06-01", "2030-05-31", "expires in 1 day "],
    ["2030-06-01", "2030-05-02", "expires in 30 days"],
  ])("expires %s, today %s: a warning (%s), not a problem", (expires, today, said) => {
    expect(expiry(manual(expires), today)).toEqual([]);
    const warnings = certificateWarnings(manual(expires), today);
    expect(warnings.map((w) => [w.file, w.path])).toEqual([["homelab.yaml", "dmz.tls.manual.expires"]]);
    expect(warnings[0]!.message).toContain(said);
  });

  test("more than 30 days ahead: neither; an ACME certificate: never", () => {
    expect(expiry(manual("2030-06-01"), "2030-05-01")).toEqual([]);
    expect(certificateWarnings(manual("2030-06-01"), "2030-05-01")).toEqual([]);
    const acme = labWith(() => undefined);
    expect(certificateWarnings(acme, "2999-01-01")).toEqual([]);
    expect(expiry(acme, "2999-01-01")).toEqual([]);
  });
});

describe("the tunnel's problems, word for word", () => {
  const tunnelProblems = (edit: (f: LabFiles) => void) =>
    problemsWith(edit)
      .filter((p) => p.rule.startsWith("tunnel."))
      .map(({ rule, file, path, value, message, fix }) => ({ rule, file, path, value, message, fix }));

  test("a router's end that repeats the infra host's address and key: both problems, each at its own path", () => {
    expect(
      tunnelProblems((f) => {
        segOf(f, "lab").router.tunnel = { address: "10.255.0.1", publicKey: lab(f).dmz.tunnel.publicKey };
      }),
    ).toEqual([
      {
        rule: "tunnel.addresses",
        file: "Pulumi.lab.yaml",
        path: "homelab:segment.router.tunnel.address",
        value: "10.255.0.1",
        message:
          "lab-fw (lab)'s tunnel address 10.255.0.1 is already the infra host's (homelab.yaml dmz.tunnel.address); WireGuard routes by address, so every end of the tunnel needs its own",
        fix: "give lab-fw (lab) a free address of the tunnel subnet, e.g. 10.255.0.2",
      },
      {
        rule: "tunnel.keys",
        file: "Pulumi.lab.yaml",
        path: "homelab:segment.router.tunnel.publicKey",
        value: "XgzT78mAyBgabcy1lZXJbcMwfiQOlILEdgsztgsiDFs=",
        message:
          "lab-fw (lab) has the same public key as the infra host (homelab.yaml dmz.tunnel.publicKey); every end of the tunnel has its own key pair, or the two share a private key and WireGuard cannot tell them apart",
        fix: "give lab-fw (lab) a key pair of its own: make a pair with `wg genkey | tee wireguard.key | wg pubkey`, write the printed public key here and store wireguard.key as the stack's secret homelab:wireguardKey (pulumi config set --secret homelab:wireguardKey -s <stack> < wireguard.key)",
      },
    ]);
  });

  test("a router's end without dmz.tunnel, and publishing segments without an end: every one reported", () => {
    expect(
      tunnelProblems((f) => {
        delete lab(f).dmz.tunnel;
        delete segOf(f, "internal").router.tunnel;
      }),
    ).toEqual([
      {
        rule: "tunnel.peers",
        file: "Pulumi.cluster.yaml",
        path: "homelab:segment.router.tunnel",
        value: { address: "10.255.0.12", publicKey: "cvmXAheBmf/9synqwxK0ZSMkgts5yovwSyS2p4q0olk=" },
        message: "cluster-fw declares an end of the tunnel, but homelab.yaml has no dmz.tunnel for it to be part of",
        fix: "add tunnel: { subnet, address, publicKey } under dmz in homelab.yaml, or remove router.tunnel",
      },
      {
        rule: "tunnel.peers",
        file: "Pulumi.internal.yaml",
        path: "homelab:segment.router.tunnel",
        value: undefined,
        message:
          "is required: internal publishes grafana, nas, pve, registry, and internal-fw translates published ports only for the WireGuard tunnel from the infra host",
        fix: "add tunnel: { address, publicKey } under router, with internal-fw's public key (make a pair with `wg genkey | tee wireguard.key | wg pubkey`, write the printed public key here and store wireguard.key as the stack's secret homelab:wireguardKey (pulumi config set --secret homelab:wireguardKey -s internal < wireguard.key))",
      },
      {
        rule: "tunnel.peers",
        file: "Pulumi.lab.yaml",
        path: "homelab:segment.router.tunnel",
        value: { address: "10.255.0.13", publicKey: "MM2Zdz8Sej4IuT9uKuQOxyCK5oGLg434vBa+ngwEPEk=" },
        message: "lab-fw declares an end of the tunnel, but homelab.yaml has no dmz.tunnel for it to be part of",
        fix: "add tunnel: { subnet, address, publicKey } under dmz in homelab.yaml, or remove router.tunnel",
      },
      {
        rule: "tunnel.peers",
        file: "Pulumi.sandbox.yaml",
        path: "homelab:segment.router.tunnel",
        value: { address: "10.255.0.14", publicKey: "wyOPBrjAP3VGuzB8dcS1l7P828TuiVSOIa/VYMXbCAs=" },
        message: "sandbox-fw declares an end of the tunnel, but homelab.yaml has no dmz.tunnel for it to be part of",
        fix: "add tunnel: { subnet, address, publicKey } under dmz in homelab.yaml, or remove router.tunnel",
      },
      {
        rule: "tunnel.peers",
        file: "homelab.yaml",
        path: "dmz.tunnel",
        value: undefined,
        message:
          "is required: cluster, internal, lab, sandbox publish services, and the proxy reaches a firewall's published ports only through a WireGuard tunnel from the infra host (an address on the DMZ proves nothing)",
        fix: "add tunnel: { subnet, address, publicKey } under dmz, e.g. subnet: 10.255.0.0/24 and address: 10.255.0.1, with the infra host's public key, and store its private half with pulumi config set --secret homelab:wireguardKey -s dmz < wireguard.key",
      },
    ]);
  });

  test("the network and broadcast addresses of the tunnel subnet are no end's", () => {
    const messages = tunnelProblems((f) => {
      segOf(f, "lab").router.tunnel.address = "10.255.0.0";
      segOf(f, "sandbox").router.tunnel.address = "10.255.0.255";
    }).map((p) => p.message);
    expect(messages).toEqual([
      "lab-fw (lab)'s tunnel address 10.255.0.0 is the tunnel subnet's network address; a tunnel address is one of 10.255.0.1-10.255.0.254",
      "sandbox-fw (sandbox)'s tunnel address 10.255.0.255 is the tunnel subnet's broadcast address; a tunnel address is one of 10.255.0.1-10.255.0.254",
    ]);
  });
});

describe("validateLab is total", () => {
  test("random schema-valid mutations never make it throw, and a clean result always plans", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(...mutations), { minLength: 1, maxLength: 6 }), (edits) => {
        const files = referenceFiles();
        for (const e of edits) e(files);
        const parsed = parseFiles(files);
        fc.pre(parsed.lab !== undefined);
        const problems = validateLab(parsed.lab);
        for (const p of problems) {
          expect(typeof p.file).toBe("string");
          expect(p.path).not.toBe("");
          expect(p.message).not.toBe("");
          expect(p.fix).not.toBe("");
        }
        if (problems.length === 0) {
          planLab(parsed.lab);
          planDmz(parsed.lab, publishAll(parsed.lab));
        }
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 150) },
    );
  });
});
