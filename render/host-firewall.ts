/**
 * The nftables ruleset of a single host (the DMZ infra host, a jump host): default-deny
 * input with one accept rule per model reason, no forwarding, open output. Routers have
 * their own renderer; this one never forwards or translates anything.
 */
import { compareText } from "../model/order";
import type { Proto } from "../model/lab";
import { compareCidr, ipToInt, type Cidr } from "../model/net";
import type { DmzGuard } from "../model/network/identity";
import type { SegmentPlan } from "../model/plan";
import { generatedHeader } from "./header";
import { addr, block, inputPrologue, ipv6Drop, printNft, quote, type NftNode } from "./nft";
import { IDENTITY_DROP_COUNTERS, identityChain, identitySets } from "./nft-identity";

/** One inbound service the host accepts. */
export interface HostFirewallRule {
  /** Sources allowed, or "any" for a service the whole internet may reach. */
  readonly from: readonly Cidr[] | "any";
  readonly proto: Proto;
  readonly port: number;
  /**
   * The local address the service listens on. @default undefined: any of the host's
   * addresses (a host with one address needs no more).
   */
  readonly to?: string;
  /** Why the rule exists; rendered as a comment above it. */
  readonly reason: string;
}

/** Everything the host firewall needs. */
export interface HostFirewallSpec {
  /** What this ruleset guards, for the header, e.g. `infra.lab.example.net (DMZ infra host)`. */
  readonly host: string;
  readonly rules: readonly HostFirewallRule[];
  /** A host on the DMZ binds the other parties' addresses to their MACs (render/nft-identity.ts). @default none */
  readonly guard?: DmzGuard;
}

/**
 * A segment host's inbound rules: every flow of the segment that ends at `address` (the router
 * enforces the same list), by source. Flows from the internet end at the proxy only, never here.
 */
export function flowsEndingAt(seg: SegmentPlan, address: string): HostFirewallRule[] {
  return seg.flows
    .filter((f) => f.from.zone !== "internet" && f.to.cidrs.some((c) => c.contains(address)))
    .flatMap((f) =>
      f.ports.map((p) => ({ from: f.from.cidrs, proto: p.proto, port: p.port, to: address, reason: `${f.id}: ${f.reason}` })),
    );
}

/** The nft table every host ruleset lives in (the twin reads its input chain's policy counter). */
const HOST_TABLE = "inet host";

/**
 * Order rules by port, protocol, destination and sources, so reordering the model never
 * reorders the file. Port first (not comparePorts' protocol first): DNS over UDP and TCP sit together.
 */
function compareRules(a: HostFirewallRule, b: HostFirewallRule): number {
  return (
    a.port - b.port ||
    compareText(a.proto, b.proto) ||
    destinationKey(a) - destinationKey(b) ||
    compareText(sourcesText(a.from), sourcesText(b.from))
  );
}

/** Rules for any local address sort before rules for one address. */
function destinationKey(r: HostFirewallRule): number {
  return r.to === undefined ? -1 : ipToInt(r.to);
}

function sortCidrs(cidrs: readonly Cidr[]): Cidr[] {
  return [...cidrs].sort(compareCidr);
}

function sourcesText(from: HostFirewallRule["from"]): string {
  return from === "any" ? "" : sortCidrs(from).join(", ");
}

/** One rule as nft text. An empty source list would admit nobody, which is a bug in the caller. */
function renderRule(r: HostFirewallRule): string {
  if (r.from !== "any" && r.from.length === 0) throw new Error(`bug: host firewall rule ${r.port}/${r.proto} has no sources`);
  const parts: string[] = [];
  if (r.from !== "any") {
    const cidrs = sortCidrs(r.from).map(addr);
    parts.push(cidrs.length === 1 ? `ip saddr ${cidrs[0]}` : `ip saddr { ${cidrs.join(", ")} }`);
  }
  if (r.to !== undefined) parts.push(`ip daddr ${r.to}`);
  parts.push(`${r.proto} dport ${r.port}`, "accept");
  return parts.join(" ");
}

/** The DMZ source guard's counter, sets and chain, or nothing for a host off the DMZ. */
function guardNodes(guard: DmzGuard | undefined): NftNode[] {
  if (!guard) return [];
  return [
    block("counter drop_dmz_spoofed", [`comment ${quote(IDENTITY_DROP_COUNTERS.drop_dmz_spoofed)}`]),
    "",
    ...identitySets(guard),
    "",
    identityChain(guard, 'counter name "drop_dmz_spoofed" drop'),
    "",
  ];
}

/** The nftables ruleset text (loadable with `nft -f`, checked with `nft -c -f`). */
export function renderHostFirewall(spec: HostFirewallSpec): string {
  const rules = [...spec.rules].sort(compareRules);
  const header = generatedHeader("#", `nftables ruleset of ${spec.host}`, "render/host-firewall.ts");
  const ruleset = [
    "# The whole ruleset is replaced in one transaction: there is never a moment without it.",
    "flush ruleset",
    "",
    block(`table ${HOST_TABLE}`, [
      ...guardNodes(spec.guard),
      block("chain input", [
        ...inputPrologue({ invalid: "drop", ipv6: "counter drop" }),
        "",
        ...rules.flatMap((r) => [`# ${r.reason.replace(/\s+/g, " ")}`, renderRule(r)]),
        "",
        "# Everything else meets the drop policy; the counter shows how much.",
        'counter comment "dropped by policy"',
      ]),
      "",
      "# A host forwards nothing; only routers do.",
      block("chain forward", ["type filter hook forward priority filter; policy drop;", ...ipv6Drop("counter drop")]),
      "",
      block("chain output", ["type filter hook output priority filter; policy accept;"]),
    ]),
  ];
  return `${header}\n${printNft(ruleset).join("\n")}\n`;
}
