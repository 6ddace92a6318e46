// Proves: a temporary hole closes by itself at its deadline, in the kernel: the sandbox router's rendered ruleset (minecraft open until a few seconds from now), loaded with nft into a router namespace between a stand-in for the infra host's end of the tunnel and the games backend, translates the proxy's connections before the deadline, and from that second drops both a new connection and one already open, counting them on drop_expired, with nobody touching the router; nft -c accepts the ruleset, and a ruleset with the deadline in the past never translates at all (the negative control: the same connection refused). Does not prove the WireGuard tunnel itself (twin) or the proxy's side.
import { spawn, type ChildProcess } from "child_process";
import type { Lab } from "../../model/lab";
import { planLab } from "../../model/plan";
import { formatProblems } from "../../model/problems";
import type { RouterPlan } from "../../model/network/router";
import { renderRouterNftables } from "../../render/nftables";
import { requirePrograms } from "../support/checkers";
import { parseFiles, referenceFiles, segOf } from "../support/lab";
import { addNetns, removeNetns } from "../support/netns";
import { must, PATH_ENV, run, runAsync, sleep } from "../support/proc";

const NS = { router: "th-router", proxy: "th-proxy", games: "th-games" } as const;

/** An instant `ms` from now as `until` takes it, to the second, in UTC. */
function untilIn(ms: number): string {
  return `${new Date(Date.now() + ms).toISOString().slice(0, 19)}Z`;
}

function labWithMinecraftUntil(until: string): Lab {
  const files = referenceFiles();
  segOf(files, "sandbox").services.minecraft.until = until;
  const parsed = parseFiles(files);
  if (!parsed.lab) throw new Error(formatProblems(parsed.problems));
  return parsed.lab;
}

const sandboxRouter = (until: string): RouterPlan => planLab(labWithMinecraftUntil(until)).segments.sandbox!.router;

/** A TCP echo server in the games namespace: every line it reads comes back upper-cased. */
const ECHO = `
import socket, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 25565)); s.listen(16)
def serve(c):
    f = c.makefile("rwb", buffering=0)
    for line in f:
        f.write(line.upper())
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
`;

/**
 * The proxy's side: one connection opened now and kept, a line through it, then at `deadline`
 * (seconds since the epoch) plus a second another line on it and a new connection. Prints one
 * word per step: ok, or what failed.
 */
const CLIENT = `
import socket, sys, time
host, deadline = sys.argv[1], float(sys.argv[2])
def line(c, text):
    try:
        c.sendall(text); c.settimeout(2); return "ok" if c.recv(64) == text.upper() else "wrong"
    except Exception as e:
        return type(e).__name__
def connect():
    c = socket.socket(); c.settimeout(2)
    try:
        c.connect((host, 25565)); return c, "ok"
    except Exception as e:
        return None, type(e).__name__
kept, how = connect()
print("before-connect", how)
print("before-line", line(kept, b"hello\\n") if kept else "none")
time.sleep(max(0.0, deadline + 1 - time.time()))
print("after-kept", line(kept, b"again\\n") if kept else "none")
fresh, how = connect()
print("after-connect", how)
print("after-line", line(fresh, b"new\\n") if fresh else "none")
`;

/** The namespaces: proxy —(the tunnel interface's name)— router —(its LAN)— games. */
function build(router: RouterPlan): void {
  const tun = router.tunnel!;
  const backend = router.dnat.find((d) => d.wanPort === 25565)!.to;
  for (const ns of Object.values(NS)) addNetns(ns);
  // The router's tunnel end as a veth with the WireGuard interface's name: the ruleset matches interfaces by name.
  must(["ip", "-n", NS.router, "link", "add", tun.iface, "type", "veth", "peer", "name", "th-tun", "netns", NS.proxy]);
  must(["ip", "-n", NS.router, "link", "add", router.lan.iface, "type", "veth", "peer", "name", "th-lan", "netns", NS.games]);
  must(["ip", "-n", NS.router, "addr", "add", `${tun.address}/24`, "dev", tun.iface]);
  must(["ip", "-n", NS.router, "addr", "add", `${router.lan.address}/${router.lan.subnet.prefix}`, "dev", router.lan.iface]);
  must(["ip", "-n", NS.proxy, "addr", "add", `${tun.peer.address}/24`, "dev", "th-tun"]);
  must(["ip", "-n", NS.games, "addr", "add", `${backend}/${router.lan.subnet.prefix}`, "dev", "th-lan"]);
  for (const [ns, dev] of [
    [NS.router, tun.iface],
    [NS.router, router.lan.iface],
    [NS.proxy, "th-tun"],
    [NS.games, "th-lan"],
  ] as const)
    must(["ip", "-n", ns, "link", "set", dev, "up"]);
  must(["ip", "-n", NS.games, "route", "add", "default", "via", router.lan.address]);
  must(["ip", "netns", "exec", NS.router, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
}

function load(router: RouterPlan): void {
  must(["ip", "netns", "exec", NS.router, "nft", "-f", "-"], { input: renderRouterNftables(router) });
}

function expiredCount(): number {
  const out = must(["ip", "netns", "exec", NS.router, "nft", "list", "counter", "inet", "homelab", "drop_expired"]);
  return Number(/packets (\d+)/.exec(out)?.[1] ?? "NaN");
}

function steps(out: string): Record<string, string> {
  return Object.fromEntries(
    out
      .trim()
      .split("\n")
      .map((l) => l.split(" ") as [string, string]),
  );
}

describe("a temporary hole closes at its deadline, in the kernel", () => {
  let echo: ChildProcess | undefined;

  beforeAll(() => {
    requirePrograms({ nft: "nftables", ip: "iproute2", python3: "python3" });
    for (const ns of Object.values(NS)) removeNetns(ns);
  });

  afterEach(() => {
    echo?.kill("SIGKILL");
    echo = undefined;
    for (const ns of Object.values(NS)) removeNetns(ns);
  });

  test("nft -c accepts the ruleset with a hole", () => {
    const r = run(["nft", "-c", "-f", "-"], { input: renderRouterNftables(sandboxRouter(untilIn(3_600_000))) });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  test("open until the deadline, then closed for a new connection and for one already open", async () => {
    // Six seconds: the namespaces and the ruleset are up in well under that.
    const until = untilIn(6000);
    const deadline = Date.parse(until) / 1000;
    const router = sandboxRouter(until);
    build(router);
    load(router);
    echo = spawn("ip", ["netns", "exec", NS.games, "python3", "-c", ECHO], { env: { PATH: PATH_ENV }, stdio: "ignore" });
    await sleep(300);
    expect(Date.now() / 1000).toBeLessThan(deadline - 2);
    const client = await runAsync(["ip", "netns", "exec", NS.proxy, "python3", "-c", CLIENT, router.tunnel!.address, String(deadline)], {
      timeout: 20000,
    });
    expect(client.stderr).toBe("");
    expect(steps(client.stdout)).toEqual({
      "before-connect": "ok",
      "before-line": "ok",
      // The open connection's next packet is dropped: no answer within 2 s.
      "after-kept": "TimeoutError",
      // A new one never completes its handshake.
      "after-connect": "TimeoutError",
      "after-line": "none",
    });
    expect(expiredCount()).toBeGreaterThan(0);
  }, 30000);

  test("negative control: a deadline already past translates nothing, the same connection is refused", async () => {
    const router = sandboxRouter(untilIn(-60_000));
    build(router);
    load(router);
    echo = spawn("ip", ["netns", "exec", NS.games, "python3", "-c", ECHO], { env: { PATH: PATH_ENV }, stdio: "ignore" });
    await sleep(300);
    const client = await runAsync(
      ["ip", "netns", "exec", NS.proxy, "python3", "-c", CLIENT, router.tunnel!.address, String(Date.now() / 1000 - 1)],
      { timeout: 20000 },
    );
    expect(steps(client.stdout)["before-connect"]).toBe("TimeoutError");
    expect(expiredCount()).toBeGreaterThan(0);
  }, 30000);
});
