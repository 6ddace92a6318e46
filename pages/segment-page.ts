/** A segment's page (segments/<name>.md): hosts, firewall, published services, flows, SSH and each host. */
import type { DocsFlow, SegmentDocs } from "./contract";
import { cell, code, githubSlug, Page, table } from "./markdown";
import {
  authText,
  hostAnchor,
  hostPlacementText,
  kindText,
  nav,
  pairAnchor,
  portsText,
  relative,
  segmentPage,
  sizeText,
  sshPath,
  viaText,
  type DocsContext,
} from "./context";
import { hostDetails } from "./host-details";
import { parseIface } from "../model/network/interface";
import { count } from "../model/problems";

/** `enp2s0`, or `enp2s0.20` (VLAN 20 tagged on `enp2s0`). */
function ifaceText(name: string): string {
  const i = parseIface(name);
  return i.kind === "vlan" ? `${code(i.name)} (VLAN ${i.vlan} tagged on ${code(i.parent)})` : code(i.name);
}

/** `, on VLAN 20` for a VLAN interface, else nothing. */
function vlanNote(name: string): string {
  const i = parseIface(name);
  return i.kind === "vlan" ? `, on VLAN ${i.vlan} (${code(i.name)})` : "";
}

/** A segment's page: its facts, then one section per concern, then one per host. */
export function renderSegmentPage(ctx: DocsContext, s: SegmentDocs): string {
  const from = segmentPage(s.name);
  const p = new Page();
  p.heading(1, `${s.name}: ${s.description}`);
  p.add(nav(from));
  addFacts(p, ctx, s, from);
  addHosts(p, s);
  addFirewall(p, ctx, s, from);
  addServices(p, ctx, s, from);
  addFlows(p, s, from);
  addSshAndTalos(p, s, from);
  for (const h of s.hosts) {
    p.heading(2, `Host: ${h.name}`);
    const target = s.ssh.targets.find((t) => t.name === h.name);
    hostDetails(
      p,
      ctx,
      from,
      s.name,
      h,
      h.sshAlias && target
        ? { ssh: `${code(`ssh ${h.sshAlias}`)}: ${sshPath(s, target)} ([client config](${relative(from, "ssh.md")}))` }
        : {},
    );
  }
  return p.text();
}

/** The segment at a glance: subnet, trust, firewall, jump host, DHCP, internet. */
function addFacts(p: Page, ctx: DocsContext, s: SegmentDocs, from: string): void {
  p.add(
    table(
      ["", ""],
      [
        ["subnet", `${code(s.subnet)}; host names end in ${code(s.domain)}`],
        ["trust", s.trust === "trusted" ? "trusted" : "untrusted: it may open no flow into another segment without a stated reason"],
        [
          "firewall",
          `[${cell(s.router.name)}](#firewall): WAN ${code(s.router.wanAddress)}, LAN ${code(s.router.lanAddress)}${vlanNote(s.router.lanInterface)}`,
        ],
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
}

/** Every host of the segment, the router first. */
function addHosts(p: Page, s: SegmentDocs): void {
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
}

/** The router: what it translates on its WAN address, and for whom. */
function addFirewall(p: Page, ctx: DocsContext, s: SegmentDocs, from: string): void {
  p.heading(2, "Firewall");
  const dnat = [
    [
      code(`${s.ssh.entry.address}:22/tcp`),
      `${ctx.hostLink(s.name, s.ssh.entry.jumpHost, from)} ${code(`${s.ssh.entry.jumpAddress}:22`)}`,
      `admin workstations (${s.ssh.adminSources.map(code).join(", ")})`,
      "SSH into the segment",
    ],
    ...s.services.map((svc) => {
      // The publish flow names the source the router translates for: the infra host's tunnel address.
      const sources = s.flows.inbound.find((f) => f.id === `publish:${s.name}/${svc.name}`)?.from.cidrs ?? [`${ctx.dmz.dmz.proxy}/32`];
      const tunnelled = svc.firewall.address !== s.router.wanAddress;
      return [
        code(`${svc.firewall.address}:${svc.firewall.port}/${svc.kind === "udp" ? "udp" : "tcp"}`),
        `${ctx.hostLink(s.name, svc.backend.host, from)} ${code(`${svc.backend.address}:${svc.backend.port}`)}`,
        `the proxy (${sources.map((c) => code(c.replace(/\/32$/, ""))).join(", ")}${tunnelled ? ", through the WireGuard tunnel" : ""})`,
        `[${cell(svc.name)}](#published-services)`,
      ];
    }),
  ];
  p.add(
    `${cell(s.router.name)} (${cell(s.router.hardware)}, ${s.router.linkGbps} Gb/s; WAN on ${ifaceText(s.router.wanInterface)}, LAN on ${ifaceText(s.router.lanInterface)}) routes between the DMZ and ${code(s.subnet)}. It forwards only what a [flow](#flows) allows and translates these ports, published services only on its tunnel address (the WireGuard tunnel from the infra host) and SSH only on its WAN address; any other source hits the drop policy. On the DMZ its WAN address is bound to its port's MAC ${code(s.router.wanMac)}, and it accepts a DMZ party's address (the edge, the infra host, another router or the segment behind it) only from that party's MAC. Its own sshd accepts the jump host only, by address and MAC.`,
  );
  p.add(table(["router port", "translated to", "only from", "for"], dnat));
}

/** How the proxy verifies a TLS backend, in a few words; nothing for plain HTTP. */
function tlsNote(tls: SegmentDocs["services"][number]["backend"]["tls"]): string {
  if (!tls) return "";
  return tls.kind === "ca"
    ? ` (TLS, verified: CA ${code(tls.ca)}, name ${code(tls.name)})`
    : ` (TLS, verified: pinned certificate, name ${code(tls.name)})`;
}

/** What the segment publishes through the DMZ's proxy. */
function addServices(p: Page, ctx: DocsContext, s: SegmentDocs, from: string): void {
  p.heading(2, "Published services");
  p.add(
    s.services.length === 0
      ? "None."
      : table(
          ["service", "name or port", "backend", "auth", "exposure", "description"],
          s.services.map((svc) => [
            cell(svc.name),
            svc.url ? code(svc.url) : code(svc.endpoint!),
            `${ctx.hostLink(s.name, svc.backend.host, from)} ${code(`${svc.backend.address}:${svc.backend.port}`)}${tlsNote(svc.backend.tls)}`,
            cell(authText(svc.auth)),
            `${svc.exposure}${svc.usedBy ? ` (used by ${svc.usedBy.map(cell).join(", ")})` : ""}${svc.reason ? `: ${cell(svc.reason)}` : ""}`,
            cell(svc.description),
          ]),
        ),
  );
}

/** The flows into, out of and inside the segment. */
function addFlows(p: Page, s: SegmentDocs, from: string): void {
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
}

/** How admins get in, and the segment's Talos cluster when it has one. */
function addSshAndTalos(p: Page, s: SegmentDocs, from: string): void {
  p.heading(2, "SSH access");
  p.add(
    `Admins enter ${cell(s.name)} only through its jump host: ${code(`ssh ${s.ssh.targets[0]!.alias}`)} connects to ${code(`${s.ssh.entry.address}:22`)}, which ${cell(s.ssh.entry.router)} forwards to ${code(s.ssh.entry.jumpAddress)} for the admin workstations only; every other box is reached with ProxyJump through it. Keys only; who may log in: ${s.ssh.users.map(code).join(", ")}. Client config: [SSH access](${relative(from, "ssh.md")}#${githubSlug(s.name)}).`,
  );

  if (s.talos) {
    p.heading(2, "Talos cluster");
    p.add(
      `${code(s.talos.clusterName)}: ${count(s.talos.controlPlanes.length, "control plane")} and ${count(s.talos.workers.length, "worker")}, API at ${code(s.talos.apiEndpoint)}. See [Talos](${relative(from, "talos.md")}).`,
    );
  }
}
