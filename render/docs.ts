/**
 * The documentation pages: Markdown with Mermaid diagrams, rendered from the stacks' docs
 * contracts only (live outputs or the model's, the pages cannot tell), so the same lab
 * always gives the same bytes. Everything is sorted; no timestamps.
 *
 * Pages: README.md (the index: topology and request path), dmz.md, segments/<name>.md,
 * services.md, flows.md, ssh.md with ssh/ssh_config and ssh/known_hosts, placement.md
 * and talos.md.
 */
import { DNS_RECORD_KIND } from "../model/network/dmz";
import { comparePorts, parsePortProto, showPort } from "../model/lab";
import { compareText } from "../model/order";
import { gib, placementText } from "../model/words";
import { cell, code, DOCS_GENERATOR, githubSlug, joinWords, Page, table } from "./docs-markdown";
import type { CatalogEntry, DmzDocs, DocsAuth, DocsBundle, DocsFlow, DocsHost, DocsSshTarget, SegmentDocs } from "./docs-contract";
import type { TextFile } from "./files";
import { generatedHeader, RULE_DOCS } from "./header";
import { DEFAULT_KNOWN_HOSTS_FILE, SSH_CLIENT_SETTINGS } from "./ssh-client";

/** Where the docs came from, stated on the index. */
export type DocsSource =
  | { readonly kind: "offline" }
  | {
      readonly kind: "live";
      /** The full stack names read, `org/project/stack`. */
      readonly stacks: readonly string[];
      /** Stacks whose deployed docs differ from the model in this commit. */
      readonly drift: readonly string[];
    };

/** Every page of the docs, paths relative to the docs directory, sorted by path. */
export function renderDocs(bundle: DocsBundle, source: DocsSource): TextFile[] {
  const ctx = new DocsContext(bundle);
  const files: TextFile[] = [
    { path: "README.md", content: renderIndex(ctx, source) },
    { path: "dmz.md", content: renderDmzPage(ctx) },
    ...ctx.segments.map((s) => ({ path: segmentPage(s.name), content: renderSegmentPage(ctx, s) })),
    { path: "services.md", content: renderServices(ctx) },
    { path: "flows.md", content: renderFlows(ctx) },
    { path: "ssh.md", content: renderSshPage(ctx) },
    { path: SSH_CONFIG, content: renderLabSshConfig(ctx) },
    { path: KNOWN_HOSTS, content: renderLabKnownHosts(ctx) },
    { path: "placement.md", content: renderPlacement(ctx) },
    { path: "talos.md", content: renderTalos(ctx) },
  ];
  return files.sort((a, b) => compareText(a.path, b.path));
}

const SSH_CONFIG = "ssh/ssh_config";
const KNOWN_HOSTS = "ssh/known_hosts";

/** The page of a segment, relative to the docs root. */
function segmentPage(name: string): string {
  return `segments/${name}.md`;
}

/** The anchor of a host's section on its page. */
function hostAnchor(name: string): string {
  return githubSlug(`Host: ${name}`);
}

/** Zones in matrix order: the outside world first, then the DMZ, then segments by name. */
function zoneOrder(segments: readonly SegmentDocs[]): string[] {
  return ["internet", "admin", "dmz", ...segments.map((s) => s.name)];
}

/** Lookups shared by the pages. */
class DocsContext {
  readonly segments: readonly SegmentDocs[];
  readonly dmz: DmzDocs;
  /** Every flow of the lab, once, sorted by id. */
  readonly flows: readonly DocsFlow[];

  constructor(bundle: DocsBundle) {
    this.segments = [...bundle.segments].sort((a, b) => compareText(a.name, b.name));
    this.dmz = bundle.dmz;
    const byId = new Map<string, DocsFlow>();
    for (const f of [...this.dmz.flows, ...this.segments.flatMap((s) => [...s.flows.inbound, ...s.flows.outbound, ...s.flows.inside])])
      byId.set(f.id, f);
    this.flows = [...byId.values()].sort((a, b) => compareText(a.id, b.id));
  }

  /** A link to a host's section, from a page at `from` (relative path). */
  hostLink(zone: string, host: string, from: string, text = host): string {
    const page = zone === "dmz" ? "dmz.md" : segmentPage(zone);
    if (zone !== "dmz" && !this.segments.some((s) => s.name === zone && s.hosts.some((h) => h.name === host))) return cell(text);
    if (zone === "dmz" && host !== "infra" && !this.dmz.dmz.hardware.some((h) => h.name === host)) return cell(text);
    return `[${cell(text)}](${page === from ? "" : relative(from, page)}#${hostAnchor(host)})`;
  }

  /** Flows that may reach one host: to the host itself (or an address it carries), or to its whole zone. */
  flowsTo(zone: string, host: string): DocsFlow[] {
    // The infra host carries the DMZ's DNS, NTP and proxy addresses.
    const names = zone === "dmz" && host === "infra" ? ["infra", "dns", "ntp", "proxy"] : [host];
    return this.flows.filter((f) => f.to.zone === zone && (f.to.host === undefined || names.includes(f.to.host)));
  }
}

/** A path from one docs file to another. */
function relative(from: string, to: string): string {
  const up = from.split("/").length - 1;
  return `${"../".repeat(up)}${to}`;
}

/** The navigation line at the top of every page. */
function nav(from: string): string {
  const links: [string, string][] = [
    ["Index", "README.md"],
    ["DMZ", "dmz.md"],
    ["Services", "services.md"],
    ["Flows", "flows.md"],
    ["SSH", "ssh.md"],
    ["Placement", "placement.md"],
    ["Talos", "talos.md"],
  ];
  return links.map(([text, to]) => `[${text}](${relative(from, to)})`).join(" · ");
}

function authText(auth: DocsAuth): string {
  switch (auth.kind) {
    case "app":
      return `the application: ${auth.note}`;
    case "basic":
      return `HTTP basic auth at the proxy (realm ${auth.realm})`;
    case "none":
      return "none";
    default: {
      const _exhaustive: never = auth;
      return _exhaustive;
    }
  }
}

function portsText(ports: readonly string[]): string {
  return ports.map(code).join(" ");
}

function viaText(f: DocsFlow): string {
  return f.via ? `via ${f.via.router} ${f.via.address} (${f.via.ports.join(", ")}), translated to the target` : "";
}

function sizeText(h: DocsHost): string {
  if (!h.vm) return "";
  return `${h.vm.cores} vCPU, ${gib(h.vm.memoryMiB)} GiB RAM, ${h.vm.diskGiB} GiB disk`;
}

function hostPlacementText(h: DocsHost): string {
  if (!h.vm) return h.kind === "vip" ? "virtual address" : "physical";
  return placementText(h.vm);
}

function kindText(h: DocsHost): string {
  switch (h.kind) {
    case "vm":
      return h.vm ? `VM ${h.vm.vmId}` : "VM";
    case "node":
      return "Proxmox node";
    case "nas":
      return "NAS";
    case "switch":
      return "switch";
    case "vip":
      return "VIP";
    case "physical":
      return "physical";
    default: {
      const _exhaustive: never = h.kind;
      return _exhaustive;
    }
  }
}

// --- the index --------------------------------------------------------------------------------------

function renderIndex(ctx: DocsContext, source: DocsSource): string {
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
  p.add(
    table(
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
        ["[Talos](talos.md)", "the Kubernetes cluster"],
      ],
    ),
  );

  p.heading(2, "Networks");
  p.add(
    table(
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
    ),
  );

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

/** A Mermaid node id from parts: letters, digits and `_` only. */
function mid(...parts: string[]): string {
  return parts.map((x) => x.replace(/[^A-Za-z0-9]/g, "_")).join("__");
}

/** A Mermaid label in quotes: the quote character is its one special case. */
function mlabel(text: string): string {
  return `"${text.replace(/"/g, "#quot;")}"`;
}

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
  // Storage and explicit flows between networks, one arrow per pair of ends.
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
    if ((f.kind !== "storage" && f.kind !== "explicit") || f.from.zone === f.to.zone) continue;
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
    `  P->>F: ${e.firewall}${e.auth.kind === "basic" ? " after basic auth" : ""}`,
    `  F->>B: DNAT to ${backendAddress}, only from the proxy`,
    "  B-->>P: the reply, back through the firewall",
    "  P-->>C: the reply, over HTTPS",
    "```",
  ];
  return lines.join("\n");
}

// --- the DMZ ---------------------------------------------------------------------------------------

function renderDmzPage(ctx: DocsContext): string {
  const from = "dmz.md";
  const d = ctx.dmz;
  const p = new Page();
  p.heading(1, "DMZ");
  p.add(nav(from));
  p.add(
    `The home network behind the ISP's edge router. The infra host serves DNS, NTP and the reverse proxy on addresses of their own, so a service can move to another host without renumbering every client. Each segment's firewall has its WAN side here.`,
  );
  p.add(
    table(
      ["", ""],
      [
        ["subnet", code(d.dmz.subnet)],
        ["gateway", `${code(d.dmz.gateway)} (the ISP edge router, not managed)`],
        ["DNS", `${code(d.dmz.dns)} (\`dns.${d.domain}\`), forwarding to ${d.dmz.upstreamDns.map(code).join(", ")}`],
        ["NTP", `${code(d.dmz.ntp)} (\`ntp.${d.domain}\`), following ${d.dmz.upstreamNtp.map(code).join(", ")}`],
        ["reverse proxy", `${code(d.dmz.proxy)} (\`proxy.${d.domain}\`): every published name, see the [service catalog](services.md)`],
        ["admin workstations", `${d.adminSources.map(code).join(", ")}: the only sources of SSH into the lab`],
        ["admins", d.admins.map((a) => `${cell(a.name)} (${cell(a.fullName)})`).join(", ")],
        ["time zone", cell(d.timezone)],
      ],
    ),
  );
  p.heading(2, "Addresses");
  const rows: string[][] = [
    [ctx.hostLink("dmz", "infra", from), code(d.dmz.infra.address), "infra host (NixOS VM)", cell(d.dmz.infra.description)],
    ["dns", code(d.dmz.dns), "service address on infra", "DNS (dnsmasq)"],
    ["ntp", code(d.dmz.ntp), "service address on infra", "NTP (chrony)"],
    ["proxy", code(d.dmz.proxy), "service address on infra", "reverse proxy (nginx)"],
    ["edge", code(d.dmz.gateway), "ISP edge router", "not managed"],
    ...d.dmz.hardware.map((h) => [ctx.hostLink("dmz", h.name, from), code(h.address), kindText(h), cell(h.description)]),
    ...ctx.segments.map((s) => [
      `[${cell(s.router.name)}](${segmentPage(s.name)}#firewall)`,
      code(s.router.wanAddress),
      `WAN side of ${cell(s.name)}'s firewall`,
      `forwards published ports and SSH (port 22, admins only) into ${cell(s.name)}`,
    ]),
  ];
  p.add(table(["name", "address", "what", "description"], rows));

  p.heading(2, `Host: infra`);
  hostDetails(p, ctx, from, "dmz", d.dmz.infra, {
    ssh: `\`ssh ${d.dmz.infra.sshAlias!}\`: straight from an admin workstation (${d.adminSources.map(code).join(", ")}) to ${code(d.dmz.infra.address)} port 22, no jump host`,
    // On the DMZ's own network: the infra host's firewall admits SSH from the admin workstations only.
    who: [
      [
        "admin workstations",
        code("22/tcp"),
        "admins log in to the infra host; its own firewall admits the admin workstations only",
        "the infra host's firewall",
      ],
    ],
  });
  for (const h of d.dmz.hardware) {
    p.heading(2, `Host: ${h.name}`);
    hostDetails(p, ctx, from, "dmz", h, {});
  }
  return p.text();
}

/** The facts of one host and who may talk to it. */
function hostDetails(p: Page, ctx: DocsContext, from: string, zone: string, h: DocsHost, extra: { ssh?: string; who?: string[][] }): void {
  const facts: string[][] = [
    ["address", code(h.address)],
    ["name", code(h.fqdn)],
    ...(h.mac ? [["MAC", code(h.mac)]] : []),
    ["role", cell(h.role)],
    ["OS", cell(h.os)],
    ["what", `${kindText(h)}: ${cell(h.description)}`],
  ];
  if (h.vm) {
    facts.push(["runs on", `Proxmox node ${cell(h.vm.node)} ([placement](${relative(from, "placement.md")}#vms)), ${sizeText(h)}`]);
    facts.push([
      "when its node fails",
      h.vm.ha
        ? "HA: it restarts on another node"
        : `pinned${h.vm.passthrough.length > 0 ? ` (passes through ${h.vm.passthrough.join(", ")})` : ""}: down until ${cell(h.vm.node)} returns`,
    ]);
  }
  if (h.listens.length > 0) facts.push(["serves", portsText(h.listens)]);
  facts.push([
    "SSH",
    extra.ssh ?? (h.sshAlias ? `\`ssh ${h.sshAlias}\` ([how](${relative(from, "ssh.md")}))` : "no SSH login (no sshd an admin logs in to)"),
  ]);
  p.add(table(["", ""], facts));
  const flows = ctx.flowsTo(zone, h.name);
  const rows = [
    ...(extra.who ?? []),
    ...flows.map((f) => [
      cell(f.from.label),
      `${portsText(f.ports)}${f.via ? ` (at ${code(f.via.address)} ${f.via.ports.join(", ")})` : ""}`,
      cell(f.reason),
      `[${code(f.id)}](${relative(from, "flows.md")}#${pairAnchor(f.from.zone, f.to.zone)})`,
    ]),
  ];
  p.add(
    rows.length === 0
      ? "Who may talk to it: nobody from another network (no flow targets it); hosts on the same network switch reach it directly."
      : `Who may talk to it (from other networks, or the flows its network allows inside; everything else is denied at the firewall):\n\n${table(["from", "ports", "reason", "flow"], rows)}`,
  );
}

// --- a segment -------------------------------------------------------------------------------------

function renderSegmentPage(ctx: DocsContext, s: SegmentDocs): string {
  const from = segmentPage(s.name);
  const p = new Page();
  p.heading(1, `${s.name}: ${s.description}`);
  p.add(nav(from));
  p.add(
    table(
      ["", ""],
      [
        ["subnet", `${code(s.subnet)}; host names end in ${code(s.domain)}`],
        ["trust", s.trust === "trusted" ? "trusted" : "untrusted: it may open no flow into another segment without a stated reason"],
        ["firewall", `[${cell(s.router.name)}](#firewall): WAN ${code(s.router.wanAddress)}, LAN ${code(s.router.lanAddress)}`],
        [
          "jump host",
          `${ctx.hostLink(s.name, s.jumpHost.name, from)} ${code(s.jumpHost.address)}, reached at ${code(`${s.ssh.entry.address}:22`)}`,
        ],
        [
          "DHCP pool",
          `${code(s.dhcp.start)} – ${code(s.dhcp.end)}, lease ${s.dhcp.leaseTime}; hands out DNS ${code(s.dhcp.dns)} and NTP ${code(s.dhcp.ntp)}`,
        ],
        ["internet", s.internet ? "hosts may reach the internet (masqueraded by the firewall)" : "no internet access"],
      ],
    ),
  );

  p.heading(2, "Hosts");
  p.add(
    table(
      ["host", "address", "role", "OS", "what", "node", "size", "placement", "SSH"],
      [
        [
          `[${cell(s.router.name)}](#firewall)`,
          `${code(s.router.lanAddress)} (WAN ${code(s.router.wanAddress)})`,
          "router",
          "",
          "firewall",
          "",
          "",
          "physical",
          code(`ssh ${s.ssh.targets.find((t) => t.name === s.router.name)?.alias ?? s.router.name}`),
        ],
        ...s.hosts.map((h) => [
          `[${cell(h.name)}](#${hostAnchor(h.name)})`,
          code(h.address),
          cell(h.role),
          cell(h.os),
          kindText(h),
          h.vm ? cell(h.vm.node) : "",
          sizeText(h),
          hostPlacementText(h),
          h.sshAlias ? code(`ssh ${h.sshAlias}`) : "",
        ]),
      ],
    ),
  );
  p.add(
    `Addresses outside ${code(s.dhcp.start)} – ${code(s.dhcp.end)} are static; every host with a MAC gets its address as a static DHCP lease.`,
  );

  p.heading(2, "Firewall");
  const dnat = [
    [
      code(`${s.ssh.entry.address}:22/tcp`),
      `${ctx.hostLink(s.name, s.ssh.entry.jumpHost, from)} ${code(`${s.ssh.entry.jumpAddress}:22`)}`,
      `admin workstations (${s.ssh.adminSources.map(code).join(", ")})`,
      "SSH into the segment",
    ],
    ...s.services.map((svc) => [
      code(`${svc.firewall.address}:${svc.firewall.port}/${svc.kind === "udp" ? "udp" : "tcp"}`),
      `${ctx.hostLink(s.name, svc.backend.host, from)} ${code(`${svc.backend.address}:${svc.backend.port}`)}`,
      `the proxy (${code(ctx.dmz.dmz.proxy)})`,
      `[${cell(svc.name)}](#published-services)`,
    ]),
  ];
  p.add(
    `${cell(s.router.name)} (${cell(s.router.hardware)}, ${s.router.linkGbps} Gb/s) routes between the DMZ and ${code(s.subnet)}. It forwards only what a [flow](#flows) allows and translates these ports on its WAN address; any other source hits the drop policy. Its own sshd accepts the jump host only.`,
  );
  p.add(table(["WAN port", "translated to", "only from", "for"], dnat));

  p.heading(2, "Published services");
  p.add(
    s.services.length === 0
      ? "None."
      : table(
          ["service", "name or port", "backend", "auth", "exposure", "description"],
          s.services.map((svc) => [
            cell(svc.name),
            svc.url ? code(svc.url) : code(svc.endpoint!),
            `${ctx.hostLink(s.name, svc.backend.host, from)} ${code(`${svc.backend.address}:${svc.backend.port}`)}${svc.backend.tls ? " (TLS)" : ""}`,
            cell(authText(svc.auth)),
            `${svc.exposure}${svc.reason ? `: ${cell(svc.reason)}` : ""}`,
            cell(svc.description),
          ]),
        ),
  );

  p.heading(2, "Flows");
  p.add(`Everything between networks is denied unless listed here. The whole lab: [flow matrix](${relative(from, "flows.md")}).`);
  const flowTable = (flows: readonly DocsFlow[]) =>
    flows.length === 0
      ? "None."
      : table(
          ["from", "to", "ports", "reason", "flow"],
          flows.map((f) => [
            cell(f.from.label),
            cell(f.to.label),
            `${portsText(f.ports)}${f.via ? ` ${cell(viaText(f))}` : ""}`,
            cell(f.reason),
            `[${code(f.id)}](${relative(from, "flows.md")}#${pairAnchor(f.from.zone, f.to.zone)})`,
          ]),
        );
  p.heading(3, `Inbound: into ${s.name}`);
  p.add(flowTable(s.flows.inbound));
  p.heading(3, `Outbound: from ${s.name}`);
  p.add(flowTable(s.flows.outbound));
  p.heading(3, `Inside ${s.name}`);
  p.add(flowTable(s.flows.inside));

  p.heading(2, "SSH access");
  p.add(
    `Admins enter ${cell(s.name)} only through its jump host: ${code(`ssh ${s.ssh.targets[0]!.alias}`)} connects to ${code(`${s.ssh.entry.address}:22`)}, which ${cell(s.ssh.entry.router)} forwards to ${code(s.ssh.entry.jumpAddress)} for the admin workstations only; every other box is reached with ProxyJump through it. Keys only; who may log in: ${s.ssh.users.map(code).join(", ")}. Client config: [SSH access](${relative(from, "ssh.md")}#${githubSlug(s.name)}).`,
  );

  if (s.talos) {
    p.heading(2, "Talos cluster");
    p.add(
      `${code(s.talos.clusterName)}: ${s.talos.controlPlanes.length} control planes and ${s.talos.workers.length} workers, API at ${code(s.talos.apiEndpoint)}. See [Talos](${relative(from, "talos.md")}).`,
    );
  }

  for (const h of s.hosts) {
    p.heading(2, `Host: ${h.name}`);
    hostDetails(
      p,
      ctx,
      from,
      s.name,
      h,
      h.sshAlias
        ? {
            ssh: `${code(`ssh ${h.sshAlias}`)}: ${sshPath(
              s,
              s.ssh.targets.find((t) => t.name === h.name)!,
            )} ([client config](${relative(from, "ssh.md")}))`,
          }
        : {},
    );
  }
  return p.text();
}

/** The hops of one SSH target, in words. */
function sshPath(s: SegmentDocs, t: DocsSshTarget): string {
  const entry = `admin workstation → ${s.ssh.entry.router} ${s.ssh.entry.address}:22 → ${s.ssh.entry.jumpHost} ${s.ssh.entry.jumpAddress}`;
  return t.proxyJump ? `${entry} → ${t.name} ${t.address}` : entry;
}

// --- the service catalog ---------------------------------------------------------------------------

function renderServices(ctx: DocsContext): string {
  const from = "services.md";
  const d = ctx.dmz;
  const p = new Page();
  p.heading(1, "Service catalog");
  p.add(nav(from));
  p.add(
    `Every published name leads to the reverse proxy (${code(d.dmz.proxy)}); the proxy forwards to the firewall of the segment that hosts the service, and that firewall translates (DNAT) to the backend, only for connections from the proxy. Lab-only services answer the trusted segments and the admin workstations only.`,
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
          c.exposure,
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

// --- the flow matrix -------------------------------------------------------------------------------

/** The anchor of a pair's section on the flows page. */
function pairAnchor(from: string, to: string): string {
  return githubSlug(`${from} → ${to}`);
}

function renderFlows(ctx: DocsContext): string {
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

// --- SSH -------------------------------------------------------------------------------------------

function renderSshPage(ctx: DocsContext): string {
  const from = "ssh.md";
  const d = ctx.dmz;
  const p = new Page();
  p.heading(1, "SSH access");
  p.add(nav(from));
  p.add(
    [
      "Keys only: no box in the lab accepts a password. Every segment is entered through its jump host, which the segment's firewall forwards its WAN port 22 to, for the admin workstations only",
      ` (${d.adminSources.map(code).join(", ")}); every other box is reached with ProxyJump through the jump host, and checks its host key against the one pinned here.`,
    ].join(""),
  );
  p.heading(2, "Set up");
  p.add(
    [
      `1. Copy [ssh/ssh_config](${SSH_CONFIG}) to \`~/.ssh/homelab_config\` and add \`Include homelab_config\` at the top of \`~/.ssh/config\`.`,
      `2. Copy [ssh/known_hosts](${KNOWN_HOSTS}) to \`${DEFAULT_KNOWN_HOSTS_FILE}\` (the config pins every host key there; \`StrictHostKeyChecking yes\`).`,
      `3. Connect by alias, \`<host>.<segment>\`: for example \`ssh data.internal\`. The config sets no \`User\`: when your local user name is not your lab name (${d.admins.map((a) => code(a.name)).join(", ")}), add \`User <name>\` to your own \`~/.ssh/config\`.`,
    ].join("\n"),
  );
  p.add(
    `Who may log in everywhere: ${[...d.admins.map((a) => `${code(a.name)} (${cell(a.fullName)})`), `${code(d.deployUser)} (Pulumi's deploy identity)`].join(", ")}.`,
  );

  p.heading(2, "dmz");
  const infra = d.dmz.infra;
  p.add(
    table(
      ["host", "alias", "address", "path", "host key"],
      [
        [
          ctx.hostLink("dmz", "infra", from),
          code(`ssh ${infra.sshAlias!}`),
          code(infra.address),
          `admin workstation → infra ${infra.address}:22 (no jump host)`,
          "pinned",
        ],
      ],
    ),
  );
  for (const s of ctx.segments) {
    p.heading(2, s.name);
    p.add(
      `Entry: ${code(`${s.ssh.entry.address}:22`)} on ${cell(s.ssh.entry.router)}, forwarded to the jump host ${code(s.ssh.entry.jumpAddress)}.`,
    );
    p.add(
      table(
        ["host", "alias", "address", "path", "host key"],
        s.ssh.targets.map((t) => [
          t.name === s.router.name ? `[${cell(t.name)}](${segmentPage(s.name)}#firewall)` : ctx.hostLink(s.name, t.name, from),
          code(`ssh ${t.alias}`),
          code(t.address),
          cell(sshPath(s, t)),
          t.hostKey ? "pinned" : "not in the model: strict checking refuses it until its key is added",
        ]),
      ),
    );
    const none = s.hosts.filter((h) => !h.sshAlias);
    const why = (h: DocsHost) =>
      h.os === "talos"
        ? "Talos: managed through its API"
        : h.kind === "vip"
          ? "a virtual address"
          : h.kind === "switch"
            ? "a switch"
            : `OS ${h.os}: no sshd the lab manages`;
    if (none.length > 0) p.add(`No SSH login: ${none.map((h) => `${cell(h.name)} (${cell(why(h))})`).join(", ")}.`);
  }
  return p.text();
}

/** The infra host's block, in the style of render/ssh-client.ts. */
function infraSshBlock(d: DmzDocs): string {
  const i = d.dmz.infra;
  return [
    "# The DMZ infra host (DNS, NTP, reverse proxy): reached directly from the admin workstations",
    `Host ${i.sshAlias!} ${i.fqdn}`,
    `\tHostName ${i.address}`,
    "\tPort 22",
    `\tHostKeyAlias ${i.fqdn}`,
    ...SSH_CLIENT_SETTINGS.map((l) => `\t${l}`),
    "",
  ].join("\n");
}

function renderLabSshConfig(ctx: DocsContext): string {
  return [
    generatedHeader(
      "#",
      "OpenSSH client config for the whole lab: copy to ~/.ssh/homelab_config and Include it from ~/.ssh/config",
      DOCS_GENERATOR,
      RULE_DOCS,
    ),
    infraSshBlock(ctx.dmz),
    ...ctx.segments.map((s) => s.ssh.config),
  ].join("\n");
}

function renderLabKnownHosts(ctx: DocsContext): string {
  const i = ctx.dmz.dmz.infra;
  return [
    generatedHeader("#", `known_hosts for the whole lab: copy to ${DEFAULT_KNOWN_HOSTS_FILE}`, DOCS_GENERATOR, RULE_DOCS),
    `${i.fqdn},${i.address} ${i.hostKey}\n`,
    ...ctx.segments.map((s) => s.ssh.knownHosts),
  ].join("");
}

// --- placement -------------------------------------------------------------------------------------

function renderPlacement(ctx: DocsContext): string {
  const from = "placement.md";
  const pl = ctx.dmz.placement;
  const p = new Page();
  p.heading(1, "Proxmox placement");
  p.add(nav(from));
  p.add(
    `A node hands out at most ${pl.cpuOvercommit} vCPUs per CPU thread; its memory limit is its RAM less what the hypervisor keeps. VMs with a passed-through device are pinned to the node that has it; every other VM is HA-managed, and must still fit on the surviving nodes when any one node fails (N-1). \`npm run check\` refuses a lab that breaks either rule.`,
  );
  p.heading(2, "Nodes");
  p.add(
    table(
      [
        "node",
        "hardware",
        "vCPU used / limit",
        "memory used / limit",
        "storage used / limit",
        "worst case after one other node fails",
        "networks",
      ],
      pl.nodes.map((n) => [
        cell(n.node),
        cell(n.description),
        `${n.usedVcpus} / ${n.vcpuLimit}`,
        `${gib(n.usedMemoryMiB)} / ${gib(n.memoryMiB)} GiB`,
        n.storage.map((s) => `${cell(s.datastore)} ${s.usedGiB} / ${s.limitGiB} GiB`).join("<br>"),
        n.worstCase.whenFails === ""
          ? "unchanged: no HA VM restarts here"
          : `${gib(n.worstCase.usedMemoryMiB)} / ${gib(n.memoryMiB)} GiB, ${n.worstCase.usedVcpus} / ${n.vcpuLimit} vCPU, when ${cell(n.worstCase.whenFails)} fails (${gib(n.memoryMiB - n.worstCase.usedMemoryMiB)} GiB left)`,
        n.networks.map(cell).join(", "),
      ]),
    ),
  );
  p.heading(2, "VMs");
  p.add(
    table(
      ["VM", "host", "id", "node", "vCPU", "memory", "disk", "placement"],
      pl.vms.map((v) => [
        cell(v.name),
        ctx.hostLink(v.segment, v.host, from, `${v.host} in ${v.segment}`),
        String(v.vmId),
        cell(v.node),
        String(v.cores),
        `${gib(v.memoryMiB)} GiB`,
        `${v.diskGiB} GiB`,
        placementText(v),
      ]),
    ),
  );
  p.heading(2, "When a node fails");
  const stranded = pl.failover.filter((f) => f.stranded.length > 0);
  p.add(
    stranded.length === 0
      ? "Every HA VM finds room on the surviving nodes whichever node fails."
      : `**N-1 is broken**: when ${joinWords(stranded.map((f) => f.failed))} fails, some HA VMs fit nowhere.`,
  );
  p.add(
    table(
      ["node fails", "HA VMs restart on", "down until it returns (pinned)", "fit nowhere"],
      pl.failover.map((f) => [
        cell(f.failed),
        f.moves.length === 0 ? "none" : f.moves.map((m) => `${cell(m.vm)} → ${cell(m.to)}`).join("<br>"),
        f.down.length === 0 ? "none" : f.down.map(cell).join(", "),
        f.stranded.length === 0 ? "none" : f.stranded.map(cell).join(", "),
      ]),
    ),
  );
  return p.text();
}

// --- Talos -----------------------------------------------------------------------------------------

function renderTalos(ctx: DocsContext): string {
  const from = "talos.md";
  const p = new Page();
  p.heading(1, "Talos Kubernetes");
  p.add(nav(from));
  const clusters = ctx.segments.filter((s) => s.talos);
  if (clusters.length === 0) {
    p.add("No segment declares a Talos cluster.");
    return p.text();
  }
  p.add(
    "Talos nodes run no sshd: they are managed through the Talos API (port 50000) with `talosctl`, and Kubernetes through its API at the VIP.",
  );
  for (const s of clusters) {
    const t = s.talos!;
    p.heading(2, `${t.clusterName} in ${s.name}`);
    p.add(
      table(
        ["", ""],
        [
          ["segment", `[${cell(s.name)}](${segmentPage(s.name)}) ${code(s.subnet)}`],
          ["Kubernetes API", `${code(t.apiEndpoint)} (the VIP, held by the control planes)`],
          ["Talos", code(t.talosVersion)],
          ["Kubernetes", code(t.kubernetesVersion)],
          [
            "etcd",
            `${t.controlPlanes.length} members: tolerates ${Math.floor((t.controlPlanes.length - 1) / 2)} failed control plane${Math.floor((t.controlPlanes.length - 1) / 2) === 1 ? "" : "s"}`,
          ],
        ],
      ),
    );
    const nodeRows = (nodes: typeof t.controlPlanes) =>
      nodes.map((n) => [
        ctx.hostLink(s.name, n.name, from),
        code(n.address),
        n.node ? cell(n.node) : "",
        n.passthrough.length > 0 ? `pinned, passthrough ${n.passthrough.join(", ")}` : "HA",
      ]);
    p.heading(3, `Control planes of ${t.clusterName}`);
    p.add(table(["node", "address", "Proxmox node", "placement"], nodeRows(t.controlPlanes)));
    p.heading(3, `Workers of ${t.clusterName}`);
    p.add(table(["node", "address", "Proxmox node", "placement"], nodeRows(t.workers)));
    const storage = ctx.flows.filter((f) => f.kind === "storage" && f.from.zone === s.name);
    p.heading(3, `Storage and reachability of ${t.clusterName}`);
    const api = ctx.flows.filter(
      (f) => f.to.zone === s.name && f.from.zone !== s.name && f.ports.some((x) => x === "50000/tcp" || x === "6443/tcp"),
    );
    p.add(
      [
        storage.length === 0
          ? "No storage mounts."
          : `Storage: ${storage.map((f) => `${cell(f.from.host ?? f.from.label)} → ${cell(f.to.label)} ${f.ports.join(", ")}`).join("; ")}.`,
        api.length === 0
          ? "No flow from another network reaches the Talos or Kubernetes API."
          : `From other networks, the Talos or Kubernetes API is reachable by: ${api.map((f) => `${cell(f.from.label)} (${f.ports.join(", ")}: ${cell(f.reason)})`).join("; ")}.`,
      ].join("\n\n"),
    );
  }
  return p.text();
}
