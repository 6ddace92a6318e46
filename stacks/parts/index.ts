/**
 * Every part a segment stack may own, in declaration order: a part may read what the
 * parts before it provide. Add a kind of resource (Proxmox VMs, NixOS hosts, a Talos
 * cluster, a Kubernetes platform) as a part here; the dispatcher does not change.
 */
import { compute } from "./compute";
import { contracts } from "./contracts";
import { proxmoxBackups } from "./proxmox-backups";
import { proxmoxHa, proxmoxLabObjects } from "./proxmox-lab";
import { dataHost } from "./data";
import { jumpHost, router } from "./network";
import { nixosBaseHosts } from "./nixos-base";
import type { SegmentPart } from "./part";
import { talosCluster } from "./talos";
import { talosRoll } from "./talos-roll";

export type { OutputName, PartResult, Provided, SegmentPart, SegmentScope } from "./part";

/** The parts, in the order they are declared. */
export const SEGMENT_PARTS: readonly SegmentPart[] = [
  proxmoxLabObjects,
  proxmoxBackups,
  compute,
  proxmoxHa,
  jumpHost,
  router,
  dataHost,
  nixosBaseHosts,
  talosCluster,
  talosRoll,
  contracts,
];
