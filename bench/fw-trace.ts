/**
 * What the firewall bench checks besides rates: where each ruleset accepts the bench's flow
 * (`meta nftrace set 1` and `nft monitor trace`), and how long each ruleset takes to load.
 */
import * as fs from "fs";
import * as path from "path";
import { sleep } from "../tests/support/proc";
import type { Twin } from "../tests/twin/twin";
import type { BenchRuleset } from "./fw-rulesets";
import { inNs, iperfRun, loadVariant, PORT, q, sh, type Path } from "./fw-twin";

/** Where a traced flow's packets were accepted, as `<chain>: <rule>` the way `nft list` prints it. */
export interface FlowTrace {
  readonly ruleset: string;
  /** The last rule of the ruleset's accepting chain: where the flow's first packet must be accepted. */
  readonly lastRule: string;
  /** The filter verdict of the first packet (a SYN), and of a later one. */
  readonly first: string;
  readonly later: string;
}

/** One traced packet: its `packet:` line where the bench's table saw it, and every rule that accepted it. */
interface TracedPacket {
  readonly packet: string;
  readonly accepts: string[];
}

/**
 * Split `nft monitor trace` output into packets. A trace id is a hash the kernel may reuse
 * for a later packet, so a packet starts where the bench's own table first sees it.
 */
export function tracedPackets(lines: readonly string[], table: string): TracedPacket[] {
  const packets: TracedPacket[] = [];
  const current = new Map<string, TracedPacket>();
  for (const l of lines) {
    const start = /^trace id (\S+) ip bench_trace prerouting packet: (.*)$/.exec(l);
    if (start) {
      const p = { packet: start[2]!, accepts: [] };
      packets.push(p);
      current.set(start[1]!, p);
      continue;
    }
    const m = /^trace id (\S+) inet (\S+) (\S+) rule (.*) \(verdict accept\)/.exec(l);
    if (m && m[2] === table) current.get(m[1]!)?.accepts.push(`${m[3]}: ${m[4]}`);
  }
  return packets;
}

/** The rules of a chain as `nft list` prints them. */
async function chainRules(twin: Twin, p: Path, table: string, chain: string): Promise<string[]> {
  const text = await sh(twin, inNs(p.router, `nft list chain inet ${table} ${chain}`));
  const head = /^(table|chain) |^}$|^type /;
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !head.test(l));
}

/**
 * Trace one short run of `ruleset`'s flow and say where its first packet and a later one
 * were accepted. Every packet of the flow from the LAN is traced by a table of the bench's
 * own (prerouting, priority mangle: after conntrack), which is removed after.
 */
export async function traceFlow(twin: Twin, p: Path, ruleset: BenchRuleset): Promise<FlowTrace> {
  await loadVariant(twin, p, ruleset.name);
  const { table, chain } = ruleset.accepts;
  const rules = await chainRules(twin, p, table, chain);
  const file = path.join(twin.dir, "bench-trace.nft");
  const rule = `iifname "${p.lan}" ip saddr ${ruleset.client} tcp dport ${PORT} meta nftrace set 1`;
  fs.writeFileSync(
    file,
    `table ip bench_trace {\n\tchain prerouting {\n\t\ttype filter hook prerouting priority mangle; policy accept;\n\t\t${rule}\n\t}\n}\n`,
  );
  await sh(twin, inNs(p.router, `nft -f ${q(file)}`));
  const out = path.join(twin.dir, "bench-trace.log");
  const pid = (await sh(twin, `setsid ${inNs(p.router, "nft monitor trace")} >${q(out)} 2>&1 </dev/null & echo $!`)).trim();
  try {
    await sleep(500); // the monitor subscribes
    await iperfRun(twin, p, ruleset.client, { bytes: "256K" });
    await sleep(300);
  } finally {
    await twin.sh(`kill ${pid} 2>/dev/null || true`);
    await sh(twin, inNs(p.router, "nft delete table ip bench_trace"));
  }
  const packets = tracedPackets(fs.readFileSync(out, "utf8").split("\n"), table);
  const syn = (x: TracedPacket) => /tcp flags == syn /.test(`${x.packet} `);
  const first = packets.find(syn);
  const later = packets.find((x) => !syn(x) && x.accepts.length > 0);
  // The filter verdict: the NAT chains' (masquerade) come after it.
  const verdict = (x: TracedPacket) => x.accepts.find((a) => !a.startsWith("postrouting:") && !a.startsWith("prerouting:"));
  return {
    ruleset: ruleset.name,
    lastRule: `${chain}: ${rules[rules.length - 1] ?? "(empty chain)"}`,
    first: first ? (verdict(first) ?? "(not accepted)") : "(no SYN traced)",
    later: later ? (verdict(later) ?? "(not accepted)") : "(no later packet traced)",
  };
}

/** How long one ruleset takes to load. */
export interface LoadTime {
  readonly ruleset: string;
  readonly medianMs: number;
  readonly ms: readonly number[];
}

/** `nft -f` of each ruleset (flush included), alternated, `n` times each, timed inside the router's namespace. */
export async function loadTimes(twin: Twin, p: Path, rulesets: readonly BenchRuleset[], n: number): Promise<LoadTime[]> {
  const files = rulesets.map((r) => q(p.files.get(r.name)!)).join(" ");
  const script = `for i in $(seq ${n}); do for f in ${files}; do s=$(date +%s%N); nft -f "$f"; e=$(date +%s%N); echo "$f $(( (e - s) / 1000 ))"; done; done`;
  const out = await sh(twin, inNs(p.router, `bash -c ${q(script)}`), 120000);
  return rulesets.map((r) => {
    const f = p.files.get(r.name)!;
    const ms = out
      .split("\n")
      .filter((l) => l.startsWith(`${f} `))
      .map((l) => Number(l.slice(f.length + 1)) / 1000);
    return { ruleset: r.name, medianMs: median(ms), ms };
  });
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
