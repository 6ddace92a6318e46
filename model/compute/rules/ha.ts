/**
 * Compute rules about HA that really fails over: every datastore has a declared storage
 * type, an HA VM's disks can reach the node it fails over to (node-local ZFS replicated
 * there, or shared storage), a failover node the VM names can take its NICs and disks, and
 * the owner of the lab-wide Proxmox objects is a segment.
 *
 * Proxmox restarts an HA VM on another node from the disks that node has. On node-local
 * storage that is the last replica; storage replication copies only ZFS (zfspool), so an HA
 * VM with a disk on LVM or a directory has nothing to restart from.
 */
import { LAB_FILE, own } from "../../lab";
import { PROXMOX, type VmRef, vmWhere } from "../../lab-index";
import { joinPath, type Problem, problem } from "../../problems";
import { list, type Rule } from "../../rule";
import { didYouMean } from "../../suggest";
import { networkMisfits } from "../failover";
import type { NodeLoad, PlacedVm } from "../placement";
import { singleNode } from "../single-node";

const TYPES = "zfspool, lvmthin, lvm, dir, nfs, cifs, rbd or cephfs";

export const datastoresDeclared: Rule = {
  id: "datastores.declared",
  description:
    "Every datastore a node lists has its storage type in hardware.proxmox.datastores: the type decides whether an HA VM's disks there can follow it to another node (zfspool replicated, nfs/cifs/rbd/cephfs shared).",
  check({ lab }) {
    const { nodes, datastores } = lab.hardware.proxmox;
    const out: Problem[] = [];
    const reported = new Set<string>();
    for (const [id, n] of Object.entries(nodes)) {
      for (const ds of Object.keys(n.storage)) {
        if (own(datastores, ds) !== undefined || reported.has(ds)) continue;
        reported.add(ds);
        const users = Object.entries(nodes)
          .filter(([, m]) => own(m.storage, ds) !== undefined)
          .map(([k]) => k);
        out.push(
          problem(
            { file: LAB_FILE, path: joinPath(PROXMOX, id, `storage.${ds}`) },
            n.storage[ds],
            `datastore ${ds} (on ${list(users)}) has no storage type in hardware.proxmox.datastores; the type decides whether an HA VM's disks on it can follow the VM to another node${didYouMean(ds, Object.keys(datastores))}`,
            `add ${ds}: { type: <its storage.cfg type> } under hardware.proxmox.datastores: ${TYPES}`,
          ),
        );
      }
    }
    return out;
  },
};

export const proxmoxOwner: Rule = {
  id: "proxmox.owner",
  description:
    "hardware.proxmox.owner names a segment of the lab: the one stack that declares the PCI mappings and HA groups every other stack reads from its contract.",
  check({ lab }) {
    const owner = lab.hardware.proxmox.owner;
    if (own(lab.segments, owner)) return [];
    const segments = Object.keys(lab.segments);
    return [
      problem(
        { file: LAB_FILE, path: "hardware.proxmox.owner" },
        owner,
        `the lab-wide Proxmox objects (PCI mappings, HA groups) are owned by "${owner}", which is not a segment${didYouMean(owner, segments)} (segments: ${list(segments)})`,
        `set owner to one of ${list(segments)}: the segment whose stack is deployed first, usually the one with the nodes' management addresses`,
      ),
    ];
  },
};

/** The datastores of `node` that can hold an HA VM's disk: node-local ZFS and shared storage. */
function movableStores(ix: Parameters<Rule["check"]>[0], node: string): string[] {
  const { nodes, datastores } = ix.lab.hardware.proxmox;
  const n = own(nodes, node);
  return Object.keys(n?.storage ?? {}).filter((ds) => {
    const t = own(datastores, ds)?.type;
    return t !== undefined && !["lvmthin", "lvm", "dir"].includes(t);
  });
}

export const haStorage: Rule = {
  id: "ha.storage",
  after: ["vms.references", "datastores.declared"],
  description:
    "An HA VM's disks are on node-local ZFS (replicated to its failover node on a schedule) or on shared storage; a disk on lvmthin, lvm or dir storage cannot be replicated, so the VM could not restart anywhere else. Not checked with one node (ha has no effect).",
  check(ix) {
    if (singleNode(ix.lab) !== undefined) return [];
    const { datastores } = ix.lab.hardware.proxmox;
    const out: Problem[] = [];
    for (const v of ix.placement.nodes.flatMap((n) => n.vms)) {
      if (!v.ha) continue;
      const ref = ix.vmsByName.get(v.name)!;
      for (const [id, d] of Object.entries(ref.vm.disks)) {
        if (v.storage[d.datastore] !== "local") continue;
        const stores = movableStores(ix, v.node);
        out.push(
          problem(
            vmWhere(ref, "disks", id, "datastore"),
            d.datastore,
            `${ref.label} is HA, but its disk ${id} is on ${d.datastore}, ${own(datastores, d.datastore)!.type} storage local to ${v.node} that Proxmox cannot replicate: when ${v.node} fails, no other node has the disk to restart it from`,
            `put the disk on node-local ZFS (zfspool, replicated to its failover node every ${v.replicationMinutes} minutes) or shared storage (nfs, cifs, rbd, cephfs)${stores.length > 0 ? ` (${v.node} has ${list(stores)})` : ""}, or set ha: false and accept that it is down while ${v.node} is`,
          ),
        );
      }
    }
    return out;
  },
};

/** What keeps the failover node `to` from taking `v` at all, whatever its load: NICs and datastores. */
function targetProblems(ref: VmRef, v: PlacedVm, to: NodeLoad, loads: readonly NodeLoad[]): Problem[] {
  const out: Problem[] = [];
  const why = networkMisfits(v, to);
  for (const ds of Object.keys(v.disks)) if (own(to.storageGiB, ds) === undefined) why.push(`no datastore ${ds}`);
  if (why.length === 0) return out;
  const able = loads
    .filter((n) => n.node !== v.node && n.node !== to.node && networkMisfits(v, n).length === 0)
    .filter((n) => Object.keys(v.disks).every((ds) => own(n.storageGiB, ds) !== undefined))
    .map((n) => n.node);
  const add = [
    ...v.networks.filter((x) => !to.networks.includes(x)).map((x) => `${x} to ${PROXMOX}.${to.node}.networks`),
    ...v.nics.flatMap((n) =>
      n.kind === "bridge" && n.vlan !== undefined && to.networks.includes(n.bridge) && !(own(to.vlans, n.bridge) ?? []).includes(n.vlan)
        ? [`${n.vlan} to ${PROXMOX}.${to.node}.vlans.${n.bridge}`]
        : [],
    ),
    ...Object.keys(v.disks)
      .filter((ds) => own(to.storageGiB, ds) === undefined)
      .map((ds) => `datastore ${ds} to ${PROXMOX}.${to.node}.storage`),
  ];
  out.push(
    problem(
      vmWhere(ref, "failover"),
      to.node,
      `${ref.label} fails over to ${to.node}, which cannot run it: ${why.join(", ")}; a VM restarts only where its bridges, VLANs and datastores exist`,
      `${able.length > 0 ? `set failover to a node that has them (${list(able)}), or ` : ""}add ${[...new Set(add)].join(" and ")}`,
    ),
  );
  return out;
}

export const vmFailover: Rule = {
  id: "vms.failover",
  after: ["vms.references"],
  description:
    "A failover node a VM names is another existing node, the VM is HA (a pinned VM never moves), and that node has the VM's bridges, tagged VLANs and datastores; its room is the N-1 check's.",
  check(ix) {
    const out: Problem[] = [];
    const loads = ix.placement.nodes;
    const ids = loads.map((n) => n.node);
    for (const v of loads.flatMap((n) => n.vms)) {
      if (v.failover === undefined) continue;
      const ref = ix.vmsByName.get(v.name)!;
      const others = ids.filter((n) => n !== v.node);
      const to = loads.find((n) => n.node === v.failover);
      if (!v.ha) {
        out.push(
          problem(
            vmWhere(ref, "failover"),
            v.failover,
            `${ref.label} names failover node ${v.failover}, but it is pinned to ${v.node} (${v.passthrough.length > 0 ? `it passes through ${list(v.passthrough)}` : "ha: false"}): it never moves`,
            `remove failover from ${ref.base}`,
          ),
        );
      } else if (v.failover === v.node) {
        out.push(
          problem(
            vmWhere(ref, "failover"),
            v.failover,
            `${ref.label} runs on ${v.node} and names it as its failover node; when ${v.node} fails it must restart on another node`,
            others.length > 0
              ? `set failover to another node (${list(others)}), or leave it out to let the planner choose`
              : `remove failover`,
          ),
        );
      } else if (!to) {
        out.push(
          problem(
            vmWhere(ref, "failover"),
            v.failover,
            `${ref.label} fails over to "${v.failover}", which is not a Proxmox node${didYouMean(v.failover, ids)} (nodes: ${list(ids)})`,
            `set failover to one of ${list(others)}, or leave it out to let the planner choose`,
          ),
        );
      } else out.push(...targetProblems(ref, v, to, loads));
    }
    return out;
  },
};
