/**
 * The rulesets the firewall bench (bench/fw-bench.ts) loads into one router of the twin, and
 * the flow each is measured with.
 *
 * - the reference ruleset: the twin's own internal-fw, as `npm run plan` rendered it;
 * - a generated lab's ruleset: the router of its largest segment (most hosts), rendered from
 *   the plan of that lab, with its interface names replaced by the twin router's (the rules
 *   match `iifname`/`oifname`; nothing else is changed).
 *
 * The flow is the same for both: TCP from a host of the ruleset's own LAN to the internet,
 * masqueraded. Its first packet walks the whole forward chain: the IPv6 drop, the
 * established and invalid checks, the DNAT check, the jump to `lan_to_wan`, the spoofing
 * check, the untrusted guard where there is one, the lab-network lookups, and is accepted by
 * the chain's last rule. Every later packet is accepted by `ct state established,related`,
 * second in the chain, as any flow's would be: the ruleset's size costs a new connection,
 * never an established one, and masquerading is the most a packet costs (conntrack plus NAT).
 */
import { requireLab } from "../model/check";
import { planLab } from "../model/plan";
import { renderRouterNftables } from "../render/nftables";
import type { RouterPlan } from "../model/network/router";

/** One ruleset of the bench, ready for `nft -f`, and where the flow that exercises it starts. */
export interface BenchRuleset {
  /** Short name in the report: `reference`, `2,000-VM lab`. */
  readonly name: string;
  /** Which router of which lab it is. */
  readonly source: string;
  readonly text: string;
  /** The address the client sends from: a host of the ruleset's LAN. */
  readonly client: string;
  /** Size: lines of text and elements of its sets and maps. */
  readonly lines: number;
  readonly elements: number;
}

/** Set and map elements of a rendered ruleset: the lines inside `elements = { ... }` blocks. */
export function countElements(text: string): number {
  let inside = false;
  let n = 0;
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t === "elements = {") inside = true;
    else if (inside && t === "}") inside = false;
    else if (inside && t !== "") n++;
  }
  return n;
}

/** Replace the quoted interface names of `router`'s ruleset with the twin router's. */
export function renameInterfaces(text: string, from: { wan: string; lan: string }, to: { wan: string; lan: string }): string {
  const names = new Map([
    [`"${from.wan}"`, `"${to.wan}"`],
    [`"${from.lan}"`, `"${to.lan}"`],
  ]);
  const pattern = new RegExp([...names.keys()].map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g");
  return text.replace(pattern, (m) => names.get(m)!);
}

/** The reference ruleset: the twin router's rendered file, as loaded. */
export function referenceRuleset(text: string, router: string, client: string): BenchRuleset {
  return { name: "reference", source: `${router} of the reference lab`, text, client, lines: text.split("\n").length, elements: countElements(text) };
}

/** What the bench needs to know of the twin's router to load a foreign ruleset into it. */
export interface TwinRouter {
  readonly wan: string;
  readonly lan: string;
  /** Addresses already in use in the twin: the client must not take one (ARP would answer twice). */
  readonly taken: ReadonlySet<string>;
}

/** The largest segment's router of a lab: most hosts, then name. */
function largestRouter(dir: string): { router: RouterPlan; hosts: readonly string[] } {
  const plan = planLab(requireLab(dir));
  const segs = Object.values(plan.segments).sort((a, b) => b.hosts.length - a.hosts.length || a.name.localeCompare(b.name));
  const seg = segs[0];
  if (!seg) throw new Error(`bench: the lab in ${dir} has no segment`);
  return { router: seg.router, hosts: seg.hosts.map((h) => h.address) };
}

/**
 * The ruleset of the largest segment's router of the lab in `dir`, for the twin's router.
 * Its client is a host of that segment whose address the twin does not use; the flow goes
 * to the internet, so the segment must have internet egress (an allowlist or none would
 * drop it: then teach the bench another flow).
 */
export function labRuleset(name: string, dir: string, twin: TwinRouter): BenchRuleset {
  const { router, hosts } = largestRouter(dir);
  if (router.egress.kind !== "internet")
    throw new Error(`bench: ${router.name}, the largest segment's router, has egress ${router.egress.kind}; the bench's flow goes to the internet`);
  const client = hosts.find((a) => !twin.taken.has(a) && router.lan.subnet.contains(a) && a !== router.lan.address);
  if (!client) throw new Error(`bench: every host address of ${router.segment} is taken in the twin`);
  const text = renameInterfaces(renderRouterNftables(router), { wan: router.wan.iface, lan: router.lan.iface }, twin);
  return {
    name,
    source: `${router.name} (${hosts.length} hosts) of the lab in ${dir}`,
    text,
    client,
    lines: text.split("\n").length,
    elements: countElements(text),
  };
}
