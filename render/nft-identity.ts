/**
 * The DMZ source guard of a box on the DMZ (model/network/identity.ts), as nftables: the
 * routers' ruleset (render/nftables.ts) and the infra host's (render/host-firewall.ts) both
 * print it. A base chain on the prerouting hook at raw priority, before conntrack and before
 * any DNAT, so a spoofed packet never creates a connection or reaches a translation:
 *
 *   iifname <dmz> ip saddr . ether saddr @dmz_macs accept     the party, from its own MAC
 *   iifname <dmz> ip saddr @dmz_bound <counted drop>           anyone else claiming a party
 *
 * Every other source (the internet through the edge, the admins' workstations, home devices)
 * is not a party and passes on to the filter chains unchanged.
 */
import type { DmzGuard } from "../model/network/identity";
import { addr, block, quote, type NftNode } from "./nft";

/** The guard's drop counter, and what it counts. */
export const IDENTITY_DROP_COUNTERS = {
  drop_dmz_spoofed: "prerouting: a DMZ party's address (or a network behind it) from another MAC",
} as const;

/** Set element lines: one per line with a trailing comma, which nft accepts. */
function elements(lines: readonly string[]): NftNode[] {
  return lines.length === 0
    ? []
    : [
        block(
          "elements =",
          lines.map((l) => `${l},`),
        ),
      ];
}

/** The guard's two sets: every bound source, and the source . MAC pairs that may use them. */
export function identitySets(guard: DmzGuard): NftNode[] {
  return [
    block("set dmz_bound", [
      "type ipv4_addr",
      "flags interval",
      `comment ${quote("every source a DMZ party is known by: it passes only through dmz_macs")}`,
      ...elements(guard.bound.map(addr)),
    ]),
    "",
    block("set dmz_macs", [
      "type ipv4_addr . ether_addr",
      // Networks behind a router need intervals; the parties' sources never overlap.
      "flags interval",
      "counter",
      `comment ${quote("source . Ethernet source of every other DMZ party")}`,
      ...elements(guard.bindings.map((b) => `${addr(b.from)} . ${b.mac} comment ${quote(b.what)}`)),
    ]),
  ];
}

/** The guard's chain; `drop` is the counted drop the caller prints (a named counter). */
export function identityChain(guard: DmzGuard, drop: string): NftNode {
  const dmz = quote(guard.iface);
  return block("chain dmz_identity", [
    // Raw priority: before conntrack and DNAT, so a spoofed packet creates nothing.
    "type filter hook prerouting priority raw; policy accept;",
    `iifname ${dmz} ip saddr . ether saddr @dmz_macs accept comment "a DMZ party, from its own MAC"`,
    `iifname ${dmz} ip saddr @dmz_bound ${drop}`,
  ]);
}
