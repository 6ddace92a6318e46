/** The Talos domain's part of the schema: a segment's `talos` cluster. */
import { z } from "zod";
import { Ipv4, Name, obj } from "../schema-kit";

/** An Image Factory schematic: what the boot ISO and the installer image carry besides Talos itself. */
export const TalosSchematic = obj({
  /**
   * Official system extensions by name, e.g. `siderolabs/qemu-guest-agent` (which a VM whose image has
   * `guestAgent: true` needs). @default none: the vanilla schematic
   */
  officialExtensions: z
    .array(z.string().regex(/^[a-z0-9-]+\/[a-z0-9.-]+$/, { error: 'must look like "siderolabs/qemu-guest-agent"' }))
    .default([]),
});

export const Talos = obj({
  clusterName: Name,
  /** The Kubernetes API VIP; inside the subnet, outside DHCP. */
  vip: Ipv4,
  controlPlanes: z.array(Name),
  workers: z.array(Name),
  talosVersion: z.string().regex(/^v\d+\.\d+\.\d+$/, { error: 'must look like "v1.13.0"' }),
  kubernetesVersion: z.string().regex(/^v?\d+\.\d+\.\d+$/, { error: 'must look like "1.34.1"' }),
  /**
   * The Image Factory schematic every node boots and installs: its id (a hash of it) is in the
   * nodes' ISO URL and in the installer image of their machine configuration.
   * @default the vanilla schematic (no extensions)
   */
  schematic: TalosSchematic.default({ officialExtensions: [] }),
});
/** A segment's Talos cluster, as configured. */
export type Talos = z.infer<typeof Talos>;
