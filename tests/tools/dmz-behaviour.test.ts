// Proves the rendered dnsmasq.conf, nginx.conf and chrony.conf behave as the model says when run for real in private network namespaces (names resolve, each Host reaches its firewall's stand-in, unknown names are refused, clients sync time), and apply.sh's confirm/rollback protocol with stand-ins for NixOS; does not prove the NixOS units, the real segment firewalls behind the proxy, or a real nixos-rebuild.
import { spawn, spawnSync, type ChildProcess } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { planDmz, publishAll } from "../../model/dmz";
import { Cidr } from "../../model/net";
import { planSshAccess } from "../../model/plan";
import { renderChronyClient } from "../../render/chrony";
import { renderDmzFiles } from "../../render/dmz";
import type { RenderedFile } from "../../render/files";
import { htpasswdPath } from "../../render/nginx";
import { NIXOS_APPLY_EXIT } from "../../render/nixos-apply";
import { requireTools, which } from "../support/checkers";
import { referenceLab } from "../support/lab";

const lab = referenceLab();
const published = publishAll(lab);
const plan = planDmz(lab, published);
const files = renderDmzFiles(plan, planSshAccess(lab));
const content = (name: string): string => files.find((f: RenderedFile) => f.path === `infra/${name}`)!.content;

const DNS = lab.dmz.dns;
const PROXY = lab.dmz.proxy;
const NTP = lab.dmz.ntp;
const httpServices = published.flatMap((s) => s.services.filter((x) => x.kind === "http"));
const streamServices = published.flatMap((s) => s.services.filter((x) => x.kind !== "http"));
/** A source inside the admins' workstations: lab-only names admit it. */
const ADMIN = lab.ssh.adminSources[0]!.lastHost;
/** A source outside every lab network (TEST-NET-3): the internet. */
const OUTSIDER = "203.0.113.10";
/** An NTP client inside the first segment's network. */
const NTP_CLIENT = Object.values(lab.segments)[0]!.subnet.lastHost;
const WAN_ADDRESSES = [...new Set(published.map((s) => s.router.wanAddress))];

// Unique names per run; everything the test creates carries them and is removed in afterAll.
const ID = `${process.pid}`;
const NS = { dmz: `hldmz${ID}-dmz`, ntps: `hldmz${ID}-ntps`, ntpc: `hldmz${ID}-ntpc` };
const VETH = { s: `hd${ID}s`, c: `hd${ID}c` };
const PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const STREAM_MODULE = "load_module /usr/lib/nginx/modules/ngx_stream_module.so;";

let tmp = "";
const daemons: { name: string; proc: ChildProcess; output: string[] }[] = [];

function run(cmd: readonly string[], opts: { input?: string; env?: NodeJS.ProcessEnv; allowFail?: boolean; timeout?: number } = {}) {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: "utf8", input: opts.input ?? "", env: opts.env ?? { PATH: PATH_ENV }, timeout: opts.timeout ?? 10000 });
  const out = { status: r.status, stdout: r.stdout ?? "", stderr: `${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
  if (!opts.allowFail && out.status !== 0) throw new Error(`${cmd.join(" ")} failed (${out.status}):\n${out.stdout}${out.stderr}`);
  return out;
}
const nsx = (ns: string, ...cmd: string[]) => ["ip", "netns", "exec", ns, ...cmd];

function startDaemon(name: string, cmd: readonly string[]): ChildProcess {
  const proc = spawn(cmd[0]!, cmd.slice(1), { env: { PATH: PATH_ENV }, stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  proc.stdout!.on("data", (d) => output.push(String(d)));
  proc.stderr!.on("data", (d) => output.push(String(d)));
  daemons.push({ name, proc, output });
  return proc;
}
const daemonLogs = () => daemons.map((d) => `--- ${d.name} (exit ${d.proc.exitCode})\n${d.output.join("").slice(-2000)}`).join("\n");

/** Poll `check` every 50 ms until it returns true or `ms` pass. */
async function waitFor(what: string, ms: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}\n${daemonLogs()}`);
}

async function cleanup(): Promise<void> {
  for (const d of daemons) if (d.proc.exitCode === null && d.proc.signalCode === null) d.proc.kill("SIGTERM");
  await Promise.all(
    daemons.map(
      (d) =>
        new Promise<void>((resolve) => {
          if (d.proc.exitCode !== null || d.proc.signalCode !== null) return resolve();
          const t = setTimeout(() => {
            d.proc.kill("SIGKILL");
            resolve();
          }, 1000);
          d.proc.once("exit", () => {
            clearTimeout(t);
            resolve();
          });
        }),
    ),
  );
  for (const ns of Object.values(NS)) {
    // Anything still inside one of our namespaces (nginx workers) is ours to end.
    const pids = run(["ip", "netns", "pids", ns], { allowFail: true }).stdout.split("\n").filter(Boolean);
    for (const pid of pids) run(["kill", "-KILL", pid], { allowFail: true });
    run(["ip", "netns", "del", ns], { allowFail: true });
  }
  for (const pidFile of findFiles(tmp, "watchdog-pid")) {
    const pid = fs.readFileSync(pidFile, "utf8").trim();
    if (pid && fs.existsSync(`/proc/${pid}/cmdline`) && fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("watchdog")) run(["kill", pid], { allowFail: true });
  }
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
}

/** Remove namespaces an earlier run of this test left behind when it was killed (its pid is gone). */
function sweepStale(): void {
  for (const line of run(["ip", "netns", "list"], { allowFail: true }).stdout.split("\n")) {
    const m = /^(hldmz(\d+)-\w+)/.exec(line);
    if (!m || (m[2] !== ID && fs.existsSync(`/proc/${m[2]}`))) continue;
    for (const pid of run(["ip", "netns", "pids", m[1]!], { allowFail: true }).stdout.split("\n").filter(Boolean)) run(["kill", "-KILL", pid], { allowFail: true });
    run(["ip", "netns", "del", m[1]!], { allowFail: true });
  }
}

function findFiles(dir: string, name: string): string[] {
  if (!dir || !fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? findFiles(path.join(dir, e.name), name) : e.name === name ? [path.join(dir, e.name)] : []));
}

/** Tiny stand-ins for the segment firewalls' WAN side: they answer with what reached them. */
const BACKENDS_JS = `
const http = require("http"), https = require("https"), net = require("net"), dgram = require("dgram"), fs = require("fs");
const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const tls = { cert: fs.readFileSync(cfg.cert), key: fs.readFileSync(cfg.key) };
let pending = cfg.http.length + cfg.tcp.length + cfg.udp.length;
const ready = () => { if (--pending === 0) console.log("ready"); };
for (const u of cfg.http) {
  const handler = (req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ upstream: u.address + ":" + u.port, tls: u.tls, host: req.headers.host ?? null, from: req.socket.remoteAddress,
      authorization: req.headers.authorization ?? null, xff: req.headers["x-forwarded-for"] ?? null, proto: req.headers["x-forwarded-proto"] ?? null }));
  };
  (u.tls ? https.createServer(tls, handler) : http.createServer(handler)).listen(u.port, u.address, ready);
}
for (const s of cfg.tcp) net.createServer((c) => c.end("tcp " + s.address + ":" + s.port + " from " + c.remoteAddress + "\\n")).listen(s.port, s.address, ready);
for (const s of cfg.udp) {
  const sock = dgram.createSocket("udp4");
  sock.on("message", (m, r) => sock.send("udp " + s.address + ":" + s.port + " from " + r.address + "\\n", r.port, r.address));
  sock.bind(s.port, s.address, ready);
}
`;

/** A TCP or UDP client: sends one line from a bound source, prints the first answer. */
const CLIENT_JS = `
const [proto, host, port, source] = process.argv.slice(2);
const done = (s) => { process.stdout.write(String(s)); process.exit(0); };
setTimeout(() => { process.stderr.write("no answer"); process.exit(1); }, 2000);
if (proto === "udp") {
  const sock = require("dgram").createSocket("udp4");
  sock.on("message", done);
  sock.bind(0, source, () => sock.send("ping\\n", Number(port), host));
} else {
  const c = require("net").connect({ host, port: Number(port), localAddress: source });
  let buf = ""; c.on("data", (d) => (buf += d)); c.on("end", () => done(buf));
}
`;

beforeAll(async () => {
  requireTools(["dnsmasq", "nginx", "chrony"]);
  for (const p of ["ip", "dig", "curl", "openssl", "chronyc", "unshare", "setsid", "flock"]) if (!which(p)) throw new Error(`${p} is missing`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-dmz-behaviour-"));
  try {
    sweepStale();

    // --- NTP first: the client needs a few seconds of polls, which overlap the other checks.
    run(["ip", "netns", "add", NS.ntps]);
    run(["ip", "netns", "add", NS.ntpc]);
    for (const ns of [NS.ntps, NS.ntpc]) run(["ip", "-n", ns, "link", "set", "lo", "up"]);
    run(["ip", "-n", NS.ntps, "link", "add", VETH.s, "type", "veth", "peer", "name", VETH.c, "netns", NS.ntpc]);
    run(["ip", "-n", NS.ntps, "addr", "add", `${NTP}/32`, "dev", VETH.s]);
    run(["ip", "-n", NS.ntps, "link", "set", VETH.s, "up"]);
    run(["ip", "-n", NS.ntps, "route", "add", `${NTP_CLIENT}/32`, "dev", VETH.s]);
    run(["ip", "-n", NS.ntpc, "addr", "add", `${NTP_CLIENT}/32`, "dev", VETH.c]);
    run(["ip", "-n", NS.ntpc, "link", "set", VETH.c, "up"]);
    run(["ip", "-n", NS.ntpc, "route", "add", `${NTP}/32`, "dev", VETH.c]);
    // The rendered files plus test-only paths, so nothing is written outside the scratch directory.
    // chronyd runs with -x: it never touches the clock, which no namespace isolates.
    for (const [role, text, ns] of [
      ["ntps", content("chrony.conf"), NS.ntps],
      ["ntpc", renderChronyClient(NTP), NS.ntpc],
    ] as const) {
      const dir = path.join(tmp, role);
      fs.mkdirSync(dir, { mode: 0o700 });
      const conf = path.join(dir, "chrony.conf");
      fs.writeFileSync(conf, `${text}\n# test-only paths\ndriftfile ${dir}/drift\nbindcmdaddress ${dir}/chronyd.sock\npidfile ${dir}/chronyd.pid\n`);
      startDaemon(`chronyd ${role}`, nsx(ns, "chronyd", "-x", "-d", "-u", "root", "-f", conf));
    }

    // --- the DMZ namespace: DNS, proxy, firewall stand-ins and client addresses, all on lo.
    run(["ip", "netns", "add", NS.dmz]);
    run(["ip", "-n", NS.dmz, "link", "set", "lo", "up"]);
    for (const a of [DNS, PROXY, ADMIN, OUTSIDER, ...WAN_ADDRESSES]) run(["ip", "-n", NS.dmz, "addr", "add", `${a}/32`, "dev", "lo"]);

    const dnsConf = path.join(tmp, "dnsmasq.conf");
    fs.writeFileSync(dnsConf, content("dnsmasq.conf"));
    startDaemon("dnsmasq", nsx(NS.dmz, "dnsmasq", "--keep-in-foreground", "--log-facility=-", "--pid-file=", "-C", dnsConf));

    // A throwaway certificate for the proxy (and the TLS backends), and htpasswd files.
    const cert = path.join(tmp, "cert.pem");
    const key = path.join(tmp, "key.pem");
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=test", "-keyout", key, "-out", cert]);
    const hash = run(["openssl", "passwd", "-apr1", "test-password"]).stdout.trim();
    const htpasswd = path.join(tmp, "htpasswd");
    fs.writeFileSync(htpasswd, `tester:${hash}\n`);

    const backends = {
      cert,
      key,
      http: [...new Map(httpServices.map((s) => [`${s.firewall.address}:${s.firewall.port}`, { address: s.firewall.address, port: s.firewall.port, tls: s.backend.tls }])).values()],
      tcp: streamServices.filter((s) => s.kind === "tcp").map((s) => ({ address: s.firewall.address, port: s.firewall.port })),
      udp: streamServices.filter((s) => s.kind === "udp").map((s) => ({ address: s.firewall.address, port: s.firewall.port })),
    };
    fs.writeFileSync(path.join(tmp, "backends.json"), JSON.stringify(backends));
    fs.writeFileSync(path.join(tmp, "backends.js"), BACKENDS_JS);
    fs.writeFileSync(path.join(tmp, "client.js"), CLIENT_JS);
    const backendProc = startDaemon("backends", nsx(NS.dmz, process.execPath, path.join(tmp, "backends.js"), path.join(tmp, "backends.json")));

    // nginx as the checker runs it: a private mount namespace with the certificate at the
    // configured paths, its state and log directories on tmpfs, the stream module loaded for Debian.
    const nginxConf = path.join(tmp, "nginx.conf");
    fs.writeFileSync(nginxConf, content("nginx.conf"));
    const basic = httpServices.filter((s) => s.auth.kind === "basic");
    const script = [
      "set -e",
      "mount -t tmpfs tmpfs /var/lib",
      // nginx opens its compiled-in error log at start; the access log goes to syslog, never into
      // the host's journal from a test.
      "mount -t tmpfs tmpfs /var/log/nginx",
      "if [ -e /dev/log ]; then mount --bind /dev/null /dev/log; fi",
      "mkdir -p /var/lib/nginx /var/lib/homelab/secrets",
      `mkdir -p "$(dirname ${lab.dmz.tls.certificate})" "$(dirname ${lab.dmz.tls.key})"`,
      `cp ${cert} ${lab.dmz.tls.certificate}`,
      `cp ${key} ${lab.dmz.tls.key}`,
      ...basic.map((s) => `cp ${htpasswd} ${htpasswdPath(s.id)}`),
      `exec nginx -g '${STREAM_MODULE}' -c ${nginxConf}`,
    ].join("\n");
    startDaemon("nginx", nsx(NS.dmz, "unshare", "--mount", "--propagation", "private", "sh", "-c", script));

    await waitFor("the backends", 5000, () => daemons.find((d) => d.proc === backendProc)!.output.join("").includes("ready"));
    await waitFor("dnsmasq", 3000, () => run(nsx(NS.dmz, "dig", "+time=1", "+tries=1", "+short", `@${DNS}`, `proxy.${lab.domain}`), { allowFail: true }).stdout.trim() === PROXY);
    await waitFor("nginx", 3000, () => curl(["-o", "/dev/null", "-w", "%{http_code}", `http://${PROXY}/`]).stdout === "421");
  } catch (e) {
    const logs = daemonLogs();
    await cleanup();
    throw new Error(`${String(e)}\n${logs}`);
  }
}, 20000);

afterAll(async () => {
  await cleanup();
});

function curl(args: readonly string[], source = ADMIN) {
  return run(nsx(NS.dmz, "curl", "-sS", "-k", "--max-time", "3", "--interface", source, ...args), { allowFail: true });
}

/** GET https://<fqdn>/probe through the proxy; the status and body. */
function get(fqdn: string, opts: { source?: string; user?: string; headers?: string[] } = {}): { code: number; body: string } {
  const r = curl(
    [
      "--resolve",
      `${fqdn}:443:${PROXY}`,
      ...(opts.user ? ["-u", opts.user] : []),
      ...(opts.headers ?? []).flatMap((h) => ["-H", h]),
      "-w",
      "\n%{http_code}",
      `https://${fqdn}/probe`,
    ],
    opts.source ?? ADMIN,
  );
  const lines = r.stdout.split("\n");
  return { code: Number(lines.pop()), body: lines.join("\n") };
}

describe("DNS: the rendered dnsmasq.conf, running", () => {
  test("every published name resolves to the proxy, every host to its address", () => {
    const expected = new Map<string, string>([
      [`infra.${lab.domain}`, lab.dmz.infra.address],
      [`proxy.${lab.domain}`, PROXY],
      ...published.flatMap((seg) => [
        [seg.router.fqdn, seg.router.lanAddress] as const,
        [`${seg.router.name}.${lab.domain}`, seg.router.wanAddress] as const,
        ...seg.hosts.map((h) => [h.fqdn, h.address] as const),
      ]),
      ...httpServices.map((s) => [s.fqdn!, PROXY] as const),
    ]);
    const out = run(nsx(NS.dmz, "dig", "+time=1", "+tries=1", "+noall", "+answer", `@${DNS}`, ...[...expected.keys()].flatMap((n) => [n, "A"]))).stdout;
    const a = new Map<string, string>();
    const cname = new Map<string, string>();
    for (const line of out.split("\n").filter(Boolean)) {
      const [name, , , type, data] = line.split(/\s+/);
      const n = name!.replace(/\.$/, "");
      if (type === "A") a.set(n, data!);
      if (type === "CNAME") cname.set(n, data!.replace(/\.$/, ""));
    }
    const resolved = [...expected.keys()].map((n) => [n, a.get(n) ?? a.get(cname.get(n) ?? "")] as const);
    expect(Object.fromEntries(resolved)).toEqual(Object.fromEntries(expected));
  });

  test("an unknown name under the domain is NXDOMAIN, answered locally", () => {
    const r = run(nsx(NS.dmz, "dig", "+time=1", "+tries=1", `@${DNS}`, `no-such-host-${ID}.${lab.domain}`, "A"));
    // The upstreams are unreachable from this namespace: a forwarded query could only fail, never be NXDOMAIN.
    expect(r.stdout).toMatch(/status: NXDOMAIN/);
  });

  test("the proxy address and hosts reverse-resolve to one name each", () => {
    expect(run(nsx(NS.dmz, "dig", "+time=1", "+tries=1", "+short", `@${DNS}`, "-x", PROXY)).stdout.trim()).toBe(`proxy.${lab.domain}.`);
    const h = published[0]!.hosts[0]!;
    expect(run(nsx(NS.dmz, "dig", "+time=1", "+tries=1", "+short", `@${DNS}`, "-x", h.address)).stdout.trim()).toBe(`${h.fqdn}.`);
  });
});

describe("proxy: the rendered nginx.conf, running", () => {
  test.each(httpServices.map((s) => [s.fqdn!, s] as const))("%s reaches its firewall's WAN address, from the proxy address", (fqdn, s) => {
    const r = get(fqdn, { user: s.auth.kind === "basic" ? "tester:test-password" : undefined, headers: ["X-Forwarded-For: 6.6.6.6"] });
    expect(r.code).toBe(200);
    const body = JSON.parse(r.body);
    expect(body.upstream).toBe(`${s.firewall.address}:${s.firewall.port}`);
    expect(body.tls).toBe(s.backend.tls);
    expect(body.host).toBe(fqdn);
    // The segment firewalls DNAT only traffic from the proxy address.
    expect(body.from).toBe(PROXY);
    // The client's claim is replaced by what the proxy saw.
    expect(body.xff).toBe(ADMIN);
    expect(body.proto).toBe("https");
    // The proxy's password never reaches the backend.
    expect(body.authorization).toBeNull();
  });

  test.each(httpServices.filter((s) => s.auth.kind === "basic").map((s) => [s.fqdn!] as const))("%s asks for the password", (fqdn) => {
    expect(get(fqdn).code).toBe(401);
    expect(get(fqdn, { user: "tester:wrong" }).code).toBe(401);
  });

  test.each(httpServices.map((s) => [s.fqdn!, s.exposure] as const))("%s from the internet: allowed only when internet-exposed (%s)", (fqdn, exposure) => {
    const s = httpServices.find((x) => x.fqdn === fqdn)!;
    const r = get(fqdn, { source: OUTSIDER, user: s.auth.kind === "basic" ? "tester:test-password" : undefined });
    expect(r.code).toBe(exposure === "internet" ? 200 : 403);
  });

  test("an unknown Host gets 421 with an empty body, on HTTPS and HTTP", () => {
    expect(get(`unknown-${ID}.${lab.domain}`)).toEqual({ code: 421, body: "" });
    const plain = curl(["-H", `Host: unknown-${ID}.${lab.domain}`, "-w", "\n%{http_code}", `http://${PROXY}/`]).stdout;
    expect(plain).toBe("\n421");
  });

  test("plain HTTP for a known name redirects to HTTPS", () => {
    const fqdn = httpServices[0]!.fqdn!;
    const r = curl(["-H", `Host: ${fqdn}`, "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", `http://${PROXY}/x?y=1`]).stdout;
    expect(r).toBe(`301 https://${fqdn}/x?y=1`);
  });

  test.each(streamServices.map((s) => [`${s.port}/${s.kind}`, s] as const))("stream %s reaches its firewall from the proxy address", (_, s) => {
    const r = run(nsx(NS.dmz, process.execPath, path.join(tmp, "client.js"), s.kind, PROXY, String(s.port), s.exposure === "internet" ? OUTSIDER : ADMIN));
    expect(r.stdout.trim()).toBe(`${s.kind} ${s.firewall.address}:${s.firewall.port} from ${PROXY}`);
  });
});

describe("NTP: the rendered chrony.conf serves a client from renderChronyClient", () => {
  test("the client selects the DMZ server (^*) within a bounded wait", async () => {
    const sock = path.join(tmp, "ntpc", "chronyd.sock");
    let last = "";
    await waitFor("the NTP client to select the server", 9000, () => {
      last = run(nsx(NS.ntpc, "chronyc", "-h", sock, "-n", "sources"), { allowFail: true }).stdout;
      return new RegExp(`^\\^\\*\\s+${NTP.replace(/\./g, "\\.")}\\s`, "m").test(last);
    });
    expect(last).toMatch(/^\^\*/m);
  }, 12000);

  test("the server answers clients from the lab's networks only (allow lists, not just the firewall)", () => {
    const conf = content("chrony.conf");
    expect(plan.ntp.clients.some((c) => c.contains(NTP_CLIENT))).toBe(true);
    expect([...conf.matchAll(/^allow (\S+)$/gm)].map((m) => Cidr.of(m[1]!)).some((c) => c.contains(OUTSIDER))).toBe(false);
  });
});

describe("apply.sh: commit-confirm with stand-ins for NixOS", () => {
  let root = "";
  let env: NodeJS.ProcessEnv = {};
  let script = "";
  const link = (p: string) => path.basename(fs.realpathSync(path.join(root, p)));
  const apply = (...args: string[]) => run([script, ...args], { env, allowFail: true, timeout: 20000 });
  const upload = (id: string, extra: string) => {
    const dir = path.join(root, "var/lib/homelab/releases", id);
    fs.mkdirSync(dir, { recursive: true });
    for (const f of files) fs.writeFileSync(path.join(dir, path.basename(f.path)), f.content);
    fs.appendFileSync(path.join(dir, "configuration.nix"), `# ${extra}\n`);
  };
  const systemOf = (id: string) => {
    const sum = createHash("sha256").update(fs.readFileSync(path.join(root, "var/lib/homelab/releases", id, "configuration.nix"))).digest("hex");
    return `system-${sum.slice(0, 12)}`;
  };

  beforeAll(() => {
    root = path.join(tmp, "apply-root");
    const standIns = path.join(root, "stand-ins");
    fs.mkdirSync(standIns, { recursive: true });
    // A NixOS system's switch-to-configuration: records the action; test/switch make it the running system.
    fs.writeFileSync(
      path.join(standIns, "switch-to-configuration"),
      `#!/bin/sh\nset -e\nself="$(cd "$(dirname "$0")/.." && pwd)"\necho "$1 $(basename "$self")" >>"$HOMELAB_ROOT/actions.log"\ncase "$1" in test|switch) ln -sfn "$self" "$HOMELAB_ROOT/run/current-system" ;; esac\n`,
      { mode: 0o755 },
    );
    // nixos-rebuild build: "builds" a system named after the configuration's hash, linked as ./result.
    fs.writeFileSync(
      path.join(standIns, "nixos-rebuild"),
      `#!/bin/sh\nset -e\n[ "$1" = build ] || exit 2\nconfig="\${3#nixos-config=}"\nif grep -q BROKEN "$config"; then echo "error: evaluation aborted" >&2; exit 1; fi\n` +
        `dir="$HOMELAB_ROOT/nix/store/system-$(sha256sum "$config" | cut -c1-12)"\nmkdir -p "$dir/bin"\ncp "$HOMELAB_ROOT/stand-ins/switch-to-configuration" "$dir/bin/"\nln -sfn "$dir" result\n`,
      { mode: 0o755 },
    );
    fs.writeFileSync(path.join(standIns, "nix-env"), `#!/bin/sh\nset -e\n[ "$1" = -p ] && [ "$3" = --set ] || exit 2\nln -sfn "$4" "$2"\n`, { mode: 0o755 });
    const initial = path.join(root, "nix/store/system-initial");
    fs.mkdirSync(path.join(initial, "bin"), { recursive: true });
    fs.copyFileSync(path.join(standIns, "switch-to-configuration"), path.join(initial, "bin/switch-to-configuration"));
    fs.mkdirSync(path.join(root, "nix/var/nix/profiles"), { recursive: true });
    fs.mkdirSync(path.join(root, "run"), { recursive: true });
    fs.symlinkSync(initial, path.join(root, "nix/var/nix/profiles/system"));
    fs.symlinkSync(initial, path.join(root, "run/current-system"));
    fs.mkdirSync(path.join(root, "etc/nixos/homelab"), { recursive: true });
    fs.writeFileSync(path.join(root, "etc/nixos/homelab/configuration.nix"), "# the installed configuration\n");
    script = path.join(root, "homelab-apply");
    fs.writeFileSync(script, content("apply.sh"), { mode: 0o755 });
    env = { PATH: `${standIns}:${PATH_ENV}`, HOMELAB_ROOT: root };
  });

  test("apply activates without changing the boot default; confirm makes exactly that system permanent", async () => {
    upload("r1", "first");
    const r = apply("apply", "r1", "60");
    expect(r.stderr).toMatch(/release r1 is active; confirm it within 60s/);
    expect(r.status).toBe(0);
    expect(link("run/current-system")).toBe(systemOf("r1"));
    expect(link("nix/var/nix/profiles/system")).toBe("system-initial");
    expect(apply("status").stdout).toMatch(/^pending: +r1 \(rolls back at .* watchdog armed\)$/m);

    const c = apply("confirm", "r1");
    expect(c.stderr + c.stdout).toMatch(/release r1 confirmed/);
    expect(c.status).toBe(0);
    expect(link("nix/var/nix/profiles/system")).toBe(systemOf("r1"));
    expect(fs.readFileSync(path.join(root, "actions.log"), "utf8")).toMatch(new RegExp(`^boot ${systemOf("r1")}$`, "m"));
    expect(apply("status").stdout).toMatch(/^pending: +none$/m);
    expect(apply("confirm", "r1").status).toBe(0);
  });

  test("without a confirm the watchdog re-activates the previous generation and restores its files", async () => {
    upload("r2", "second");
    const before = fs.readFileSync(path.join(root, "etc/nixos/homelab/configuration.nix"), "utf8");
    expect(apply("apply", "r2", "1").status).toBe(0);
    expect(link("run/current-system")).toBe(systemOf("r2"));
    await waitFor("the watchdog's rollback", 6000, () => fs.existsSync(path.join(root, "var/lib/homelab/apply/result-r2")));
    expect(link("run/current-system")).toBe(systemOf("r1"));
    expect(link("nix/var/nix/profiles/system")).toBe(systemOf("r1"));
    expect(fs.readFileSync(path.join(root, "etc/nixos/homelab/configuration.nix"), "utf8")).toBe(before);
    const c = apply("confirm", "r2");
    expect(c.status).toBe(NIXOS_APPLY_EXIT.notPending);
    expect(c.stderr).toMatch(/release r2 was rolled back and is not running \(rolled-back .* not confirmed within 1s\)/);
  });

  test("a release that fails to build changes nothing", () => {
    const before = fs.readFileSync(path.join(root, "etc/nixos/homelab/configuration.nix"), "utf8");
    const actions = fs.readFileSync(path.join(root, "actions.log"), "utf8");
    upload("r3", "BROKEN");
    const r = apply("apply", "r3", "60");
    expect(r.status).toBe(NIXOS_APPLY_EXIT.install);
    expect(r.stderr).toMatch(/release r3 failed to build; nothing was activated/);
    expect(link("run/current-system")).toBe(systemOf("r1"));
    expect(fs.readFileSync(path.join(root, "etc/nixos/homelab/configuration.nix"), "utf8")).toBe(before);
    expect(fs.readFileSync(path.join(root, "actions.log"), "utf8")).toBe(actions);
    expect(apply("status").stdout).toMatch(/^pending: +none$/m);
    expect(apply("confirm", "r3").status).toBe(NIXOS_APPLY_EXIT.notPending);
  });

  test("a release that fails to activate is rolled back at once", () => {
    upload("r3b", "activation fails");
    const sys = path.join(root, "nix/store", systemOf("r3b"));
    // Pre-build the system with an activation that fails halfway, after switching.
    fs.mkdirSync(path.join(sys, "bin"), { recursive: true });
    fs.writeFileSync(
      path.join(sys, "bin/switch-to-configuration"),
      `#!/bin/sh\nln -sfn "${sys}" "$HOMELAB_ROOT/run/current-system"\necho "$1 broken" >>"$HOMELAB_ROOT/actions.log"\nexit 1\n`,
      { mode: 0o755 },
    );
    const standIns = path.join(root, "stand-ins");
    const rebuild = fs.readFileSync(path.join(standIns, "nixos-rebuild"), "utf8");
    fs.writeFileSync(path.join(standIns, "nixos-rebuild"), rebuild.replace('cp "$HOMELAB_ROOT/stand-ins/switch-to-configuration" "$dir/bin/"', '[ -e "$dir/bin/switch-to-configuration" ] || cp "$HOMELAB_ROOT/stand-ins/switch-to-configuration" "$dir/bin/"'));
    const r = apply("apply", "r3b", "60");
    fs.writeFileSync(path.join(standIns, "nixos-rebuild"), rebuild);
    expect(r.status).toBe(NIXOS_APPLY_EXIT.install);
    expect(r.stderr).toMatch(/release r3b failed to activate and was rolled back/);
    expect(link("run/current-system")).toBe(systemOf("r1"));
    expect(apply("status").stdout).toMatch(/^pending: +none$/m);
  });

  test("a new apply supersedes a pending one; a lost watchdog (reboot) counts as a rollback", () => {
    upload("r4", "fourth");
    upload("r5", "fifth");
    expect(apply("apply", "r4", "60").status).toBe(0);
    const second = apply("apply", "r5", "60");
    expect(second.stderr).toMatch(/release r4 is still pending; rolling it back first/);
    expect(second.status).toBe(0);
    expect(link("run/current-system")).toBe(systemOf("r5"));
    const superseded = apply("confirm", "r4");
    expect(superseded.status).toBe(NIXOS_APPLY_EXIT.notPending);
    expect(superseded.stderr).toMatch(/superseded by release r5/);
    // Simulate a reboot: the watchdog is gone (the host would boot the boot default, r1).
    const pid = fs.readFileSync(path.join(root, "var/lib/homelab/apply/watchdog-pid"), "utf8").trim();
    run(["kill", "-KILL", pid], { allowFail: true });
    const c = apply("confirm", "r5");
    expect(c.status).toBe(NIXOS_APPLY_EXIT.notPending);
    expect(c.stderr).toMatch(/its watchdog is gone/);
    expect(link("run/current-system")).toBe(systemOf("r1"));
    expect(link("nix/var/nix/profiles/system")).toBe(systemOf("r1"));
  });

  test("release ids cannot escape the releases directory; a missing release is refused", () => {
    const r = apply("apply", "../../etc", "60");
    expect(r.status).toBe(NIXOS_APPLY_EXIT.usage);
    expect(r.stderr).toMatch(/a release id is 1-64 letters/);
    const missing = apply("apply", "never-uploaded", "60");
    expect(missing.status).toBe(NIXOS_APPLY_EXIT.check);
    expect(missing.stderr).toMatch(/release never-uploaded is not uploaded/);
  });
});
