/** The service catalog (services.md): every published name and every DNS name. */
import { DNS_RECORD_KIND } from "../model/network/dmz";
import { compareText } from "../model/order";
import { cell, code, Page, table } from "./markdown";
import { authText, nav, segmentPage, type DocsContext } from "./context";

/** The service catalog: every published name with its hops, then every DNS name. */
export function renderServices(ctx: DocsContext): string {
  const from = "services.md";
  const d = ctx.dmz;
  const p = new Page();
  p.heading(1, "Service catalog");
  p.add(nav(from));
  p.add(
    `Every published name leads to the reverse proxy (${code(d.dmz.proxy)}); the proxy forwards to the firewall of the segment that hosts the service, and that firewall translates (DNAT) to the backend, only for connections from the proxy. Lab-only services answer the admin workstations and the segments that use them only: those a service lists in usedBy, else the trusted ones.`,
  );
  p.heading(2, "Published services");
  const services = new Map(ctx.segments.flatMap((s) => s.services.map((svc) => [`${s.name}/${svc.name}`, svc] as const)));
  p.add(
    table(
      ["name", "kind", "exposure", "auth", "DNS", "proxy", "firewall", "backend", "segment", "description"],
      d.catalog.map((c) => {
        const svc = services.get(`${c.segment}/${c.service}`);
        const [host] = c.backend.split(" ") as [string];
        return [
          code(c.kind === "http" ? `https://${c.name}/` : c.name),
          c.kind,
          `${c.exposure}${svc?.usedBy ? ` (used by ${svc.usedBy.map(cell).join(", ")})` : ""}${svc?.until ? `, until ${svc.until.display}` : ""}`,
          cell(authText(c.auth)),
          c.kind === "http" ? `CNAME ${code(`proxy.${d.domain}`)} → ${code(d.dmz.proxy)}` : "by address",
          code(c.kind === "http" ? `${d.dmz.proxy}:443` : c.name),
          `${cell(c.router)} ${code(c.firewall)}`,
          ctx.hostLink(c.segment, host, from, c.backend),
          `[${cell(c.segment)}](${segmentPage(c.segment)}#published-services)`,
          svc ? cell(svc.description) : "",
        ];
      }),
    ),
  );
  temporaryHoles(ctx, p);
  p.heading(2, "Every DNS name");
  p.add(`The DMZ DNS (${code(d.dmz.dns)}) answers these names; anything else is forwarded to ${d.dmz.upstreamDns.map(code).join(", ")}.`);
  const hostOf = new Map<string, [string, string]>();
  for (const s of ctx.segments) for (const h of s.hosts) hostOf.set(h.fqdn, [s.name, h.name]);
  for (const s of ctx.segments) hostOf.set(s.router.fqdn, [s.name, ""]);
  p.add(
    table(
      ["name", "address", "what"],
      d.names.map((n) => {
        const found = hostOf.get(n.name);
        const what = DNS_RECORD_KIND[n.kind];
        const link = found
          ? found[1] === ""
            ? `[${cell(found[0])}'s firewall](${segmentPage(found[0])}#firewall)`
            : ctx.hostLink(found[0], found[1], from, `${found[1]} in ${found[0]}`)
          : "";
        return [code(n.name), code(n.address), link ? `${what}: ${link}` : what];
      }),
    ),
  );
  return p.text();
}

/** Every service and flow with a deadline, soonest first: the holes that close by themselves. */
function temporaryHoles(ctx: DocsContext, p: Page): void {
  p.heading(2, "Temporary holes");
  const rows: { epoch: number; row: string[] }[] = [];
  for (const seg of ctx.segments) {
    for (const svc of seg.services) {
      if (!svc.until) continue;
      rows.push({
        epoch: svc.until.epoch,
        row: [
          `service ${code(svc.name)} of ${cell(seg.name)}`,
          `${svc.exposure} exposure, ${code(svc.url ?? svc.endpoint ?? svc.name)}`,
          svc.until.display,
          code(svc.until.text),
        ],
      });
    }
    const flows = [...seg.flows.inbound, ...seg.flows.outbound, ...seg.flows.inside].filter((f) => f.kind === "explicit" && f.until);
    for (const f of new Map(flows.map((f) => [f.id, f])).values()) {
      rows.push({
        epoch: f.until!.epoch,
        row: [
          `flow ${code(f.id)}`,
          `${cell(f.from.label)} → ${cell(f.to.label)} ${f.ports.map(code).join(", ")}`,
          f.until!.display,
          code(f.until!.text),
        ],
      });
    }
  }
  if (rows.length === 0) {
    p.add("None: every service and every flow is open until the config removes it.");
    return;
  }
  p.add(
    "Each closes by itself at its deadline: the firewall that enforces it drops its connections from that second on (nftables `meta time`), whoever runs `pulumi up`. `npm run check` warns a day before and refuses one whose deadline has passed: remove it or extend it.",
  );
  rows.sort((a, b) => a.epoch - b.epoch || compareText(a.row[0]!, b.row[0]!));
  p.add(
    table(
      ["hole", "what", "closes at", "as written"],
      rows.map((r) => r.row),
    ),
  );
}
