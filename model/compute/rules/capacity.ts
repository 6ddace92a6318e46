/**
 * Compute rules about capacity: every node holds its VMs, and every HA VM finds room when
 * any one node fails (N-1). Both read the one placement the planner computes.
 *
 * The N-1 check runs only when every VM names an existing node and datastore (else
 * `vms.references` reports those first), every node holds its own VMs (else every
 * failover onto the full node fails and strands VMs unrelated to the mistake), and the HA
 * rules are clean (an HA VM that cannot move at all is ha.storage's or vms.failover's).
 */
import { LAB_FILE, type Lab } from "../../lab";
import { PROXMOX, type VmRef, vmWhere } from "../../lab-index";
import { compareText } from "../../order";
import { joinPath, type Problem, problem } from "../../problems";
import type { Rule } from "../../rule";
import { type NodeLoad, type PlacedVm } from "../placement";
import { singleNode } from "../single-node";

/** `2 vCPUs, 4096 MiB, local-zfs 32 GiB`. */
export function showVmSize(vm: PlacedVm): string {
  const disks = Object.entries(vm.disks).map(([ds, gib]) => `${ds} ${gib} GiB`);
  return [`${vm.cores} vCPU${vm.cores === 1 ? "" : "s"}`, `${vm.memoryMiB} MiB`, ...disks].join(", ");
}

const free = (n: NodeLoad) => n.memoryMiB - n.usedMemoryMiB;

/** The node with the most free memory other than `except` that could take `mib` more, if any. */
function roomFor(loads: readonly NodeLoad[], except: string, mib: number): NodeLoad | undefined {
  return loads.filter((o) => o.node !== except && free(o) >= mib).sort((a, b) => free(b) - free(a) || compareText(a.node, b.node))[0];
}

/**
 * Memory of one node: a VM that alone asks for more than the node has for VMs is blamed on
 * its own memoryMiB; the node is blamed only when the VMs that would fit alone do not fit together.
 */
function memoryProblems(lab: Lab, n: NodeLoad, mine: readonly VmRef[], loads: readonly NodeLoad[]): Problem[] {
  const hw = lab.hardware.proxmox.nodes[n.node]!;
  const where = `${n.memoryMiB} MiB (${hw.memoryGiB} GiB minus ${hw.reservedMemoryGiB} GiB reserved)`;
  if (hw.reservedMemoryGiB >= hw.memoryGiB) {
    return [
      problem(
        { file: LAB_FILE, path: joinPath(PROXMOX, n.node, "reservedMemoryGiB") },
        hw.reservedMemoryGiB,
        `${n.node} reserves ${hw.reservedMemoryGiB} GiB for the hypervisor out of its ${hw.memoryGiB} GiB, leaving nothing for VMs`,
        `set reservedMemoryGiB below ${hw.memoryGiB} (the default is 8), or correct memoryGiB`,
      ),
    ];
  }
  const out: Problem[] = [];
  const big = mine.filter((r) => r.vm.memoryMiB > n.memoryMiB);
  for (const r of big) {
    const other = r.vm.passthrough.length === 0 ? roomFor(loads, n.node, r.vm.memoryMiB) : undefined;
    out.push(
      problem(
        vmWhere(r, "memoryMiB"),
        r.vm.memoryMiB,
        `${r.label} asks for ${r.vm.memoryMiB} MiB of memory, more than its node ${n.node} has for VMs: ${where}`,
        `lower memoryMiB to at most ${n.memoryMiB}${other ? `, or move it to ${other.node} (${free(other)} MiB free)` : ""}`,
      ),
    );
  }
  const rest = mine.filter((r) => !big.includes(r));
  const used = rest.reduce((a, r) => a + r.vm.memoryMiB, 0);
  if (used > n.memoryMiB) {
    const roomiest = roomFor(loads, n.node, 0);
    out.push(
      problem(
        { file: LAB_FILE, path: joinPath(PROXMOX, n.node, "memoryGiB") },
        hw.memoryGiB,
        `the VMs on ${n.node} need ${used} MiB together but ${n.node} has ${where}: ${rest.map((r) => `${r.label} ${r.vm.memoryMiB}`).join(", ")}`,
        `move VMs with at least ${used - n.memoryMiB} MiB to another node${roomiest ? ` (${roomiest.node} has ${free(roomiest)} MiB free)` : ""}, or lower their memoryMiB`,
      ),
    );
  }
  return out;
}

/** Datastores of one node: a disk larger than its datastore is blamed on its own sizeGiB, the datastore only for disks that fit alone but not together. */
function storageProblems(n: NodeLoad, mine: readonly VmRef[]): Problem[] {
  const out: Problem[] = [];
  for (const [ds, size] of Object.entries(n.storageGiB)) {
    const disks = mine.flatMap((r) =>
      Object.entries(r.vm.disks)
        .filter(([, d]) => d.datastore === ds)
        .map(([id, d]) => ({ r, id, gib: d.sizeGiB })),
    );
    for (const d of disks.filter((x) => x.gib > size)) {
      out.push(
        problem(
          vmWhere(d.r, "disks", d.id, "sizeGiB"),
          d.gib,
          `${d.r.label}'s disk ${d.id} asks for ${d.gib} GiB, more than ${n.node}'s datastore ${ds} holds: ${size} GiB`,
          `lower sizeGiB to at most ${size}, or put the disk on a larger datastore of ${n.node}`,
        ),
      );
    }
    const fit = disks.filter((x) => x.gib <= size);
    const used = fit.reduce((a, x) => a + x.gib, 0);
    if (used <= size) continue;
    out.push(
      problem(
        { file: LAB_FILE, path: joinPath(PROXMOX, n.node, `storage.${ds}`) },
        size,
        `the disks on ${n.node}'s datastore ${ds} need ${used} GiB together but it holds ${size} GiB: ${fit.map((x) => `${x.r.label} ${x.gib}`).join(", ")}`,
        `move disks with at least ${used - size} GiB elsewhere, or shrink them`,
      ),
    );
  }
  return out;
}

export const capacityNodes: Rule = {
  id: "capacity.nodes",
  description:
    "Per node: the VMs' memory fits in (memoryGiB - reservedMemoryGiB) x 1024 MiB, their vCPUs in cpuCores x cpuOvercommit, each VM's cores in cpuCores, and each datastore holds its disks. A VM or disk too large for its node on its own is blamed on its own memoryMiB or sizeGiB, not on the node.",
  check(ix) {
    const { lab } = ix;
    const out: Problem[] = [];
    const refs = ix.vmsByName;
    const { nodes: hardware, cpuOvercommit } = lab.hardware.proxmox;
    // The planner's load per node; VMs on unknown nodes are vms.references' problem.
    const loads = ix.placement.nodes;
    for (const n of loads) {
      const id = n.node;
      const hw = hardware[id]!;
      const mine = n.vms.map((v) => refs.get(v.name)!);
      out.push(...memoryProblems(lab, n, mine, loads));
      if (n.usedVcpus > n.vcpuLimit) {
        out.push(
          problem(
            { file: LAB_FILE, path: joinPath(PROXMOX, id, "cpuCores") },
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
      out.push(...storageProblems(n, mine));
    }
    return out;
  },
};

export const capacityFailover: Rule = {
  id: "capacity.n-minus-1",
  // Meaningless on dangling references (a VM on an unknown node or datastore has no load to
  // move), and noise on a node that cannot hold its own VMs: every failover onto it would be
  // refused, stranding VMs that have nothing to do with the mistake.
  after: ["vms.references", "capacity.nodes", "datastores.declared", "ha.storage", "vms.failover"],
  description:
    "For every node, when it fails, each of its HA VMs is placed on a surviving node (the one it names in failover, else the planner's choice) with the bridges, VLANs, cores, vCPUs, memory and datastores it needs, and room for the replica of its node-local ZFS disks, which stays on that node all the time; pinned VMs are down until their node returns. Runs only when every VM names an existing node and datastore, every node holds its own VMs, every datastore has a type, every HA VM's disks can move and every named failover node can run it, and only with two nodes or more (one node is a warning).",
  check(ix) {
    if (singleNode(ix.lab) !== undefined) return []; // nowhere to fail over to: one warning (labWarnings), not one problem per VM
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
            `add what is missing on one surviving node (memory, vCPUs, a bridge or VLAN, datastore room for its replica), move VMs off it${vm.failover !== undefined ? `, name another failover node than ${vm.failover}` : ""}, or set ha: false on ${ref.label} and accept that it is down while ${f.failed} is`,
          ),
        );
      }
    }
    return out;
  },
};
