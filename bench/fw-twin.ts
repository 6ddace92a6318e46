/**
 * The firewall bench's side of the twin (tests/twin/twin.ts): the path iperf3 takes through
 * ROUTER, offloads on its veths, loading a variant into the router, and one measured run.
 *
 * The client runs on CPU 0 and the server on CPU 1 (taskset). Everything the router does to
 * a data packet happens in softirq on the sender's CPU (a veth hands the packet to the next
 * namespace's backlog on the same CPU), so CPU 0 carries the client and the whole forward
 * path, and is what limits the rate.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { requirePrograms } from "../tests/support/checkers";
import { run, waitFor } from "../tests/support/proc";
import { INTERNET, type Twin } from "../tests/twin/twin";
import { CLIENT, ROUTER, type BenchRuleset } from "./fw-rulesets";

export const PORT = "5201";

/** The programs the bench runs besides the twin's, and the Debian package of each (.ci/run installs them). */
const BENCH_TOOLS = { iperf3: "iperf3", ethtool: "ethtool", taskset: "util-linux", getconf: "libc-bin" } as const;

export type OffloadMode = "on" | "off";

/** How long an iperf3 run is: seconds (`-t`), or bytes (`-n`: the trace's short run, whose count of received bytes iperf3 may report short). */
export type RunLength = { readonly seconds: number } | { readonly bytes: string };

/** The bench's path through the twin: namespaces, the router's interfaces, the ruleset files. */
export interface Path {
  readonly router: string;
  readonly client: string;
  readonly clientAddress: string;
  readonly edge: string;
  readonly sw: string;
  readonly wan: string;
  readonly lan: string;
  /** Ruleset name -> file in the twin's directory. */
  readonly files: ReadonlyMap<string, string>;
  /** The router's own rendered ruleset, which the bench loads back at the end. */
  readonly rendered: string;
}

/** One iperf3 run: what arrived, and the CPU seconds each side spent on it. */
export interface RunResult {
  readonly bitsPerSecond: number;
  readonly bytes: number;
  readonly seconds: number;
  /** The client process, the server process, and ksoftirqd on the client's CPU. */
  readonly clientCpu: number;
  readonly serverCpu: number;
  readonly softirqCpu: number;
}

export const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
export const inNs = (ns: string, cmd: string) => `nsenter --net=/run/netns/${ns} -- ${cmd}`;

/** A bash script in the twin that must succeed; its stdout. */
export async function sh(twin: Twin, script: string, timeoutMs = 20000): Promise<string> {
  const r = await twin.sh(`set -euo pipefail\n${script}`, timeoutMs);
  if (r.code !== 0) throw new Error(`bench: a twin script failed (${r.code}):\n${script}\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/**
 * Give each ruleset's client address to the client namespace (a /32 beside its own), route
 * it from the router's LAN side, and let the edge route replies to unmasqueraded sources
 * (no ruleset: no NAT) back through the router. Writes the ruleset files.
 */
export async function preparePath(twin: Twin, rulesets: readonly BenchRuleset[]): Promise<Path> {
  requirePrograms(BENCH_TOOLS);
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
    rendered: twin.planFile(`${seg.name}/router/nftables.conf`),
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

/**
 * Offloads on (TSO and GSO, the veths' defaults; GRO stays as veths ship it, off) or off
 * (TSO, GSO and GRO off: every packet is one MTU) on every veth of the path: the client's,
 * the switch's, the router's and the edge's. Checked on the router's WAN side.
 */
export async function setOffloads(twin: Twin, p: Path, mode: OffloadMode): Promise<void> {
  const list = (ns: string) => `$(${inNs(ns, "ip -o link show type veth")} | awk -F': ' '{print $2}' | cut -d@ -f1)`;
  const flags = mode === "on" ? "tso on gso on" : "tso off gso off gro off";
  const script = [p.client, p.sw, p.router, p.edge].map((ns) => `for d in ${list(ns)}; do ${inNs(ns, `ethtool -K "$d" ${flags}`)}; done`);
  await sh(twin, script.join("\n"), 30000);
  const k = await sh(twin, inNs(p.router, `ethtool -k ${p.wan}`));
  const tso = /^tcp-segmentation-offload: (on|off)/m.exec(k)?.[1];
  if (tso !== mode)
    throw new Error(`bench: offloads ${mode} asked, but ${p.wan} of ${ROUTER} says tcp-segmentation-offload: ${tso ?? "?"}`);
}

/** Load a variant into the router: `none` flushes the ruleset (no table, no conntrack, no NAT). */
export async function loadVariant(twin: Twin, p: Path, variant: string): Promise<void> {
  await sh(twin, inNs(p.router, variant === "none" ? "nft flush ruleset" : `nft -f ${q(p.files.get(variant)!)}`));
}

/** CPU seconds of the ksoftirqd kernel thread of one CPU (host /proc). */
function ksoftirqdSeconds(cpu: number): number {
  for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue; // gone
    }
    if (!stat.startsWith(`${pid} (ksoftirqd/${cpu})`)) continue;
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime, stime: fields 14 and 15
  }
  return 0;
}

const CLK_TCK = Number(run(["getconf", "CLK_TCK"]).stdout.trim()) || 100;
const PINNED = os.cpus().length >= 2;
const pin = (cpu: number) => (PINNED ? ["taskset", "-c", String(cpu)] : []);

interface Iperf3Json {
  readonly error?: string;
  readonly end: {
    readonly sum_received?: { readonly bytes: number; readonly seconds: number; readonly bits_per_second: number };
    readonly cpu_utilization_percent: { readonly host_total: number; readonly remote_total: number };
  };
}

function parseJson(text: string): Iperf3Json | undefined {
  try {
    return JSON.parse(text) as Iperf3Json;
  } catch {
    return undefined;
  }
}

/** One iperf3 run from `source` to the internet; the bench fails if it does. */
export async function iperf(twin: Twin, p: Path, source: string, length: RunLength): Promise<RunResult> {
  const r = await iperfRun(twin, p, source, length);
  if (typeof r === "string") throw new Error(`bench: iperf3 from ${source} failed:\n${r}`);
  return r;
}

/**
 * One iperf3 run, or what went wrong (a traced flow may be dropped: its trace says where).
 * The server is one-shot and gives up when no client comes; the client gives up connecting
 * after 2 s.
 */
export async function iperfRun(twin: Twin, p: Path, source: string, length: RunLength): Promise<RunResult | string> {
  const secs = "seconds" in length ? length.seconds : 5;
  const serverArgs = ["iperf3", "-s", "-1", "--idle-timeout", "3", "-B", INTERNET, "-p", PORT];
  const server = twin.exec(p.edge, [...pin(1), ...serverArgs], { timeoutMs: (secs + 20) * 1000 });
  await waitFor("the iperf3 server", 5000, async () => (await twin.exec(p.edge, ["ss", "-Hltn", `sport = :${PORT}`])).stdout.trim() !== "");
  const len = "seconds" in length ? ["-t", String(length.seconds)] : ["-n", length.bytes];
  const clientArgs = ["iperf3", "-c", INTERNET, "-B", source, "-p", PORT, "--connect-timeout", "2000", ...len, "-J"];
  const soft0 = ksoftirqdSeconds(0);
  const c = await twin.exec(p.client, [...pin(0), ...clientArgs], { timeoutMs: (secs + 15) * 1000 });
  const soft1 = ksoftirqdSeconds(0);
  const s = await server;
  const json = parseJson(c.stdout);
  const got = json?.end.sum_received;
  // iperf3 3.12 exits 0 with -J when it cannot connect: its JSON says so.
  if (c.code !== 0 || s.code !== 0 || !json || !got)
    return `client exit ${c.code} (${json?.error ?? "no JSON error"}), server exit ${s.code}\n${c.stdout}${c.stderr}${s.stderr}`;
  const end = json.end;
  const cpu = (percent: number) => (percent / 100) * got.seconds;
  return {
    bitsPerSecond: got.bits_per_second,
    bytes: got.bytes,
    seconds: got.seconds,
    clientCpu: cpu(end.cpu_utilization_percent.host_total),
    serverCpu: cpu(end.cpu_utilization_percent.remote_total),
    softirqCpu: soft1 - soft0,
  };
}
