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
 * The start of every input chain: drop by default; loopback and established/related pass,
 * invalid is dropped (`invalid` is the verdict: a named counter's drop on a router), and ping
 * stays answerable for monitoring, rate-limited so a flood costs no more than a trickle.
 */
export function inputPrologue(invalid: string): NftNode[] {
  return [
    "type filter hook input priority filter; policy drop;",
    `iifname "lo" accept`,
    "ct state established,related accept",
    `ct state invalid ${invalid}`,
    `icmp type echo-request limit rate ${PING_RATE_PER_SECOND}/second burst ${PING_RATE_PER_SECOND * 2} packets accept comment "ping, rate-limited"`,
  ];
}
