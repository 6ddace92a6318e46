/**
 * The rulesets the firewall bench (bench/fw-bench.ts) loads into one router of the twin, and
 * the flow each is measured with.
 *
 * - reference: the twin's own internal-fw, as `npm run plan` rendered it;
 * - a generated lab's: the router of its largest segment (most hosts), rendered from the plan
 *   of that lab, with its interface names replaced by the twin router's (the rules match
 *   `iifname`/`oifname`; nothing else is changed);
 * - stateful minimum, a control: a forward chain that accepts established packets and
 *   LAN -> WAN, and masquerades. The least any stateful NAT router does to a packet, so the
 *   distance between it and no ruleset is the price of conntrack and NAT, and the distance
 *   between it and a rendered ruleset is the price of the rendered rules.
 *
 * The flow is the same for all: TCP from a host of the ruleset's own LAN to the internet,
 * masqueraded. In a rendered ruleset its first packet walks the whole forward chain: the IPv6
 * drop, the established and invalid checks, the DNAT check, the jump to `lan_to_wan`, the
 * spoofing check, the untrusted guard where there is one, the lab-network lookups, and is
 * accepted by that chain's last rule. Every later packet is accepted by `ct state
 * established,related`, second in the forward chain, as any flow's would be: the size of a
 * ruleset costs a new connection, not an established one, and a masqueraded flow is the most
 * a packet costs (conntrack and NAT both).
 */
import * as fs from "fs";
import * as path from "path";
import { requireLab } from "../model/check";
import { planLab } from "../model/plan";
import { renderRouterNftables } from "../render/nftables";
import type { RouterPlan } from "../model/network/router";
import type { Twin } from "../tests/twin/twin";
import { generateLab, writeLab, type LabSize } from "./generate";

/** The router the bench loads rulesets into, and the host whose namespace sends. */
export const ROUTER = "internal-fw";
export const CLIENT = "internal/data";

/** One ruleset of the bench, ready for `nft -f`, and where the flow that exercises it starts. */
export interface BenchRuleset {
  /** Short name in the report: `reference`, `2,000-VM lab`. */
  readonly name: string;
  /** Which router of which lab it is. */
  readonly source: string;
  readonly text: string;
  /** The address the client sends from: a host of the ruleset's LAN. */
  readonly client: string;
  /** The chain whose last rule must accept the flow's first packet (bench/fw-trace.ts). */
  readonly accepts: { readonly table: string; readonly chain: string };
  /** Size: lines of text and elements of its sets and maps. */
  readonly lines: number;
  readonly elements: number;
}

/** Set and map elements of a ruleset: the lines inside `elements = { ... }` blocks. */
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

/** Replace the quoted interface names of a ruleset with the twin router's. */
export function renameInterfaces(text: string, from: { wan: string; lan: string }, to: { wan: string; lan: string }): string {
  const names = new Map([
    [`"${from.wan}"`, `"${to.wan}"`],
    [`"${from.lan}"`, `"${to.lan}"`],
  ]);
  const pattern = new RegExp([...names.keys()].map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g");
  return text.replace(pattern, (m) => names.get(m)!);
}

function ruleset(init: Omit<BenchRuleset, "lines" | "elements">): BenchRuleset {
  return { ...init, lines: init.text.split("\n").length, elements: countElements(init.text) };
}

/** What the bench needs to know of the twin's router to load a foreign ruleset into it. */
export interface TwinRouter {
  readonly wan: string;
  readonly lan: string;
  /** Addresses already in use in the twin: the client must not take one (ARP would answer twice). */
  readonly taken: ReadonlySet<string>;
}

/** The stateful minimum (see the top of this file) for the twin's router. */
export function minimumRuleset(twin: TwinRouter, client: string): BenchRuleset {
  const text = [
    "flush ruleset",
    "table inet bench_minimum {",
    "\tchain forward {",
    "\t\ttype filter hook forward priority filter; policy drop;",
    "\t\tct state established,related accept",
    `\t\tiifname "${twin.lan}" oifname "${twin.wan}" accept`,
    "\t}",
    "\tchain postrouting {",
    "\t\ttype nat hook postrouting priority srcnat; policy accept;",
    `\t\toifname "${twin.wan}" masquerade`,
    "\t}",
    "}",
    "",
  ].join("\n");
  return ruleset({
    name: "stateful minimum",
    source: "control: established accept, LAN -> WAN accept, masquerade",
    text,
    client,
    accepts: { table: "bench_minimum", chain: "forward" },
  });
}

/** The largest segment's router of a lab: most hosts, then name. */
function largestRouter(dir: string): { router: RouterPlan; hosts: readonly string[] } {
  const plan = planLab(requireLab(dir));
  const segs = Object.values(plan.segments).sort((a, b) => b.hosts.length - a.hosts.length || a.name.localeCompare(b.name));
  const seg = segs[0];
  if (!seg) throw new Error(`bench: the lab in ${dir} has no segment`);
  return { router: seg.router, hosts: seg.hosts.map((h) => h.address) };
}

const HOMELAB = { table: "homelab", chain: "lan_to_wan" } as const;

/**
 * The ruleset of the largest segment's router of the lab in `dir`, for the twin's router.
 * Its client is a host of that segment whose address the twin does not use. The flow goes
 * to the internet, so the segment must have internet egress (an allowlist or none would
 * drop it: then teach the bench another flow).
 */
export function labRuleset(name: string, dir: string, twin: TwinRouter, what = `the lab in ${dir}`): BenchRuleset {
  const { router, hosts } = largestRouter(dir);
  if (router.egress.kind !== "internet")
    throw new Error(
      `bench: ${router.name}, the largest segment's router, has egress ${router.egress.kind}; the bench's flow goes to the internet`,
    );
  const client = hosts.find((a) => !twin.taken.has(a) && router.lan.subnet.contains(a) && a !== router.lan.address);
  if (!client) throw new Error(`bench: every host address of ${router.segment} is taken in the twin`);
  const text = renameInterfaces(renderRouterNftables(router), { wan: router.wan.iface, lan: router.lan.iface }, twin);
  return ruleset({ name, source: `${router.name} (${hosts.length} hosts) of ${what}`, text, client, accepts: HOMELAB });
}

/** Where the bench's large ruleset comes from: a lab generated at this size, or a lab directory. */
export type LargeLab = { readonly size: LabSize } | { readonly dir: string };

/** The bench's rulesets for the twin's ROUTER: the stateful minimum, the reference, and the large lab's if asked. */
export function benchRulesets(twin: Twin, large?: LargeLab): BenchRuleset[] {
  const seg = Object.values(twin.segments).find((s) => s.router.name === ROUTER)!;
  const data = twin.node(CLIENT).address;
  const taken = new Set([...twin.nodes.values()].map((n) => n.address));
  const router: TwinRouter = { wan: seg.router.wan.iface, lan: seg.router.lan.iface, taken };
  const text = fs.readFileSync(twin.planFile(`${seg.name}/router/nftables.conf`), "utf8");
  const reference = ruleset({ name: "reference", source: `${ROUTER} of the reference lab`, text, client: data, accepts: HOMELAB });
  const base = [minimumRuleset(router, data), reference];
  if (!large) return base;
  if ("dir" in large) return [...base, labRuleset("large lab", large.dir, router)];
  const dir = path.join(twin.dir, "bench-lab");
  writeLab(generateLab(large.size), dir);
  const name = `${large.size.vms.toLocaleString("en")}-VM lab`;
  return [...base, labRuleset(name, dir, router, `the lab generated with ${large.size.segments} segments and ${large.size.vms} VMs`)];
}
