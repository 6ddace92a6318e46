/** The index page (README.md): the networks, the topology and the request path of a published name. */
import { comparePorts, parsePortProto, showPort } from "../model/lab";
import type { CatalogEntry, DocsFlow } from "./contract";
import { code, cell, joinWords, Page, table } from "./markdown";
import { segmentPage, type DocsContext, type DocsSource } from "./context";

/** The index: where the docs came from, the pages, the networks, the topology and the request path. */
export function renderIndex(ctx: DocsContext, source: DocsSource): string {
  const p = new Page();
  const d = ctx.dmz;
  p.heading(1, `${d.domain}: how the home lab fits together`);
  p.add(
    source.kind === "offline"
      ? "> **Source: offline**, built from the model in this repository (`homelab.yaml` and `Pulumi.<stack>.yaml`); no stack outputs were read. Regenerate with `npm run docs`; CI fails when these pages are stale."
      : `> **Source: live stack outputs** (\`pulumi stack output docs\`) of ${source.stacks.map(code).join(", ")}. Regenerate with \`npm run docs\`.`,
  );
  p.add(
    [
      `Every network is isolated behind its own firewall. Between networks everything is denied unless a [flow](flows.md) allows it; every flow has a reason.`,
      `Admins reach hosts over SSH with keys only, through each network's jump host ([SSH access](ssh.md)).`,
      `Published names resolve to the reverse proxy in the DMZ, which forwards to the firewall of the network that hosts the service ([service catalog](services.md)).`,
    ].join(" "),
  );
  if (source.kind === "live" && source.drift.length > 0) {
    p.heading(2, "Drift");
    p.add(
      `The deployed docs of ${joinWords(source.drift.map(code))} differ from the model in this commit: what these pages show is what is deployed. Run \`pulumi up\` on ${source.drift.length === 1 ? "that stack" : "those stacks"} (segments before the DMZ), or compare with \`npm run docs -- --source offline --out <dir>\`.`,
    );
  }

  p.heading(2, "Pages");
  p.add(pagesTable(ctx));
  p.heading(2, "Networks");
  p.add(networksTable(ctx));

  p.heading(2, "Topology");
  p.add(topologyDiagram(ctx));
  p.add(
    "Solid lines are links through the firewalls; dashed arrows are storage and explicit flows between networks (published services, DNS, NTP and SSH are on the [flow matrix](flows.md)).",
  );

  p.heading(2, "Request path");
  const example = requestExample(ctx);
  if (example) {
    p.add(
      `A published name resolves at the DMZ DNS to the proxy; the proxy forwards to the WAN address of the segment's firewall; the firewall translates (DNAT) to the backend, and only for connections from the proxy. For example ${code(example.name)}:`,
    );
    p.add(requestDiagram(ctx, example));
    p.add(`Every name and its hops: [service catalog](services.md#published-services).`);
  } else {
    p.add("No segment publishes an HTTP service.");
  }
  return p.text();
}

/** Every page and what it answers. */
function pagesTable(ctx: DocsContext): string {
  return table(
    ["page", "what it answers"],
    [
      ["[DMZ](dmz.md)", "the infra host with DNS, NTP and the reverse proxy; the firewalls' WAN side"],
      ...ctx.segments.map((s) => [
        `[${cell(s.name)}](${segmentPage(s.name)})`,
        `${cell(s.description)}: hosts, addresses, services, who may talk to each host`,
      ]),
      ["[Service catalog](services.md)", "every published name, where it leads and through which firewall; every DNS name"],
      ["[Flow matrix](flows.md)", "who may talk to whom, on which ports, and why"],
      ["[SSH access](ssh.md)", "a ready-to-use SSH client config with ProxyJump for every host, and known_hosts"],
      ["[Placement](placement.md)", "which VM runs on which Proxmox node; capacity and N-1 headroom"],
      [
        "[Maintenance](maintenance.md)",
        "what maintaining each node costs, every VM's weekly downtime against the target, the update windows",
      ],
      ["[Talos](talos.md)", "the Kubernetes cluster"],
    ],
  );
}

/** The DMZ and every segment: subnet, trust, firewall, jump host and counts. */
function networksTable(ctx: DocsContext): string {
  const d = ctx.dmz;
  return table(
    ["network", "subnet", "trust", "firewall", "WAN address", "jump host", "hosts", "published services"],
    [
      [
        "[dmz](dmz.md)",
        code(d.dmz.subnet),
        "edge",
        "ISP edge router (not managed)",
        code(d.dmz.gateway),
        "none: admins reach it directly",
        String(1 + d.dmz.hardware.length),
        "DNS, NTP, reverse proxy",
      ],
      ...ctx.segments.map((s) => [
        `[${cell(s.name)}](${segmentPage(s.name)})`,
        code(s.subnet),
        s.trust,
        `${cell(s.router.name)} (${s.router.linkGbps} Gb/s)`,
        code(s.router.wanAddress),
        `${cell(s.jumpHost.name)} ${code(s.jumpHost.address)}`,
        String(s.hosts.length),
        String(s.services.length),
      ]),
    ],
  );
}

/** A Mermaid node id from parts: letters, digits and `_` only. */
function mid(...parts: string[]): string {
  return parts.map((x) => x.replace(/[^A-Za-z0-9]/g, "_")).join("__");
}

/** A Mermaid label in quotes: the quote character is its one special case. */
function mlabel(text: string): string {
  return `"${text.replace(/"/g, "#quot;")}"`;
}

/** The flow kinds the topology draws as arrows between networks: what hosts mount, log in to or push to. */
const ARROW_KINDS: ReadonlySet<DocsFlow["kind"]> = new Set(["storage", "database", "registry", "explicit"]);

function topologyDiagram(ctx: DocsContext): string {
  const d = ctx.dmz;
  const lines = ["```mermaid", "flowchart TB"];
  lines.push(`  internet((internet)) --- edge[${mlabel(`ISP edge router<br/>${d.dmz.gateway}`)}]`);
  lines.push(`  edge --- dmz`);
  lines.push(`  subgraph dmz[${mlabel(`DMZ ${d.dmz.subnet}`)}]`);
  lines.push(
    `    ${mid("dmz", "infra")}[${mlabel(`infra ${d.dmz.infra.address}<br/>DNS ${d.dmz.dns} · NTP ${d.dmz.ntp} · proxy ${d.dmz.proxy}`)}]`,
  );
  lines.push(`    ${mid("dmz", "admin")}[${mlabel(`admin workstations<br/>${d.adminSources.join(", ")}`)}]`);
  for (const h of d.dmz.hardware) lines.push(`    ${mid("dmz", h.name)}[${mlabel(`${h.name}<br/>${h.address}`)}]`);
  lines.push("  end");
  for (const s of ctx.segments) {
    lines.push(`  dmz --- ${mid("fw", s.name)}[${mlabel(`${s.router.name}<br/>WAN ${s.router.wanAddress} · ${s.router.linkGbps} Gb/s`)}]`);
    lines.push(`  subgraph ${mid("seg", s.name)}[${mlabel(`${s.name} ${s.subnet}${s.trust === "untrusted" ? " (untrusted)" : ""}`)}]`);
    for (const h of s.hosts) lines.push(`    ${mid("h", s.name, h.name)}[${mlabel(`${h.name}<br/>${h.address}`)}]`);
    lines.push("  end");
    lines.push(`  ${mid("fw", s.name)} --- ${mid("seg", s.name)}`);
  }
  // Storage, data-host and explicit flows between networks, one arrow per pair of ends.
  const nodeOf = (e: DocsFlow["from"]): string | undefined => {
    if (e.zone === "dmz")
      return e.host === undefined
        ? "dmz"
        : e.host === "infra" || ["dns", "ntp", "proxy"].includes(e.host)
          ? mid("dmz", "infra")
          : undefined;
    if (!ctx.segments.some((s) => s.name === e.zone)) return undefined;
    return e.host === undefined ? mid("seg", e.zone) : mid("h", e.zone, e.host);
  };
  const edges = new Map<string, { from: string; to: string; ports: Set<string> }>();
  for (const f of ctx.flows) {
    if (!ARROW_KINDS.has(f.kind) || f.from.zone === f.to.zone) continue;
    const from = nodeOf(f.from);
    const to = nodeOf(f.to);
    if (!from || !to) continue;
    const key = `${from} ${to}`;
    const e = edges.get(key) ?? { from, to, ports: new Set<string>() };
    for (const port of f.ports) e.ports.add(port);
    edges.set(key, e);
  }
  for (const key of [...edges.keys()].sort()) {
    const e = edges.get(key)!;
    lines.push(`  ${e.from} -. ${mlabel([...e.ports].map(parsePortProto).sort(comparePorts).map(showPort).join(", "))} .-> ${e.to}`);
  }
  lines.push("```");
  return lines.join("\n");
}

/** The example for the request path: the first internet-exposed HTTP name, else the first HTTP name. */
function requestExample(ctx: DocsContext): CatalogEntry | undefined {
  const http = ctx.dmz.catalog.filter((c) => c.kind === "http");
  return http.find((c) => c.exposure === "internet") ?? http[0];
}

function requestDiagram(ctx: DocsContext, e: CatalogEntry): string {
  const d = ctx.dmz;
  const [backendHost, backendAddress] = e.backend.split(" ") as [string, string];
  // The proxy reaches the firewall at its tunnel address, not its WAN address, when the lab has the tunnel.
  const wan = d.segments.find((s) => s.router === e.router)?.wanAddress;
  const tunnelled = wan !== undefined && wan !== e.firewall.split(":")[0];
  const lines = [
    "```mermaid",
    "sequenceDiagram",
    "  autonumber",
    "  participant C as Client",
    `  participant D as DNS ${d.dmz.dns}`,
    `  participant P as Proxy ${d.dmz.proxy}`,
    `  participant F as ${e.router} ${e.firewall.split(":")[0]!}`,
    `  participant B as ${backendHost} ${backendAddress.split(":")[0]!}`,
    `  C->>D: ${e.name}?`,
    `  D-->>C: CNAME proxy.${d.domain}, A ${d.dmz.proxy}`,
    `  C->>P: HTTPS 443, Host ${e.name}`,
    `  P->>F: ${e.firewall}${tunnelled ? " through the WireGuard tunnel" : ""}${e.auth.kind === "basic" ? " after basic auth" : ""}`,
    `  F->>B: DNAT to ${backendAddress}, only from the ${tunnelled ? "tunnel" : "proxy"}`,
    "  B-->>P: the reply, back through the firewall",
    "  P-->>C: the reply, over HTTPS",
    "```",
  ];
  return lines.join("\n");
}
