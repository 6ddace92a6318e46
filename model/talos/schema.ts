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

/**
 * What must stay up while a worker is drained: one workload's PodDisruptionBudget. Its
 * replicas run one per worker (the platform spreads them by host name), so taking k workers
 * down at once takes at most k replicas down. Exactly one of maxUnavailable and minAvailable.
 */
export const DisruptionBudget = obj({
  /** How many replicas the workload runs, at most one per worker. */
  replicas: z.number().int().min(1),
  /** Replicas that may be down at once. */
  maxUnavailable: z.number().int().min(0).optional(),
  /** Replicas that must stay up (the budget is then replicas - minAvailable). */
  minAvailable: z.number().int().min(0).optional(),
});
/** One workload's disruption budget, as configured. */
export type DisruptionBudget = z.infer<typeof DisruptionBudget>;

/** How a version change rolls through the cluster (model/talos/waves.ts). */
export const TalosUpgrade = obj({
  /**
   * Workers upgraded at once, at most; the disruption budgets may allow fewer. Control
   * planes always go one at a time. @default 1
   */
  workersAtOnce: z.number().int().min(1).default(1),
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
  /** How upgrades roll. @default { workersAtOnce: 1 } */
  upgrade: TalosUpgrade.default({ workersAtOnce: 1 }),
  /** What must stay up during a drain, by workload name. @default {} */
  disruptionBudgets: z.record(Name, DisruptionBudget).default({}),
});
/** A segment's Talos cluster, as configured. */
export type Talos = z.infer<typeof Talos>;
