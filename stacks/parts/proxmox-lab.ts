/**
 * The segment's Proxmox objects besides its VMs. Before the VMs: the lab-wide PCI mappings
 * and HA groups when the segment owns them (hardware.proxmox.owner), with the contract that
 * tells every other stack about them, so the owner's own passthrough VMs can wait for their
 * mappings. After the VMs: each HA VM's HA resource, node binding and replication.
 */
import { planHaVms } from "../../model/compute/lab-objects";
import { OUTPUTS } from "../contracts";
import { proxmoxProvider } from "../proxmox";
import { declareHa, declareLabObjects } from "../proxmox-lab";
import { need, type SegmentPart } from "./part";

/** The lab-wide objects, in the owner's stack only, with the stack's Proxmox provider. */
export const proxmoxLabObjects: SegmentPart = {
  id: "proxmox-lab-objects",
  applies: ({ lab, segment }) => lab.hardware.proxmox.owner === segment.name,
  declare({ lab, planned, segment }) {
    const provider = proxmoxProvider(lab, segment.name, planned.machines.filter((m) => m.stack === segment.name).length);
    const objects = declareLabObjects(lab, planned, segment.name, provider)!;
    return { provides: { proxmox: provider, mappings: objects.mappings }, outputs: { [OUTPUTS.proxmox]: objects.contract } };
  },
};

/** Every HA VM of the segment: after the compute part, whose provider and VMs it uses. */
export const proxmoxHa: SegmentPart = {
  id: "proxmox-ha",
  applies: ({ lab, planned, segment }) => planHaVms(lab, planned.placement, segment.name).length > 0,
  declare({ lab, planned, segment }, provided) {
    const provider = need(provided.proxmox, "proxmox-ha", "compute");
    const vms = Object.fromEntries(Object.entries(provided.vms ?? {}).map(([host, vm]) => [host, vm.vm]));
    declareHa(lab, planned, segment.name, provider, vms);
    return {};
  },
};
