/**
 * What "the internet" is for a segment's router: the ranges that are never the internet,
 * a segment's egress allowlist (its schema value, parsed), and the router's egress plan.
 *
 * For an untrusted segment, "the internet" is every address outside the lab's own networks
 * MINUS the special-purpose ranges below and the ISP edge router: otherwise an agent in the
 * sandbox reaches the ISP router's admin page, the neighbours' private networks beyond the
 * edge, the ISP's CGNAT space, link-local and multicast. A segment may narrow the internet
 * further to an allowlist (`egress`); a trusted segment without one keeps the whole internet.
 */
import type { Proto } from "../lab";
import { Cidr, compareCidr, isIpv4 } from "../net";
import { cidrVerdict, type Verdict } from "../values";

/**
 * The IPv4 ranges that are never the internet (RFC 6890 and its successors), each with what
 * it is. The documentation ranges (TEST-NET-1..3) are not listed: nothing routes them, so
 * dropping them gains nothing, and examples use them for internet addresses.
 */
export const NON_PUBLIC_RANGES: readonly { readonly cidr: Cidr; readonly what: string }[] = [
  { cidr: Cidr.of("0.0.0.0/8"), what: "this network (RFC 791)" },
  { cidr: Cidr.of("10.0.0.0/8"), what: "private (RFC 1918)" },
  { cidr: Cidr.of("100.64.0.0/10"), what: "carrier-grade NAT (RFC 6598)" },
  { cidr: Cidr.of("127.0.0.0/8"), what: "loopback (RFC 1122)" },
  { cidr: Cidr.of("169.254.0.0/16"), what: "link-local (RFC 3927)" },
  { cidr: Cidr.of("172.16.0.0/12"), what: "private (RFC 1918)" },
  { cidr: Cidr.of("192.0.0.0/24"), what: "IETF protocol assignments (RFC 6890)" },
  { cidr: Cidr.of("192.168.0.0/16"), what: "private (RFC 1918)" },
  { cidr: Cidr.of("198.18.0.0/15"), what: "benchmarking (RFC 2544)" },
  { cidr: Cidr.of("224.0.0.0/4"), what: "multicast (RFC 5771)" },
  { cidr: Cidr.of("240.0.0.0/4"), what: "reserved and limited broadcast (RFC 1112, RFC 919)" },
];

/** The non-public range a CIDR overlaps, if any. */
export function nonPublicRange(c: Cidr): (typeof NON_PUBLIC_RANGES)[number] | undefined {
  return NON_PUBLIC_RANGES.find((r) => r.cidr.overlaps(c));
}

/** One parsed `egress.allow` entry: a network, and a port when it names one. */
export interface EgressTarget {
  readonly to: Cidr;
  /** Absent: every protocol and port. */
  readonly port?: { readonly proto: Proto; readonly port: number };
}

const EGRESS_RULE =
  "must be an IPv4 address or network, optionally with one port: 203.0.113.10, 203.0.113.0/24 or 203.0.113.10:443/tcp (a firewall matches addresses, so host names are not accepted)";

/** Parse an `egress.allow` entry; undefined when it is not one (egressTargetVerdict says why). */
export function parseEgressTarget(text: string): EgressTarget | undefined {
  const m = /^([0-9./]+)(?::(\d{1,5})\/(tcp|udp))?$/.exec(text);
  if (!m) return undefined;
  const to = m[1]!.includes("/") ? Cidr.parse(m[1]!) : isIpv4(m[1]!) ? Cidr.host(m[1]!) : undefined;
  if (!to || to.toString() !== (m[1]!.includes("/") ? m[1] : `${m[1]}/32`)) return undefined;
  if (m[2] === undefined) return { to };
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { to, port: { proto: m[3] as Proto, port } } : undefined;
}

/** The schema's verdict on an `egress.allow` entry. */
export function egressTargetVerdict(text: string): Verdict {
  if (parseEgressTarget(text) !== undefined) return undefined;
  const net = /^([0-9./]+)/.exec(text)?.[1];
  const bad = net?.includes("/") ? cidrVerdict(net) : undefined;
  if (bad) return { message: `${EGRESS_RULE}; ${net}: ${bad.message}`, fix: bad.fix };
  return { message: EGRESS_RULE, fix: 'write an address, a network or an address with a port, such as "203.0.113.10:443/tcp"' };
}

/** A destination an allowlist opens on one port. */
export interface EgressPort {
  readonly to: Cidr;
  readonly proto: Proto;
  readonly port: number;
}

/** Where a router lets internet-bound traffic go. */
export type RouterEgress =
  /** `internet: false`: nowhere. */
  | { readonly kind: "none" }
  /** The whole internet (for an untrusted segment, minus its guard). */
  | { readonly kind: "internet" }
  /** Only these networks (every port) and these network ports, for `reason`. */
  | { readonly kind: "allowlist"; readonly hosts: readonly Cidr[]; readonly ports: readonly EgressPort[]; readonly reason: string };

/** Destinations an untrusted segment's router drops that would otherwise count as internet. */
export interface EgressGuard {
  /** The ISP edge router: dropped before any flow, so not even a flow to the DMZ opens it. */
  readonly edge: readonly Cidr[];
  /** NON_PUBLIC_RANGES: dropped after the lab's networks were checked against the flows. */
  readonly nonPublic: readonly { readonly cidr: Cidr; readonly what: string }[];
}

/** The widest of nested networks only (CIDRs nest or are disjoint), sorted: no two set elements overlap. */
function widest<T extends { readonly to: Cidr }>(items: readonly T[], sameKey: (a: T, b: T) => boolean): T[] {
  return items
    .filter(
      (x, i) =>
        !items.some(
          (o, j) =>
            j !== i && sameKey(o, x) && o.to.overlaps(x.to) && (o.to.prefix < x.to.prefix || (o.to.prefix === x.to.prefix && j < i)),
        ),
    )
    .sort((a, b) => compareCidr(a.to, b.to));
}

/** A segment's router egress: from `internet` and `egress` (validation refuses egress without internet). */
export function planEgress(
  internet: boolean,
  egress: { readonly allow: readonly string[]; readonly reason: string } | undefined,
): RouterEgress {
  if (!internet) return { kind: "none" };
  if (!egress) return { kind: "internet" };
  const targets = egress.allow.map((t) => {
    const parsed = parseEgressTarget(t);
    if (!parsed) throw new Error(`bug: egress target ${JSON.stringify(t)} passed the schema but does not parse`);
    return parsed;
  });
  const hosts = widest(
    targets.filter((t) => !t.port),
    () => true,
  ).map((t) => t.to);
  const ports = widest(
    targets
      .flatMap((t) => (t.port ? [{ to: t.to, ...t.port }] : []))
      .filter((p) => !hosts.some((h) => h.overlaps(p.to) && h.prefix <= p.to.prefix)),
    (a, b) => a.proto === b.proto && a.port === b.port,
  ).sort((a, b) => compareCidr(a.to, b.to) || a.proto.localeCompare(b.proto) || a.port - b.port);
  return { kind: "allowlist", hosts, ports, reason: egress.reason };
}

/** The guard of a segment's router: the edge router and the non-public ranges when untrusted, nothing when trusted. */
export function planEgressGuard(trust: "trusted" | "untrusted", edgeRouter: string): EgressGuard {
  return trust === "untrusted" ? { edge: [Cidr.host(edgeRouter)], nonPublic: NON_PUBLIC_RANGES } : { edge: [], nonPublic: [] };
}
