/** The flow matrix (flows.md): who may talk to whom, on which ports, and why. */
import type { DocsFlow } from "./contract";
import { cell, code, Page, table } from "./markdown";
import { nav, pairAnchor, portsText, segmentPage, zoneOrder, type DocsContext } from "./context";

/** The flow matrix: zone by zone, then every pair of zones with its flows in detail. */
export function renderFlows(ctx: DocsContext): string {
  const from = "flows.md";
  const p = new Page();
  p.heading(1, "Flow matrix");
  p.add(nav(from));
  p.add(
    "Rows are where a connection starts, columns where it goes; each cell lists the ports and the reason. An empty cell (—) is denied. `admin` is the admins' workstations; connections inside one segment stay on its switch and are listed on the diagonal when the model states them. Every flow is derived from a published service, a storage mount, DNS/NTP, the SSH path, or an explicit entry with its reason.",
  );
  const zones = zoneOrder(ctx.segments);
  const pairs = new Map<string, DocsFlow[]>();
  for (const f of ctx.flows) {
    const key = `${f.from.zone}\u0000${f.to.zone}`;
    pairs.set(key, [...(pairs.get(key) ?? []), f]);
  }
  const zoneOf = (z: string) => (z === "dmz" ? "[dmz](dmz.md)" : ctx.segments.some((s) => s.name === z) ? `[${z}](${segmentPage(z)})` : z);
  const rows = zones.map((a) => [
    `**${zoneOf(a)}**`,
    ...zones.map((b) => {
      const flows = pairs.get(`${a}\u0000${b}`);
      if (!flows) return "—";
      const entries = flows.map(
        (f) => `${portsText(f.ports)} ${cell(`${f.from.host ?? f.from.label} → ${f.to.host ?? f.to.label}`)}: ${cell(f.reason)}`,
      );
      return `${entries.join("<br>")}<br>[details](#${pairAnchor(a, b)})`;
    }),
  ]);
  p.add(table(["from \\ to", ...zones.map((z) => `**${z}**`)], rows));
  for (const a of zones) {
    for (const b of zones) {
      const flows = pairs.get(`${a}\u0000${b}`);
      if (!flows) continue;
      p.heading(2, `${a} → ${b}`);
      p.add(
        table(
          ["flow", "kind", "from", "to", "ports", "via", "reason"],
          flows.map((f) => [
            code(f.id),
            f.kind,
            `${cell(f.from.label)} ${f.from.cidrs.map(code).join(" ")}`,
            `${cell(f.to.label)} ${f.to.cidrs.map(code).join(" ")}`,
            portsText(f.ports),
            f.via ? `${cell(f.via.router)} ${code(f.via.address)} ${portsText(f.via.ports)}` : "",
            cell(f.reason),
          ]),
        ),
      );
    }
  }
  return p.text();
}
