/**
 * Benchmark: TCP throughput through one of the twin's routers with the rendered ruleset
 * against a minimal one (accept and masquerade only), both loaded into the same router of
 * the same twin (tests/twin/twin.ts). iperf3 runs from internal/data to the edge's internet
 * address, so every packet crosses internal-fw's forward chain (LAN -> WAN, masqueraded).
 * Variants are interleaved and the result is a ratio of medians, never an absolute rate: a
 * 2-core machine shares its cores between client, server and softirq, so absolute numbers
 * say little. Never asserted anywhere. Run as root:
 *   node --require tsx/cjs bench/twin-throughput.ts [rounds] [seconds]
 */
import * as fs from "fs";
import * as path from "path";
import { INTERNET, Twin } from "../tests/twin/twin";

const ROUTER = "internal-fw";
const CLIENT = "internal/data";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 3);
  const seconds = Number(process.argv[3] ?? 3);
  const twin = await Twin.start();
  try {
    const ns = twin.routerNs(ROUTER);
    const seg = Object.values(twin.segments).find((s) => s.router.name === ROUTER)!;
    const rendered = twin.planFile(`${seg.name}/router/nftables.conf`);
    const minimal = path.join(twin.dir, "minimal.nft");
    fs.writeFileSync(
      minimal,
      `flush ruleset\ntable inet bench {\n\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\toifname "${seg.router.wan.iface}" masquerade\n\t}\n}\n`,
    );
    const variants: Record<string, string> = { "rendered ruleset": rendered, "minimal (masquerade only)": minimal };
    const rates: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
    const edge = twin.node("edge/internet").ns;
    const client = twin.node(CLIENT);
    for (let r = 0; r < rounds; r++) {
      for (const [name, file] of Object.entries(variants)) {
        await twin.must(ns, ["nft", "-f", file]);
        // A one-shot server; the client connects once it listens (bounded by the client's own retries).
        const server = twin.exec(edge, ["iperf3", "-s", "-1", "-B", INTERNET, "-p", "5201"], { timeoutMs: (seconds + 15) * 1000 });
        await new Promise((res) => setTimeout(res, 300));
        const run = await twin.must(
          client.ns,
          ["iperf3", "-c", INTERNET, "-B", client.address, "-p", "5201", "-t", String(seconds), "-J"],
          { timeoutMs: (seconds + 10) * 1000 },
        );
        await server;
        const bps = (JSON.parse(run) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second;
        rates[name]!.push(bps);
      }
    }
    await twin.must(ns, ["nft", "-f", rendered]);
    const base = median(rates["minimal (masquerade only)"]!);
    process.stdout.write(
      `TCP ${CLIENT} -> internet through ${ROUTER}, ${rounds} round(s) of ${seconds} s, median ratio to the minimal ruleset:\n`,
    );
    for (const [name, xs] of Object.entries(rates)) process.stdout.write(`  ${name.padEnd(28)} ${(median(xs) / base).toFixed(2)}\n`);
  } finally {
    await twin.stop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
