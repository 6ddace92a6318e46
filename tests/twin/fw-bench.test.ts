// Proves that the firewall bench (bench/twin-throughput.ts --quick, one round of one second: bench/fw-bench.ts, fw-rulesets.ts, fw-trace.ts, fw-twin.ts) runs end to end on a twin of its own: no ruleset, the stateful minimum, the reference and the 2,000-VM lab's largest ruleset, each measured with offloads on and off; each ruleset's flow accepted where the bench says (the first packet by its chain's last rule, later ones as established); every ruleset loaded and timed; the router's rendered ruleset back after; and that the trace sees a drop (negative control). Never asserts a rate or a time: benchmarks are not timed tests.
import { formatReport, OFFLOAD_MODES, runFwBench } from "../../bench/fw-bench";
import { benchRulesets, ROUTER } from "../../bench/fw-rulesets";
import { traceFlow } from "../../bench/fw-trace";
import { preparePath } from "../../bench/fw-twin";
import { Twin } from "./twin";

let twin: Twin;

beforeAll(async () => {
  twin = await Twin.start();
}, 60000);

afterAll(async () => {
  // Unset when Twin.start failed (it cleans up after itself then).
  await (twin as Twin | undefined)?.stop();
}, 20000);

const ESTABLISHED = "forward: ct state established,related accept";

test("the quick mode measures every variant with offloads on and off, and each flow is accepted where the bench says", async () => {
  const before = await twin.readRuleset(ROUTER);
  const rulesets = benchRulesets(twin, { size: { segments: 50, vms: 2000 } });
  const report = await runFwBench(twin, { rulesets, rounds: 1, seconds: 1, loads: 1, quick: true });

  const variants = ["none", "stateful minimum", "reference", "2,000-VM lab"];
  expect(report.figures.map((f) => `${f.mode} ${f.variant}`)).toEqual(OFFLOAD_MODES.flatMap((m) => variants.map((v) => `${m} ${v}`)));
  // One run each (the quick mode counts every run), and every run moved data through the router.
  for (const f of report.figures) expect(f.runs.map((r) => r.bytes > 0)).toEqual([true]);

  // The first packet walks the chain to its last rule; the rest are established.
  expect(report.traces.map((t) => [t.ruleset, t.first, t.later])).toEqual(report.traces.map((t) => [t.ruleset, t.lastRule, ESTABLISHED]));
  expect(report.traces.map((t) => t.lastRule)).toEqual([
    'forward: iifname "enp2s0" oifname "enp1s0" accept',
    'lan_to_wan: accept comment "the internet, masqueraded"',
    'lan_to_wan: accept comment "the internet, masqueraded"',
  ]);

  // The large ruleset is the generated lab's, many times the reference, from one of its own hosts.
  const [, reference, large] = report.rulesets;
  expect(large!.elements).toBeGreaterThan(10 * reference!.elements);
  expect(large!.client).not.toBe(reference!.client);
  expect(report.loads.map((l) => [l.ruleset, l.ms.length, l.ms.every((ms) => ms > 0)])).toEqual(rulesets.map((r) => [r.name, 1, true]));

  // The report names every variant of both modes; the router is as the plan rendered it.
  const table = formatReport(report);
  for (const m of OFFLOAD_MODES) for (const v of variants) expect(table).toContain(`| ${m} | ${v} |`);
  expect(await twin.readRuleset(ROUTER)).toBe(before);
}, 120000);

test("negative control: the trace sees a flow the ruleset drops (a client outside the LAN is spoofed)", async () => {
  const reference = benchRulesets(twin).find((r) => r.name === "reference")!;
  const spoofed = { ...reference, name: "spoofed", client: "10.1.0.99" };
  const trace = await traceFlow(twin, await preparePath(twin, [spoofed]), spoofed);
  expect([trace.first, trace.later]).toEqual(["(not accepted)", "(no later packet traced)"]);
  // The trace loaded the ruleset afresh, so its counter counts this flow only.
  expect((await twin.readDropCounters()).get(`${ROUTER} drop_spoofed`)).toBeGreaterThan(0);
}, 60000);
