/**
 * Compute rules about capacity: every node holds its VMs, and every HA VM finds room when
 * any one node fails (N-1). Both read the one placement the planner computes.
 *
 * The N-1 check runs only when every VM names an existing node and datastore; otherwise
 * `vms.references` reports those first and the failover result would be meaningless.
 */
import { LAB_FILE } from "../../lab";
import { PROXMOX, vmWhere } from "../../lab-index";
import { compareText } from "../../order";
import { joinPath, type Problem, problem } from "../../problems";
import type { Rule } from "../../rule";
import { type NodeLoad, type PlacedVm } from "../placement";

/** `2 vCPUs, 4096 MiB, local-zfs 32 GiB`. */
export function showVmSize(vm: PlacedVm): string {
  const disks = Object.entries(vm.disks).map(([ds, gib]) => `${ds} ${gib} GiB`);
  return [`${vm.cores} vCPU${vm.cores === 1 ? "" : "s"}`, `${vm.memoryMiB} MiB`, ...disks].join(", ");
}

export const capacityNodes: Rule = {
  id: "capacity.nodes",
  description:
    "Per node: the VMs' memory fits in (memoryGiB - reservedMemoryGiB) x 1024 MiB, their vCPUs in cpuCores x cpuOvercommit, each VM's cores in cpuCores, and each datastore holds its disks.",
  check(ix) {
    const { lab } = ix;
    const out: Problem[] = [];
    const refs = ix.vmsByName;
    const { nodes: hardware, cpuOvercommit } = lab.hardware.proxmox;
    // The planner's load per node; VMs on unknown nodes are vms.references' problem.
    const loads = ix.placement.nodes;
    const free = (n: NodeLoad) => n.memoryMiB - n.usedMemoryMiB;
    for (const n of loads) {
      const id = n.node;
      const hw = hardware[id]!;
      const mine = n.vms.map((v) => refs.get(v.name)!);
      const p = (key: string) => ({ file: LAB_FILE, path: joinPath(PROXMOX, id, key) });
      if (hw.reservedMemoryGiB >= hw.memoryGiB) {
        out.push(
          problem(
            p("reservedMemoryGiB"),
            hw.reservedMemoryGiB,
            `${id} reserves ${hw.reservedMemoryGiB} GiB for the hypervisor out of its ${hw.memoryGiB} GiB, leaving nothing for VMs`,
            `set reservedMemoryGiB below ${hw.memoryGiB} (the default is 8), or correct memoryGiB`,
          ),
        );
      } else if (n.usedMemoryMiB > n.memoryMiB) {
        const roomiest = loads.filter((o) => o.node !== id).sort((a, b) => free(b) - free(a) || compareText(a.node, b.node))[0];
        out.push(
          problem(
            p("memoryGiB"),
            hw.memoryGiB,
            `the VMs on ${id} need ${n.usedMemoryMiB} MiB but ${id} has ${n.memoryMiB} MiB for VMs (${hw.memoryGiB} GiB minus ${hw.reservedMemoryGiB} GiB reserved): ${mine.map((r) => `${r.label} ${r.vm.memoryMiB}`).join(", ")}`,
            `move VMs with at least ${n.usedMemoryMiB - n.memoryMiB} MiB to another node${roomiest ? ` (${roomiest.node} has ${free(roomiest)} MiB free)` : ""}, or lower their memoryMiB`,
          ),
        );
      }
      if (n.usedVcpus > n.vcpuLimit) {
        out.push(
          problem(
            p("cpuCores"),
            hw.cpuCores,
            `the VMs on ${id} have ${n.usedVcpus} vCPUs but ${id} may hand out ${n.vcpuLimit} (${hw.cpuCores} cores x cpuOvercommit ${cpuOvercommit})`,
            `move VMs with at least ${n.usedVcpus - n.vcpuLimit} vCPUs to another node, or lower their cores`,
          ),
        );
      }
      for (const r of mine) {
        if (r.vm.cores <= n.cpuCores) continue;
        out.push(
          problem(
            vmWhere(r, "cores"),
            r.vm.cores,
            `${r.label} has ${r.vm.cores} cores but its node ${id} has only ${n.cpuCores}; a VM cannot have more vCPUs than its node has threads`,
            `set cores to at most ${n.cpuCores}, or move it to a larger node`,
          ),
        );
      }
      for (const [ds, size] of Object.entries(n.storageGiB)) {
        const used = n.usedStorageGiB[ds] ?? 0;
        if (used <= size) continue;
        const disks = mine.flatMap((r) =>
          Object.values(r.vm.disks)
            .filter((d) => d.datastore === ds)
            .map((d) => `${r.label} ${d.sizeGiB}`),
        );
        out.push(
          problem(
            p(`storage.${ds}`),
            size,
            `the disks on ${id}'s datastore ${ds} need ${used} GiB but it holds ${size} GiB: ${disks.join(", ")}`,
            `move disks with at least ${used - size} GiB elsewhere, or shrink them`,
          ),
        );
      }
    }
    return out;
  },
};

export const capacityFailover: Rule = {
  id: "capacity.n-minus-1",
  // Meaningless on dangling references: a VM on an unknown node or datastore has no load to move.
  after: ["vms.references"],
  description:
    "For every node, when it fails, each of its HA VMs is placed on a surviving node with the network, cores, vCPUs, memory and datastore space it needs (the planner's failover); pinned VMs are down until their node returns. Runs only when every VM names an existing node and datastore.",
  check(ix) {
    const placement = ix.placement;
    const refs = ix.vmsByName;
    const out: Problem[] = [];
    for (const f of placement.failover) {
      const victim = placement.nodes.find((n) => n.node === f.failed);
      for (const name of f.stranded) {
        const vm = victim?.vms.find((v) => v.name === name);
        const ref = refs.get(name);
        if (!vm || !ref) continue;
        out.push(
          problem(
            vmWhere(ref, "ha"),
            true,
            `when ${f.failed} fails, the HA VM ${ref.label} (${showVmSize(vm)}) fits on no surviving node: ${(f.strandedWhy[name] ?? []).join("; ") || "there is no other node"}`,
            `add the missing capacity or bridge on one surviving node, move VMs off it, or set ha: false on ${ref.label} and accept that it is down while ${f.failed} is`,
          ),
        );
      }
    }
    return out;
  },
};
