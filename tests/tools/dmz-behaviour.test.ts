// Proves the rendered dnsmasq.conf, nginx.conf and chrony.conf behave as the model says when run for real in private network namespaces (names resolve, each Host reaches its firewall's stand-in, a TLS backend is reached only while it presents the certificate the model trusts and gets 502 with any other, unknown names are refused, clients sync time, and chronyd itself answers the lab's networks only); does not prove the NixOS units, the real segment firewalls behind the proxy, or the infra host's apply.sh (nixos-apply.test.ts).
import { spawn, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { planDmz, publishAll } from "../../model/network/dmz";
import { Cidr } from "../../model/net";
import { planSshAccess } from "../../model/network/ssh";
import { renderChronyClient } from "../../render/chrony";
import { backendTrustFiles, renderDmzFiles } from "../../render/dmz";
import { filesUnder } from "../../render/files";
import { htpasswdPath, NGINX_CREDENTIALS_DIR } from "../../render/nginx";
import { requirePrograms, requireTools } from "../support/checkers";
import { chronyTestConf, NGINX_STREAM_MODULE, testCertificate, testHtpasswd } from "../support/fixtures";
import { labWithEdit } from "../support/lab";
import { addNetns, removeNetns } from "../support/netns";
import { must, PATH_ENV, run, runAsync, waitFor, type Run } from "../support/proc";
import { basicAuthAgent } from "../support/variants";
import { selfSignedCertificate, useTestBackendTls } from "../support/backend-tls";

// The reference lab, but with the agent behind the proxy's basic auth (which check refuses today,
// services.auth-bypass): the one route kind the reference lab no longer has still runs for real here.
// Its backend CAs and pins are made here (with their keys), so the stand-ins present what the proxy trusts.
const certDir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-dmz-behaviour-certs-"));
let backendCerts: ReturnType<typeof useTestBackendTls> = {};
const lab = labWithEdit((f) => {
  basicAuthAgent(f);
  backendCerts = useTestBackendTls(f, certDir);
});
const published = publishAll(lab);
const plan = planDmz(lab, published);
const infra = filesUnder(renderDmzFiles(plan, planSshAccess(lab)), "infra");
const content = (name: string): string => infra.find((f) => f.path === name)!.content;

const DNS = lab.dmz.dns;
const PROXY = lab.dmz.proxy;
const NTP = lab.dmz.ntp;
const httpServices = published.flatMap((s) => s.services.filter((x) => x.kind === "http"));
const tlsServices = httpServices.filter((s) => s.backend.tls);
const impostors = new Map<string, { cert: string; key: string }>();
const streamServices = published.flatMap((s) => s.services.filter((x) => x.kind !== "http"));
/** A source inside the admins' workstations: lab-only names admit it. */
const ADMIN = lab.ssh.adminSources[0]!.lastHost;
/** A source outside every lab network (TEST-NET-3): the internet. */
const OUTSIDER = "203.0.113.10";
/** An NTP client inside the first segment's network. */
const NTP_CLIENT = Object.values(lab.segments)[0]!.subnet.lastHost;
/** Where the proxy reaches the firewalls: their tunnel addresses, each a stand-in on this namespace's loopback. */
const FIREWALL_ADDRESSES = [...new Set(published.flatMap((s) => s.services.map((x) => x.firewall.address)))];
/** The infra host's tunnel address: every upstream connection leaves from it (proxy_bind). */
const TUNNEL = lab.dmz.tunnel!.address;

// Unique names per run; everything the test creates carries them and is removed in afterAll.
const ID = `${process.pid}`;
const NS = { dmz: `hldmz${ID}-dmz`, ntps: `hldmz${ID}-ntps`, ntpc: `hldmz${ID}-ntpc` };
const VETH = { s: `hd${ID}s`, c: `hd${ID}c` };

let tmp = "";
let backendProc: ChildProcess | undefined;
const daemons: { name: string; proc: ChildProcess; output: string[] }[] = [];

const nsx = (ns: string, ...cmd: string[]) => ["ip", "netns", "exec", ns, ...cmd];

function startDaemon(name: string, cmd: readonly string[]): ChildProcess {
  const proc = spawn(cmd[0]!, cmd.slice(1), { env: { PATH: PATH_ENV }, stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  proc.stdout.on("data", (d) => output.push(String(d)));
  proc.stderr.on("data", (d) => output.push(String(d)));
  daemons.push({ name, proc, output });
  return proc;
}
const daemonLogs = () => daemons.map((d) => `--- ${d.name} (exit ${d.proc.exitCode})\n${d.output.join("").slice(-2000)}`).join("\n");

async function cleanup(): Promise<void> {
  for (const d of daemons) if (d.proc.exitCode === null && d.proc.signalCode === null) d.proc.kill("SIGTERM");
  await Promise.all(
    daemons.map(
      (d) =>
        new Promise<void>((resolve) => {
          if (d.proc.exitCode !== null || d.proc.signalCode !== null) {
            resolve();
            return;
          }
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
  // Anything still inside one of our namespaces (nginx workers) is ours to end.
  for (const ns of Object.values(NS)) removeNetns(ns);
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  fs.rmSync(certDir, { recursive: true, force: true });
}

/** Remove namespaces an earlier run of this test left behind when it was killed (its pid is gone). */
function sweepStale(): void {
  for (const line of run(["ip", "netns", "list"]).stdout.split("\n")) {
    const m = /^(hldmz(\d+)-\w+)/.exec(line);
    if (!m || (m[2] !== ID && fs.existsSync(`/proc/${m[2]}`))) continue;
    removeNetns(m[1]!);
  }
}

/** Tiny stand-ins for the segment firewalls' WAN side: they answer with what reached them. */
const BACKENDS_JS = `
const http = require("http"), https = require("https"), net = require("net"), dgram = require("dgram"), fs = require("fs");
const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const pair = (c) => ({ cert: fs.readFileSync(c.cert), key: fs.readFileSync(c.key) });
// Each TLS stand-in presents its backend's certificate; SIGUSR2 makes every one present its
// impostor (same name, trusted by no route) from the next handshake on, SIGUSR1 the real one again.
const tlsServers = [];
const swap = (which) => { for (const t of tlsServers) t.server.setSecureContext(pair(t.u[which])); console.log("presenting " + which); };
process.on("SIGUSR2", () => swap("impostor"));
process.on("SIGUSR1", () => swap("tls"));
let pending = cfg.http.length + cfg.tcp.length + cfg.udp.length;
const ready = () => { if (--pending === 0) console.log("ready"); };
for (const u of cfg.http) {
  // The whole request body is read before the answer, as a real backend would: answering early
  // and closing would reset the proxy mid-upload (a 502 that says nothing about the limit).
  const handler = (req, res) => {
    let bytes = 0;
    req.on("data", (chunk) => (bytes += chunk.length));
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ upstream: u.address + ":" + u.port, tls: Boolean(u.tls), host: req.headers.host ?? null, from: req.socket.remoteAddress,
        authorization: req.headers.authorization ?? null, xff: req.headers["x-forwarded-for"] ?? null, proto: req.headers["x-forwarded-proto"] ?? null,
        upgrade: req.headers.upgrade ?? null, connection: req.headers.connection ?? null, bytes }));
    });
  };
  const server = u.tls ? https.createServer(pair(u.tls), handler) : http.createServer(handler);
  if (u.tls) tlsServers.push({ server, u });
  // A request that arrives with Upgrade: answer plainly (no 101), saying which headers came.
  server.on("upgrade", (req, socket) => {
    const body = JSON.stringify({ upstream: u.address + ":" + u.port, upgrade: req.headers.upgrade ?? null, connection: req.headers.connection ?? null });
    socket.end("HTTP/1.1 200 OK\\r\\ncontent-type: application/json\\r\\ncontent-length: " + Buffer.byteLength(body) + "\\r\\nconnection: close\\r\\n\\r\\n" + body);
  });
  server.listen(u.port, u.address, ready);
}
for (const s of cfg.tcp) net.createServer((c) => c.end("tcp " + s.address + ":" + s.port + " from " + c.remoteAddress + "\\n")).listen(s.port, s.address, ready);
for (const s of cfg.udp) {
  const sock = dgram.createSocket("udp4");
  sock.on("message", (m, r) => sock.send("udp " + s.address + ":" + s.port + " from " + r.address + "\\n", r.port, r.address));
  sock.bind(s.port, s.address, ready);
}
`;

/**
 * A TCP, UDP or NTP client: sends one line (for ntp, one NTPv4 client request) from a bound
 * source, prints the first answer (for ntp, the server's stratum).
 */
const CLIENT_JS = `
const [proto, host, port, source] = process.argv.slice(2);
const done = (s) => { process.stdout.write(String(s)); process.exit(0); };
setTimeout(() => { process.stderr.write("no answer"); process.exit(1); }, 2000);
if (proto === "ntp") {
  const sock = require("dgram").createSocket("udp4");
  sock.on("message", (m) => done("ntp stratum=" + m[1]));
  const request = Buffer.alloc(48);
  request[0] = 0x23; // LI 0, version 4, mode 3 (client)
  sock.bind(0, source, () => sock.send(request, Number(port), host));
} else if (proto === "udp") {
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
  requirePrograms({ ip: "iproute2", dig: "dnsutils", curl: "curl", openssl: "openssl", chronyc: "chrony", unshare: "util-linux" });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-dmz-behaviour-"));
  try {
    sweepStale();

    // --- NTP first: the client needs a few seconds of polls, which overlap the other checks.
    addNetns(NS.ntps);
    addNetns(NS.ntpc);
    must(["ip", "-n", NS.ntps, "link", "add", VETH.s, "type", "veth", "peer", "name", VETH.c, "netns", NS.ntpc]);
    must(["ip", "-n", NS.ntps, "addr", "add", `${NTP}/32`, "dev", VETH.s]);
    must(["ip", "-n", NS.ntps, "link", "set", VETH.s, "up"]);
    must(["ip", "-n", NS.ntpc, "addr", "add", `${NTP_CLIENT}/32`, "dev", VETH.c]);
    must(["ip", "-n", NS.ntpc, "link", "set", VETH.c, "up"]);
    must(["ip", "-n", NS.ntpc, "route", "add", `${NTP}/32`, "dev", VETH.c]);
    // The outsider sits next to the client, and the server has a route back to it: only chronyd's
    // allow list can keep it from an answer (there is no firewall in these namespaces).
    must(["ip", "-n", NS.ntpc, "addr", "add", `${OUTSIDER}/32`, "dev", "lo"]);
    for (const a of [NTP_CLIENT, OUTSIDER]) must(["ip", "-n", NS.ntps, "route", "add", `${a}/32`, "dev", VETH.s]);
    // The rendered files plus test-only paths, so nothing is written outside the scratch directory.
    // chronyd runs with -x: it never touches the clock, which no namespace isolates.
    for (const [role, text, ns] of [
      ["ntps", content("chrony.conf"), NS.ntps],
      ["ntpc", renderChronyClient(NTP), NS.ntpc],
    ] as const) {
      const dir = path.join(tmp, role);
      fs.mkdirSync(dir, { mode: 0o700 });
      const conf = path.join(dir, "chrony.conf");
      fs.writeFileSync(conf, chronyTestConf(text, dir));
      startDaemon(`chronyd ${role}`, nsx(ns, "chronyd", "-x", "-d", "-u", "root", "-f", conf));
    }

    // --- the DMZ namespace: DNS, proxy, firewall stand-ins and client addresses, all on lo.
    addNetns(NS.dmz);
    for (const a of [DNS, PROXY, ADMIN, OUTSIDER, TUNNEL, ...FIREWALL_ADDRESSES])
      must(["ip", "-n", NS.dmz, "addr", "add", `${a}/32`, "dev", "lo"]);

    const dnsConf = path.join(tmp, "dnsmasq.conf");
    fs.writeFileSync(dnsConf, content("dnsmasq.conf"));
    startDaemon("dnsmasq", nsx(NS.dmz, "dnsmasq", "--keep-in-foreground", "--log-facility=-", "--pid-file=", "-C", dnsConf));

    // A throwaway certificate for the proxy, and htpasswd files. Each TLS backend's impostor
    // carries the very name the proxy checks, self-signed: only the trust decides.
    const { cert, key } = testCertificate(tmp);
    for (const s of tlsServices) {
      const id = `${s.segment}/${s.id}`;
      impostors.set(id, selfSignedCertificate(certDir, `impostor-${s.segment}-${s.id}`, backendCerts[id]!.name));
    }
    const htpasswd = path.join(tmp, "htpasswd");
    testHtpasswd(htpasswd, "tester:test-password");

    const backends = {
      http: [
        ...new Map(
          httpServices.map((s) => [
            `${s.firewall.address}:${s.firewall.port}`,
            {
              address: s.firewall.address,
              port: s.firewall.port,
              ...(s.backend.tls ? { tls: backendCerts[`${s.segment}/${s.id}`]!, impostor: impostors.get(`${s.segment}/${s.id}`)! } : {}),
            },
          ]),
        ).values(),
      ],
      tcp: streamServices.filter((s) => s.kind === "tcp").map((s) => ({ address: s.firewall.address, port: s.firewall.port })),
      udp: streamServices.filter((s) => s.kind === "udp").map((s) => ({ address: s.firewall.address, port: s.firewall.port })),
    };
    fs.writeFileSync(path.join(tmp, "backends.json"), JSON.stringify(backends));
    fs.writeFileSync(path.join(tmp, "backends.js"), BACKENDS_JS);
    fs.writeFileSync(path.join(tmp, "client.js"), CLIENT_JS);
    backendProc = startDaemon("backends", nsx(NS.dmz, process.execPath, path.join(tmp, "backends.js"), path.join(tmp, "backends.json")));

    // nginx as the checker runs it: a private mount namespace with the certificate at the
    // configured paths, its state and log directories on tmpfs, the stream module loaded for Debian.
    const nginxConf = path.join(tmp, "nginx.conf");
    fs.writeFileSync(nginxConf, content("nginx.conf"));
    for (const t of backendTrustFiles(plan)) fs.writeFileSync(path.join(tmp, t.id), content(t.id));
    const basic = httpServices.filter((s) => s.auth.kind === "basic");
    const script = [
      "set -e",
      "mount -t tmpfs tmpfs /var/lib",
      "mount -t tmpfs tmpfs /run",
      // nginx opens its compiled-in error log at start; the access log goes to syslog, never into
      // the host's journal from a test.
      "mount -t tmpfs tmpfs /var/log/nginx",
      "if [ -e /dev/log ]; then mount --bind /dev/null /dev/log; fi",
      "mkdir -p /var/lib/nginx /var/lib/homelab/secrets",
      `mkdir -p "$(dirname ${plan.proxy.tls.certificate})" "$(dirname ${plan.proxy.tls.key})"`,
      `cp ${cert} ${plan.proxy.tls.certificate}`,
      `cp ${key} ${plan.proxy.tls.key}`,
      // The certificates backends are verified against, where the unit's LoadCredential puts them.
      `mkdir -p ${NGINX_CREDENTIALS_DIR}`,
      ...backendTrustFiles(plan).map((t) => `cp ${path.join(tmp, t.id)} ${t.path}`),
      ...basic.map((s) => `cp ${htpasswd} ${htpasswdPath(s.id)}`),
      `exec nginx -g '${NGINX_STREAM_MODULE}' -c ${nginxConf}`,
    ].join("\n");
    startDaemon("nginx", nsx(NS.dmz, "unshare", "--mount", "--propagation", "private", "sh", "-c", script));

    await waitFor("the backends", 5000, () =>
      daemons
        .find((d) => d.proc === backendProc)!
        .output.join("")
        .includes("ready"),
    );
    await waitFor(
      "dnsmasq",
      3000,
      () => run(nsx(NS.dmz, "dig", "+time=1", "+tries=1", "+short", `@${DNS}`, `proxy.${lab.domain}`)).stdout.trim() === PROXY,
    );
    await waitFor("nginx", 3000, () => curl(["-o", "/dev/null", "-w", "%{http_code}", `http://${PROXY}/`]).stdout === "421");
  } catch (e) {
    const logs = daemonLogs();
    await cleanup();
    throw new Error(`${String(e)}\n${logs}`, { cause: e });
  }
}, 20000);

afterAll(async () => {
  await cleanup();
});

function curl(args: readonly string[], source = ADMIN) {
  return run(nsx(NS.dmz, "curl", "-sS", "-k", "--max-time", "3", "--interface", source, ...args));
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
    const out = must(
      nsx(NS.dmz, "dig", "+time=1", "+tries=1", "+noall", "+answer", `@${DNS}`, ...[...expected.keys()].flatMap((n) => [n, "A"])),
    );
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
    const out = must(nsx(NS.dmz, "dig", "+time=1", "+tries=1", `@${DNS}`, `no-such-host-${ID}.${lab.domain}`, "A"));
    // The upstreams are unreachable from this namespace: a forwarded query could only fail, never be NXDOMAIN.
    expect(out).toMatch(/status: NXDOMAIN/);
  });

  test("the proxy address and hosts reverse-resolve to one name each", () => {
    expect(must(nsx(NS.dmz, "dig", "+time=1", "+tries=1", "+short", `@${DNS}`, "-x", PROXY)).trim()).toBe(`proxy.${lab.domain}.`);
    const h = published[0]!.hosts[0]!;
    expect(must(nsx(NS.dmz, "dig", "+time=1", "+tries=1", "+short", `@${DNS}`, "-x", h.address)).trim()).toBe(`${h.fqdn}.`);
  });
});

describe("proxy: the rendered nginx.conf, running", () => {
  test.each(httpServices.map((s) => [s.fqdn!, s] as const))(
    "%s reaches its firewall's tunnel address, from the infra host's tunnel address",
    (fqdn, s) => {
      const r = get(fqdn, { user: s.auth.kind === "basic" ? "tester:test-password" : undefined, headers: ["X-Forwarded-For: 6.6.6.6"] });
      expect(r.code).toBe(200);
      const body = JSON.parse(r.body);
      expect(body.upstream).toBe(`${s.firewall.address}:${s.firewall.port}`);
      expect(body.tls).toBe(s.backend.tls !== undefined);
      expect(body.host).toBe(fqdn);
      // The segment firewalls DNAT only traffic from the infra host's tunnel address, through the tunnel.
      expect(body.from).toBe(TUNNEL);
      // The client's claim is replaced by what the proxy saw.
      expect(body.xff).toBe(ADMIN);
      expect(body.proto).toBe("https");
      // The proxy's password never reaches the backend.
      expect(body.authorization).toBeNull();
    },
  );

  test.each(httpServices.filter((s) => s.auth.kind === "basic").map((s) => [s.fqdn!] as const))("%s asks for the password", (fqdn) => {
    expect(get(fqdn).code).toBe(401);
    expect(get(fqdn, { user: "tester:wrong" }).code).toBe(401);
  });

  test.each(httpServices.map((s) => [s.fqdn!, s.exposure] as const))(
    "%s from the internet: allowed only when internet-exposed (%s)",
    (fqdn, exposure) => {
      const s = httpServices.find((x) => x.fqdn === fqdn)!;
      const r = get(fqdn, { source: OUTSIDER, user: s.auth.kind === "basic" ? "tester:test-password" : undefined });
      expect(r.code).toBe(exposure === "internet" ? 200 : 403);
    },
  );

  const hstsHeaders = (fqdn: string, source: string) =>
    curl(["--resolve", `${fqdn}:443:${PROXY}`, "-o", "/dev/null", "-D", "-", `https://${fqdn}/probe`], source).stdout;

  test.each(httpServices.map((s) => [s.fqdn!] as const))("%s sends HSTS", (fqdn) => {
    expect(hstsHeaders(fqdn, ADMIN)).toMatch(/^strict-transport-security: max-age=31536000\r?$/im);
  });

  test.each(httpServices.filter((s) => s.exposure === "lab").map((s) => [s.fqdn!] as const))(
    "%s sends HSTS on its 403 to the internet too (always)",
    (fqdn) => {
      expect(hstsHeaders(fqdn, OUTSIDER)).toMatch(/^HTTP\/1\.1 403[\s\S]*^strict-transport-security: max-age=31536000\r?$/im);
    },
  );

  test("a request body over a name's maxBodyMiB gets 413 from the proxy; one under it passes", () => {
    const small = httpServices.find((s) => s.maxBodyMiB === 10 && s.auth.kind !== "basic")!;
    const large = httpServices.find((s) => (s.maxBodyMiB ?? 0) > 11)!;
    const body = path.join(tmp, "body-11MiB");
    fs.writeFileSync(body, Buffer.alloc(11 * 1024 * 1024, 0x61));
    const post = (fqdn: string) =>
      curl([
        "--resolve",
        `${fqdn}:443:${PROXY}`,
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--data-binary",
        `@${body}`,
        `https://${fqdn}/probe`,
      ]).stdout;
    expect({ [small.fqdn!]: post(small.fqdn!), [large.fqdn!]: post(large.fqdn!) }).toEqual({
      [small.fqdn!]: "413",
      [large.fqdn!]: "200",
    });
  });

  test.each(httpServices.map((s) => [s.fqdn!, s.websockets === true] as const))(
    "%s: a client's Upgrade reaches the backend only when the service declares websockets (%s)",
    (fqdn, websockets) => {
      const r = get(fqdn, { headers: ["Upgrade: websocket", "Connection: Upgrade"], user: "tester:test-password" });
      expect(r.code).toBe(200);
      const body = JSON.parse(r.body) as { upgrade: string | null; connection: string | null };
      expect({ upgrade: body.upgrade, connection: body.connection }).toEqual(
        websockets ? { upgrade: "websocket", connection: "upgrade" } : { upgrade: null, connection: "close" },
      );
    },
  );

  test("a TLS backend presenting another certificate with the same name gets 502; its own certificate, 200 again", async () => {
    expect(tlsServices.map((s) => s.backend.tls!.kind).sort()).toEqual(["ca", "pin", "pin"]);
    const output = () => daemons.find((d) => d.proc === backendProc)!.output.join("");
    const codes = () => Object.fromEntries(tlsServices.map((s) => [s.fqdn!, get(s.fqdn!).code]));
    const expectAll = (code: number) => Object.fromEntries(tlsServices.map((s) => [s.fqdn!, code]));
    expect(codes()).toEqual(expectAll(200));
    const swapped = output().split("presenting impostor").length;
    backendProc!.kill("SIGUSR2");
    await waitFor("the impostors", 3000, () => output().split("presenting impostor").length > swapped);
    try {
      expect(codes()).toEqual(expectAll(502));
      // nginx says why: the certificate did not verify (logged to its stderr, which arrives a moment later).
      const nginxLog = () => daemons.find((d) => d.name === "nginx")!.output.join("");
      await waitFor("nginx to log the verify error", 3000, () => /upstream SSL certificate verify error/.test(nginxLog()));
      expect(nginxLog()).toMatch(/upstream SSL certificate verify error: \(18:self.signed certificate\)/);
    } finally {
      const restored = output().split("presenting tls").length;
      backendProc!.kill("SIGUSR1");
      await waitFor("the real certificates", 3000, () => output().split("presenting tls").length > restored);
    }
    expect(codes()).toEqual(expectAll(200));
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

  test.each(streamServices.map((s) => [`${s.port}/${s.kind}`, s] as const))(
    "stream %s reaches its firewall from the proxy address",
    (_, s) => {
      const out = must(
        nsx(
          NS.dmz,
          process.execPath,
          path.join(tmp, "client.js"),
          s.kind,
          PROXY,
          String(s.port),
          s.exposure === "internet" ? OUTSIDER : ADMIN,
        ),
      );
      expect(out.trim()).toBe(`${s.kind} ${s.firewall.address}:${s.firewall.port} from ${TUNNEL}`);
    },
  );
});

describe("NTP: the rendered chrony.conf serves a client from renderChronyClient", () => {
  // The same NTP request on the same path, at the same time, from a lab address and from the
  // outsider (both routed both ways, no firewall anywhere): sent now, so the answers (or the
  // outsider's 2 s of silence) arrive while the client below syncs.
  let asked: Promise<Run[]>;
  beforeAll(() => {
    const ask = (source: string) => runAsync(nsx(NS.ntpc, process.execPath, path.join(tmp, "client.js"), "ntp", NTP, "123", source));
    asked = Promise.all([ask(NTP_CLIENT), ask(OUTSIDER)]);
  });

  test("the client selects the DMZ server (^*) within a bounded wait", async () => {
    const sock = path.join(tmp, "ntpc", "chronyd.sock");
    const selected = new RegExp(`^\\^\\*\\s+${NTP.replace(/\./g, "\\.")}\\s`, "m");
    let last = "";
    // Returns only once `last` lists the DMZ server as the selected source (^*); throws at 9 s.
    await waitFor(
      "the NTP client to select the server",
      9000,
      () => {
        last = run(nsx(NS.ntpc, "chronyc", "-h", sock, "-n", "sources")).stdout;
        return selected.test(last);
      },
      { detail: () => `chronyc sources:\n${last}\n${daemonLogs()}` },
    );
    expect(last).toMatch(selected);
  }, 12000);

  test("the server answers clients from the lab's networks only (allow lists, not just the firewall)", async () => {
    const conf = content("chrony.conf");
    expect(plan.ntp.clients.some((c) => c.contains(NTP_CLIENT))).toBe(true);
    expect([...conf.matchAll(/^allow (\S+)$/gm)].map((m) => Cidr.of(m[1]!)).some((c) => c.contains(OUTSIDER))).toBe(false);
    // The running chronyd answers the lab address and stays silent to the outsider.
    const [inside, outside] = (await asked) as [Run, Run];
    expect({ code: inside.code, answer: inside.stdout, err: inside.stderr }).toEqual({
      code: 0,
      answer: expect.stringMatching(/^ntp stratum=\d+$/),
      err: "",
    });
    expect({ code: outside.code, answer: outside.stdout, err: outside.stderr }).toEqual({ code: 1, answer: "", err: "no answer" });
  });
});
