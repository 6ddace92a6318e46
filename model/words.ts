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
