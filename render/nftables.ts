/**
 * A segment router's whole nftables ruleset, loaded atomically with `nft -f`.
 *
 * One `table inet homelab` holds filter and NAT chains, so the NAT chains and the filter
 * chains share the same sets (`lab_nets`, the DNAT targets). The text is printed from a
 * small tree of blocks and statements (`NftNode`, render/nft.ts), multi-line, because nft 1.0.6
 * misparses some one-line rulesets, and with `iifname`/`oifname` only, because `iif`/`oif`
 * resolve the interface at load time and fail `nft -c` on a box or namespace without it.
 *
 * Policy, in words:
 * - input and forward drop by default; IPv6 is dropped first (the lab is IPv4 only);
 *   established/related pass, invalid is dropped;
 * - prerouting, raw priority: a source claiming a DMZ party (the edge, the infra host, another
 *   router or a segment behind it, this router itself) passes only from that party's MAC
 *   (render/nft-identity.ts);
 * - input: loopback, rate-limited ping, DHCP from the LAN, SSH from the jump host only (its
 *   address and MAC together), the WireGuard tunnel's port from the infra host's DMZ address
 *   only (which the guard above binds to its MAC);
 * - prerouting: DNAT on each side, keyed by source . protocol . port: published services only
 *   on the tunnel interface, to the router's tunnel address, from the infra host's tunnel
 *   address (WireGuard authenticates it; an address on the DMZ proves nothing), and the jump
 *   host's SSH only on the WAN address, for the admins' workstations; anything else addressed
 *   to the router hits input's drop;
 * - forward: DNATed traffic only from the side and source it was translated for, to the
 *   translated destinations; LAN -> lab networks only
 *   as the plan's `outbound` rules say, WAN -> LAN only as `inbound` says; LAN -> internet
 *   as `router.egress` says, masqueraded, minus an untrusted segment's guard (render/nft-egress.ts);
 * - a temporary hole (a service's or flow's `until`) is in the sets like any other, and closes by
 *   itself: a rule ahead of the established accept drops every packet of its connections, new
 *   or established, from its deadline on (`meta time`, an absolute instant), so it closes at
 *   that second with nobody running pulumi up and stays closed on a box that reboots from an
 *   old ruleset;
 * - every drop path counts into a named counter, so tests and the twin can prove a drop.
 */
import { comparePorts, type Proto } from "../model/lab";
import { Cidr, compareCidr, compareIp } from "../model/net";
import { type Deadline, laterDeadline } from "../model/network/until";
import type { Dnat, FlowRule, RouterPlan } from "../model/network/router";
import { generatedHeader } from "./header";
import { EGRESS_DROP_COUNTERS, egressGuardFirst, egressSets, egressVerdict, hasEgressCounter, type EgressDropCounter } from "./nft-egress";
import { IDENTITY_DROP_COUNTERS, identityChain, identitySets } from "./nft-identity";
import { addr, block, inputPrologue, ipv6Drop, printNft, quote, type NftBlock, type NftNode } from "./nft";

/** Name of the one table this ruleset owns. */
const NFT_TABLE = "homelab";

/**
 * The named counters of the ruleset, one per drop path, with what each one counts. Their
 * names are an interface: the twin reads them to prove a drop happened.
 */
export const NFT_DROP_COUNTERS = {
  ...IDENTITY_DROP_COUNTERS,
  drop_input_ipv6: "input: IPv6 from any interface but loopback (the lab is IPv4 only)",
  drop_input_invalid: "input: packets conntrack calls invalid",
  drop_input: "input: anything not allowed to reach the router itself",
  drop_forward_ipv6: "forward: every IPv6 packet (the lab is IPv4 only; IPv6 forwarding is off too)",
  drop_forward_invalid: "forward: packets conntrack calls invalid",
  drop_forward: "forward: neither LAN->WAN nor WAN->LAN, or not allowed",
  drop_spoofed: "LAN->WAN: source outside the LAN subnet",
  drop_outbound_lab: "LAN->WAN: lab-bound traffic no outbound flow allows",
  ...EGRESS_DROP_COUNTERS,
  drop_inbound: "WAN->LAN: traffic no inbound flow allows",
  drop_expired: "forward: a temporary hole's packets from its deadline on (until:)",
} as const;

/** The name of one drop counter. */
export type NftDropCounter = keyof typeof NFT_DROP_COUNTERS;

// --- set contents ---------------------------------------------------------------------------------

/** One element of a `saddr . daddr . proto . port` set, with the flows it serves. */
interface RuleElement {
  readonly from: Cidr;
  readonly to: Cidr;
  readonly proto: Proto;
  readonly port: number;
  readonly flows: readonly string[];
  readonly until?: Deadline;
}

function compareRule(a: RuleElement, b: RuleElement): number {
  return compareCidr(a.from, b.from) || compareCidr(a.to, b.to) || comparePorts(a, b);
}

/** Merge rules with the same key into one element that names every flow, sorted. */
function ruleElements(rules: readonly FlowRule[]): RuleElement[] {
  const byKey = new Map<string, { from: Cidr; to: Cidr; proto: Proto; port: number; flows: Set<string>; until?: Deadline }>();
  for (const r of rules) {
    const key = `${r.from}|${r.to}|${r.proto}|${r.port}`;
    const seen = byKey.get(key);
    const e = seen ?? {
      from: r.from,
      to: r.to,
      proto: r.proto,
      port: r.port,
      flows: new Set<string>(),
      ...(r.until ? { until: r.until } : {}),
    };
    if (seen) {
      const until = laterDeadline(seen.until, r.until);
      if (until) e.until = until;
      else delete e.until;
    }
    e.flows.add(r.flow);
    byKey.set(key, e);
  }
  return [...byKey.values()].map((e) => ({ ...e, flows: [...e.flows].sort() })).sort(compareRule);
}

function overlapping(a: RuleElement, b: RuleElement): boolean {
  return a.proto === b.proto && a.port === b.port && a.from.overlaps(b.from) && a.to.overlaps(b.to);
}

/**
 * Split elements into groups with no two overlapping elements in a group. The kernel's
 * set type for concatenated intervals refuses an element whose range overlaps one already
 * in the set ("File exists"), depending on insertion order; a segment-wide flow and a
 * host's own flow to the same port do overlap. Each group becomes its own set, looked up
 * by its own rule, so every rule keeps its own element (and counter) and the ruleset loads
 * whatever the plan holds. Greedy first-fit in sorted order keeps it deterministic.
 */
function disjointGroups<T extends RuleElement>(elements: readonly T[]): T[][] {
  const groups: T[][] = [];
  for (const e of elements) {
    const home = groups.find((g) => !g.some((o) => overlapping(o, e)));
    if (home) home.push(e);
    else groups.push([e]);
  }
  return groups;
}

function setName(base: string, index: number): string {
  return index === 0 ? base : `${base}_${index}`;
}

/** Set element lines: one per line with a trailing comma, which nft accepts. */
function elementsBlock(lines: readonly string[]): NftNode[] {
  return lines.length === 0
    ? []
    : [
        block(
          "elements =",
          lines.map((l) => `${l},`),
        ),
      ];
}

/**
 * A flow set: `saddr . daddr . proto . port`, looked up once per packet. Chosen over a
 * verdict map that jumps to one chain per flow: the lookup costs the same, while the
 * per-element counter and comment already give each rule its own packet count and flow
 * id, without dozens of chains named after flow ids (which nft identifiers cannot spell).
 */
function ruleSet(name: string, comment: string, elements: readonly RuleElement[]): NftBlock {
  return block(`set ${name}`, [
    "type ipv4_addr . ipv4_addr . inet_proto . inet_service",
    // CIDR sources and destinations need intervals.
    "flags interval",
    "counter",
    `comment ${quote(comment)}`,
    ...elementsBlock(
      elements.map(
        (e) => `${addr(e.from)} . ${addr(e.to)} . ${e.proto} . ${e.port} comment ${quote(`${e.flows.join(", ")}${untilNote(e.until)}`)}`,
      ),
    ),
  ]);
}

/** DNAT entries of one side with redundant sources removed (CIDRs nest or are disjoint), sorted. */
function dnatEntries(dnat: readonly Dnat[], side: Dnat["side"]): Dnat[] {
  const seen = new Map<string, Dnat>();
  for (const d of dnat.filter((x) => x.side === side)) {
    const key = `${d.proto}/${d.wanPort}`;
    const other = seen.get(key);
    // The planner keeps one DNAT per WAN port; two would make the map ambiguous.
    if (other && (other.to !== d.to || other.toPort !== d.toPort)) {
      throw new Error(`bug: two DNATs for ${key} on one router (${other.flows.join(", ")} and ${d.flows.join(", ")})`);
    }
    if (!other) seen.set(key, d);
  }
  return (
    [...seen.values()]
      .map((d) => {
        const unique = [...new Map(d.sources.map((s) => [s.toString(), s])).values()];
        return { ...d, sources: unique.filter((s) => !unique.some((o) => o.prefix < s.prefix && o.overlaps(s))).sort(compareCidr) };
      })
      // A DNAT with no source would translate for nobody; leaving it out keeps its target closed too.
      .filter((d) => d.sources.length > 0)
      .sort((a, b) => comparePorts({ proto: a.proto, port: a.wanPort }, { proto: b.proto, port: b.wanPort }))
  );
}

// --- the ruleset ----------------------------------------------------------------------------------

/** One translated destination of a DNAT map, for one source, with every flow that reaches it. */
interface DnatTarget {
  readonly from: Cidr;
  readonly to: string;
  readonly proto: Proto;
  readonly port: number;
  readonly flows: Set<string>;
}

/** The distinct source . destination pairs a DNAT map translates, sorted by source, address and port. */
function dnatTargets(dnat: readonly Dnat[]): DnatTarget[] {
  const targets = new Map<string, DnatTarget>();
  for (const d of dnat) {
    for (const from of d.sources) {
      const key = `${from}|${d.to}|${d.proto}|${d.toPort}`;
      const t = targets.get(key) ?? { from, to: d.to, proto: d.proto, port: d.toPort, flows: new Set<string>() };
      for (const f of d.flows) t.flows.add(f);
      targets.set(key, t);
    }
  }
  return [...targets.values()].sort((a, b) => compareCidr(a.from, b.from) || compareIp(a.to, b.to) || comparePorts(a, b));
}

/** What each side translates: the jump host's SSH on the WAN, published services on the tunnel. */
interface SideDnat {
  readonly side: Dnat["side"];
  /** The map and the set of its translated destinations. */
  readonly map: string;
  readonly targets: string;
  readonly entries: readonly Dnat[];
  readonly what: string;
}

/** The WAN side's DNAT and, for a router with an end of the tunnel, the tunnel side's. */
function sideDnats(router: RouterPlan): SideDnat[] {
  const wan: SideDnat = {
    side: "wan",
    map: "dnat_wan",
    targets: "dnat_wan_targets",
    entries: dnatEntries(router.dnat, "wan"),
    what: "the jump host, for the admins",
  };
  const tunnel = dnatEntries(router.dnat, "tunnel");
  if (!router.tunnel) {
    if (tunnel.length > 0) throw new Error(`bug: ${router.name} translates for the tunnel but has no end of it`);
    return [wan];
  }
  return [
    wan,
    { side: "tunnel", map: "dnat_tunnel", targets: "dnat_tunnel_targets", entries: tunnel, what: "published services, for the infra host" },
  ];
}

/** The rule sets of one direction: disjoint groups, or one empty set so every router has the same structure. */
function ruleGroups(rules: readonly FlowRule[]): RuleElement[][] {
  const groups = disjointGroups(ruleElements(rules));
  return groups.length > 0 ? groups : [[]];
}

/** ` until <deadline>` for a temporary hole's comment, or nothing. */
function untilNote(until: Deadline | undefined): string {
  return until ? ` until ${until.display}` : "";
}

/** One connection a temporary hole lets through, as conntrack remembers it: its original tuple. */
interface Hole {
  readonly from: Cidr;
  readonly to: Cidr;
  readonly proto: Proto;
  readonly port: number;
  readonly flows: readonly string[];
  readonly until: Deadline;
}

/**
 * The router's temporary holes: the forwarded rules and the DNATs that carry a deadline, each
 * as the original tuple of the connections it admits (for a DNAT: the source, the side's
 * address and port it connected to), sorted by deadline, then tuple.
 */
function temporaryHoles(
  router: RouterPlan,
  outSets: readonly RuleElement[][],
  inSets: readonly RuleElement[][],
  sides: readonly SideDnat[],
): Hole[] {
  const holes: Hole[] = [];
  for (const e of [...outSets, ...inSets].flat()) if (e.until) holes.push({ ...e, until: e.until });
  for (const x of sides)
    for (const d of x.entries)
      if (d.until)
        for (const from of d.sources)
          holes.push({ from, to: Cidr.host(sideAddress(router, x.side)), proto: d.proto, port: d.wanPort, flows: d.flows, until: d.until });
  const unique = new Map(holes.map((h) => [`${h.from}|${h.to}|${h.proto}|${h.port}|${h.until.epoch}`, h]));
  return [...unique.values()].sort((a, b) => a.until.epoch - b.until.epoch || compareRule({ ...a, flows: [] }, { ...b, flows: [] }));
}

/**
 * The rule that closes a hole at its deadline: from that second on, every packet of a connection
 * it admitted (either direction; conntrack's original tuple names both) is dropped and counted.
 */
function holeRule(h: Hole): string {
  return (
    `meta time >= ${h.until.epoch} meta l4proto ${h.proto} ct original ip saddr ${addr(h.from)} ct original ip daddr ${addr(h.to)} ` +
    `ct original proto-dst ${h.port} counter name "drop_expired" drop comment ${quote(`${h.flows.join(", ")} closed at ${h.until.display}`)}`
  );
}

/** The statement that counts a drop on its named counter, then drops. */
const drop = (c: NftDropCounter) => `counter name ${quote(c)} drop`;

/** The sets and the DNAT maps the chains look up. */
function rulesetSets(
  router: RouterPlan,
  outSets: readonly RuleElement[][],
  inSets: readonly RuleElement[][],
  sides: readonly SideDnat[],
): NftNode[] {
  const labNets = [...router.labNets].sort(compareCidr);
  return [
    block("set lab_nets", [
      "type ipv4_addr",
      "flags interval",
      // Lab networks never overlap after validation; auto-merge keeps a mistake loadable.
      "auto-merge",
      `comment ${quote("every lab network: traffic to these is checked against the flows")}`,
      ...elementsBlock(labNets.map(addr)),
    ]),
    "",
    ...outSets.flatMap((g, i) => [ruleSet(setName("outbound", i), "LAN->WAN lab-bound: saddr . daddr . proto . port", g), ""]),
    ...inSets.flatMap((g, i) => [ruleSet(setName("inbound", i), "WAN->LAN: saddr . daddr . proto . port", g), ""]),
    ...egressSets(router),
    ...identitySets(router.dmzGuard),
    "",
    ...sides.flatMap((x, i) => [
      ...(i > 0 ? [""] : []),
      block(`map ${x.map}`, [
        "type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service",
        "flags interval",
        "counter",
        `comment ${quote(`${x.side}: source . proto . port -> backend (${x.what}); a source not listed is not translated`)}`,
        ...elementsBlock(
          x.entries.flatMap((d) =>
            d.sources.map(
              (s) =>
                `${addr(s)} . ${d.proto} . ${d.wanPort} comment ${quote(`${d.flows.join(" ")}${untilNote(d.until)}`)} : ${d.to} . ${d.toPort}`,
            ),
          ),
        ),
      ]),
      "",
      block(`set ${x.targets}`, [
        "type ipv4_addr . ipv4_addr . inet_proto . inet_service",
        "flags interval",
        "counter",
        `comment ${quote(`${x.side}: source . translated destination, the only pairs ct status dnat may pass`)}`,
        ...elementsBlock(
          dnatTargets(x.entries).map(
            (t) => `${addr(t.from)} . ${t.to} . ${t.proto} . ${t.port} comment ${quote([...t.flows].sort().join(", "))}`,
          ),
        ),
      ]),
    ]),
  ];
}

/** The interface of one side, quoted. */
function sideIface(router: RouterPlan, side: Dnat["side"]): string {
  return quote(side === "wan" ? router.wan.iface : router.tunnel!.iface);
}

/** The address of one side, which its DNAT translates. */
function sideAddress(router: RouterPlan, side: Dnat["side"]): string {
  return side === "wan" ? router.wan.address : router.tunnel!.address;
}

/** The filter chains (input, forward and its two directions) and the NAT chains. */
function rulesetChains(
  router: RouterPlan,
  outSets: readonly RuleElement[][],
  inSets: readonly RuleElement[][],
  sides: readonly SideDnat[],
  holes: readonly Hole[],
): NftNode[] {
  const wan = quote(router.wan.iface);
  const lan = quote(router.lan.iface);
  const lookup = (name: string) => `ip saddr . ip daddr . meta l4proto . th dport @${name}`;
  return [
    identityChain(router.dmzGuard, drop("drop_dmz_spoofed")),
    "",
    block("chain input", [
      ...inputPrologue({ invalid: drop("drop_input_invalid"), ipv6: drop("drop_input_ipv6") }),
      `iifname ${lan} udp dport 67 accept comment "DHCP from the LAN"`,
      ...(router.tunnel
        ? [
            `iifname ${wan} ip saddr ${router.tunnel.peer.dmzAddress} ip daddr ${router.wan.address} udp dport ${router.tunnel.port} accept comment "WireGuard from the infra host only"`,
          ]
        : []),
      // The router's sshd also listens on the LAN address only; the WAN port 22 belongs to the jump host's DNAT.
      // Address and MAC: any host of the segment can take the jump host's address, not its MAC.
      `iifname ${lan} ether saddr ${router.jumpMac} ip saddr ${router.jumpAddress} ip daddr ${router.lan.address} tcp dport 22 accept comment "SSH only from the jump host"`,
      drop("drop_input"),
    ]),
    "",
    block("chain forward", [
      "type filter hook forward priority filter; policy drop;",
      // First: the lookups below match `ip` fields only, so the final accept would pass IPv6.
      ...ipv6Drop(drop("drop_forward_ipv6")),
      // Ahead of the established accept, so a temporary hole's open connections end at its deadline too.
      ...holes.map(holeRule),
      "ct state established,related accept",
      `ct state invalid ${drop("drop_forward_invalid")}`,
      // Matching the side, the source and the destination too means a DNAT this table did not make gains nothing.
      ...sides.map(
        (x) =>
          `iifname ${sideIface(router, x.side)} oifname ${lan} ct status dnat ip saddr . ip daddr . meta l4proto . th dport @${x.targets} accept comment ${quote(x.what)}`,
      ),
      `iifname ${lan} oifname ${wan} jump lan_to_wan`,
      `iifname ${wan} oifname ${lan} jump wan_to_lan`,
      drop("drop_forward"),
    ]),
    "",
    block("chain lan_to_wan", [
      `ip saddr != ${addr(router.lan.subnet)} ${drop("drop_spoofed")}`,
      ...egressGuardFirst(router, drop),
      ...outSets.map((_g, i) => `ip daddr @lab_nets ${lookup(setName("outbound", i))} accept`),
      `ip daddr @lab_nets ${drop("drop_outbound_lab")}`,
      ...egressVerdict(router, drop),
    ]),
    "",
    block("chain wan_to_lan", [...inSets.map((_g, i) => `${lookup(setName("inbound", i))} accept`), drop("drop_inbound")]),
    "",
    block("chain prerouting", [
      "type nat hook prerouting priority dstnat; policy accept;",
      // The map key starts with the source, so the source check and the translation are one lookup.
      // Published services only on the tunnel: whoever takes the proxy's address and MAC on the DMZ gets no translation.
      ...sides.map(
        (x) =>
          `iifname ${sideIface(router, x.side)} ip daddr ${sideAddress(router, x.side)} meta l4proto { tcp, udp } dnat ip to ip saddr . meta l4proto . th dport map @${x.map}`,
      ),
    ]),
    "",
    block("chain postrouting", [
      "type nat hook postrouting priority srcnat; policy accept;",
      // Lab networks route to each other unmasqueraded, so every firewall sees real sources.
      ...(router.egress.kind !== "none" ? [`oifname ${wan} ip daddr != @lab_nets masquerade`] : []),
    ]),
  ];
}

/** The ruleset as a tree; `renderRouterNftables` prints it. */
function routerRuleset(router: RouterPlan): NftNode[] {
  const outSets = ruleGroups(router.outbound);
  const inSets = ruleGroups(router.inbound);
  const sides = sideDnats(router);
  const holes = temporaryHoles(router, outSets, inSets, sides);
  // The expiry counter exists where a hole does, so a router without one keeps its ruleset.
  const counters = (Object.keys(NFT_DROP_COUNTERS) as NftDropCounter[])
    .filter((c) => !(c in EGRESS_DROP_COUNTERS) || hasEgressCounter(router, c as EgressDropCounter))
    .filter((c) => c !== "drop_expired" || holes.length > 0)
    .map((c) => block(`counter ${c}`, [`comment ${quote(NFT_DROP_COUNTERS[c])}`]));
  const sets = rulesetSets(router, outSets, inSets, sides);
  const chains = rulesetChains(router, outSets, inSets, sides, holes);
  return [
    "flush ruleset",
    "",
    block(`table inet ${NFT_TABLE}`, ["# Named counters: one per drop path.", ...counters, "", ...sets, "", ...chains]),
  ];
}

/** The router's whole ruleset as `nft -f` text. Same plan, same bytes. */
export function renderRouterNftables(router: RouterPlan): string {
  const header = generatedHeader("#", `nftables ruleset of ${router.name} (${router.segment}): load with nft -f`, "render/nftables.ts");
  return `${header}\n${printNft(routerRuleset(router)).join("\n")}\n`;
}
