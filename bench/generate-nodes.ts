/**
 * The generated lab's Proxmox cluster: VMs are handed to nodes round-robin (passthrough VMs
 * to the node that has a free device), and once every VM is placed each node is sized to
 * hold its own VMs plus its share of any other node's HA VMs (and room for every replica it
 * may be handed), so every generated lab passes the capacity and N-1 rules however many VMs it has.
 */

/** A VM as the homelab:segment schema writes it. */
export interface VmYaml {
  node: string;
  vmId: number;
  cores: number;
  memoryMiB: number;
  disks: Record<string, { datastore: string; sizeGiB: number }>;
  nics: ({ bridge: string; vlan?: number } | { passthrough: string })[];
  passthrough?: string[];
  ha?: boolean;
}

/** What a VM asks for, before it has a node and an id. */
export interface VmAsk {
  readonly cores: number;
  readonly memoryMiB: number;
  /** Disk id -> GiB, all on local-zfs. */
  readonly disks: Readonly<Record<string, number>>;
  readonly bridge: string;
  readonly vlan?: number;
  /** A device to pass through: a NIC (which becomes the first NIC) or a GPU. */
  readonly device?: "nic" | "gpu";
  /** Pinned to its node without a device (a Talos node, which the model requires to say ha: false). @default false */
  readonly pinned?: boolean;
}

const DATASTORE = "local-zfs";

interface NodeState {
  readonly name: string;
  /** Free devices of this node, by kind. */
  readonly free: { nic: string[]; gpu: string[] };
  readonly vms: { cores: number; memoryMiB: number; diskGiB: number; ha: boolean }[];
}

/** The cluster's nodes and the VMs handed to them. */
export class NodePool {
  private readonly nodes: NodeState[];
  private turn = 0;

  constructor(count: number) {
    this.nodes = Array.from({ length: count }, (_, i) => ({
      name: `pve${i + 1}`,
      // Every node has a spare NIC for a Kubernetes worker; every other node a GPU for a VDI.
      free: { nic: ["nic0"], gpu: i % 2 === 0 ? ["gpu0"] : [] },
      vms: [],
    }));
  }

  get names(): string[] {
    return this.nodes.map((n) => n.name);
  }

  /** Whether a device of `kind` is still free somewhere. */
  hasFree(kind: "nic" | "gpu"): boolean {
    return this.nodes.some((n) => n.free[kind].length > 0);
  }

  /** Place a VM: on the next node in turn, or pinned to a node with the free device it asks for. */
  place(ask: VmAsk, vmId: number): VmYaml {
    let node: NodeState;
    let device: string | undefined;
    if (ask.device && this.hasFree(ask.device)) {
      node = this.nodes.find((n) => n.free[ask.device!].length > 0)!;
      device = node.free[ask.device].shift()!;
    } else {
      node = this.nodes[this.turn++ % this.nodes.length]!;
    }
    const diskGiB = Object.values(ask.disks).reduce((a, b) => a + b, 0);
    const ha = device === undefined && ask.pinned !== true;
    node.vms.push({ cores: ask.cores, memoryMiB: ask.memoryMiB, diskGiB, ha });
    const bridge = { bridge: ask.bridge, ...(ask.vlan !== undefined ? { vlan: ask.vlan } : {}) };
    return {
      node: node.name,
      vmId,
      cores: ask.cores,
      memoryMiB: ask.memoryMiB,
      disks: Object.fromEntries(Object.entries(ask.disks).map(([id, gib]) => [id, { datastore: DATASTORE, sizeGiB: gib }])),
      nics: device !== undefined && ask.device === "nic" ? [{ passthrough: device }] : [bridge],
      ...(device !== undefined && ask.device === "gpu" ? { passthrough: [device] } : {}),
      ...(ha ? {} : { ha: false }),
    };
  }

  /** Each node's hardware, sized for its VMs and for failover: cores, memory, storage and PCI devices. */
  sized(): Record<string, { cpuCores: number; memoryGiB: number; storageGiB: number; pci: Record<string, unknown> }> {
    const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
    const ha = this.nodes.map((n) => n.vms.filter((v) => v.ha));
    const share = (pick: (v: NodeState["vms"][number]) => number, except: number) => {
      const others = ha.filter((_, i) => i !== except).map((vs) => sum(vs.map(pick)));
      const worst = Math.max(0, ...others);
      const largest = Math.max(0, ...ha.flat().map(pick));
      // Twice the even share, plus the largest VM: the planner's greedy failover never runs out.
      return Math.min(worst, Math.ceil((2 * worst) / Math.max(1, this.nodes.length - 1))) + largest;
    };
    const out: ReturnType<NodePool["sized"]> = {};
    this.nodes.forEach((n, i) => {
      const mem = sum(n.vms.map((v) => v.memoryMiB)) + share((v) => v.memoryMiB, i);
      const vcpus = sum(n.vms.map((v) => v.cores)) + share((v) => v.cores, i);
      // Replicas stay on their failover node in every scenario: room for every other node's HA disks.
      const disk = sum(n.vms.map((v) => v.diskGiB)) + sum(ha.filter((_, j) => j !== i).flatMap((vs) => vs.map((v) => v.diskGiB)));
      const maxCores = Math.max(1, ...n.vms.map((v) => v.cores));
      out[n.name] = {
        cpuCores: roundUp(Math.max(maxCores, Math.ceil(vcpus / 4)), 8),
        memoryGiB: roundUp(Math.ceil(mem / 1024) + 8, 32),
        storageGiB: roundUp(disk + 100, 500),
        pci: pciOf(i),
      };
    });
    return out;
  }
}

function roundUp(n: number, step: number): number {
  return Math.max(step, Math.ceil(n / step) * step);
}

/** The PCI devices of node `i`: a NIC on each, a GPU on every other one, in IOMMU groups of their own. */
function pciOf(i: number): Record<string, unknown> {
  const nic = {
    kind: "nic",
    vendorDevice: "8086:1533",
    subsystemId: "8086:0001",
    path: "0000:05:00.0",
    iommuGroup: 18,
    description: "Intel I210 1 GbE",
  };
  const gpu = {
    kind: "gpu",
    vendorDevice: "10de:2504",
    subsystemId: "1458:4074",
    path: "0000:01:00.0",
    iommuGroup: 14,
    description: "NVIDIA RTX 3060 12 GB",
  };
  return i % 2 === 0 ? { gpu0: gpu, nic0: nic } : { nic0: nic };
}
