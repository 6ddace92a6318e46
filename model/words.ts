/**
 * How a VM's size and placement read in prose: one wording for the docs pages and the
 * plan diff, so the two never describe the same VM differently.
 */

/** MiB as GiB for humans: `16`, `1.5`. */
export function gib(mib: number): string {
  const v = mib / 1024;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/** A VM's disks added up, in GiB (datastore -> GiB). */
export function diskGiB(disks: Readonly<Record<string, number>>): number {
  return Object.values(disks).reduce((a, b) => a + b, 0);
}

/** `HA`, `pinned`, or `pinned (passthrough 0000:01:00.0, ...)`. */
export function placementText(vm: { readonly ha: boolean; readonly passthrough: readonly string[] }): string {
  return vm.ha ? "HA" : `pinned${vm.passthrough.length > 0 ? ` (passthrough ${vm.passthrough.join(", ")})` : ""}`;
}

/** An interval in words: `15 minutes`, `1 hour`, `2 hours`, `1 day`. */
export function minutesText(minutes: number): string {
  const unit = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`;
  if (minutes % 1440 === 0) return unit(minutes / 1440, "day");
  if (minutes % 60 === 0) return unit(minutes / 60, "hour");
  return unit(minutes, "minute");
}

/**
 * What a failover loses, for an HA VM's docs: `up to 15 minutes of writes (replicated every 15
 * minutes)`, or `nothing (shared storage)`.
 */
export function recoveryPointText(failover: { readonly replicationMinutes?: number }): string {
  return failover.replicationMinutes === undefined
    ? "nothing (shared storage)"
    : `up to ${minutesText(failover.replicationMinutes)} of writes (replicated every ${minutesText(failover.replicationMinutes)})`;
}
