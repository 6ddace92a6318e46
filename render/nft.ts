/**
 * What every nftables ruleset of the lab is printed with: a tiny tree of blocks and
 * statements, the quoting and address forms nft expects, and the start of every input chain.
 * Used by the routers' ruleset (render/nftables.ts) and the hosts' (render/host-firewall.ts).
 */
import type { Cidr } from "../model/net";

/** ICMP echo requests a box answers per second; more than that is dropped (and counted). */
const PING_RATE_PER_SECOND = 10;

/** nft rejects comments longer than this many bytes. */
const MAX_COMMENT = 128;

/** One line of ruleset text, a blank line (`""`), or a block with a head and a body. */
export type NftNode = string | NftBlock;

/** `head {` body `}`. */
export interface NftBlock {
  readonly head: string;
  readonly body: readonly NftNode[];
}

/** A block node. */
export function block(head: string, body: readonly NftNode[]): NftBlock {
  return { head, body };
}

/** Print nodes with tab indentation, the way `nft list ruleset` does. */
export function printNft(nodes: readonly NftNode[], depth = 0): string[] {
  const pad = "\t".repeat(depth);
  return nodes.flatMap((n) => {
    if (typeof n === "string") return [n === "" ? "" : `${pad}${n}`];
    return [`${pad}${n.head} {`, ...printNft(n.body, depth + 1), `${pad}}`];
  });
}

/** A quoted nft string. nft strings cannot escape quotes, so they are dropped; the length is capped. */
export function quote(text: string): string {
  const clean = text.replace(/["\\\n]/g, "");
  return `"${clean.length > MAX_COMMENT ? `${clean.slice(0, MAX_COMMENT - 3)}...` : clean}"`;
}

/** A CIDR as nft prints it: a bare address for a /32. */
export function addr(c: Cidr): string {
  return c.prefix === 32 ? c.network : c.toString();
}

/**
 * The lab speaks IPv4 only, and every firewall says so with its first verdict: an IPv6
 * packet is dropped (and counted) before anything could accept it. In an `inet` table a
 * rule that matches `ip saddr` or `ip daddr` never sees IPv6, so without this rule a
 * chain's final accept would pass every IPv6 packet. Nothing IPv6 is let in, not even
 * ICMPv6 neighbour discovery: no box has an IPv6 address (the routers' sysctls and the
 * NixOS hosts' `networking.enableIPv6 = false` turn it off), so there is no neighbour to
 * discover, and an open ND path would only help whoever turned IPv6 on by mistake.
 * `verdict` is what the drop says: a named counter's drop on a router.
 */
export function ipv6Drop(verdict: string): NftNode[] {
  return ["# IPv6: the lab is IPv4 only (render/nft.ts).", `meta nfproto ipv6 ${verdict}`];
}

/** The verdicts of an input chain's prologue: for invalid packets and for IPv6. */
export interface PrologueVerdicts {
  readonly invalid: string;
  readonly ipv6: string;
}

/**
 * The start of every input chain: drop by default; loopback passes (it never leaves the box,
 * whatever its family); IPv6 from any other interface is dropped (`ipv6Drop`);
 * established/related pass, invalid is dropped, and ping stays answerable for monitoring,
 * rate-limited so a flood costs no more than a trickle.
 */
export function inputPrologue(verdicts: PrologueVerdicts): NftNode[] {
  return [
    "type filter hook input priority filter; policy drop;",
    `iifname "lo" accept`,
    ...ipv6Drop(verdicts.ipv6),
    "ct state established,related accept",
    `ct state invalid ${verdicts.invalid}`,
    `icmp type echo-request limit rate ${PING_RATE_PER_SECOND}/second burst ${PING_RATE_PER_SECOND * 2} packets accept comment "ping, rate-limited"`,
  ];
}
