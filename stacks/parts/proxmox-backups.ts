/**
 * The cluster's backup jobs of the backup ledger, in the owner's stack only
 * (hardware.proxmox.owner), like the other lab-wide Proxmox objects, with its Proxmox provider.
 */
import { ProxmoxBackups } from "../../components/proxmox-backups";
import { need, type SegmentPart } from "./part";

export const proxmoxBackups: SegmentPart = {
  id: "proxmox-backups",
  applies: ({ lab, planned, segment }) => lab.hardware.proxmox.owner === segment.name && planned.backups.jobs.length > 0,
  declare({ planned, segment }, provided) {
    const provider = need(provided.proxmox, "proxmox-backups", "proxmox-lab-objects");
    new ProxmoxBackups(`${segment.name}-backups`, { jobs: planned.backups.jobs }, { providers: [provider] });
    return {};
  },
};
