/**
 * The internet part of a router's `lan_to_wan` chain (render/nftables.ts): its sets, the guard
 * of an untrusted segment, and the internet verdict. Lab-bound traffic is decided before, by
 * the flows; what reaches these rules is bound for outside the lab's networks.
 *
 * - guard (untrusted segments): the ISP edge router is dropped before any flow is looked up,
 *   so not even a flow to the whole DMZ opens its admin page; the non-public ranges
 *   (model/network/egress.ts) are dropped after the lab's networks, which lie inside them;
 * - verdict: nowhere (`internet: false`), the internet, or only the allowlist (`egress`).
 */
import type { RouterEgress } from "../model/network/egress";
import type { RouterPlan } from "../model/network/router";
import { addr, block, quote, type NftNode } from "./nft";
import { unreachable } from "../model/unreachable";

/** The egress drop counters, with what each one counts (part of NFT_DROP_COUNTERS). */
export const EGRESS_DROP_COUNTERS = {
  drop_edge: "LAN->WAN, untrusted: the ISP edge router, whatever a flow says",
  drop_non_public: "LAN->WAN, untrusted: non-public ranges outside the lab (RFC 1918, CGNAT, link-local, multicast...)",
  drop_internet: "LAN->WAN: internet-bound traffic from a segment without internet",
  drop_egress: "LAN->WAN: internet-bound traffic outside the segment's egress allowlist",
} as const;

/** The name of one egress drop counter. */
export type EgressDropCounter = keyof typeof EGRESS_DROP_COUNTERS;

/** How the caller prints a counted drop. */
type Drop = (c: EgressDropCounter) => string;

/** Whether this router's ruleset has the counter (the others have no rule that could move it). */
export function hasEgressCounter(router: RouterPlan, c: EgressDropCounter): boolean {
  switch (c) {
    case "drop_edge":
      return router.guard.edge.length > 0;
    case "drop_non_public":
      return router.guard.nonPublic.length > 0;
    case "drop_internet":
      return router.egress.kind === "none";
    case "drop_egress":
      return router.egress.kind === "allowlist";
    default: {
      return unreachable(c, "counter");
    }
  }
}

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

function addressSet(name: string, comment: string, lines: readonly string[]): NftNode[] {
  return [block(`set ${name}`, ["type ipv4_addr", "flags interval", `comment ${quote(comment)}`, ...elements(lines)]), ""];
}

/** The sets the egress rules look up: only those this router's rules use. */
export function egressSets(router: RouterPlan): NftNode[] {
  const { guard, egress } = router;
  return [
    ...(guard.edge.length > 0
      ? addressSet("edge_router", "the ISP edge router: never reachable from an untrusted segment", guard.edge.map(addr))
      : []),
    ...(guard.nonPublic.length > 0
      ? addressSet(
          "non_public",
          "never the internet: special-purpose ranges outside the lab",
          guard.nonPublic.map((r) => `${addr(r.cidr)} comment ${quote(r.what)}`),
        )
      : []),
    ...(egress.kind === "allowlist"
      ? [
          ...addressSet("egress_hosts", "egress allowlist: networks open on every port", egress.hosts.map(addr)),
          block("set egress_ports", [
            "type ipv4_addr . inet_proto . inet_service",
            "flags interval",
            "counter",
            `comment ${quote("egress allowlist: daddr . proto . port")}`,
            ...elements(egress.ports.map((p) => `${addr(p.to)} . ${p.proto} . ${p.port}`)),
          ]),
          "",
        ]
      : []),
  ];
}

/** The guard's first rule: before any flow is looked up. */
export function egressGuardFirst(router: RouterPlan, drop: Drop): string[] {
  return router.guard.edge.length > 0 ? [`ip daddr @edge_router ${drop("drop_edge")}`] : [];
}

/** After the lab's networks: the non-public ranges (untrusted), then the internet verdict. */
export function egressVerdict(router: RouterPlan, drop: Drop): string[] {
  const guard = router.guard.nonPublic.length > 0 ? [`ip daddr @non_public ${drop("drop_non_public")}`] : [];
  return [...guard, ...internetVerdict(router.egress, drop)];
}

function internetVerdict(egress: RouterEgress, drop: Drop): string[] {
  switch (egress.kind) {
    case "none":
      return [drop("drop_internet")];
    case "internet":
      return [`accept comment "the internet, masqueraded"`];
    case "allowlist":
      return [
        `ip daddr @egress_hosts accept comment ${quote(`egress allowlist: ${egress.reason}`)}`,
        `ip daddr . meta l4proto . th dport @egress_ports accept comment "egress allowlist, by port"`,
        drop("drop_egress"),
      ];
    default: {
      return unreachable(egress, "egress kind");
    }
  }
}
