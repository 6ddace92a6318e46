/**
 * Compute rules about each VM: unique ids, existing nodes and datastores, NICs on bridges
 * the node has, and passthrough devices that exist and go to one VM.
 *
 * A passthrough NIC (`{ passthrough: id }`) puts a VM on whatever network the device is
 * cabled to; the model cannot see cables, so such a first NIC is accepted for any segment.
 */
import { own } from "../../lab";
import { PROXMOX, type VmRef, vmDevices, vmWhere } from "../../lab-index";
import { type Problem, problem } from "../../problems";
import { duplicates, list, place, type Rule, type Where } from "../../rule";
import { didYouMean } from "../../suggest";

export const vmIdsUnique: Rule = {
  id: "vm-ids.unique",
  description: "No two VMs (segment hosts and the DMZ infra host) share a Proxmox VM id: ids are cluster-wide.",
  check(ix) {
    const refs = ix.vms;
    const used = new Set(refs.map((r) => r.vm.vmId));
    return duplicates(
      refs.map((r) => ({ ...vmWhere(r, "vmId"), ref: r })),
      (x) => String(x.ref.vm.vmId),
      (dup, first) => {
        let free = dup.ref.vm.vmId + 1;
        while (used.has(free)) free++;
        return problem(
          dup,
          dup.ref.vm.vmId,
          `${dup.ref.label} has VM id ${dup.ref.vm.vmId}, already the id of ${first.ref.label} (${place(first)}); Proxmox VM ids are unique across the cluster`,
          `give ${dup.ref.label} a free VM id, e.g. ${free}`,
        );
      },
    );
  },
};

export const vmReferences: Rule = {
  id: "vms.references",
  description: "Every VM names an existing Proxmox node, and each of its disks a datastore of that node.",
  check(ix) {
    const { lab } = ix;
    const nodes = lab.hardware.proxmox.nodes;
    const out: Problem[] = [];
    for (const ref of ix.vms) {
      const node = own(nodes, ref.vm.node);
      if (!node) {
        out.push(
          problem(
            vmWhere(ref, "node"),
            ref.vm.node,
            `${ref.label} runs on node "${ref.vm.node}", which is not a Proxmox node${didYouMean(ref.vm.node, Object.keys(nodes))} (nodes: ${list(Object.keys(nodes))})`,
            `set node to one of ${list(Object.keys(nodes))}`,
          ),
        );
        continue;
      }
      for (const [d, disk] of Object.entries(ref.vm.disks)) {
        if (own(node.storage, disk.datastore) !== undefined) continue;
        const stores = Object.keys(node.storage);
        out.push(
          problem(
            vmWhere(ref, "disks", d, "datastore"),
            disk.datastore,
            `node ${ref.vm.node} has no datastore "${disk.datastore}"${didYouMean(disk.datastore, stores)} (its datastores: ${list(stores)})`,
            `use one of ${list(stores)}, or add the datastore to ${PROXMOX}.${ref.vm.node}.storage`,
          ),
        );
      }
    }
    return out;
  },
};

export const vmNics: Rule = {
  id: "vms.nics",
  description:
    "A bridge NIC's network is one of its node's networks, and a tagged NIC's VLAN one its node's bridge carries (vlans); a VM's first NIC carries its address, so it bridges into the network the address is in (or is a passthrough NIC, whose cabling the model cannot see).",
  check(ix) {
    const { lab } = ix;
    const out: Problem[] = [];
    for (const ref of ix.vms) {
      const first = ref.vm.nics[0];
      if (first && "bridge" in first && first.bridge !== ref.zone) {
        out.push(
          problem(
            vmWhere(ref, "nics", 0, "bridge"),
            first.bridge,
            `the first NIC of ${ref.label} carries its address ${ref.address}, which is in ${ref.zone}, but it bridges into ${first.bridge}`,
            `set nics[0] to { bridge: ${ref.zone} } (or a passthrough NIC cabled to ${ref.zone})`,
          ),
        );
      }
      const node = own(lab.hardware.proxmox.nodes, ref.vm.node);
      if (!node) continue; // vms.references
      ref.vm.nics.forEach((n, i) => {
        if (!("bridge" in n)) return;
        if (node.networks.includes(n.bridge)) {
          const carried = own(node.vlans, n.bridge) ?? [];
          if (n.vlan !== undefined && !carried.includes(n.vlan)) out.push(vlanProblem(ref, i, n.bridge, n.vlan, carried));
          return;
        }
        const others = ix.nodesWithNetwork(n.bridge);
        out.push(
          problem(
            vmWhere(ref, "nics", i, "bridge"),
            n.bridge,
            `${ref.label} runs on ${ref.vm.node}, which has no bridge into ${n.bridge} (its networks: ${list(node.networks)})`,
            others.length > 0
              ? `move ${ref.label} to a node with a bridge into ${n.bridge} (${list(others)}), or add ${n.bridge} to ${PROXMOX}.${ref.vm.node}.networks`
              : `add ${n.bridge} to ${PROXMOX}.${ref.vm.node}.networks (no node has a bridge into it yet)`,
          ),
        );
      });
    }
    return out;
  },
};

/** A NIC tagged with a VLAN its node's bridge does not carry. */
function vlanProblem(ref: VmRef, i: number, bridge: string, vlan: number, carried: readonly number[]): Problem {
  return problem(
    vmWhere(ref, "nics", i, "vlan"),
    vlan,
    `${ref.label}'s NIC ${i} is tagged VLAN ${vlan} on ${bridge}, but ${ref.vm.node}'s ${bridge} bridge carries ${carried.length > 0 ? `only VLAN ${carried.join(", ")}` : "no tagged VLAN"}`,
    `add ${vlan} to ${PROXMOX}.${ref.vm.node}.vlans.${bridge} (the bridge is VLAN-aware with that vid), or ${carried.length > 0 ? `tag the NIC with one of ${carried.join(", ")}` : "leave vlan out"}`,
  );
}

export const vmPassthrough: Rule = {
  id: "vms.passthrough",
  description:
    "Every passed-through device (a NIC { passthrough: id } or vm.passthrough[]) exists in the VM's node's pci map, a NIC entry names a device of kind nic, each device (and each IOMMU group) goes to one VM only, and a VM with passthrough says ha: false explicitly (it is pinned to its node; ha defaults to true).",
  check(ix) {
    const { lab } = ix;
    const out: Problem[] = [];
    const claimed = new Map<string, { label: string; where: Where }>();
    const groups = new Map<string, { label: string; id: string; where: Where }>();
    for (const ref of ix.vms) {
      const node = own(lab.hardware.proxmox.nodes, ref.vm.node);
      if (!node) continue; // vms.references
      const devices = vmDevices(ref);
      for (const d of devices) {
        const dev = own(node.pci, d.id);
        if (!dev) {
          const known = Object.keys(node.pci);
          const elsewhere = Object.entries(lab.hardware.proxmox.nodes)
            .filter(([id, n]) => id !== ref.vm.node && own(n.pci, d.id))
            .map(([id]) => id);
          out.push(
            problem(
              d.where,
              d.id,
              `node ${ref.vm.node} has no PCI device "${d.id}"${didYouMean(d.id, known)} (${known.length > 0 ? `its devices: ${list(known)}` : "its pci inventory is empty"})${elsewhere.length > 0 ? `; ${list(elsewhere)} ${elsewhere.length === 1 ? "has" : "have"} one` : ""}`,
              elsewhere.length > 0
                ? `move ${ref.label} to ${elsewhere[0]} (node: ${elsewhere[0]})${known.length > 0 ? `, or use a device of ${ref.vm.node}: ${list(known)}` : ""}`
                : `use a device of ${ref.vm.node} (${list(known)}), or add it to ${PROXMOX}.${ref.vm.node}.pci`,
            ),
          );
          continue;
        }
        if (d.nic && dev.kind !== "nic") {
          out.push(
            problem(
              d.where,
              d.id,
              `${ref.vm.node}'s ${d.id} is a ${dev.kind} (${dev.description}), not a NIC; a NIC entry needs a device of kind nic`,
              `pass ${d.id} through under vm.passthrough instead, or name a nic device of ${ref.vm.node}`,
            ),
          );
        }
        const key = `${ref.vm.node}/${d.id}`;
        const prev = claimed.get(key);
        if (prev) {
          out.push(
            problem(
              d.where,
              d.id,
              `${ref.vm.node}'s ${d.id} is already passed through to ${prev.label} (${place(prev.where)}); a device can belong to one VM only`,
              `give ${ref.label} another device of ${ref.vm.node}, or remove it from one of the two VMs`,
            ),
          );
          continue;
        }
        claimed.set(key, { label: ref.label, where: d.where });
        const gkey = `${ref.vm.node}/${dev.iommuGroup}`;
        const g = groups.get(gkey);
        if (g && g.label !== ref.label) {
          out.push(
            problem(
              d.where,
              d.id,
              `${ref.vm.node}'s ${d.id} shares IOMMU group ${dev.iommuGroup} with ${g.id}, which is passed through to ${g.label} (${place(g.where)}); a whole IOMMU group goes to one VM`,
              `pass both devices to the same VM, or use a device in another IOMMU group`,
            ),
          );
        } else if (!g) groups.set(gkey, { label: ref.label, id: d.id, where: d.where });
      }
      if (devices.length > 0 && ref.vm.ha) {
        out.push(
          problem(
            vmWhere(ref, "ha"),
            true,
            `${ref.label} passes through ${list(devices.map((d) => d.id))} of ${ref.vm.node}, so it is pinned to ${ref.vm.node} and cannot be HA-managed; ha defaults to true, so a passthrough VM must say ha: false explicitly`,
            `add ha: false to ${ref.base}`,
          ),
        );
      }
    }
    return out;
  },
};
