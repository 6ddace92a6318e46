/**
 * A lab with one Proxmox node has nowhere to fail over to. That is a choice, not a mistake:
 * it is reported once, as a warning, and neither the N-1 rule (capacity.n-minus-1) nor the
 * etcd quorum spread of talos.cluster has anything to check. `ha` then has no effect, whatever a VM says. It is not an error, because a VM's
 * ha: true states what should happen once a second node exists, and the docs say plainly
 * that no VM survives the node.
 */
import { LAB_FILE, type Lab } from "../lab";
import { problem, type Problem } from "../problems";

/** The only Proxmox node's id, when the lab has exactly one. */
export function singleNode(lab: Lab): string | undefined {
  const ids = Object.keys(lab.hardware.proxmox.nodes);
  return ids.length === 1 ? ids[0] : undefined;
}

/** What `check` and `plan` report without refusing the lab: at most one line per fact. */
export function labWarnings(lab: Lab): Problem[] {
  const node = singleNode(lab);
  if (node === undefined) return [];
  return [
    problem(
      { file: LAB_FILE, path: "hardware.proxmox.nodes" },
      [node],
      `the lab has one Proxmox node (${node}): no VM can fail over, so N-1 and the spread of Talos control planes are not checked and ha has no effect; while ${node} is down, every VM is`,
      "add a second node to hardware.proxmox.nodes for failover, or accept the downtime",
    ),
  ];
}
