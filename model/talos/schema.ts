/** The Talos domain's part of the schema: a segment's `talos` cluster. */
import { z } from "zod";
import { Ipv4, Name, obj } from "../schema-kit";

export const Talos = obj({
  clusterName: Name,
  /** The Kubernetes API VIP; inside the subnet, outside DHCP. */
  vip: Ipv4,
  controlPlanes: z.array(Name),
  workers: z.array(Name),
  talosVersion: z.string().regex(/^v\d+\.\d+\.\d+$/, { error: 'must look like "v1.13.0"' }),
  kubernetesVersion: z.string().regex(/^v?\d+\.\d+\.\d+$/, { error: 'must look like "1.34.1"' }),
});
/** A segment's Talos cluster, as configured. */
export type Talos = z.infer<typeof Talos>;
