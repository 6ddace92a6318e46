/**
 * Firewall throughput through one router of the twin (tests/twin/twin.ts): iperf3 from
 * internal/data to the edge's internet address, so every packet crosses internal-fw's
 * forward chain LAN -> WAN, with no ruleset at all against each ruleset of
 * bench/fw-rulesets.ts, offloads on (the veths' defaults) and off (`ethtool -K tso gso gro
 * off` on every veth of the path, so every packet is one MTU: the per-packet cost).
 *
 * Variants are alternated within each round (the order rotates round by round), and every
 * figure is a median of per-round ratios to the no-ruleset run of the same round, never an
 * absolute rate. Two ratios per variant:
 * - throughput: bits per second, as iperf3 measured them;
 * - efficiency: bytes per CPU second spent by the client, the server and ksoftirqd. The
 *   forwarding runs in softirq on the sender's CPU, so this is what the ruleset costs, and it
 *   holds still when other work on a shared machine takes CPU from the bench, which the
 *   throughput does not.
 * The client runs on CPU 0 and the server on CPU 1 (taskset), both at nice -20.
 *
 * Before the runs, each ruleset's flow is traced (`meta nftrace set 1`, `nft monitor trace`):
 * its first packet must be accepted by the last rule of `lan_to_wan`, and a later packet by
 * `ct state established,related accept`. Then the load time of each ruleset (`nft -f`).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { run, sleep, waitFor } from "../tests/support/proc";
import { INTERNET, type Twin } from "../tests/twin/twin";
import type { BenchRuleset } from "./fw-rulesets";

export const ROUTER = "internal-fw";
export const CLIENT = "internal/data";
const PORT = "5201";

export type OffloadMode = "on" | "off";
export const OFFLOAD_MODES: readonly OffloadMode[] = ["on", "off"];

/** How long each iperf3 run is: seconds (`-t`), or bytes (`-n`, the quick mode). */
export type RunLength = { readonly seconds: number } | { readonly bytes: string };

export interface FwBenchOptions {
  readonly rulesets: readonly BenchRuleset[];
  /** Rounds per offload mode; each round runs every variant once. */
  readonly rounds: number;
  readonly length: RunLength;
  /** How many times each ruleset is loaded for its load time. */
  readonly loads: number;
  readonly log?: (message: string) => void;
}

/** One iperf3 run. */
export interface RunResult {
  readonly bitsPerSecond: number;
  readonly bytes: number;
  readonly cpuSeconds: number;
}

/** The median and range of per-round ratios to no ruleset. */
export interface Ratio {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export interface VariantFigures {
  readonly mode: OffloadMode;
  /** `none` or a ruleset's name. */
  readonly variant: string;
  readonly runs: readonly RunResult[];
  readonly throughput: Ratio;
  readonly efficiency: Ratio;
  readonly medianGbps: number;
}

/** Where a traced flow's packets were accepted. */
export interface FlowTrace {
  readonly ruleset: string;
  /** The chain's last rule, as `nft list` prints it: where the first packet must be accepted. */
  readonly lastRule: string;
  /** `<chain>: <rule>` that accepted the first packet (a SYN), and a later one. */
  readonly first: string;
  readonly later: string;
}

export interface LoadTime {
  readonly ruleset: string;
  readonly medianMs: number;
  readonly ms: readonly number[];
}

export interface FwBenchReport {
  readonly path: string;
  readonly rulesets: readonly Omit<BenchRuleset, "text">[];
  readonly figures: readonly VariantFigures[];
  readonly traces: readonly FlowTrace[];
  readonly loads: readonly LoadTime[];
  readonly machine: string;
  readonly rounds: number;
  readonly length: RunLength;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function ratio(xs: readonly number[]): Ratio {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

// --- the twin's side ------------------------------------------------------------------------------

interface Path {
  readonly router: string;
  readonly client: string;
  readonly clientAddress: string;
  readonly edge: string;
  readonly sw: string;
  readonly wan: string;
  readonly lan: string;
  /** Ruleset name -> file in the twin's directory. */
  readonly files: ReadonlyMap<string, string>;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const inNs = (ns: string, cmd: string) => `nsenter --net=/run/netns/${ns} -- ${cmd}`;

async function sh(twin: Twin, script: string, timeoutMs = 20000): Promise<string> {
  const r = await twin.sh(`set -euo pipefail\n${script}`, timeoutMs);
  if (r.code !== 0) throw new Error(`bench: a twin script failed (${r.code}):\n${script}\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/**
 * Give each ruleset's client address to the client namespace (a /32 beside its own), route
 * it from the router's LAN side, and let the edge route replies to unmasqueraded sources
 * (no ruleset: no NAT) back through the router. Writes the ruleset files.
 */
async function preparePath(twin: Twin, rulesets: readonly BenchRuleset[]): Promise<Path> {
  const seg = Object.values(twin.segments).find((s) => s.router.name === ROUTER)!;
  const client = twin.node(CLIENT);
  const p: Path = {
    router: twin.routerNs(ROUTER),
    client: client.ns,
    clientAddress: client.address,
    edge: twin.node("edge/internet").ns,
    sw: `${twin.prefix}-sw`,
    wan: seg.router.wan.iface,
    lan: seg.router.lan.iface,
    files: new Map(rulesets.map((r) => [r.name, path.join(twin.dir, `bench-${r.name.replace(/[^a-z0-9]+/gi, "-")}.nft`)])),
  };
  for (const r of rulesets) fs.writeFileSync(p.files.get(r.name)!, r.text);
  const lines = [`ip -n ${p.edge} route replace ${seg.router.lan.subnet} via ${seg.router.wan.address}`];
  for (const a of new Set(rulesets.map((r) => r.client).filter((a) => a !== client.address))) {
    lines.push(`ip -n ${p.client} addr add ${a}/32 dev ${twin.hostIface}`);
    lines.push(`ip -n ${p.router} route replace ${a}/32 dev ${p.lan}`);
    lines.push(`ip -n ${p.edge} route replace ${a}/32 via ${seg.router.wan.address}`);
  }
  await sh(twin, lines.join("\n"));
  return p;
}

/** Offloads on or off on every veth of the path (client, switch, router, edge); checked on the router's WAN. */
async function setOffloads(twin: Twin, p: Path, mode: OffloadMode): Promise<void> {
  const list = (ns: string) => `$(${inNs(ns, "ip -o link show type veth")} | awk -F': ' '{print $2}' | cut -d@ -f1)`;
  const flags = mode === "on" ? "tso on gso on" : "tso off gso off gro off";
  const script = [p.client, p.sw, p.router, p.edge]
    .map((ns) => `for d in ${list(ns)}; do ${inNs(ns, `ethtool -K "$d" ${flags}`)}; done`)
    .join("\n");
  await sh(twin, script, 30000);
  const k = await sh(twin, inNs(p.router, `ethtool -k ${p.wan}`));
  const tso = /^tcp-segmentation-offload: (on|off)/m.exec(k)?.[1];
  if (tso !== mode) throw new Error(`bench: offloads ${mode} asked, but ${p.wan} of ${ROUTER} says tcp-segmentation-offload: ${tso ?? "?"}`);
}

async function load(twin: Twin, p: Path, variant: string): Promise<void> {
  await sh(twin, inNs(p.router, variant === "none" ? "nft flush ruleset" : `nft -f ${q(p.files.get(variant)!)}`));
}

/** CPU time of every ksoftirqd thread, in seconds (host /proc: kernel threads). */
function ksoftirqdSeconds(tick: number): number {
  let ticks = 0;
  for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      if (!/^\d+ \(ksoftirqd\/\d+\)/.test(stat)) continue;
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
    } catch {
      // gone
    }
  }
  return ticks / tick;
}

const CLK_TCK = Number(run(["getconf", "CLK_TCK"]).stdout.trim()) || 100;
const pinned = (cpu: number) => (os.cpus().length >= 2 ? ["taskset", "-c", String(cpu)] : []);

interface Iperf3Json {
  readonly end: {
    readonly sum_received: { readonly bytes: number; readonly seconds: number; readonly bits_per_second: number };
    readonly cpu_utilization_percent: { readonly host_total: number; readonly remote_total: number };
  };
}

/** One iperf3 run from `source` to the internet; the server is one-shot. */
async function iperf(twin: Twin, p: Path, source: string, length: RunLength): Promise<RunResult> {
  const secs = "seconds" in length ? length.seconds : 5;
  const server = twin.exec(p.edge, ["nice", "-n", "-20", ...pinned(1), "iperf3", "-s", "-1", "-B", INTERNET, "-p", PORT], {
    timeoutMs: (secs + 20) * 1000,
  });
  await waitFor("the iperf3 server", 5000, async () => (await twin.exec(p.edge, ["ss", "-Hltn", `sport = :${PORT}`])).stdout.trim() !== "");
  const k0 = ksoftirqdSeconds(CLK_TCK);
  const len = "seconds" in length ? ["-t", String(length.seconds)] : ["-n", length.bytes];
  const argv = ["nice", "-n", "-20", ...pinned(0), "iperf3", "-c", INTERNET, "-B", source, "-p", PORT, ...len, "-J"];
  const c = await twin.exec(p.client, argv, { timeoutMs: (secs + 15) * 1000 });
  const k1 = ksoftirqdSeconds(CLK_TCK);
  const s = await server;
  if (c.code !== 0 || s.code !== 0) throw new Error(`bench: iperf3 failed (client ${c.code}, server ${s.code}):\n${c.stdout}${c.stderr}${s.stderr}`);
  const end = (JSON.parse(c.stdout) as Iperf3Json).end;
  const r = end.sum_received;
  const cpu = ((end.cpu_utilization_percent.host_total + end.cpu_utilization_percent.remote_total) / 100) * r.seconds + (k1 - k0);
  return { bitsPerSecond: r.bits_per_second, bytes: r.bytes, cpuSeconds: cpu };
}

// --- traces and load times ------------------------------------------------------------------------

/** One traced packet: its `packet:` line where the bench's table saw it, and every rule that accepted it, as `<chain>: <rule>`. */
interface TracedPacket {
  readonly packet: string;
  readonly accepts: string[];
}

/**
 * Split `nft monitor trace` output into packets. A trace id is a hash the kernel may reuse
 * for a later packet, so a packet starts where the bench's own table first sees it.
 */
export function tracedPackets(lines: readonly string[]): TracedPacket[] {
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
    const m = /^trace id (\S+) inet homelab (\S+) rule (.*) \(verdict accept\)/.exec(l);
    if (m) current.get(m[1]!)?.accepts.push(`${m[2]}: ${m[3]}`);
  }
  return packets;
}

/**
 * Trace one short run of `ruleset`'s flow and say where its first packet and a later one
 * were accepted. Every packet of the flow from the LAN is traced (a table of the bench's own
 * at prerouting, priority mangle, after conntrack), then the table is removed.
 */
async function traceFlow(twin: Twin, p: Path, ruleset: BenchRuleset): Promise<FlowTrace> {
  await load(twin, p, ruleset.name);
  const chain = await sh(twin, inNs(p.router, "nft list chain inet homelab lan_to_wan"));
  const rules = chain.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("table ") && !l.startsWith("chain ") && l !== "}");
  const file = path.join(twin.dir, "bench-trace.nft");
  fs.writeFileSync(
    file,
    `table ip bench_trace {\n\tchain prerouting {\n\t\ttype filter hook prerouting priority mangle; policy accept;\n\t\tiifname "${p.lan}" ip saddr ${ruleset.client} tcp dport ${PORT} meta nftrace set 1\n\t}\n}\n`,
  );
  await sh(twin, inNs(p.router, `nft -f ${q(file)}`));
  const out = path.join(twin.dir, "bench-trace.log");
  const pid = (await sh(twin, `setsid ${inNs(p.router, "nft monitor trace")} >${q(out)} 2>&1 </dev/null & echo $!`)).trim();
  try {
    await sleep(500); // the monitor subscribes
    await iperf(twin, p, ruleset.client, { bytes: "256K" });
    await sleep(300);
  } finally {
    await twin.sh(`kill ${pid} 2>/dev/null || true`);
    await sh(twin, inNs(p.router, "nft delete table ip bench_trace"));
  }
  const packets = tracedPackets(fs.readFileSync(out, "utf8").split("\n"));
  const first = packets.find((x) => /tcp flags == syn /.test(`${x.packet} `));
  const later = packets.find((x) => x !== first && !/tcp flags == syn /.test(`${x.packet} `) && x.accepts.length > 0);
  return {
    ruleset: ruleset.name,
    lastRule: `lan_to_wan: ${rules[rules.length - 1] ?? "(empty chain)"}`,
    // The filter chain's verdict: the NAT chains' (masquerade) come after it.
    first: first ? (first.accepts.find((a) => !a.startsWith("postrouting:")) ?? "(not accepted)") : "(no SYN traced)",
    later: later ? later.accepts[0]! : "(no later packet traced)",
  };
}

/** `nft -f` of each ruleset, alternated, `n` times each, timed inside the router's namespace. */
async function loadTimes(twin: Twin, p: Path, rulesets: readonly BenchRuleset[], n: number): Promise<LoadTime[]> {
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

// --- the bench ------------------------------------------------------------------------------------

/** One mode's rounds: every variant once per round, the order rotated each round. */
async function measureMode(twin: Twin, p: Path, mode: OffloadMode, opts: FwBenchOptions): Promise<VariantFigures[]> {
  const variants = ["none", ...opts.rulesets.map((r) => r.name)];
  const source = (v: string) => opts.rulesets.find((r) => r.name === v)?.client ?? p.clientAddress;
  const runs = new Map<string, RunResult[]>(variants.map((v) => [v, []]));
  await setOffloads(twin, p, mode);
  for (let round = 0; round < opts.rounds; round++) {
    const order = variants.map((_v, i) => variants[(i + round) % variants.length]!);
    for (const v of order) {
      await load(twin, p, v);
      const r = await iperf(twin, p, source(v), opts.length);
      runs.get(v)!.push(r);
      opts.log?.(`offloads ${mode}, round ${round + 1}/${opts.rounds}, ${v}: ${(r.bitsPerSecond / 1e9).toFixed(2)} Gbit/s, ${r.cpuSeconds.toFixed(2)} CPU s`);
    }
  }
  const base = runs.get("none")!;
  return variants.map((v) => {
    const xs = runs.get(v)!;
    return {
      mode,
      variant: v,
      runs: xs,
      throughput: ratio(xs.map((x, i) => x.bitsPerSecond / base[i]!.bitsPerSecond)),
      efficiency: ratio(xs.map((x, i) => x.bytes / x.cpuSeconds / (base[i]!.bytes / base[i]!.cpuSeconds))),
      medianGbps: median(xs.map((x) => x.bitsPerSecond / 1e9)),
    };
  });
}

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  const tool = (argv: string[]) => run(argv).stdout.split("\n")[0]!.trim();
  return `${os.cpus().length} × ${cpu}, Linux ${os.release()}, ${tool(["nft", "--version"])}, ${tool(["iperf3", "--version"])}`;
}

/** Run the whole bench on a running twin. Leaves the twin's rendered ruleset loaded, offloads as the last mode left them. */
export async function runFwBench(twin: Twin, opts: FwBenchOptions): Promise<FwBenchReport> {
  const p = await preparePath(twin, opts.rulesets);
  try {
    const traces: FlowTrace[] = [];
    const t0 = Date.now();
    for (const r of opts.rulesets) traces.push(await traceFlow(twin, p, r));
    opts.log?.(`traced in ${Date.now() - t0} ms: ${traces.map((t) => `${t.ruleset}: first ${t.first}, later ${t.later}`).join("; ")}`);
    const loads = await loadTimes(twin, p, opts.rulesets, opts.loads);
    opts.log?.(`load times: ${loads.map((l) => `${l.ruleset} ${l.medianMs} ms`).join(", ")}`);
    const figures: VariantFigures[] = [];
    for (const mode of OFFLOAD_MODES) figures.push(...(await measureMode(twin, p, mode, opts)));
    return {
      path: `TCP ${CLIENT} -> internet (${INTERNET}) through ${ROUTER}, LAN -> WAN`,
      rulesets: opts.rulesets.map(({ text: _text, ...meta }) => meta),
      figures,
      traces,
      loads,
      machine: machine(),
      rounds: opts.rounds,
      length: opts.length,
    };
  } finally {
    await twin.exec(p.router, ["nft", "-f", twin.planFile("internal/router/nftables.conf")]);
  }
}

const fmt = (x: number) => x.toFixed(2);

/** The report as Markdown tables. */
export function formatReport(r: FwBenchReport): string {
  const len = "seconds" in r.length ? `${r.length.seconds} s` : `${r.length.bytes}B`;
  const lines = [
    `${r.path}; ${r.rounds} round(s) of ${len} per variant, alternated; ratios are medians of per-round ratios to no ruleset (min–max).`,
    `Machine: ${r.machine}.`,
    "",
    "| offloads | ruleset | throughput ÷ none | bytes per CPU second ÷ none | median Gbit/s |",
    "|---|---|---|---|---|",
    ...r.figures.map(
      (f) =>
        `| ${f.mode} | ${f.variant} | ${fmt(f.throughput.median)} (${fmt(f.throughput.min)}–${fmt(f.throughput.max)}) | ${fmt(f.efficiency.median)} (${fmt(f.efficiency.min)}–${fmt(f.efficiency.max)}) | ${fmt(f.medianGbps)} |`,
    ),
    "",
    "| ruleset | router | lines | set elements | client | nft -f, median ms | first packet accepted by | later packets accepted by |",
    "|---|---|---|---|---|---|---|---|",
    ...r.rulesets.map((s) => {
      const t = r.traces.find((x) => x.ruleset === s.name)!;
      const l = r.loads.find((x) => x.ruleset === s.name)!;
      return `| ${s.name} | ${s.source} | ${s.lines} | ${s.elements} | ${s.client} | ${l.medianMs.toFixed(1)} (${l.ms.length}) | \`${t.first}\` | \`${t.later}\` |`;
    }),
  ];
  return `${lines.join("\n")}\n`;
}
