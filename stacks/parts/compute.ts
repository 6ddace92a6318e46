/**
 * The segment's VMs on the Proxmox cluster: every host of the segment with a `vm`, with the
 * image files they are installed from and the stack's Proxmox provider. It comes first, so
 * the parts that configure a host (its jump host's release) wait for its VM.
 */
import { OUTPUTS } from "../contracts";
import { declareMachines, machinesOutput } from "../proxmox";
import type { SegmentPart } from "./part";

/** The segment's VMs: the part applies when the model places any of the segment's hosts on the cluster. */
export const compute: SegmentPart = {
  id: "compute",
  applies: ({ planned, segment }) => planned.machines.some((m) => m.stack === segment.name),
  declare({ lab, planned, segment }, provided) {
    // The owner of the lab-wide objects made its provider and mappings first (proxmox-lab-objects).
    const before = {
      ...(provided.proxmox ? { provider: provided.proxmox } : {}),
      ...(provided.mappings ? { mappings: provided.mappings } : {}),
    };
    const declared = declareMachines(lab, planned, segment.name, before)!;
    return {
      provides: { ...(provided.proxmox ? {} : { proxmox: declared.provider }), vms: declared.vms },
      outputs: { [OUTPUTS.vms]: machinesOutput(declared) },
    };
  },
};
