/**
 * The placement table `npm run plan` prints after the resource trees: per Proxmox node, its
 * load now and after each single-node failure, then where each VM goes when its node fails.
 * Text for a terminal; the same facts are in `--json` and on docs/placement.md.
 */
import { failureLoads, type Load, vmFates } from "../model/compute/load";
import type { Placement } from "../model/compute/placement";
import { unreachable } from "../model/unreachable";
import { gib, minutesText } from "../model/words";

/** `68/120 GiB 22/128 vCPU`, with `!` when over a limit. */
function loadText(l: Load): string {
  const over = l.memoryMiB > l.memoryLimitMiB || l.vcpus > l.vcpuLimit ? " !" : "";
  return `${gib(l.memoryMiB)}/${gib(l.memoryLimitMiB)} GiB ${l.vcpus}/${l.vcpuLimit} vCPU${over}`;
}

/** Rows of cells as left-aligned columns two spaces apart, without trailing blanks. */
function columns(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd(),
  );
}

/** The placement table: node loads now and per failure, and every VM's failover. */
export function formatPlacement(placement: Placement): string {
  const loads = failureLoads(placement);
  const failed = placement.failover.map((f) => f.failed);
  const lines = [
    `placement: memory and vCPUs per Proxmox node, now and while one node is down ("!" over a limit)`,
    ...columns([
      ["node", "now", ...failed.map((f) => `${f} down`)],
      ...loads.map((n) => [n.node, loadText(n.now), ...failed.map((f) => (n.after[f] === "down" ? "(down)" : loadText(n.after[f]!)))]),
    ]).map((l) => `  ${l}`),
    "",
    "when its node fails:",
    ...columns([
      ["vm", "node", "then"],
      ...vmFates(placement).map((v) => {
        switch (v.fate.kind) {
          case "restarts":
            return [
              v.vm,
              v.node,
              `restarts on ${v.fate.to}${v.replicationMinutes !== undefined ? `, replicated every ${minutesText(v.replicationMinutes)}` : ", shared storage"}`,
            ];
          case "pinned":
            return [v.vm, v.node, `pinned: down until ${v.node} returns`];
          case "stranded":
            return [v.vm, v.node, "HA, but no other node can take it: down"];
          default:
            return unreachable(v.fate, "VM fate");
        }
      }),
    ]).map((l) => `  ${l}`),
  ];
  return lines.join("\n");
}
