/** The DMZ page (dmz.md): its addresses, the infra host and the hardware in it. */
import { cell, code, Page, table } from "./markdown";
import { kindText, nav, segmentPage, type DocsContext } from "./context";
import { hostDetails } from "./host-details";

/** The DMZ page: its facts and addresses, the infra host and the hardware in the DMZ. */
export function renderDmzPage(ctx: DocsContext): string {
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
