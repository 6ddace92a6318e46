// Proves the DMZ's address-to-MAC bindings and the jump host's MAC: the MACs they need are required and checked with exact messages, the planner binds every DMZ party (edge, infra host, routers and the segments behind them) to its MAC from the lab's facts, each box binds the others and never itself, and the renderers carry the bindings into the routers' ruleset, static neighbours (apply.sh, ifupdown) and the infra host's firewall and NixOS unit; it does not load a ruleset or set a neighbour (tests/tools and the twin do).
import type { Lab } from "../../model/lab";
import { Cidr } from "../../model/net";
import { planDmz, publishAll } from "../../model/network/dmz";
import { planSshAccess } from "../../model/network/ssh";
import { formatProblems } from "../../model/problems";
import { validateLab } from "../../model/validate";
import { infraGuard, renderDmzFiles } from "../../render/dmz";
import { renderRouterNftables } from "../../render/nftables";
import { renderRouterApply } from "../../render/router-apply";
import { renderRouterRoutes } from "../../render/router-boot";
import { parseFiles, referenceFiles, referenceLab, referencePlan, segOf, type LabFiles } from "../support/lab";

const lab = referenceLab();
const plan = referencePlan();
const SEGMENTS = Object.keys(lab.segments).sort();

function labWith(edit: (f: LabFiles) => void): Lab {
  const files = referenceFiles();
  edit(files);
  const parsed = parseFiles(files);
  if (!parsed.lab) throw new Error(`the edit broke the schema:\n${formatProblems(parsed.problems)}`);
  return parsed.lab;
}
const schemaProblems = (edit: (f: LabFiles) => void) => {
  const files = referenceFiles();
  edit(files);
  return parseFiles(files).problems.map(({ file, path, message, fix }) => ({ file, path, message, fix }));
};
const ruleProblems = (rule: string, edit: (f: LabFiles) => void) =>
  validateLab(labWith(edit))
    .filter((p) => p.rule === rule)
    .map(({ file, path, message, fix }) => ({ file, path, message, fix }));

/** Each DMZ party's MAC and sources, by hand from the lab's facts (not through the planner). */
function partiesByHand(): { id: string; mac: string; sources: string[] }[] {
  const { dmz } = lab;
  return [
    { id: "edge", mac: dmz.gatewayMac, sources: [dmz.gateway] },
    { id: "infra", mac: dmz.infra.mac, sources: [dmz.infra.address, dmz.dns, dmz.ntp, dmz.proxy] },
    ...Object.values(lab.segments).map((s) => ({
      id: s.router.name,
      mac: lab.hardware.routers[s.router.hardware]!.wanMac,
      sources: [s.router.wanAddress, s.subnet.toString()],
    })),
  ];
}
const text = (c: Cidr) => (c.prefix === 32 ? c.network : c.toString());
const pairs = (self: string) =>
  partiesByHand()
    .filter((p) => p.id !== self)
    .flatMap((p) => p.sources.map((s) => `${s} . ${p.mac}`))
    .sort();
const everySource = () =>
  partiesByHand()
    .flatMap((p) => p.sources)
    .sort();

/** Lines of one block (a chain or a set's elements) of a rendered ruleset, trimmed, without comments. */
function blockOf(rendered: string, head: string): string[] {
  const body = new RegExp(`^\\t${head} \\{\\n([\\s\\S]*?)^\\t\\}`, "m").exec(rendered)![1]!;
  return body
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
}
const elementsOf = (rendered: string, set: string) =>
  blockOf(rendered, `set ${set}`)
    .filter((l) => l.endsWith(","))
    .map((l) => l.replace(/ comment "[^"]*",$|,$/g, ""))
    .sort();

describe("the MACs the bindings need", () => {
  test("a router box without wanMac, the DMZ without gatewayMac, and a malformed wanMac are refused, saying why", () => {
    expect(
      schemaProblems((f) => {
        delete f["homelab.yaml"].dmz.gatewayMac;
        delete f["homelab.yaml"].hardware.routers.rtr2.wanMac;
        f["homelab.yaml"].hardware.routers.rtr3.wanMac = "00:E0:67:00:00:13";
      }),
    ).toEqual([
      {
        file: "homelab.yaml",
        path: "dmz.gatewayMac",
        message:
          "is required: the routers and the infra host pin the ISP edge router to its MAC, so no DMZ host can take the default route by ARP; write the MAC its address answers with, from ip neigh show <gateway>",
        fix: "add gatewayMac: under dmz",
      },
      {
        file: "homelab.yaml",
        path: "hardware.routers.rtr2.wanMac",
        message:
          "is required: the DMZ binds each router's WAN address to its port's MAC (static neighbours, source guards); write the MAC of wanInterface's port, from ip link show",
        fix: "add wanMac: under hardware.routers.rtr2",
      },
      {
        file: "homelab.yaml",
        path: "hardware.routers.rtr3.wanMac",
        message: "must be a MAC address: six hex pairs in lower case joined by ':', such as 52:54:00:12:34:56",
        fix: 'write "00:e0:67:00:00:13"',
      },
    ]);
  });

  test("a jump host without a mac is refused: the router's SSH rule needs it", () => {
    expect(ruleProblems("ssh.jump-hosts", (f) => delete segOf(f, "sandbox").hosts.jump.mac)).toEqual([
      {
        file: "Pulumi.sandbox.yaml",
        path: "homelab:segment.hosts.jump.mac",
        message:
          "the jump host sandbox/jump has no mac; sandbox's router admits SSH into itself only from the jump host's address and MAC together, since any host of sandbox can take an address",
        fix: "add the MAC of its NIC (a VM's is net0 in its Proxmox config), such as mac: 52:54:00:12:34:56",
      },
    ]);
  });

  test("a router's WAN MAC or the edge's MAC taken twice is refused at the later one", () => {
    expect(
      ruleProblems("macs.unique", (f) => {
        f["homelab.yaml"].hardware.routers.rtr1.wanMac = f["homelab.yaml"].dmz.infra.mac;
        f["homelab.yaml"].hardware.routers.rtr4.wanMac = f["homelab.yaml"].dmz.gatewayMac;
      }),
    ).toEqual([
      {
        file: "homelab.yaml",
        path: "hardware.routers.rtr1.wanMac",
        message:
          "the WAN port of router box rtr1 has MAC 52:54:00:00:01:0a, already the MAC of the DMZ infra host (homelab.yaml dmz.infra.mac); every MAC address must be unique",
        fix: "give the WAN port of router box rtr1 its own MAC; for a VM use a locally administered one such as 52:54:00:xx:xx:xx",
      },
      {
        file: "homelab.yaml",
        path: "hardware.routers.rtr4.wanMac",
        message:
          "the WAN port of router box rtr4 has MAC 3c:a6:2f:00:01:01, already the MAC of the ISP edge router (homelab.yaml dmz.gatewayMac); every MAC address must be unique",
        fix: "give the WAN port of router box rtr4 its own MAC; for a VM use a locally administered one such as 52:54:00:xx:xx:xx",
      },
    ]);
  });
});

describe("each router binds every other DMZ party to its MAC, and never itself", () => {
  test.each(SEGMENTS)("%s: its guard, its neighbours and its SSH source", (seg) => {
    const r = plan.segments[seg]!.router;
    const g = r.dmzGuard;
    expect(g.iface).toBe(lab.hardware.routers[lab.segments[seg]!.router.hardware]!.wanInterface);
    expect(g.bindings.map((b) => `${text(b.from)} . ${b.mac}`).sort()).toEqual(pairs(r.name));
    // Its own WAN address and segment are bound with no MAC: from the DMZ they are always spoofed.
    expect(g.bound.map(text).sort()).toEqual(everySource());
    expect(g.bindings.some((b) => b.from.contains(r.wan.address) || b.from.toString() === r.lan.subnet.toString())).toBe(false);
    // Neighbours: the other parties' own addresses (not their networks) on the WAN, the jump host on the LAN.
    const jump = lab.segments[seg]!.hosts[lab.segments[seg]!.jumpHost]!;
    const others = partiesByHand().filter((p) => p.id !== r.name);
    expect(r.neighbours.map((n) => `${n.iface} ${n.address} ${n.mac}`).sort()).toEqual(
      [
        ...others.flatMap((p) => p.sources.filter((s) => !s.includes("/")).map((a) => `${g.iface} ${a} ${p.mac}`)),
        `${r.lan.iface} ${jump.address} ${jump.mac}`,
      ].sort(),
    );
    expect({ address: r.jumpAddress, mac: r.jumpMac }).toEqual({ address: jump.address, mac: jump.mac });
  });

  test("the infra host binds the edge, the routers and the segments behind them, never its own addresses", () => {
    const g = infraGuard(planDmz(lab, publishAll(lab)));
    expect(g.iface).toBe("ens18");
    expect(g.bindings.map((b) => `${text(b.from)} . ${b.mac}`).sort()).toEqual(pairs("infra"));
    expect(g.bound.map(text).sort()).toEqual(everySource());
    expect(g.neighbours.map((n) => `${n.address} ${n.mac}`).sort()).toEqual(
      partiesByHand()
        .filter((p) => p.id !== "infra")
        .map((p) => `${p.sources[0]} ${p.mac}`)
        .sort(),
    );
  });
});

describe("the renderers carry the bindings", () => {
  test.each(SEGMENTS)("%s: the ruleset's raw prerouting guard and its sets", (seg) => {
    const r = plan.segments[seg]!.router;
    const nft = renderRouterNftables(r);
    const wan = `"${r.wan.iface}"`;
    expect(blockOf(nft, "chain dmz_identity")).toEqual([
      "type filter hook prerouting priority raw; policy accept;",
      `iifname ${wan} ip saddr . ether saddr @dmz_macs accept comment "a DMZ party, from its own MAC"`,
      `iifname ${wan} ip saddr @dmz_bound counter name "drop_dmz_spoofed" drop`,
    ]);
    expect(elementsOf(nft, "dmz_macs")).toEqual(pairs(r.name));
    expect(elementsOf(nft, "dmz_bound")).toEqual(everySource());
    expect(nft).toMatch(/^\tcounter drop_dmz_spoofed \{$/m);
  });

  test.each(SEGMENTS)("%s: apply.sh pins every neighbour, and ifupdown pins them before the routes at every up", (seg) => {
    const r = plan.segments[seg]!.router;
    const facts = /^NEIGHBOURS=\(\n([\s\S]*?)^\)$/m.exec(renderRouterApply(r))![1]!;
    expect(
      facts
        .split("\n")
        .filter(Boolean)
        .map((l) => /'([^']+)'/.exec(l)![1])
        .sort(),
    ).toEqual(r.neighbours.map((n) => `${n.address} ${n.mac} ${n.iface}`).sort());
    const routes = renderRouterRoutes(r);
    const stanza = (iface: string) =>
      new RegExp(`^iface ${iface.replace(".", "\\.")} inet manual\\n((?: {4}up .*\\n?)*)`, "m").exec(routes)![1]!;
    for (const iface of [r.wan.iface, r.lan.iface]) {
      const ups = stanza(iface)
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean);
      const neigh = r.neighbours.filter((n) => n.iface === iface);
      expect(ups.slice(0, neigh.length)).toEqual(
        neigh.map((n) => `up ip -4 neigh replace ${n.address} lladdr ${n.mac} dev ${iface} nud permanent`),
      );
    }
    // After the WAN's neighbours, only its routes.
    const wanUps = stanza(r.wan.iface)
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean);
    expect(wanUps.filter((l) => !l.startsWith("up ip -4 neigh replace ")).every((l) => l.startsWith("up ip -4 route replace "))).toBe(true);
    expect(wanUps.findIndex((l) => l.startsWith("up ip -4 route"))).toBe(r.neighbours.filter((n) => n.iface === r.wan.iface).length);
  });

  test("the infra host: its firewall guards ens18, and a NixOS unit pins its neighbours", () => {
    const files = renderDmzFiles(planDmz(lab, publishAll(lab)), planSshAccess(lab));
    const nft = files.find((f) => f.path === "infra/host.nft")!.content;
    expect(blockOf(nft, "chain dmz_identity")).toEqual([
      "type filter hook prerouting priority raw; policy accept;",
      'iifname "ens18" ip saddr . ether saddr @dmz_macs accept comment "a DMZ party, from its own MAC"',
      'iifname "ens18" ip saddr @dmz_bound counter name "drop_dmz_spoofed" drop',
    ]);
    expect(elementsOf(nft, "dmz_macs")).toEqual(pairs("infra"));
    const nix = files.find((f) => f.path === "infra/configuration.nix")!.content;
    for (const p of partiesByHand().filter((x) => x.id !== "infra"))
      expect(nix).toContain(`"\${pkgs.iproute2}/bin/ip -4 neigh replace ${p.sources[0]} lladdr ${p.mac} dev ens18 nud permanent"`);
  });
});
