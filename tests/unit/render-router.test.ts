// Proves the router renderers (nftables, dnsmasq, ssh client, known_hosts, apply.sh, segment file list) are deterministic, match the goldens and carry the plan's intent when parsed back; it does not run nft, dnsmasq, ssh or bash (tests/tools does).
import fc from "fast-check";
import { Cidr } from "../../model/net";
import type { Dnat, FlowRule, RouterPlan } from "../../model/network/router";
import { planSshAccess, SSH_OS } from "../../model/network/ssh";
import type { SegmentPlan } from "../../model/plan";
import { applyScriptBody } from "../../render/apply-common";
import { renderRouterDhcp } from "../../render/dhcp";
import { renderRouterNftables, NFT_DROP_COUNTERS } from "../../render/nftables";
import { renderRouterApply } from "../../render/router-apply";
import { renderSegmentFiles } from "../../render/segment";
import { renderKnownHosts, renderSshClientConfig } from "../../render/ssh-client";
import { expectGolden, expectScriptGoldens, staleGoldens } from "../support/golden";
import { referenceLab, referencePlan } from "../support/lab";

const lab = referenceLab();
const plan = referencePlan();
const access = planSshAccess(lab);
const SEGMENTS = Object.keys(plan.segments).sort();
const segment = (name: string): SegmentPlan => plan.segments[name]!;
const filesOf = (name: string) => renderSegmentFiles(segment(name), access);

// --- a small reader for the rendered ruleset, independent of the renderer's own tree ---------

interface ParsedNft {
  /** Block path (e.g. `table inet homelab/set outbound`) -> its statement lines. */
  readonly blocks: Map<string, string[]>;
  /** Set or map name -> its element lines (trailing comma removed). */
  readonly elements: Map<string, string[]>;
}

function parseNft(text: string): ParsedNft {
  const blocks = new Map<string, string[]>();
  const elements = new Map<string, string[]>();
  const stack: string[] = [];
  blocks.set("", []);
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (line.endsWith("{")) {
      stack.push(line.slice(0, -1).trim());
      blocks.set(stack.join("/"), []);
    } else if (line === "}") {
      stack.pop();
    } else if (stack[stack.length - 1] === "elements =") {
      const owner = stack[stack.length - 2]!.replace(/^(set|map) /, "");
      elements.set(owner, [...(elements.get(owner) ?? []), line.replace(/,$/, "")]);
    } else {
      blocks.get(stack.join("/"))!.push(line);
    }
  }
  return { blocks, elements };
}

const chain = (p: ParsedNft, name: string) => p.blocks.get(`table inet homelab/chain ${name}`) ?? [];
const show = (c: Cidr) => (c.prefix === 32 ? c.network : c.toString());
const ruleKey = (r: { from: Cidr; to: Cidr; proto: string; port: number }) => `${show(r.from)} . ${show(r.to)} . ${r.proto} . ${r.port}`;
/** `key comment "..."` -> key and comment. */
function splitElement(line: string): { key: string; comment: string; value?: string } {
  const m = /^(.*?) comment "([^"]*)"(?: : (.*))?$/.exec(line);
  if (!m) throw new Error(`element without comment: ${line}`);
  return { key: m[1]!, comment: m[2]!, ...(m[3] !== undefined ? { value: m[3] } : {}) };
}
/** Element keys of every set named `base` or `base_<n>`. */
function groupedElements(p: ParsedNft, base: string): { set: string; key: string; comment: string }[] {
  return [...p.elements.entries()]
    .filter(([name]) => name === base || new RegExp(`^${base}_\\d+$`).test(name))
    .flatMap(([set, lines]) => lines.map((l) => ({ set, ...splitElement(l) })));
}
const cidrOf = (text: string) => (text.includes("/") ? Cidr.of(text) : Cidr.host(text));

// --- goldens and determinism --------------------------------------------------------------------

/** The router's apply.sh: golden as its facts per segment and one body for every router. */
const APPLY = "router/apply.sh";
const FACTS = "router/apply.facts.sh";

describe("golden files", () => {
  const cases = SEGMENTS.flatMap((s) => filesOf(s).map((f) => [s, f.path, f.content] as const)).filter(([, p]) => p !== APPLY);

  test.each(cases)("%s/%s matches its golden file", (seg, path, content) => {
    expectGolden(`segments/${seg}/${path}`, content);
  });

  test.each(SEGMENTS)(`%s/${APPLY} is its facts golden, then the one routers' body golden`, (seg) => {
    const script = filesOf(seg).find((f) => f.path === APPLY)!.content;
    expectScriptGoldens(script, applyScriptBody("router-apply"), `segments/${seg}/${FACTS}`, "scripts/router-apply.sh");
  });

  test("no stale golden file is left under tests/golden/segments", () => {
    expect(staleGoldens("segments", [...cases.map(([s, p]) => `${s}/${p}`), ...SEGMENTS.map((s) => `${s}/${FACTS}`)])).toEqual([]);
  });
});

describe("determinism", () => {
  test.each(SEGMENTS)("%s: rendering twice gives the same bytes", (seg) => {
    expect(filesOf(seg)).toEqual(filesOf(seg));
  });

  test.each(SEGMENTS)("%s: the order of the plan's rules does not change the ruleset", (seg) => {
    const r = segment(seg).router;
    const reversed: RouterPlan = {
      ...r,
      inbound: [...r.inbound].reverse(),
      outbound: [...r.outbound].reverse(),
      dnat: [...r.dnat].reverse(),
      labNets: [...r.labNets].reverse(),
    };
    expect(renderRouterNftables(reversed)).toBe(renderRouterNftables(r));
  });
});

// --- the segment's file list ---------------------------------------------------------------------

describe("renderSegmentFiles", () => {
  test.each(SEGMENTS)("%s: router release, ssh_config and known_hosts, sorted, with their checkers", (seg) => {
    const files = filesOf(seg);
    expect(files.map((f) => f.path)).toEqual([...files.map((f) => f.path)].sort((a, b) => a.localeCompare(b)));
    const byPath = Object.fromEntries(files.map((f) => [f.path, f]));
    expect(Object.fromEntries(files.map((f) => [f.path, f.checker]))).toEqual({
      known_hosts: "authorized-keys",
      "router/apply.sh": "sh",
      ...Object.fromEntries(access.users.map((u) => [`router/authorized_keys.d/${u.name}`, "authorized-keys"])),
      "router/dnsmasq.conf": "dnsmasq",
      "router/interfaces": "ifupdown",
      "router/homelab-router.service": "systemd",
      "router/homelab-routes": "ifupdown",
      "router/homelab-wireguard.service": "systemd",
      "router/nftables.conf": "nft",
      "router/sshd_config": "sshd",
      "router/wg-homelab.conf": "wireguard",
      ssh_config: "ssh-client",
    });
    // The tunnel's private key is a secret file of the release, never a rendered one.
    expect(files.map((f) => f.path)).not.toContain("router/wireguard.key");
    expect(byPath["router/apply.sh"]!.mode).toBe(0o755);
  });

  test.each(SEGMENTS)("%s: the router's sshd listens on the LAN address and admits only the jump host", (seg) => {
    const r = segment(seg).router;
    const sshd = filesOf(seg).find((f) => f.path === "router/sshd_config")!.content;
    expect(sshd).toMatch(new RegExp(`^ListenAddress ${r.lan.address.replace(/\./g, "\\.")}$`, "m"));
    const allow = /^AllowUsers (.*)$/m.exec(sshd)![1]!.split(" ");
    expect(allow.length).toBeGreaterThan(0);
    for (const a of allow) expect(a.endsWith(`@${r.jumpAddress}/32`)).toBe(true);
    expect(sshd).toMatch(/^DisableForwarding yes$/m);
  });

  test("known_hosts pins the router (key from the plan), the jump host and the hosts", () => {
    const kh = renderSegmentFiles(segment("internal"), access).find((f) => f.path === "known_hosts")!.content;
    const routerKey = lab.segments.internal!.router.sshHostKey.split(" ").slice(0, 2).join(" ");
    expect(kh).toContain(`internal-fw.internal.lab.example.net,10.10.0.1 ${routerKey}\n`);
    expect(kh).toMatch(/^jump\.internal\.lab\.example\.net,10\.10\.0\.2 ssh-ed25519 /m);
  });
});

// --- nftables: intent, parsed back ---------------------------------------------------------------

describe("nftables ruleset", () => {
  const parsed = (seg: string) => parseNft(renderRouterNftables(segment(seg).router));

  test.each(SEGMENTS)("%s: flush ruleset first, one inet table, input and forward drop by policy", (seg) => {
    const text = renderRouterNftables(segment(seg).router);
    expect(text.split("\n").find((l) => l.trim() !== "" && !l.startsWith("#"))).toBe("flush ruleset");
    expect(text.match(/^table /gm)).toEqual(["table "]);
    const p = parsed(seg);
    expect(chain(p, "input")[0]).toBe("type filter hook input priority filter; policy drop;");
    expect(chain(p, "forward")[0]).toBe("type filter hook forward priority filter; policy drop;");
    for (const c of ["input", "forward"]) {
      expect(chain(p, c)).toContain("ct state established,related accept");
      expect(chain(p, c).some((l) => l.startsWith("ct state invalid ") && l.endsWith(" drop"))).toBe(true);
    }
    expect(chain(p, "input")).toContain('iifname "lo" accept');
  });

  test.each(SEGMENTS)("%s: interfaces are matched by name only (iif/oif fail nft -c without the interface)", (seg) => {
    const text = renderRouterNftables(segment(seg).router);
    expect(text).not.toMatch(/\b(iif|oif)\b/);
    const r = segment(seg).router;
    expect(text).toContain(`iifname "${r.wan.iface}"`);
    expect(text).toContain(`iifname "${r.lan.iface}"`);
  });

  test.each(SEGMENTS)("%s: every drop counts into a declared named counter", (seg) => {
    const p = parsed(seg);
    const declared = [...p.blocks.keys()].filter((k) => k.startsWith("table inet homelab/counter ")).map((k) => k.split("counter ")[1]!);
    const drops = [...p.blocks.entries()]
      .filter(([k]) => k.includes("/chain "))
      .flatMap(([, lines]) => lines.filter((l) => / drop$/.test(l)));
    expect(drops.length).toBeGreaterThanOrEqual(6);
    for (const d of drops) {
      const m = /counter name "([a-z0-9_]+)" drop$/.exec(d);
      expect(m).not.toBeNull();
      expect(declared).toContain(m![1]);
      expect(Object.keys(NFT_DROP_COUNTERS)).toContain(m![1]);
    }
  });

  test.each(SEGMENTS)(
    "%s: input accepts DHCP from the LAN, SSH from the jump host only, and from the WAN only the tunnel's port from the infra host",
    (seg) => {
      const r = segment(seg).router;
      const input = chain(parsed(seg), "input");
      expect(input).toContain(`iifname "${r.lan.iface}" udp dport 67 accept comment "DHCP from the LAN"`);
      // The jump host is the segment's configured jump host, read from the lab, not the plan:
      // its address and its MAC together (any host of the segment can take the address).
      const seg0 = lab.segments[seg]!;
      const jump = seg0.hosts[seg0.jumpHost]!;
      const ssh = input.filter((l) => /dport 22\b/.test(l));
      expect(ssh).toEqual([
        `iifname "${r.lan.iface}" ether saddr ${jump.mac} ip saddr ${jump.address} ip daddr ${r.lan.address} tcp dport 22 accept comment "SSH only from the jump host"`,
      ]);
      // From the WAN: the tunnel's UDP port, from the infra host's DMZ address (read from the lab) to the WAN address.
      const t = lab.dmz.tunnel!;
      expect(input.filter((l) => l.includes(`"${r.wan.iface}"`))).toEqual([
        `iifname "${r.wan.iface}" ip saddr ${lab.dmz.infra.address} ip daddr ${seg0.router.wanAddress} udp dport ${t.port} accept comment "WireGuard from the infra host only"`,
      ]);
      expect(input.filter((l) => / accept( comment "[^"]*")?$/.test(l)).length).toBe(6);
      expect(input[input.length - 1]).toBe('counter name "drop_input" drop');
      expect(input.find((l) => l.startsWith("icmp type echo-request"))).toMatch(/ limit rate \d+\/second burst \d+ packets accept/);
    },
  );

  test.each(SEGMENTS)("%s: every outbound and inbound rule is in its own set, exactly once, with its flow id", (seg) => {
    const r = segment(seg).router;
    const p = parsed(seg);
    for (const [base, rules] of [
      ["outbound", r.outbound],
      ["inbound", r.inbound],
    ] as const) {
      const els = groupedElements(p, base);
      expect(els.map((e) => e.key).sort()).toEqual(rules.map(ruleKey).sort());
      for (const rule of rules) expect(els.find((e) => e.key === ruleKey(rule))!.comment.split(", ")).toContain(rule.flow);
    }
    // No rule leaks into the other direction's sets.
    const outKeys = new Set(groupedElements(p, "outbound").map((e) => e.key));
    for (const rule of r.inbound) expect(outKeys.has(ruleKey(rule))).toBe(false);
  });

  test.each(SEGMENTS)("%s: lab-bound traffic is checked against the outbound sets and otherwise dropped; the rest is internet", (seg) => {
    const r = segment(seg).router;
    const p = parsed(seg);
    expect(p.elements.get("lab_nets")!.sort()).toEqual(r.labNets.map(show).sort());
    const l2w = chain(p, "lan_to_wan");
    expect(l2w[0]).toBe(`ip saddr != ${r.lan.subnet} counter name "drop_spoofed" drop`);
    expect(l2w).toContain("ip daddr @lab_nets ip saddr . ip daddr . meta l4proto . th dport @outbound accept");
    const labDrop = l2w.indexOf('ip daddr @lab_nets counter name "drop_outbound_lab" drop');
    expect(labDrop).toBeGreaterThan(0);
    // Every lookup comes before the lab drop, and the internet verdict after it.
    expect(l2w.findIndex((l) => l.includes("@outbound"))).toBeLessThan(labDrop);
    // Every segment of the reference lab has the whole internet (tests/unit/egress.test.ts covers the rest).
    expect(r.egress).toEqual({ kind: "internet" });
    expect(l2w[l2w.length - 1]).toBe('accept comment "the internet, masqueraded"');
    const w2l = chain(p, "wan_to_lan");
    expect(w2l).toEqual(["ip saddr . ip daddr . meta l4proto . th dport @inbound accept", 'counter name "drop_inbound" drop']);
  });

  test.each(SEGMENTS)(
    "%s: DNAT translates published services only on the tunnel, for the infra host's tunnel address, and SSH only on the WAN, for the admin workstations",
    (seg) => {
      const r = segment(seg).router;
      const p = parsed(seg);
      const t = lab.dmz.tunnel!;
      const seg0 = lab.segments[seg]!;
      const admins = lab.ssh.adminSources.map(show).sort();
      // The WAN side: the jump host's SSH over TCP, for the admins' workstations, and nothing else.
      const wan = p.elements.get("dnat_wan")!.map(splitElement);
      expect(wan.map((e) => ({ src: e.key.split(" . ")[0], rest: e.key.split(" . ").slice(1).join(" . "), value: e.value }))).toEqual(
        admins.map((src) => ({ src, rest: "tcp . 22", value: `${r.jumpAddress} . 22` })),
      );
      // The tunnel side: every published service, from the infra host's tunnel address (read from the lab) only.
      const tunnel = p.elements.get("dnat_tunnel")!.map(splitElement);
      expect(tunnel.length).toBeGreaterThan(0);
      expect(tunnel.map((e) => ({ src: e.key.split(" . ")[0], comment: e.comment }))).toEqual(
        tunnel.map(() => ({ src: t.address, comment: expect.stringMatching(/^publish:/) })),
      );
      // Every service published through this router has its DNAT, to its backend.
      for (const s of segment(seg).services) {
        const proto = s.kind === "udp" ? "udp" : "tcp";
        expect(s.firewall.address).toBe(seg0.router.tunnel!.address);
        const e = tunnel.find((x) => x.key === `${t.address} . ${proto} . ${s.firewall.port}`);
        expect(e).toBeDefined();
        // Two HTTP services on one ingress share one DNAT; the backend address and port are the same.
        expect(e!.value).toBe(`${s.backend.address} . ${s.backend.port}`);
      }
      expect(chain(p, "prerouting").filter((l) => l.includes(" dnat "))).toEqual([
        `iifname "${r.wan.iface}" ip daddr ${seg0.router.wanAddress} meta l4proto { tcp, udp } dnat ip to ip saddr . meta l4proto . th dport map @dnat_wan`,
        `iifname "wg-homelab" ip daddr ${seg0.router.tunnel!.address} meta l4proto { tcp, udp } dnat ip to ip saddr . meta l4proto . th dport map @dnat_tunnel`,
      ]);
    },
  );

  test.each(SEGMENTS)(
    "%s: forward accepts DNATed traffic only from the side and source it was translated for, to the translated destinations",
    (seg) => {
      const r = segment(seg).router;
      const p = parsed(seg);
      for (const [side, map, targets] of [
        ["wan", "dnat_wan", "dnat_wan_targets"],
        ["tunnel", "dnat_tunnel", "dnat_tunnel_targets"],
      ] as const) {
        const keys = p.elements
          .get(targets)!
          .map((l) => splitElement(l).key)
          .sort();
        const expected = [
          ...new Set(
            r.dnat
              .filter((d) => d.side === side)
              .flatMap((d) => d.sources.map((src) => `${show(src)} . ${d.to} . ${d.proto} . ${d.toPort}`)),
          ),
        ].sort();
        expect(keys).toEqual(expected);
        // Every translation's source . backend is a target of its own side.
        for (const e of p.elements.get(map)!.map(splitElement)) {
          const [src, proto] = e.key.split(" . ");
          const [to, port] = e.value!.split(" . ");
          expect(keys).toContain(`${src} . ${to} . ${proto} . ${port}`);
        }
      }
      const dnatAccept = chain(p, "forward").filter((l) => l.includes("ct status dnat"));
      expect(dnatAccept).toEqual([
        `iifname "${r.wan.iface}" oifname "${r.lan.iface}" ct status dnat ip saddr . ip daddr . meta l4proto . th dport @dnat_wan_targets accept comment "the jump host, for the admins"`,
        `iifname "wg-homelab" oifname "${r.lan.iface}" ct status dnat ip saddr . ip daddr . meta l4proto . th dport @dnat_tunnel_targets accept comment "published services, for the infra host"`,
      ]);
    },
  );

  test.each(SEGMENTS)("%s: nothing but the DNAT to the jump host forwards tcp 22", (seg) => {
    const r = segment(seg).router;
    const p = parsed(seg);
    for (const base of ["outbound", "inbound"]) expect(groupedElements(p, base).filter((e) => / \. tcp \. 22$/.test(e.key))).toEqual([]);
    expect(p.elements.get("dnat_tunnel_targets")!.filter((l) => l.includes(" . tcp . 22 "))).toEqual([]);
    expect(p.elements.get("dnat_wan_targets")!.filter((l) => l.includes(" . tcp . 22 "))).toEqual(
      lab.ssh.adminSources.map((a) => `${show(a)} . ${r.jumpAddress} . tcp . 22 comment "ssh:${seg}"`),
    );
  });

  test.each([
    [true, true],
    [false, false],
  ])("internet=%s: masquerade present is %s, and the internet verdict follows", (internet, masq) => {
    const r: RouterPlan = { ...segment("sandbox").router, egress: internet ? { kind: "internet" } : { kind: "none" } };
    const p = parseNft(renderRouterNftables(r));
    expect(chain(p, "postrouting").includes(`oifname "${r.wan.iface}" ip daddr != @lab_nets masquerade`)).toBe(masq);
    expect(p.blocks.has("table inet homelab/counter drop_internet")).toBe(!internet);
  });

  test("a router with no flows still renders every set and chain", () => {
    const r: RouterPlan = { ...segment("sandbox").router, inbound: [], outbound: [], dnat: [] };
    const p = parseNft(renderRouterNftables(r));
    for (const name of [
      "set outbound",
      "set inbound",
      "map dnat_wan",
      "set dnat_wan_targets",
      "map dnat_tunnel",
      "set dnat_tunnel_targets",
      "chain wan_to_lan",
    ])
      expect(p.blocks.has(`table inet homelab/${name}`)).toBe(true);
    expect(p.elements.has("outbound")).toBe(false);
  });

  test("two DNATs for one WAN port to different backends are a planner bug", () => {
    const r = segment("sandbox").router;
    const clash: Dnat = { ...r.dnat[1]!, to: "10.40.0.99", flows: ["publish:sandbox/clash"] };
    expect(() => renderRouterNftables({ ...r, dnat: [...r.dnat, clash] })).toThrow(
      `bug: two DNATs for ${clash.proto}/${clash.wanPort} on one router (${r.dnat[1]!.flows.join(", ")} and publish:sandbox/clash)`,
    );
  });

  test("nested DNAT sources collapse to the widest one, so the map has no overlapping keys", () => {
    const r = segment("internal").router;
    const ssh = r.dnat.find((d) => d.wanPort === 22)!;
    const widened: Dnat = { ...ssh, sources: [Cidr.of("192.168.1.200/32"), ...ssh.sources, Cidr.of("192.168.1.192/27")] };
    const p = parseNft(renderRouterNftables({ ...r, dnat: r.dnat.map((d) => (d === ssh ? widened : d)) }));
    expect(p.elements.get("dnat_wan")!.filter((l) => l.includes(" . tcp . 22 "))).toEqual([
      `192.168.1.192/27 . tcp . 22 comment "ssh:internal" : 10.10.0.2 . 22`,
    ]);
  });

  // Sources and destinations from small pools, so nested and equal CIDRs are common.
  const froms = ["10.10.0.0/24", "10.10.0.0/25", "10.10.0.30/32", "10.10.0.2/32"].map((c) => Cidr.of(c));
  const tos = ["192.168.1.0/24", "192.168.1.80/32", "10.20.0.0/24", "10.20.0.21/32"].map((c) => Cidr.of(c));
  const arbRule = fc.record({
    from: fc.constantFrom(...froms),
    to: fc.constantFrom(...tos),
    proto: fc.constantFrom("tcp" as const, "udp" as const),
    port: fc.constantFrom(22, 53, 80, 443),
    flow: fc.constantFrom("flow:a/x", "flow:b/y", "dns:internal"),
  }) as fc.Arbitrary<FlowRule>;

  test("property: for any rule list, the ruleset is order-independent, holds each distinct rule exactly once and never two overlapping elements in one set", () => {
    const base = segment("internal").router;
    fc.assert(
      fc.property(
        fc.array(arbRule, { maxLength: 24 }),
        fc.array(arbRule, { maxLength: 8 }),
        fc.subarray([...base.dnat]),
        (outbound, inbound, dnat) => {
          const r: RouterPlan = { ...base, outbound, inbound, dnat };
          const text = renderRouterNftables(r);
          expect(renderRouterNftables({ ...r, outbound: [...outbound].reverse(), inbound: [...inbound].reverse() })).toBe(text);
          const p = parseNft(text);
          for (const [name, rules] of [
            ["outbound", outbound],
            ["inbound", inbound],
          ] as const) {
            const els = groupedElements(p, name);
            expect(els.map((e) => e.key).sort()).toEqual([...new Set(rules.map(ruleKey))].sort());
            for (const rule of rules) expect(els.find((e) => e.key === ruleKey(rule))!.comment.split(", ")).toContain(rule.flow);
            const bySet = new Map<string, string[]>();
            for (const e of els) bySet.set(e.set, [...(bySet.get(e.set) ?? []), e.key]);
            for (const keys of bySet.values()) {
              const parts = keys.map((k) => k.split(" . "));
              for (let i = 0; i < parts.length; i++)
                for (let j = i + 1; j < parts.length; j++) {
                  const [a, b] = [parts[i]!, parts[j]!];
                  const clash =
                    a[2] === b[2] && a[3] === b[3] && cidrOf(a[0]!).overlaps(cidrOf(b[0]!)) && cidrOf(a[1]!).overlaps(cidrOf(b[1]!));
                  expect(clash).toBe(false);
                }
            }
            // Each set has exactly one lookup rule.
            for (const set of bySet.keys()) expect(text.split(`@${set} accept`).length - 1).toBe(1);
          }
          const mapped = (p.elements.get("dnat_wan") ?? []).length + (p.elements.get("dnat_tunnel") ?? []).length;
          expect(mapped).toBe(dnat.reduce((n, d) => n + d.sources.length, 0));
        },
      ),
      { numRuns: 150 },
    );
  });
});

// --- dnsmasq ---------------------------------------------------------------------------------------

describe("dnsmasq (DHCP only)", () => {
  const lines = (seg: string) =>
    renderRouterDhcp(segment(seg).router)
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith("#"));

  test.each(SEGMENTS)("%s: no DNS, LAN only, authoritative, the pool and the DMZ services", (seg) => {
    const r = segment(seg).router;
    const cfg = lines(seg);
    const seg0 = lab.segments[seg]!;
    for (const l of ["port=0", `interface=${r.lan.iface}`, "bind-interfaces", "dhcp-authoritative", "no-resolv", "no-hosts"])
      expect(cfg).toContain(l);
    expect(cfg.filter((l) => l.startsWith("dhcp-range="))).toEqual([
      `dhcp-range=${seg0.dhcp.start},${seg0.dhcp.end},${seg0.subnet.netmask},${seg0.dhcp.leaseTime}`,
    ]);
    expect(cfg).toContain(`dhcp-option=option:router,${seg0.router.lanAddress}`);
    expect(cfg).toContain(`dhcp-option=option:dns-server,${lab.dmz.dns}`);
    expect(cfg).toContain(`dhcp-option=option:ntp-server,${lab.dmz.ntp}`);
    expect(cfg).toContain(`dhcp-option=option:domain-name,${seg}.${lab.domain}`);
  });

  test.each(SEGMENTS)("%s: one static lease per host with a MAC in the config, and no other", (seg) => {
    const seg0 = lab.segments[seg]!;
    // Independent of the planner: the segment's hosts plus the hardware placed in it.
    const expected = [
      ...Object.entries(seg0.hosts)
        .filter(([, h]) => h.mac)
        .map(([id, h]) => `dhcp-host=${h.mac},${h.address},${id}`),
      ...[...Object.entries(lab.hardware.proxmox.nodes), ...Object.entries(lab.hardware.nas), ...Object.entries(lab.hardware.switches)]
        .filter(([, h]) => h.segment === seg)
        .map(([id, h]) => `dhcp-host=${h.mac},${h.address},${id}`),
    ].sort();
    expect(
      lines(seg)
        .filter((l) => l.startsWith("dhcp-host="))
        .sort(),
    ).toEqual(expected);
  });
});

// --- ssh client config and known_hosts ---------------------------------------------------------------

/** Host line -> its settings. */
function parseSshConfig(text: string): Map<string, Record<string, string>> {
  const hosts = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const m = /^Host (.*)$/.exec(line);
    if (m) {
      current = {};
      hosts.set(m[1]!, current);
    } else {
      const [k, ...v] = line.trim().split(" ");
      current![k!] = v.join(" ");
    }
  }
  return hosts;
}

describe("ssh client config", () => {
  test.each(SEGMENTS)("%s: the jump host at the router's WAN address, every SSH-able host behind it, nothing else", (seg) => {
    const s = segment(seg);
    const hosts = parseSshConfig(renderSshClientConfig(s));
    const seg0 = lab.segments[seg]!;
    const jump = hosts.get(`${seg0.jumpHost}.${seg} ${seg0.jumpHost}.${seg}.${lab.domain}`)!;
    expect(jump).toEqual({ HostName: seg0.router.wanAddress, Port: "22", HostKeyAlias: `${seg0.jumpHost}.${seg}.${lab.domain}` });
    const sshable = s.hosts.filter((h) => SSH_OS.has(h.os) && h.id !== seg0.jumpHost);
    for (const h of sshable) {
      expect(hosts.get(`${h.id}.${seg} ${h.fqdn}`)).toEqual({
        HostName: h.address,
        Port: "22",
        HostKeyAlias: h.fqdn,
        ProxyJump: `${seg0.jumpHost}.${seg}`,
      });
    }
    expect(hosts.get(`${seg0.router.name}.${seg} ${seg0.router.name}.${seg}.${lab.domain}`)).toMatchObject({
      HostName: seg0.router.lanAddress,
      ProxyJump: `${seg0.jumpHost}.${seg}`,
    });
    // jump + router + SSH-able hosts + the shared block.
    expect(hosts.size).toBe(sshable.length + 3);
    for (const h of s.hosts.filter((x) => !SSH_OS.has(x.os)))
      expect([...hosts.keys()].join(" ").split(" ")).not.toContain(`${h.id}.${seg}`);
  });

  test.each(SEGMENTS)("%s: the shared block hardens every named box and only those", (seg) => {
    const hosts = parseSshConfig(renderSshClientConfig(segment(seg)));
    const entries = [...hosts.entries()];
    const [sharedNames, shared] = entries[entries.length - 1]!;
    expect(shared).toEqual({
      IdentitiesOnly: "yes",
      PasswordAuthentication: "no",
      KbdInteractiveAuthentication: "no",
      PubkeyAuthentication: "yes",
      StrictHostKeyChecking: "yes",
      UserKnownHostsFile: "~/.ssh/homelab_known_hosts",
      ForwardAgent: "no",
      ForwardX11: "no",
    });
    expect(sharedNames.split(" ").sort()).toEqual(
      entries
        .slice(0, -1)
        .flatMap(([n]) => n.split(" "))
        .sort(),
    );
    expect(sharedNames).not.toContain("*");
  });

  test("the cluster's Talos nodes and the ingress VIP get no SSH entry", () => {
    const text = renderSshClientConfig(segment("cluster"));
    for (const id of ["cp-1", "worker-1", "ingress", "sw-cluster"]) expect(text).not.toContain(`Host ${id}.`);
  });

  test.each(SEGMENTS)("%s: known_hosts pins every box with a key in the model, by FQDN and LAN address", (seg) => {
    const seg0 = lab.segments[seg]!;
    const lines = renderKnownHosts(segment(seg))
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith("#"));
    const key = (k: string) => k.split(" ").slice(0, 2).join(" ");
    // Planned hosts include the hardware that sits in the segment (Proxmox nodes, the NAS).
    const expected = [
      `${seg0.router.name}.${seg}.${lab.domain},${seg0.router.lanAddress} ${key(seg0.router.sshHostKey)}`,
      ...segment(seg)
        .hosts.filter((h) => h.sshHostKey && SSH_OS.has(h.os))
        .map((h) => `${h.id}.${seg}.${lab.domain},${h.address} ${key(h.sshHostKey!)}`),
    ].sort();
    expect([...lines].sort()).toEqual(expected);
  });
});

// --- apply.sh ------------------------------------------------------------------------------------------

describe("apply.sh", () => {
  test.each(SEGMENTS)("%s: strict bash, the plan's routes through the WAN interface, the documented commands", (seg) => {
    const r = segment(seg).router;
    const text = renderRouterApply(r);
    expect(text.startsWith("#!/usr/bin/env bash\n# apply.sh of")).toBe(true);
    expect(text).toMatch(/^set -euo pipefail$/m);
    expect(text).toContain(`WAN_IFACE='${r.wan.iface}'`);
    const routes = /^ROUTES=\(\n([\s\S]*?)\n\)$/m
      .exec(text)![1]!
      .split("\n")
      .map((l) => l.trim().replace(/\s+#.*$/, ""));
    const seg0 = lab.segments[seg]!;
    const others = Object.values(lab.segments).filter((s) => s.name !== seg0.name);
    expect(routes.sort()).toEqual(others.map((s) => `'${s.subnet} ${s.router.wanAddress}'`).sort());
    for (const cmd of ["apply)", "confirm)", "rollback)", "status)"]) expect(text).toContain(`  ${cmd} `);
    // The check runs before the lock, snapshot and install, in cmd_apply.
    const apply = /^cmd_apply\(\) \{\n([\s\S]*?)\n\}$/m.exec(text)![1]!;
    const steps = apply.split("\n");
    const order = ["check_release", "lock", "snapshot", "arm_watchdog", "install_release"].map((s) =>
      steps.findIndex((l) => new RegExp(`^\\s+(if ! )?${s}\\b`).test(l)),
    );
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });
});
