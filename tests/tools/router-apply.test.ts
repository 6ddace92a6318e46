// Proves the real apply.sh, run inside network namespaces this test creates, keeps a confirmed release past its deadline, restores the previous ruleset, files, routes and static neighbours when no confirm comes, and never loads a release that fails nft -c; it does not prove the systemd restarts/reloads (HOMELAB_SERVICES=none) nor the SSH transport of the Release component.
import { spawn, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { planSshAccess } from "../../model/network/ssh";
import { APPLY_EXIT } from "../../render/apply-common";
import { filesUnder } from "../../render/files";
import { ROUTER_SYSCTLS } from "../../render/router-apply";
import { renderSegmentFiles, ROUTER_DIR } from "../../render/segment";
import { ROUTER_BOOT } from "../../render/router-boot";
import { bootUnits } from "../support/boot";
import { requirePrograms, requireTools } from "../support/checkers";
import { NFT_SYNTAX_ERROR } from "../support/fixtures";
import { parseFiles, referenceFiles, segOf } from "../support/lab";
import { planLab } from "../../model/plan";
import type { RenderedFile } from "../../render/files";
import { ROUTER_TUNNEL, TUNNEL_KEY_FILE } from "../../render/wireguard";
import { addNetns, removeNetns } from "../support/netns";
import { must, PATH_ENV, run, runAsync, sleep, waitFor, type Run } from "../support/proc";

/** Unique per run, so a crashed run never collides with this one; everything made here carries it. */
const PREFIX = `hlra-${process.pid}-`;
const NS = { router: `${PREFIX}r`, jump: `${PREFIX}j`, wan: `${PREFIX}w` };
/**
 * Seconds the watchdog waits for a confirm in these tests: long enough for the spawns between apply and
 * confirm on a loaded machine (2 s was missed under a load average of 16), short enough to keep the
 * deadline waits brief.
 */
const TIMEOUT = 4;

/**
 * The router's tunnel key pair, made here: the reference lab's copy gets its public half, and
 * the release its private half as wireguard.key, the file the Release component writes from the
 * stack's secret (apply.sh refuses a key that is not the model's).
 */
const TUNNEL_PRIVATE = must(["wg", "genkey"]).trim();
const TUNNEL_PUBLIC = must(["wg", "pubkey"], { input: `${TUNNEL_PRIVATE}\n` }).trim();
const OTHER_PRIVATE = must(["wg", "genkey"]).trim();
const labFiles = referenceFiles();
segOf(labFiles, "internal").router.tunnel.publicKey = TUNNEL_PUBLIC;
const lab = parseFiles(labFiles).lab!;
const segPlan = planLab(lab).segments["internal"]!;
const router = segPlan.router;
const tunnel = router.tunnel!;
const release: readonly Pick<RenderedFile, "path" | "content" | "mode">[] = [
  ...filesUnder(renderSegmentFiles(segPlan, planSshAccess(lab)), ROUTER_DIR),
  { path: TUNNEL_KEY_FILE, content: `${TUNNEL_PRIVATE}\n`, mode: 0o600 },
];

let tmp = "";
let listener: ChildProcess | undefined;

const inNs = (ns: string, cmd: readonly string[], env: Record<string, string> = {}) => run(["ip", "netns", "exec", ns, ...cmd], { env });

const rootDir = () => path.join(tmp, "root");
const stateDir = () => path.join(rootDir(), "var/lib/homelab");
const scriptEnv = () => ({ HOMELAB_ROOT: rootDir(), HOMELAB_SERVICES: "none" });

/** apply.sh of release `id`, run as the router would, with its state under the temp root. */
function applySh(id: string, ...args: string[]): Run {
  return applyShEnv({}, id, ...args);
}
function applyShEnv(env: Record<string, string>, id: string, ...args: string[]): Run {
  return inNs(NS.router, ["bash", path.join(tmp, "releases", id, "apply.sh"), ...args], { ...scriptEnv(), ...env });
}

/** A power cut: the watchdog dies, the kernel forgets the ruleset and forwarding. Files and state stay. */
function powerCut(): void {
  const wd = path.join(stateDir(), "watchdog");
  if (fs.existsSync(wd)) {
    const [kind, pid] = fs.readFileSync(wd, "utf8").trim().split(" ");
    if (kind === "pid") {
      try {
        process.kill(-Number(pid), "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  must(["ip", "netns", "exec", NS.router, "nft", "flush", "ruleset"]);
  must(["ip", "netns", "exec", NS.router, "sysctl", "-qw", "net.ipv4.ip_forward=0"]);
  // The tunnel's interface goes with the kernel's state (and wireguard-go with its interface).
  run(["ip", "-n", NS.router, "link", "del", tunnel.iface]);
}

/** The processes in the router's namespace but the holder of its private /run: the stand-in sshd, and whatever a test left. */
const routerPids = () =>
  run(["ip", "netns", "pids", NS.router])
    .stdout.trim()
    .split(/\s+/)
    .filter((p) => p !== "" && p !== String(holder?.pid));

/** What the router's live tunnel says (wg show, through its private /run), or "" when it has none. */
const liveTunnel = () => run(inRouter(["wg", "show", tunnel.iface, "dump"])).stdout.trim();

/**
 * Boot: the units enabled under the root, their commands run in the router's namespace, inside
 * the mount namespace of `holder` (a process started in it with a private /run): wireguard-go
 * keeps its control socket under /run/wireguard, which must be the router's own, never the host's.
 */
let holder: ChildProcess | undefined;
const inRouter = (argv: readonly string[]) => ["nsenter", "-t", String(holder!.pid), "-m", "-n", "--", ...argv];
const boot = () =>
  bootUnits(rootDir(), (argv) => runAsync(inRouter(["env", ...Object.entries(scriptEnv()).map(([k, v]) => `${k}=${v}`), ...argv])));
const forwarding = () => inNs(NS.router, ["cat", "/proc/sys/net/ipv4/ip_forward"]).stdout.trim();

/** Write a release directory, optionally changing one file. */
function writeRelease(id: string, edit: (p: string, c: string) => string = (_p, c) => c): void {
  for (const f of release) {
    const p = path.join(tmp, "releases", id, f.path);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, edit(f.path, f.content), { mode: f.mode ?? 0o644 });
  }
}

/** The live ruleset without counters, so traffic does not make two listings differ. */
const liveRuleset = () => inNs(NS.router, ["nft", "-s", "list", "ruleset"]).stdout;
const installed = (p: string) => fs.readFileSync(path.join(tmp, "root", p), "utf8");
const releaseFile = (p: string) => release.find((f) => f.path === p)!.content;
const status = () => applySh("good", "status").stdout;
/** The router's permanent neighbours, `<address> <MAC> <interface>` sorted. */
const pinned = () =>
  [router.wan.iface, router.lan.iface]
    .flatMap((dev) =>
      inNs(NS.router, ["ip", "-4", "neigh", "show", "dev", dev, "nud", "permanent"])
        .stdout.split("\n")
        .filter(Boolean)
        .map((l) => `${l.split(" ")[0]} ${l.split(" ")[2]} ${dev}`),
    )
    .sort();
/** What the plan pins, in the same form. */
const planned = () => router.neighbours.map((n) => `${n.address} ${n.mac} ${n.iface}`).sort();
/** The lockout release pins the edge to another MAC, so its rollback must restore a neighbour too. */
const LOCKOUT_EDGE_MAC = "52:54:00:ee:ee:ee";

/**
 * A fresh TCP connection from the jump host to the router's sshd port: the "confirming
 * connection". A drop must show as a timeout; any other error fails, so a broken
 * topology cannot pass for a firewall drop.
 */
function probeSsh(): "connected" | "timed out" {
  const r = inNs(NS.jump, ["socat", "-T2", "-", `TCP:${router.lan.address}:22,connect-timeout=1`]);
  if (r.code === 0 && r.stdout.trim() === "ok") return "connected";
  if (/Connection timed out/.test(r.stderr)) return "timed out";
  throw new Error(`probe failed in an unexpected way (${r.code}): ${r.stdout}${r.stderr}`);
}

/** A TCP connection from `src` (an address of the WAN namespace) to the router's WAN address, concurrently. */
async function probeWan(src: string, port: number): Promise<string> {
  const r = await runAsync([
    "ip",
    "netns",
    "exec",
    NS.wan,
    "socat",
    "-T2",
    "-",
    `TCP:${router.wan.address}:${port},bind=${src},connect-timeout=1`,
  ]);
  const out = `${r.stdout}${r.stderr}`;
  return r.code === 0 ? `connected: ${out.trim()}` : /Connection timed out/.test(out) ? "timed out" : `error ${r.code}: ${out.trim()}`;
}

/** Packets a named counter of the live ruleset has counted. */
function counterPackets(name: string): number {
  const json = JSON.parse(inNs(NS.router, ["nft", "-j", "list", "counter", "inet", "homelab", name]).stdout) as {
    nftables: { counter?: { packets: number } }[];
  };
  return json.nftables.find((e) => e.counter)!.counter!.packets;
}

function cleanup(): void {
  if (holder?.pid) {
    try {
      process.kill(holder.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  if (listener?.pid) {
    try {
      process.kill(listener.pid);
    } catch {
      // already gone
    }
  }
  // Only processes inside our own namespaces (the listener, a watchdog) are ended.
  for (const ns of Object.values(NS)) removeNetns(ns);
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
}

beforeAll(async () => {
  requireTools(["nft", "dnsmasq", "sshd", "sh", "authorized-keys", "wireguard"]);
  requirePrograms({ ip: "iproute2", socat: "socat", flock: "util-linux", setsid: "util-linux" });
  if (process.getuid?.() !== 0) throw new Error("router-apply tests create network namespaces and must run as root");
  // sshd -t (in apply.sh's check) needs its privilege separation directory.
  fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), PREFIX));

  for (const ns of Object.values(NS)) addNetns(ns);
  // Veths are created inside the namespaces, so nothing ever appears on the host.
  must(["ip", "-n", NS.router, "link", "add", router.wan.iface, "type", "veth", "peer", "name", "eth0", "netns", NS.wan]);
  must(["ip", "-n", NS.router, "link", "add", router.lan.iface, "type", "veth", "peer", "name", "eth0", "netns", NS.jump]);
  must(["ip", "-n", NS.router, "addr", "add", `${router.wan.address}/${router.wan.subnet.prefix}`, "dev", router.wan.iface]);
  must(["ip", "-n", NS.router, "addr", "add", `${router.lan.address}/${router.lan.subnet.prefix}`, "dev", router.lan.iface]);
  must(["ip", "-n", NS.jump, "addr", "add", `${router.jumpAddress}/${router.lan.subnet.prefix}`, "dev", "eth0"]);
  must(["ip", "-n", NS.wan, "addr", "add", `${router.wan.gateway}/${router.wan.subnet.prefix}`, "dev", "eth0"]);
  // The WAN side stands in for the proxy (the infra host's MAC); the jump host has its own MAC:
  // the ruleset admits each source only from the MAC the model binds it to.
  must(["ip", "-n", NS.wan, "link", "set", "eth0", "address", lab.dmz.infra.mac]);
  must(["ip", "-n", NS.jump, "link", "set", "eth0", "address", router.jumpMac]);
  for (const [ns, dev] of [
    [NS.router, router.wan.iface],
    [NS.router, router.lan.iface],
    [NS.jump, "eth0"],
    [NS.wan, "eth0"],
  ] as const)
    must(["ip", "-n", ns, "link", "set", dev, "up"]);

  // Stands in for the router's sshd: answers "ok" on the LAN address, port 22.
  listener = spawn(
    "ip",
    ["netns", "exec", NS.router, "socat", `TCP-LISTEN:22,bind=${router.lan.address},reuseaddr,fork`, "SYSTEM:echo ok"],
    { stdio: "ignore", env: { PATH: PATH_ENV } },
  );
  await waitFor("the stand-in sshd to listen", 3000, () => inNs(NS.router, ["ss", "-Hltn", "sport = :22"]).stdout.includes(":22"));
  // The router's own /run, for boot (wireguard-go's socket): a process that holds a private mount namespace.
  holder = spawn(
    "ip",
    [
      "netns",
      "exec",
      NS.router,
      "unshare",
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      "mount -t tmpfs tmpfs /run && mkdir /run/wireguard && exec sleep 100000",
    ],
    { stdio: "ignore", env: { PATH: PATH_ENV } },
  );
  await waitFor("the router's private /run", 3000, () => run(inRouter(["test", "-d", "/run/wireguard"])).code === 0);
  if (liveRuleset().trim() !== "") throw new Error("a new namespace should start with an empty ruleset");
  if (probeSsh() !== "connected") throw new Error("the jump host cannot reach the router before any ruleset: the topology is broken");

  writeRelease("good");
  // The same release, except that the router's SSH rule admits another address: it locks the jump host out.
  writeRelease("lockout", (p, c) => {
    if (p === "apply.sh") {
      const moved = c.replace(
        `'${router.wan.gateway} ${lab.dmz.gatewayMac} ${router.wan.iface}'`,
        `'${router.wan.gateway} ${LOCKOUT_EDGE_MAC} ${router.wan.iface}'`,
      );
      if (moved === c) throw new Error("the lockout's neighbour edit did not apply");
      return moved;
    }
    if (p !== "nftables.conf") return c;
    const locked = c.replace(
      `ip saddr ${router.jumpAddress} ip daddr ${router.lan.address} tcp dport 22`,
      `ip saddr 10.10.0.99 ip daddr ${router.lan.address} tcp dport 22`,
    );
    if (locked === c) throw new Error("the lockout edit did not apply");
    return locked;
  });
  writeRelease("broken", (p, c) => (p === "nftables.conf" ? `${c}${NFT_SYNTAX_ERROR}` : c));
  // The same release with another private key than the one the model's public key was made from.
  writeRelease("wrong-key", (p, c) => (p === TUNNEL_KEY_FILE ? `${OTHER_PRIVATE}\n` : c));
});

afterAll(cleanup);

describe("apply.sh in a network namespace", () => {
  test("a release applied and confirmed over a fresh connection stays loaded after the deadline", async () => {
    const applied = applySh("good", "apply", "good", String(TIMEOUT));
    expect({ status: applied.code, stderr: applied.stderr }).toEqual({ status: APPLY_EXIT.ok, stderr: "" });
    expect(applied.stdout).toMatch(/armed watchdog: process \d+/);
    const armedAt = Date.now();
    const loaded = liveRuleset();
    expect(loaded).toContain("table inet homelab {");
    expect(status()).toMatch(/^pending: good /m);

    // The new rules still let the confirming connection in; only then confirm.
    expect(probeSsh()).toBe("connected");
    const confirmed = applySh("good", "confirm", "good");
    expect(confirmed.code).toBe(APPLY_EXIT.ok);

    await sleep(TIMEOUT * 1000 - (Date.now() - armedAt) + 800);
    expect(liveRuleset()).toBe(loaded);
    expect(status()).toMatch(/^current: good \(confirmed .*\)\npending: none\n/);
    for (const [file, target] of [
      ["nftables.conf", "etc/nftables.conf"],
      ["dnsmasq.conf", "etc/dnsmasq.conf"],
      ["sshd_config", "etc/ssh/sshd_config"],
    ]) {
      expect(installed(target!)).toBe(releaseFile(file!));
    }
    // The tunnel's file and private key, root's alone; its unit enabled for boot.
    for (const [file, target] of [
      [ROUTER_TUNNEL.conf(tunnel.iface), ROUTER_TUNNEL.confPath(tunnel.iface)],
      [TUNNEL_KEY_FILE, ROUTER_TUNNEL.keyPath(tunnel.iface)],
    ] as const) {
      expect({ target, content: installed(target), mode: fs.statSync(path.join(rootDir(), target)).mode & 0o777 }).toEqual({
        target,
        content: releaseFile(file),
        mode: 0o600,
      });
    }
    expect(fs.readlinkSync(path.join(rootDir(), ROUTER_TUNNEL.wants))).toBe(ROUTER_TUNNEL.path);
    const keys = release
      .filter((f) => f.path.startsWith("authorized_keys.d/"))
      .map((f) => f.path.split("/")[1]!)
      .sort();
    expect(fs.readdirSync(path.join(tmp, "root", "etc/ssh/authorized_keys.d")).sort()).toEqual(keys);
    const routes = inNs(NS.router, ["ip", "-4", "route", "show"]).stdout;
    for (const r of router.routes) expect(routes).toContain(`${r.to} via ${r.via} dev ${router.wan.iface}`);
    // Every static neighbour is pinned, and nothing else.
    expect(pinned()).toEqual(planned());
    expect(pinned()).toContain(`${router.wan.gateway} ${lab.dmz.gatewayMac} ${router.wan.iface}`);
    // Every kernel setting is live in the router's namespace: IPv6 off, IPv4 forwarding on. The
    // sysctl file keeps only the IPv6 ones for boot: forwarding is the boot unit's, after the ruleset.
    const live = ROUTER_SYSCTLS.map((s) => `${s.key}=${inNs(NS.router, ["cat", `/proc/sys/${s.key.replace(/\./g, "/")}`]).stdout.trim()}`);
    expect(live).toEqual(ROUTER_SYSCTLS.map((s) => `${s.key}=${s.value}`));
    expect(
      installed("etc/sysctl.d/90-homelab-router.conf")
        .split("\n")
        .filter((l) => l && !l.startsWith("#")),
    ).toEqual(ROUTER_SYSCTLS.filter((s) => s.atBoot).map((s) => `${s.key}=${s.value}`));
    // No watchdog is left: only the stand-in sshd runs in the router's namespace.
    expect(routerPids()).toHaveLength(1);
  });

  test("on its WAN side the confirmed ruleset translates SSH for the admin workstations only, and no published service, not even for the proxy's address from the infra host's MAC (the tunnel is the only way: the twin proves it)", async () => {
    const pub = router.dnat.find((d) => d.flows.some((f) => f.startsWith("publish:")))!;
    const ssh = router.dnat.find((d) => d.wanPort === 22)!;
    const proxy = lab.dmz.proxy;
    const admin = lab.ssh.adminSources[0]!.firstHost;
    for (const a of [proxy, admin]) must(["ip", "-n", NS.wan, "addr", "add", `${a}/${router.wan.subnet.prefix}`, "dev", "eth0"]);
    must(["ip", "-n", NS.jump, "addr", "add", `${pub.to}/${router.lan.subnet.prefix}`, "dev", "eth0"]);
    must(["ip", "-n", NS.jump, "route", "add", "default", "via", router.lan.address]);
    const backends = [
      spawn("ip", ["netns", "exec", NS.jump, "socat", `TCP-LISTEN:${pub.toPort},bind=${pub.to},reuseaddr,fork`, "SYSTEM:echo published"], {
        stdio: "ignore",
        env: { PATH: PATH_ENV },
      }),
      spawn("ip", ["netns", "exec", NS.jump, "socat", `TCP-LISTEN:22,bind=${ssh.to},reuseaddr,fork`, "SYSTEM:echo jump"], {
        stdio: "ignore",
        env: { PATH: PATH_ENV },
      }),
    ];
    try {
      await waitFor("the stand-in backends to listen", 3000, () => {
        const ss = inNs(NS.jump, ["ss", "-Hltn"]).stdout;
        return ss.includes(`${pub.to}:${pub.toPort}`) && ss.includes(`${ssh.to}:22`);
      });
      const dropsBefore = counterPackets("drop_input");
      const results = await Promise.all([
        probeWan(proxy, pub.wanPort),
        probeWan(admin, ssh.wanPort),
        probeWan(admin, pub.wanPort),
        probeWan(proxy, ssh.wanPort),
      ]);
      expect(results).toEqual(["timed out", "connected: jump", "timed out", "timed out"]);
      // The three refused connections were not translated, so the router itself dropped them, and counted it.
      expect(counterPackets("drop_input")).toBeGreaterThan(dropsBefore);
    } finally {
      for (const b of backends) if (b.pid) process.kill(b.pid);
    }
  });

  test("a release never confirmed is rolled back to the previous ruleset, files and routes within the deadline", async () => {
    const before = liveRuleset();
    const routesBefore = inNs(NS.router, ["ip", "-4", "route", "show"]).stdout;
    const neighboursBefore = pinned();
    const applied = applySh("lockout", "apply", "lockout", String(TIMEOUT));
    expect(applied.code).toBe(APPLY_EXIT.ok);
    expect(pinned()).toContain(`${router.wan.gateway} ${LOCKOUT_EDGE_MAC} ${router.wan.iface}`);
    expect(liveRuleset()).not.toBe(before);
    expect(installed("etc/nftables.conf")).toBe(fs.readFileSync(path.join(tmp, "releases/lockout/nftables.conf"), "utf8"));

    // The new ruleset really locks the jump host out, so no confirm can arrive.
    expect(probeSsh()).toBe("timed out");

    // The watchdog records the rollback only after it has restored everything.
    let st = "";
    await waitFor("the watchdog's rollback", TIMEOUT * 1000 + 3000, () => /^rolled-back: lockout /m.test((st = status())), {
      every: 100,
      detail: () => st,
    });
    // Rolled back at the deadline apply.sh announced (both to the second), not merely eventually.
    const deadline = Date.parse(/restores the previous state at (\S+) unless/.exec(applied.stdout)![1]!);
    const at = Date.parse(/^rolled-back: lockout \(not-confirmed, (\S+)\)/m.exec(st)![1]!);
    expect(at - deadline).toBeGreaterThanOrEqual(-1000);
    expect(at - deadline).toBeLessThanOrEqual(2000);
    expect(liveRuleset()).toBe(before);
    expect(probeSsh()).toBe("connected");
    expect(installed("etc/nftables.conf")).toBe(releaseFile("nftables.conf"));
    expect(inNs(NS.router, ["ip", "-4", "route", "show"]).stdout).toBe(routesBefore);
    expect(pinned()).toEqual(neighboursBefore);

    // A confirm that arrives too late is refused, with the reason.
    const late = applySh("lockout", "confirm", "lockout");
    expect(late.code).toBe(APPLY_EXIT.notPending);
    expect(late.stderr).toMatch(/release lockout was rolled back at .* \(not-confirmed\) before this confirm/);
    expect(status()).toMatch(/^current: good .*\npending: none\nrolled-back: lockout \(not-confirmed, /);
  });

  test("a release that fails nft -c is never loaded and changes nothing", () => {
    const before = liveRuleset();
    const stateBefore = status();
    const applied = applySh("broken", "apply", "broken", String(TIMEOUT));
    expect(applied.code).toBe(APPLY_EXIT.check);
    expect(applied.stderr).toMatch(/check failed; nothing was changed:\n {2}- nftables.conf fails nft -c: /);
    expect(applied.stdout).not.toMatch(/armed watchdog/);
    expect(liveRuleset()).toBe(before);
    expect(installed("etc/nftables.conf")).toBe(releaseFile("nftables.conf"));
    expect(status()).toBe(stateBefore);
    expect(applySh("broken", "confirm", "broken").code).toBe(APPLY_EXIT.notPending);
  });

  test("a release whose tunnel key is not the private half of the model's public key is refused, never printed, and changes nothing", () => {
    const before = liveRuleset();
    const stateBefore = status();
    const applied = applySh("wrong-key", "apply", "wrong-key", String(TIMEOUT));
    expect(applied.code).toBe(APPLY_EXIT.check);
    expect(applied.stderr).toMatch(
      new RegExp(
        `check failed; nothing was changed:\\n {2}- ${TUNNEL_KEY_FILE.replace(".", "\\.")} is not the private half of router\\.tunnel\\.publicKey ${TUNNEL_PUBLIC.replace(/[+/=]/g, "\\$&")} `,
      ),
    );
    // Neither private key appears in what apply.sh says.
    for (const k of [TUNNEL_PRIVATE, OTHER_PRIVATE]) expect(`${applied.stdout}${applied.stderr}`).not.toContain(k);
    expect(liveRuleset()).toBe(before);
    expect(installed(ROUTER_TUNNEL.keyPath(tunnel.iface))).toBe(`${TUNNEL_PRIVATE}\n`);
    expect(status()).toBe(stateBefore);
  });

  test("re-applying the current release and confirming it is idempotent", () => {
    const before = liveRuleset();
    expect(applySh("good", "apply", "good", String(TIMEOUT)).code).toBe(APPLY_EXIT.ok);
    expect(liveRuleset()).toBe(before);
    expect(applySh("good", "confirm", "good").code).toBe(APPLY_EXIT.ok);
    expect(applySh("good", "confirm", "good").stdout).toMatch(/release good is already confirmed and current/);
    expect(status()).toMatch(/^current: good .*\npending: none\n/);
  });

  test("applying over a pending release first restores the state before it, so only confirmed states are snapshots", () => {
    const before = liveRuleset();
    expect(applySh("lockout", "apply", "lockout", "60").code).toBe(APPLY_EXIT.ok);
    expect(probeSsh()).toBe("timed out");
    const again = applySh("good", "apply", "good", "60");
    expect(again.code).toBe(APPLY_EXIT.ok);
    expect(again.stdout).toMatch(/release lockout is still pending; restoring the state before it/);
    expect(status()).toMatch(/^current: good .*\npending: good .*\nrolled-back: lockout \(superseded-by-good, /);
    expect(probeSsh()).toBe("connected");
    expect(applySh("lockout", "confirm", "lockout").code).toBe(APPLY_EXIT.notPending);
    expect(applySh("good", "confirm", "good").code).toBe(APPLY_EXIT.ok);
    expect(liveRuleset()).toBe(before);
    // The one-minute watchdogs of both attempts are gone, not just idle.
    expect(routerPids()).toHaveLength(1);
  });

  test.each([
    [["apply"], APPLY_EXIT.usage],
    [["apply", "../etc", "5"], APPLY_EXIT.usage],
    [["apply", "good", "0"], APPLY_EXIT.usage],
    [["confirm"], APPLY_EXIT.usage],
    [["frobnicate"], APPLY_EXIT.usage],
    [["rollback"], APPLY_EXIT.notPending],
  ])("apply.sh %j exits %i", (args, code) => {
    expect(applySh("good", ...args).code).toBe(code);
  });

  test("a confirmed release installs its boot unit and enabled it, installs apply.sh for it, and its sysctl file never turns forwarding on", () => {
    expect(applySh("good", "confirm", "good").code).toBe(APPLY_EXIT.ok);
    expect(installed(ROUTER_BOOT.path.slice(1))).toBe(releaseFile(ROUTER_BOOT.unit));
    expect(installed(ROUTER_BOOT.script.slice(1))).toBe(releaseFile("apply.sh"));
    expect(installed(ROUTER_BOOT.routes.slice(1))).toBe(releaseFile("homelab-routes"));
    expect(fs.readlinkSync(path.join(rootDir(), ROUTER_BOOT.wants))).toBe(ROUTER_BOOT.path);
    expect(installed("etc/sysctl.d/90-homelab-router.conf")).not.toMatch(/^\s*net\.ipv4\.ip_forward/m);
    expect(status()).toMatch(new RegExp(`^boot unit: ${ROUTER_BOOT.unit} enabled$`, "m"));
  });

  test("status names a boot unit that is not enabled; re-applying enables it again", () => {
    fs.rmSync(path.join(rootDir(), ROUTER_BOOT.wants));
    expect(status()).toMatch(new RegExp(`^boot unit: ${ROUTER_BOOT.unit} no link ${ROUTER_BOOT.wants} -> ${ROUTER_BOOT.path}$`, "m"));
    expect(applySh("good", "apply", "good", "60").code).toBe(APPLY_EXIT.ok);
    expect(applySh("good", "confirm", "good").code).toBe(APPLY_EXIT.ok);
    expect(status()).toMatch(new RegExp(`^boot unit: ${ROUTER_BOOT.unit} enabled$`, "m"));
  });

  test("the watchdog never gives up on a held lock: it waits, says so, and rolls back once the lock is free", async () => {
    const before = liveRuleset();
    const applied = applyShEnv({ HOMELAB_LOCK_WAIT: "1" }, "lockout", "apply", "lockout", String(TIMEOUT));
    expect(applied.code).toBe(APPLY_EXIT.ok);
    // Something else holds the lock across the deadline, for three times the watchdog's lock wait.
    const holder = spawn("flock", [path.join(stateDir(), "lock"), "sleep", String(TIMEOUT + 3)], { stdio: "ignore" });
    try {
      let st = "";
      await waitFor(
        "the watchdog's rollback after the lock is free",
        (TIMEOUT + 3) * 1000 + 4000,
        () => /^rolled-back: lockout \(not-confirmed, /m.test((st = status())),
        {
          every: 200,
          detail: () => `${st}\n${fs.readFileSync(path.join(stateDir(), "watchdog.log"), "utf8")}`,
        },
      );
      expect(st).toMatch(/^rolled-back: lockout \(not-confirmed, /m);
      expect(liveRuleset()).toBe(before);
      expect(fs.readFileSync(path.join(stateDir(), "watchdog.log"), "utf8")).toMatch(/lock is still held after 1 s; still waiting/);
    } finally {
      holder.kill();
    }
  }, 20000);

  test("boot: a release pending at a power cut is rolled back before the ruleset loads; then forwarding comes on", async () => {
    const before = liveRuleset();
    expect(applySh("lockout", "apply", "lockout", "600").code).toBe(APPLY_EXIT.ok);
    expect(probeSsh()).toBe("timed out");
    powerCut();
    expect(liveRuleset().trim()).toBe("");
    const steps = await boot();
    // Every line succeeds, the boot unit's without a complaint (wg-quick traces its commands on stderr).
    const complaint = (s: (typeof steps)[number]) =>
      s.unit === ROUTER_BOOT.unit ? s.run.stderr.replace(/^apply\.sh\[.*\]: .*\n/gm, "") : "";
    expect(steps.map((s) => ({ unit: s.unit, code: s.run.code, err: complaint(s) }))).toEqual(
      steps.map((s) => ({ unit: s.unit, code: 0, err: "" })),
    );
    // homelab-router.service's four lines, then homelab-wireguard.service's two: the tunnel after the ruleset.
    expect(steps.map((s) => `${s.unit} ${s.argv[0]}`)).toEqual([
      `${ROUTER_BOOT.unit} /usr/sbin/sysctl`,
      `${ROUTER_BOOT.unit} /bin/bash`,
      `${ROUTER_BOOT.unit} /usr/sbin/nft`,
      `${ROUTER_BOOT.unit} /usr/sbin/sysctl`,
      `${ROUTER_TUNNEL.unit} /usr/bin/wg-quick`,
      `${ROUTER_TUNNEL.unit} /usr/bin/wg`,
      `${ROUTER_TUNNEL.unit} /usr/bin/wg`,
    ]);
    // The tunnel is up with the installed key (its public half is the model's), its port, and the infra host as its only peer.
    const [own, ...peers] = liveTunnel()
      .split("\n")
      .map((l) => l.split("\t"));
    expect({ publicKey: own![1], port: own![2] }).toEqual({ publicKey: TUNNEL_PUBLIC, port: String(tunnel.port) });
    expect(peers.map((p) => ({ publicKey: p[0], allowedIps: p[3] }))).toEqual([
      { publicKey: lab.dmz.tunnel!.publicKey, allowedIps: `${lab.dmz.tunnel!.address}/32` },
    ]);
    expect(liveRuleset()).toBe(before);
    expect(forwarding()).toBe("1");
    expect(installed("etc/nftables.conf")).toBe(releaseFile("nftables.conf"));
    expect(status()).toMatch(/^current: good .*\npending: none\nrolled-back: lockout \(reboot-before-confirm, /);
    expect(probeSsh()).toBe("connected");
    expect(applySh("lockout", "confirm", "lockout").code).toBe(APPLY_EXIT.notPending);
  });

  test("boot: a ruleset that fails to load leaves forwarding off (fail closed); the good one brings it back", async () => {
    const good = installed("etc/nftables.conf");
    fs.writeFileSync(path.join(rootDir(), "etc/nftables.conf"), `${good}${NFT_SYNTAX_ERROR}`);
    powerCut();
    const steps = await boot();
    // The tunnel's unit requires the boot unit: it is not started either.
    expect(steps.map((s) => [s.argv[0], s.run.code === 0])).toEqual([
      ["/usr/sbin/sysctl", true],
      ["/bin/bash", true],
      ["/usr/sbin/nft", false],
    ]);
    expect(liveTunnel()).toBe("");
    expect(forwarding()).toBe("0");
    expect(liveRuleset().trim()).toBe("");
    fs.writeFileSync(path.join(rootDir(), "etc/nftables.conf"), good);
    powerCut();
    expect((await boot()).map((s) => s.run.code)).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(forwarding()).toBe("1");
    expect(liveTunnel()).toContain(TUNNEL_PUBLIC);
    expect(liveRuleset()).toContain("table inet homelab {");
  });
});
