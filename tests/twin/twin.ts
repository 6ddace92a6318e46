/**
 * The network twin: the reference lab rebuilt from Linux network namespaces, driven by the
 * plan and the rendered files exactly as `npm run plan` writes them (planStacks + writePlan,
 * run into a scratch directory from a copy of the reference lab).
 *
 * The copy differs from the reference lab in one VLAN and in test identities. The VLAN
 * (tests/support/variants.ts, vlanSegment): the lab segment's router carries its LAN as
 * enp2s0.30, VLAN 30 tagged on port enp2s0, so every row of the intent table that crosses
 * lab-fw proves a VLAN segment. The identities: alice gets one more
 * admin key (generated here, so the test holds its private half), the deploy key is
 * replaced by a generated one, and the SSH host keys of every box that runs a real sshd in
 * the twin are replaced by generated keys, so the rendered ssh_config and known_hosts pin
 * keys the twin's sshd really has; every WireGuard end (the infra host, each router) gets a
 * generated key pair, its public half in the lab copy and its private half where a stack
 * secret would deliver it (tunnelKeyFile). Nothing else is changed; every rendered file is used
 * unchanged (the twin only appends test-only paths to chrony.conf and gives nginx the
 * stream module on the command line, both documented where it happens).
 *
 * Safety. Everything runs inside one wrapper:
 *   setpriv --pdeathsig KILL unshare --mount --pid --fork --kill-child --mount-proc
 * with a private tmpfs on /run, so every namespace (`ip netns add`) exists only in the
 * twin's own mount namespace, and every process lives in the twin's PID namespace. When
 * the controlling node process dies for any reason (even SIGKILL), the wrapper gets
 * SIGKILL (pdeathsig), its child, PID 1 of the twin, gets SIGKILL (--kill-child), the
 * kernel kills every process of the PID namespace, and the mount namespace and with it
 * every network namespace and veth disappear. PID 1 also exits when its stdin (a pipe
 * from the controller) reaches EOF, which is how `stop()` ends a twin normally. Veths are
 * created directly between namespaces, so nothing ever appears on the host; no namespace
 * has a route to the host; sysctls are set per namespace only; the host's /etc/passwd,
 * group, shadow and resolv.conf are replaced by bind mounts inside the twin only.
 */
import { spawn, type ChildProcess } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { requireLab } from "../../model/check";
import { Cidr } from "../../model/net";
import { planSshAccess } from "../../model/network/ssh";
import { renderChronyClient } from "../../render/chrony";
import { DEFAULT_INTERFACE, NGINX_EXPORTER_PORT, NODE_EXPORTER_PORT } from "../../render/nixos";
import { renderSshdConfig } from "../../render/sshd";
import { planStacks, writePlan } from "../../cli/plan";
import { requirePrograms } from "../support/checkers";
import {
  chronyTestConf,
  NGINX_STREAM_MODULE,
  NGINX_STREAM_MODULE_FILE,
  nginxCertPaths,
  nginxTrustedPaths,
  testCertificate,
  testHtpasswd,
} from "../support/fixtures";
import { copyLab } from "../support/lab";
import { backendCertFiles, useTestBackendTls } from "../support/backend-tls";
import { NGINX_CREDENTIALS_DIR } from "../../render/nginx";
import { shareGroup } from "../../render/data-services";
import { DATA_TOOLS, mariadbScript, REAL_PORTS, smbdScript, writeDataTwin, type DataTwin } from "./data-host";
import { vlanSegment } from "../support/variants";
import { must, PATH_ENV, run, runAsync, sleep, waitFor, type Run } from "../support/proc";
import { startCommands } from "../support/boot";
import { ROUTER_TUNNEL } from "../../render/wireguard";

const AGENT = path.join(__dirname, "agent.py");

// --- the plan as writePlan wrote it (JSON: CIDRs are strings) ----------------------------------------

export interface PortJson {
  readonly port: number;
  readonly proto: "tcp" | "udp";
}
export interface HostJson {
  readonly id: string;
  readonly fqdn: string;
  readonly address: string;
  readonly os: string;
  readonly role: string;
  readonly mac?: string;
  readonly listens: readonly PortJson[];
}
export interface ServiceJson {
  readonly id: string;
  readonly segment: string;
  readonly kind: "http" | "tcp" | "udp";
  readonly fqdn?: string;
  readonly port?: number;
  readonly exposure: "internet" | "lab";
  readonly auth: { readonly kind: string };
  /** `tls`: how the proxy verifies the backend; absent for plain HTTP. */
  readonly backend: { readonly host: string; readonly address: string; readonly port: number; readonly tls?: { readonly kind: string } };
  readonly firewall: { readonly router: string; readonly address: string; readonly port: number };
}
export interface RouteJson {
  readonly to: string;
  readonly via: string;
  readonly segment: string;
}
/** One side of a router; `vlan` when `iface` is a VLAN sub-interface of the port `vlan.parent`. */
export interface RouterIfaceJson {
  readonly iface: string;
  readonly address: string;
  readonly subnet: string;
  readonly vlan?: { readonly parent: string; readonly id: number };
}
/** A static neighbour of the plan. */
export interface NeighbourJson {
  readonly iface: string;
  readonly address: string;
  readonly mac: string;
}
export interface SegmentJson {
  readonly name: string;
  readonly trust: "trusted" | "untrusted";
  readonly subnet: string;
  readonly router: {
    readonly name: string;
    readonly wan: RouterIfaceJson & { readonly gateway: string; readonly mac: string };
    readonly lan: RouterIfaceJson;
    readonly routes: readonly RouteJson[];
    readonly jumpAddress: string;
    readonly jumpMac: string;
    readonly neighbours: readonly NeighbourJson[];
    /** Its end of the WireGuard tunnel from the infra host. */
    readonly tunnel?: { readonly iface: string; readonly address: string; readonly port: number; readonly publicKey: string };
  };
  readonly jumpHost: HostJson;
  readonly hosts: readonly HostJson[];
  /** The segment's NixOS data host, when it has one (its files are under `<segment>/<id>/`). */
  readonly dataHost?: { readonly id: string; readonly address: string };
  readonly services: readonly ServiceJson[];
  readonly flows: readonly {
    readonly id: string;
    readonly kind: string;
    readonly from: { readonly zone: string; readonly host?: string };
    readonly to: { readonly zone: string; readonly host?: string };
  }[];
}
export interface DmzJson {
  readonly domain: string;
  readonly infra: {
    readonly address: string;
    readonly subnet: string;
    readonly gateway: string;
    readonly serviceAddresses: { readonly dns: string; readonly ntp: string; readonly proxy: string };
    readonly routes: readonly RouteJson[];
    /** The DMZ's parties: `edge`, `infra` and the routers, each with its MAC. */
    readonly parties: readonly { readonly id: string; readonly mac: string }[];
  };
  /** The infra host's end of the WireGuard tunnel (its configuration is read from configuration.nix, not from here). */
  readonly tunnel?: { readonly iface: string; readonly address: string; readonly port: number };
  readonly dns: {
    readonly listen: string;
    readonly records: readonly { readonly name: string; readonly address: string; readonly kind: string }[];
  };
  readonly ntp: { readonly listen: string };
}

// --- what the twin models ---------------------------------------------------------------------------

/**
 * The hosts that get a namespace of their own, per segment: every backend of a published
 * service, every storage server and consumer, every endpoint of an explicit flow, and the
 * jump host (a coverage test checks this against the plan). `sshd` lists the ones that run
 * a real sshd; jump hosts always do.
 */
export const TWIN_HOSTS: Readonly<Record<string, { readonly hosts: readonly string[]; readonly sshd: readonly string[] }>> = {
  internal: { hosts: ["jump", "truenas", "data", "pve1", "monitor"], sshd: ["jump", "data"] },
  cluster: { hosts: ["jump", "worker-1", "worker-2", "worker-3", "ingress"], sshd: ["jump"] },
  lab: { hosts: ["jump", "vdi", "mirror-1", "mirror-2"], sshd: ["jump", "mirror-1"] },
  sandbox: { hosts: ["jump", "agent", "games"], sshd: ["jump", "agent"] },
};

/** The infra host's NIC, as its rendered configuration.nix and host.nft name it. */
export const INFRA_NIC = DEFAULT_INTERFACE;
/** Talos workers also answer the Talos API the monitor scrapes. */
export const TALOS_API = 50000;
/** The edge namespace's "internet" address (TEST-NET-3): a client or server out on the internet. */
export const INTERNET = "203.0.113.10";
/**
 * Addresses beyond the edge that are not the internet, each a local address of the edge
 * namespace with a web server: another private network (RFC 1918) and the ISP's CGNAT space.
 */
export const BEYOND_EDGE = { "edge/private": "172.16.0.10", "edge/cgnat": "100.64.1.1" } as const;
/** The segment host that runs a chronyd client (renderChronyClient) against the DMZ server. */
export const CHRONY_CLIENT = "sandbox/games";
/** The router the commit-confirm tests run apply.sh on (its sshd gets the sudo stand-in). */
export const APPLY_SEGMENT = "lab";
/** The basic-auth credentials the twin's htpasswd holds. */
export const TEST_CREDENTIALS = "tester:twin-password";
/** Test users: the admin whose key the twin adds, and the deploy identity. */
export const USERS = { alice: 61001, deploy: 61003 } as const;
/** Service users the infra host's units run as, added when the host has none of that name (Debian's nginx runs as www-data). */
const SERVICE_USERS = { nginx: 61010 } as const;
/** The first uid and gid of the data host's accounts in the twin. */
const DATA_ACCOUNT_ID = 61020;

/** One addressable point of the twin: a namespace and an address in it. */
export interface TwinNode {
  readonly id: string;
  readonly ns: string;
  readonly address: string;
}

/** One sshd of the twin: node id, namespace, config, host key, authorized keys, and whether it gets the sudo stand-in. */
interface SshdSpec {
  readonly id: string;
  readonly ns: string;
  readonly config: string;
  readonly key: string;
  readonly keysDir: string;
  readonly sudo: boolean;
}

/** What agent.py serves (agent-serve.json): the TLS pair, and every host's ports by namespace and address. */
interface ServeConfig {
  readonly cert: string;
  readonly key: string;
  readonly hosts: readonly {
    readonly ns: string;
    readonly name: string;
    readonly address: string;
    readonly tcp: readonly number[];
    readonly udp: readonly number[];
    /** Ports that present their own certificate (a TLS backend's), instead of `cert`. */
    readonly tls?: Readonly<Record<number, { readonly cert: string; readonly key: string }>>;
  }[];
}

/** One probe for agent.py, and its result. */
export interface Probe {
  readonly id: string;
  readonly ns: string;
  readonly src: string;
  readonly dst: string;
  readonly port: number;
  readonly proto: "tcp" | "udp" | "icmp" | "dhcp";
  /** DHCP: the interface to broadcast on, and the client MAC to ask for. */
  readonly iface?: string;
  readonly mac?: string;
  readonly kind?: "line" | "banner" | "connect" | "dns" | "ntp" | "https";
  readonly qname?: string;
  readonly host?: string;
  readonly auth?: string;
  readonly timeout?: number;
}
export interface ProbeResult {
  readonly id: string;
  readonly outcome: "reply" | "silent" | "timeout" | "refused" | "unreachable" | "error";
  readonly text: string;
  readonly ms: number;
}

/** Wait at most `ms` for a child to exit; true when it did. Leaves no timer behind. */
export function exitWithin(p: ChildProcess, ms: number): Promise<boolean> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      resolve(false);
    }, ms);
    p.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The programs (and nginx's stream module) the twin runs, and the Debian package of each. */
const TWIN_TOOLS: Readonly<Record<string, string>> = {
  ip: "iproute2",
  nft: "nftables",
  ss: "iproute2",
  nsenter: "util-linux",
  unshare: "util-linux",
  setpriv: "util-linux",
  python3: "python3",
  dnsmasq: "dnsmasq",
  nginx: "nginx libnginx-mod-stream",
  [NGINX_STREAM_MODULE_FILE]: "libnginx-mod-stream",
  sshd: "openssh-server",
  ssh: "openssh-client",
  "ssh-keygen": "openssh-client",
  "ssh-audit": "ssh-audit",
  chronyd: "chrony",
  chronyc: "chrony",
  dig: "dnsutils",
  curl: "curl",
  openssl: "openssl",
  flock: "util-linux",
  setsid: "util-linux",
  wg: "wireguard-tools",
  "wg-quick": "wireguard-tools",
  "wireguard-go": "wireguard-go",
  "nix-instantiate": "nix-bin",
  mountpoint: "util-linux",
  timeout: "coreutils",
  ...DATA_TOOLS,
};

/** Fail with every missing tool and its package (a missing tool is a failure, never a skip), or when not root. */
export function requireTwinTools(): void {
  requirePrograms(TWIN_TOOLS);
  if (process.getuid?.() !== 0) throw new Error("the twin creates network namespaces and must run as root");
}

/** True when a process exists and is not a zombie (a SIGKILLed child its parent has not reaped yet). */
function isAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** Scratch directories of twins whose controlling process is gone (a SIGKILLed run): removed. */
export function sweepStaleDirs(): void {
  for (const name of fs.readdirSync(os.tmpdir())) {
    if (!/^homelab-twin-tw[0-9a-f]{4}-/.test(name)) continue;
    const dir = path.join(os.tmpdir(), name);
    const owner = Number(fs.existsSync(path.join(dir, "owner.pid")) ? fs.readFileSync(path.join(dir, "owner.pid"), "utf8") : NaN);
    if (Number.isInteger(owner) && isAlive(owner)) continue;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The host state the twin must never change. */
export function readHostState(): string {
  const parts = [
    ["ip -o link", run(["ip", "-o", "link"]).stdout],
    ["ip -o addr", run(["ip", "-o", "addr"]).stdout],
    ["ip route", run(["ip", "route"]).stdout],
    ["ip -6 route", run(["ip", "-6", "route"]).stdout],
    ["nft list ruleset", run(["nft", "list", "ruleset"]).stdout],
    ["ip_forward", fs.readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8")],
  ];
  // Address lifetimes and route expiries count down on their own; they are not state the twin could change.
  const stable = (text: string) => text.replace(/(valid_lft|preferred_lft|expires) \S+/g, "$1 _");
  return parts.map(([k, v]) => `## ${k}\n${stable(v!)}`).join("\n");
}

/** Everything on the host that carries a twin prefix: network namespaces, links, processes, mounts. */
export function findLeftovers(prefix: string): string[] {
  const found: string[] = [];
  for (const l of run(["ip", "netns", "list"]).stdout.split("\n")) if (l.includes(prefix)) found.push(`netns ${l}`);
  for (const l of run(["ip", "-o", "link"]).stdout.split("\n")) if (l.includes(prefix)) found.push(`link ${l}`);
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    let cmd: string;
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
    } catch {
      continue;
    }
    if (cmd.includes(`${prefix}-`) && Number(pid) !== process.pid) found.push(`process ${pid}: ${cmd}`);
  }
  for (const l of fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n")) if (l.includes(prefix)) found.push(`mount ${l}`);
  return found;
}

// --- the twin -----------------------------------------------------------------------------------------

/** See Twin.vlanMode. */
export type VlanMode = "802.1q" | "names-only";

/**
 * Whether this kernel creates 802.1Q links, tried in a throwaway network namespace. Only a
 * kernel that says it has no such link type (no 8021q, as in many containers) falls back to
 * names-only; any other failure of the probe is a failure, never a quiet downgrade.
 */
export function probeVlanMode(): VlanMode {
  const veth = run(["unshare", "--net", "sh", "-c", "ip link add hlv0 type veth peer name hlv1"]);
  if (veth.code !== 0) throw new Error(`twin: the VLAN probe could not make a veth pair: ${veth.stderr.trim()}`);
  const r = run([
    "unshare",
    "--net",
    "sh",
    "-c",
    "ip link add hlv0 type veth peer name hlv1 && ip link add link hlv0 name hlv0.5 type vlan id 5",
  ]);
  if (r.code === 0) return "802.1q";
  if (/Unknown device type|not supported/i.test(r.stderr)) return "names-only";
  throw new Error(`twin: the VLAN probe failed for another reason than a kernel without 802.1Q: ${r.stderr.trim()}`);
}

/** Options of a twin. */
export interface TwinOptions {
  /** Progress messages. @default none */
  readonly log?: (message: string) => void;
}

/** Where the twin keeps the TLS backends' certificates and keys (tests/support/backend-tls.ts), under its directory. */
const BACKEND_TLS_DIR = "backend-tls";

/** A running twin. Build it with `Twin.start()`, end it with `stop()`. */
export class Twin {
  /** `tw` + 4 hex digits: every namespace and twin-made interface starts with it. */
  readonly prefix: string;
  /** Scratch directory: keys, the lab copy, the plan output, logs. */
  readonly dir: string;
  /** Where writePlan wrote the plan: `<out>/<stack>/...`. */
  readonly out: string;
  readonly domain: string;
  readonly segments: Readonly<Record<string, SegmentJson>>;
  readonly dmz: DmzJson;
  /** Every addressable point: `edge/internet`, `dmz/proxy`, `lab-fw`, `lab-fw/lan`, `lab/mirror-1`, ... */
  readonly nodes: ReadonlyMap<string, TwinNode>;
  /** Namespaces of the routers by router name, and of the hosts with their own firewall. */
  readonly routers: ReadonlyMap<string, string>;
  readonly hostFirewalls: ReadonlyMap<string, string>;
  /** The admin workstation's address (inside the model's admin sources). */
  readonly adminAddress: string;
  /** The HOMELAB_ROOT apply.sh of the commit-confirm router installs under. */
  readonly applyRoot: string;
  /**
   * How VLAN sub-interfaces of the plan are built: `802.1q` when this kernel creates VLAN
   * links (the normal case), `names-only` when it has no 802.1Q support (some VM kernels
   * ship without the 8021q module): then the router's link carries the plan's name
   * (`enp2s0.30`) as an untagged veth, so the ruleset, DHCP and the intent table still run on
   * the VLAN interface, but no frame is tagged. The VLAN test states which one ran.
   */
  readonly vlanMode: VlanMode;
  /** The data host's real MariaDB and Samba (tests/twin/data-host.ts). */
  readonly data: DataTwin;

  private supervisor?: ChildProcess;
  private pid1 = 0;
  private stopped = false;

  private constructor(init: {
    prefix: string;
    dir: string;
    out: string;
    domain: string;
    segments: Record<string, SegmentJson>;
    dmz: DmzJson;
    adminAddress: string;
    vlanMode: VlanMode;
    data: DataTwin;
  }) {
    this.prefix = init.prefix;
    this.dir = init.dir;
    this.out = init.out;
    this.domain = init.domain;
    this.segments = init.segments;
    this.dmz = init.dmz;
    this.adminAddress = init.adminAddress;
    this.applyRoot = path.join(init.dir, "apply-root");
    this.vlanMode = init.vlanMode;
    this.data = init.data;
    const P = init.prefix;
    const nodes = new Map<string, TwinNode>();
    const add = (id: string, ns: string, address: string) => nodes.set(id, { id, ns, address });
    add("edge/isp", `${P}-edge`, init.dmz.infra.gateway);
    add("edge/internet", `${P}-edge`, INTERNET);
    for (const [id, address] of Object.entries(BEYOND_EDGE)) add(id, `${P}-edge`, address);
    add("dmz/infra", `${P}-infra`, init.dmz.infra.address);
    add("dmz/dns", `${P}-infra`, init.dmz.infra.serviceAddresses.dns);
    add("dmz/ntp", `${P}-infra`, init.dmz.infra.serviceAddresses.ntp);
    add("dmz/proxy", `${P}-infra`, init.dmz.infra.serviceAddresses.proxy);
    // The infra host's end of the tunnel: where the proxy's upstream connections come from.
    if (init.dmz.tunnel) add("dmz/tunnel", `${P}-infra`, init.dmz.tunnel.address);
    add("dmz/admin", `${P}-admin`, init.adminAddress);
    const routers = new Map<string, string>();
    const hostFirewalls = new Map<string, string>([["dmz/infra", `${P}-infra`]]);
    for (const seg of Object.values(init.segments)) {
      const r = seg.router;
      routers.set(r.name, `${P}-fw-${seg.name}`);
      add(r.name, `${P}-fw-${seg.name}`, r.wan.address);
      add(`${r.name}/lan`, `${P}-fw-${seg.name}`, r.lan.address);
      if (r.tunnel) add(`${r.name}/tunnel`, `${P}-fw-${seg.name}`, r.tunnel.address);
      for (const id of TWIN_HOSTS[seg.name]?.hosts ?? []) {
        const h = seg.hosts.find((x) => x.id === id);
        if (!h) throw new Error(`twin: ${seg.name}/${id} is not a host of the plan`);
        add(`${seg.name}/${id}`, `${P}-${seg.name}-${id}`, h.address);
      }
      hostFirewalls.set(`${seg.name}/${seg.jumpHost.id}`, `${P}-${seg.name}-${seg.jumpHost.id}`);
      // A data host runs its own rendered firewall too.
      if (seg.dataHost) hostFirewalls.set(`${seg.name}/${seg.dataHost.id}`, `${P}-${seg.name}-${seg.dataHost.id}`);
    }
    this.nodes = nodes;
    this.routers = routers;
    this.hostFirewalls = hostFirewalls;
  }

  /**
   * The interface name of every host's (and the edge's, admin's) link into its switch. The infra
   * host's link has its rendered NIC name instead (INFRA_NIC): its firewall and its neighbours name it.
   */
  get hostIface(): string {
    return `${this.prefix}-e`;
  }

  /** The MAC of a DMZ party (`edge`, `infra`, a router's name) as the plan binds it. */
  partyMac(id: string): string {
    const p = this.dmz.infra.parties.find((x) => x.id === id);
    if (!p) throw new Error(`twin: the DMZ plan has no party ${id}`);
    return p.mac;
  }

  /** A node by id; throws on an unknown id (a typo in a table must not pass silently). */
  node(id: string): TwinNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`twin: unknown node "${id}" (known: ${[...this.nodes.keys()].join(", ")})`);
    return n;
  }

  /** The namespace of a router, by router name. */
  routerNs(name: string): string {
    const ns = this.routers.get(name);
    if (!ns) throw new Error(`twin: unknown router "${name}"`);
    return ns;
  }

  /**
   * The firewall a node sits behind, or is: `lab/mirror-1`, `lab-fw` and `lab-fw/lan` ->
   * `lab-fw`; undefined for the DMZ and the edge, which no segment router guards.
   */
  firewallOf(node: string): string | undefined {
    const own = node.replace(/\/(lan|tunnel)$/, "");
    if (this.routers.has(own)) return own;
    return this.segments[node.split("/")[0]!]?.router.name;
  }

  /** A rendered file of the plan output. */
  planFile(rel: string): string {
    return path.join(this.out, rel);
  }

  /** Build and start the whole twin. */
  static async start(opts: TwinOptions = {}): Promise<Twin> {
    const log = opts.log ?? (() => undefined);
    requireTwinTools();
    sweepStaleDirs();
    const prefix = `tw${randomBytes(2).toString("hex")}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `homelab-twin-${prefix}-`));
    fs.chmodSync(dir, 0o755);
    fs.writeFileSync(path.join(dir, "owner.pid"), String(process.pid));
    let twin: Twin | undefined;
    try {
      const t0 = Date.now();
      const keys = generateKeys(dir);
      const labDir = copyLab(
        (files) => {
          applyTestIdentities(files, keys);
          // The backends' CAs and pins made here, so the TLS stand-ins hold the keys the proxy trusts.
          useTestBackendTls(files, path.join(dir, BACKEND_TLS_DIR));
          vlanSegment(files);
        },
        path.join(dir, "lab"),
      );
      const out = path.join(dir, "out");
      writePlan(await planStacks({ dir: labDir, stacks: [] }), out);
      const access = planSshAccess(requireLab(labDir));
      const adminAddress = access.adminSources[0]!.firstHost;
      log(`twin ${prefix}: plan written in ${Date.now() - t0} ms`);
      const segments: Record<string, SegmentJson> = {};
      for (const name of Object.keys(TWIN_HOSTS))
        segments[name] = JSON.parse(fs.readFileSync(path.join(out, name, "plan.json"), "utf8")) as SegmentJson;
      const dmz = JSON.parse(fs.readFileSync(path.join(out, "dmz", "plan.json"), "utf8")) as DmzJson;
      const dataSegment = Object.values(segments).find((s) => s.dataHost);
      if (!dataSegment) throw new Error("twin: the reference lab has no data host");
      const data = writeDataTwin(dir, labDir, dataSegment.name);
      twin = new Twin({ prefix, dir, out, domain: dmz.domain, segments, dmz, adminAddress, vlanMode: probeVlanMode(), data });
      twin.writeSupportFiles(keys, access);
      await twin.startSupervisor();
      const t1 = Date.now();
      const up = await twin.sh(twin.upScript(), 30000);
      if (up.code !== 0) throw new Error(`building the topology failed (${up.code}):\n${up.stderr}${up.stdout}`);
      log(`twin ${prefix}: topology up in ${Date.now() - t1} ms`);
      await twin.waitReady(15000);
      log(`twin ${prefix}: ready after ${Date.now() - t0} ms`);
      return twin;
    } catch (e) {
      const logs = twin ? twin.daemonLogs() : "";
      if (twin) await twin.stop();
      else fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(`${e instanceof Error ? e.message : String(e)}\n${logs}`, { cause: e });
    }
  }

  // --- process plumbing -------------------------------------------------------------------------------

  /** The argv that runs `argv` inside the twin (its mount and PID namespace), in network namespace `ns` if given, as `user` if given. */
  private wrap(argv: readonly string[], opts: { ns?: string; user?: string; timeoutMs?: number }): string[] {
    const secs = Math.max(1, Math.ceil((opts.timeoutMs ?? 20000) / 1000));
    return [
      "nsenter",
      "-t",
      String(this.pid1),
      "-m",
      "-p",
      `--wd=${this.dir}`,
      "--",
      // The kill happens inside the twin: killing nsenter from outside would not reach its child.
      "timeout",
      "-k",
      "1",
      String(secs),
      ...(opts.ns ? ["nsenter", `--net=/run/netns/${opts.ns}`, "--"] : []),
      ...(opts.user ? ["setpriv", `--reuid=${opts.user}`, `--regid=${opts.user}`, "--init-groups", "--reset-env"] : []),
      ...argv,
    ];
  }

  /** Run a command in the twin and collect its output; bounded by `timeoutMs`. */
  exec(ns: string | undefined, argv: readonly string[], opts: { user?: string; timeoutMs?: number; input?: string } = {}): Promise<Run> {
    if (!this.pid1 || this.stopped) return Promise.reject(new Error("twin: not running"));
    const full = this.wrap(argv, { ...(ns ? { ns } : {}), ...opts });
    // The SIGKILL at the bound is a last resort only: `timeout` inside the twin ends the command first.
    return runAsync(full, { env: { HOME: this.dir }, input: opts.input ?? "", timeout: (opts.timeoutMs ?? 20000) + 5000 });
  }

  /** Run a bash script in the twin's mount and PID namespace (host network namespace: only ip -n / nsenter touch the twin's). */
  sh(script: string, timeoutMs = 20000): Promise<Run> {
    return this.exec(undefined, ["bash", "-c", script], { timeoutMs });
  }

  /** `exec` that must succeed. */
  async must(ns: string | undefined, argv: readonly string[], opts: { user?: string; timeoutMs?: number } = {}): Promise<string> {
    const r = await this.exec(ns, argv, opts);
    if (r.code !== 0) throw new Error(`twin: ${argv.join(" ")} in ${ns ?? "(twin)"} failed (${r.code}):\n${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  private async startSupervisor(): Promise<void> {
    const init = path.join(this.dir, "init.sh");
    fs.writeFileSync(
      init,
      [
        "set -e",
        // Where resolv.conf really lives, before /run is replaced (it may be a symlink into /run).
        "resolv=$(readlink -f /etc/resolv.conf)",
        // Namespaces other tests made on the host are not ours: let go of this copy's references to them.
        "umount -R -l /run/netns 2>/dev/null || true",
        "mount -t tmpfs -o mode=0755 twin-run /run",
        "mkdir -p /run/netns /run/sshd /run/lock",
        // Whatever a daemon logs to files (sshd's wtmp, nginx's compiled-in error log) stays in the twin.
        "mount -t tmpfs -o mode=0755 twin-log /var/log",
        ...["passwd", "group", "shadow"].map((f) => `mount --bind ${q(path.join(this.dir, "etc", f))} /etc/${f}`),
        // A resolv.conf that lived under /run is recreated on the twin's tmpfs; nothing is created on the host.
        'case "$resolv" in /run/*) mkdir -p "$(dirname "$resolv")"; : >"$resolv" ;; esac',
        `if [ -e "$resolv" ]; then mount --bind ${q(path.join(this.dir, "etc", "resolv.conf"))} "$resolv"; fi`,
        "echo ready",
        // PID 1 of the twin: ends at EOF on stdin, i.e. when the controlling process is gone.
        "read -r _ || true",
        "",
      ].join("\n"),
    );
    const sup = spawn(
      "setpriv",
      [
        "--pdeathsig",
        "KILL",
        "unshare",
        "--mount",
        "--pid",
        "--fork",
        "--kill-child",
        "--mount-proc",
        "--propagation",
        "private",
        "bash",
        init,
      ],
      { env: { PATH: PATH_ENV, LANG: "C" }, stdio: ["pipe", "pipe", "pipe"] },
    );
    this.supervisor = sup;
    let output = "";
    sup.stdout.on("data", (d: Buffer) => (output += d.toString()));
    sup.stderr.on("data", (d: Buffer) => (output += d.toString()));
    await waitFor(
      "the twin's wrapper to start",
      5000,
      () => {
        if (sup.exitCode !== null) throw new Error(`twin: the wrapper exited ${sup.exitCode} before it started: ${output}`);
        return output.includes("ready");
      },
      { every: 20, detail: () => output },
    );
    const children = fs.readFileSync(`/proc/${sup.pid}/task/${sup.pid}/children`, "utf8").trim().split(/\s+/).map(Number);
    const mine = fs.readlinkSync("/proc/self/ns/pid");
    const pid1 = children.find((c) => fs.existsSync(`/proc/${c}`) && fs.readlinkSync(`/proc/${c}/ns/pid`) !== mine);
    if (!pid1) throw new Error(`twin: no PID 1 below the wrapper ${sup.pid}`);
    this.pid1 = pid1;
    fs.writeFileSync(path.join(this.dir, "wrapper.pid"), `${sup.pid} ${pid1}\n`);
  }

  /** Host PIDs of the wrapper (unshare) and of the twin's PID 1. */
  get pids(): { wrapper: number; pid1: number } {
    return { wrapper: this.supervisor?.pid ?? 0, pid1: this.pid1 };
  }

  /** End the twin: EOF to PID 1, which takes every process and namespace with it. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const sup = this.supervisor;
    if (sup && sup.exitCode === null && sup.signalCode === null) {
      sup.stdin!.end();
      if (!(await exitWithin(sup, 5000))) {
        sup.kill("SIGKILL");
        await exitWithin(sup, 2000);
      }
    }
    // PID 1 is gone; the kernel SIGKILLs the rest of the PID namespace. Wait (bounded) until it has.
    const deadline = Date.now() + 5000;
    while (this.pid1 && fs.existsSync(`/proc/${this.pid1}`) && Date.now() < deadline) await sleep(20);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  // --- files the twin needs besides the plan output ----------------------------------------------------

  private writeSupportFiles(keys: TestKeys, access: ReturnType<typeof planSshAccess>): void {
    const d = this.dir;
    const etc = path.join(d, "etc");
    fs.mkdirSync(etc, { recursive: true });
    // The test users, in private copies of passwd/group/shadow (bind-mounted inside the twin only).
    const passwd = fs.readFileSync("/etc/passwd", "utf8");
    for (const u of Object.keys(USERS)) {
      if (new RegExp(`^${u}:`, "m").test(passwd)) throw new Error(`twin: the host already has a user ${u}; the twin adds its own`);
    }
    const home = (u: string) => path.join(d, "home", u);
    const group = fs.readFileSync("/etc/group", "utf8");
    const services = Object.entries(SERVICE_USERS).filter(([u]) => !new RegExp(`^${u}:`, "m").test(passwd));
    // The data host's Samba users (system accounts without a login) and its shares' groups, as its configuration declares them.
    const taken = (name: string, file: string) => new RegExp(`^${name}:`, "m").test(file);
    const dataUsers = this.data.accounts.users.map((u, i) => [u, DATA_ACCOUNT_ID + i] as const);
    const dataGroups = this.data.accounts.groups.map((g, i) => [g, DATA_ACCOUNT_ID + 50 + i] as const);
    for (const [name] of [...dataUsers, ...dataGroups])
      if (taken(name, passwd) || taken(name, group))
        throw new Error(`twin: the host already has an account ${name}; the twin adds its own`);
    fs.writeFileSync(
      path.join(etc, "passwd"),
      passwd +
        Object.entries(USERS)
          .map(([u, id]) => `${u}:x:${id}:${id}:twin test user:${home(u)}:/bin/bash\n`)
          .join("") +
        services.map(([u, id]) => `${u}:x:${id}:${id}:twin service user:/nonexistent:/usr/sbin/nologin\n`).join("") +
        dataUsers.map(([u, id]) => `${u}:x:${id}:${id}:twin data host user:/nonexistent:/usr/sbin/nologin\n`).join(""),
    );
    fs.writeFileSync(
      path.join(etc, "group"),
      group +
        [...Object.entries(USERS), ...services.filter(([u]) => !new RegExp(`^${u}:`, "m").test(group)), ...dataUsers]
          .map(([u, id]) => `${u}:x:${id}:\n`)
          .join("") +
        // Each share's group has the share's users as members (users.users.<u>.extraGroups).
        dataGroups
          .map(([g, id]) => {
            const share = this.data.plan.samba!.shares.find((x) => shareGroup(x.name) === g)!;
            return `${g}:x:${id}:${share.users.join(",")}\n`;
          })
          .join(""),
    );
    // "*": no password at all. sshd runs with PAM (UsePAM yes), which does not refuse such accounts for key logins.
    fs.writeFileSync(
      path.join(etc, "shadow"),
      fs.readFileSync("/etc/shadow", "utf8") +
        Object.keys(USERS)
          .map((u) => `${u}:*:19000:0:99999:7:::\n`)
          .join(""),
      { mode: 0o640 },
    );
    fs.chmodSync(path.join(etc, "shadow"), 0o640);
    // Everything in the twin resolves names with the DMZ DNS, as DHCP tells every lab host to.
    fs.writeFileSync(path.join(etc, "resolv.conf"), `nameserver ${this.dmz.infra.serviceAddresses.dns}\n`);

    // Homes: the private key and every segment's rendered known_hosts where ssh_config looks for them.
    const knownHosts = Object.keys(this.segments)
      .map((s) => fs.readFileSync(this.planFile(`${s}/known_hosts`), "utf8"))
      .join("");
    for (const [u, id] of Object.entries(USERS)) {
      const ssh = path.join(home(u), ".ssh");
      fs.mkdirSync(ssh, { recursive: true, mode: 0o700 });
      fs.copyFileSync(path.join(d, "keys", u === "alice" ? "alice" : "deploy"), path.join(ssh, "id_ed25519"));
      fs.chmodSync(path.join(ssh, "id_ed25519"), 0o600);
      fs.writeFileSync(path.join(ssh, "homelab_known_hosts"), knownHosts);
      for (const p of [home(u), ssh, path.join(ssh, "id_ed25519"), path.join(ssh, "homelab_known_hosts")]) fs.chownSync(p, id, id);
    }
    fs.chmodSync(path.join(d, "home"), 0o755);

    // A throwaway certificate for the proxy and the TLS backends, and the proxy's htpasswd files.
    testCertificate(d);
    testHtpasswd(path.join(d, "htpasswd"), TEST_CREDENTIALS);

    // chrony: the rendered server config and a rendered client config, plus test-only paths.
    for (const [role, text] of [
      ["server", fs.readFileSync(this.planFile("dmz/infra/chrony.conf"), "utf8")],
      ["client", renderChronyClient(this.dmz.ntp.listen)],
    ] as const) {
      const cd = path.join(d, "chrony", role);
      fs.mkdirSync(cd, { recursive: true, mode: 0o700 });
      fs.chmodSync(cd, 0o700);
      fs.writeFileSync(path.join(cd, "chrony.conf"), chronyTestConf(text, cd));
    }

    // sshd of ordinary hosts: the plan renders none, so the twin renders one with the same
    // renderer and the router's policy: listen on the host's own address, admit the model's
    // users from the segment's jump host only, no forwarding.
    fs.mkdirSync(path.join(d, "sshd"), { recursive: true });
    for (const [segName, t] of Object.entries(TWIN_HOSTS)) {
      const seg = this.segments[segName]!;
      for (const id of t.sshd.filter((h) => h !== seg.jumpHost.id && h !== seg.dataHost?.id)) {
        const h = seg.hosts.find((x) => x.id === id)!;
        const text = renderSshdConfig(
          {
            role: `${h.fqdn} (twin: an ordinary host of ${segName})`,
            listen: [h.address],
            allowFrom: [Cidr.host(seg.router.jumpAddress)],
            forwarding: { kind: "none" },
          },
          access,
        );
        fs.writeFileSync(path.join(d, "sshd", `${segName}-${id}.sshd_config`), text);
      }
    }

    // The Release component runs `sudo -n bash <dir>/apply.sh ...` as the deploy user. sudo is
    // not installed here, so the commit-confirm router's sshd gets a stand-in that allows
    // exactly that command, run as root with the twin's HOMELAB_ROOT (see sshdScript).
    fs.writeFileSync(
      path.join(d, "sudo-standin"),
      [
        "#!/bin/sh",
        "# twin stand-in for sudo: only `sudo -n bash <release>/apply.sh ...`, as root, with the twin's paths",
        `[ "$1" = -n ] && [ "$2" = bash ] || { echo "twin sudo: only 'sudo -n bash .../apply.sh ...' is allowed" >&2; exit 1; }`,
        'case "$3" in */apply.sh) ;; *) echo "twin sudo: only apply.sh" >&2; exit 1 ;; esac',
        "shift 2",
        `exec /usr/local/bin/.twin-setpriv --reuid=0 --regid=0 --clear-groups /usr/bin/env -i PATH=${PATH_ENV} HOMELAB_ROOT=${this.applyRoot} HOMELAB_SERVICES=none /bin/bash "$@"`,
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
    fs.mkdirSync(this.applyRoot, { recursive: true });
    fs.mkdirSync(path.join(d, "releases"), { recursive: true, mode: 0o755 });

    // dnsmasq rewrites its lease file as its own user.
    fs.mkdirSync(path.join(d, "dhcp"), { mode: 0o755 });
    const dnsmasqUser = /^dnsmasq:x:(\d+):(\d+):/m.exec(passwd);
    if (dnsmasqUser) fs.chownSync(path.join(d, "dhcp"), Number(dnsmasqUser[1]), Number(dnsmasqUser[2]));

    fs.writeFileSync(path.join(d, "agent-serve.json"), JSON.stringify(this.serveConfig()));
    fs.mkdirSync(path.join(d, "logs"), { recursive: true });
  }

  /** What agent.py serves: every twin host's ports, the infra host's exporters, the edge. */
  private serveConfig(): ServeConfig {
    const hosts: ServeConfig["hosts"][number][] = [];
    const edge = this.node("edge/internet");
    hosts.push({ ns: edge.ns, name: "edge/internet", address: INTERNET, tcp: [80, 443], udp: [] });
    hosts.push({ ns: edge.ns, name: "edge/isp", address: this.node("edge/isp").address, tcp: [80], udp: [] });
    for (const [name, address] of Object.entries(BEYOND_EDGE)) hosts.push({ ns: edge.ns, name, address, tcp: [80], udp: [] });
    // The infra host runs what its rendered configuration.nix runs, and nothing else: the
    // twin stands in an exporter only where the configuration enables one.
    const infraNix = fs.readFileSync(this.planFile("dmz/infra/configuration.nix"), "utf8");
    const exporters = [
      ...(/exporters\.node\b/.test(infraNix) ? [NODE_EXPORTER_PORT] : []),
      ...(/exporters\.nginx\b/.test(infraNix) ? [NGINX_EXPORTER_PORT] : []),
    ];
    if (exporters.length > 0)
      hosts.push({ ns: this.node("dmz/infra").ns, name: "dmz/infra", address: this.node("dmz/infra").address, tcp: exporters, udp: [] });
    for (const [segName, t] of Object.entries(TWIN_HOSTS)) {
      const seg = this.segments[segName]!;
      for (const id of t.hosts) {
        if (id === seg.jumpHost.id) continue;
        const h = seg.hosts.find((x) => x.id === id)!;
        const tcp = new Set<number>([NODE_EXPORTER_PORT]);
        const udp = new Set<number>();
        for (const l of h.listens) (l.proto === "tcp" ? tcp : udp).add(l.port);
        for (const s of seg.services.filter((x) => x.backend.host === id)) (s.kind === "udp" ? udp : tcp).add(s.backend.port);
        if (h.role === "k8s-worker") tcp.add(TALOS_API);
        // Real MariaDB and Samba answer there (tests/twin/data-host.ts).
        if (seg.dataHost?.id === id) for (const p of REAL_PORTS) tcp.delete(p);
        const tls = seg.services
          .filter((x) => x.backend.host === id && x.backend.tls)
          .map((x) => [x.backend.port, backendCertFiles(path.join(this.dir, BACKEND_TLS_DIR), segName, x.id)] as const);
        hosts.push({
          ns: this.node(`${segName}/${id}`).ns,
          name: `${segName}/${id}`,
          address: h.address,
          tcp: [...tcp].sort((a, b) => a - b),
          udp: [...udp].sort((a, b) => a - b),
          ...(tls.length > 0 ? { tls: Object.fromEntries(tls) } : {}),
        });
      }
    }
    return { ...testCertificate(this.dir), hosts };
  }

  // --- the topology -------------------------------------------------------------------------------------

  /** Every sshd of the twin. */
  private sshds(): SshdSpec[] {
    const list: SshdSpec[] = [];
    const keysDir = (seg: string) => this.planFile(`${seg}/router/authorized_keys.d`);
    const anySeg = Object.keys(this.segments)[0]!;
    list.push({
      id: "dmz/infra",
      ns: this.node("dmz/infra").ns,
      config: this.planFile("dmz/infra/sshd_config"),
      key: path.join(this.dir, "keys", "dmz-infra"),
      keysDir: keysDir(anySeg),
      sudo: false,
    });
    for (const [segName, t] of Object.entries(TWIN_HOSTS)) {
      const seg = this.segments[segName]!;
      list.push({
        id: seg.router.name,
        ns: this.routerNs(seg.router.name),
        config: this.planFile(`${segName}/router/sshd_config`),
        key: path.join(this.dir, "keys", `${segName}-router`),
        keysDir: keysDir(segName),
        sudo: segName === APPLY_SEGMENT,
      });
      for (const id of t.sshd) {
        const config =
          id === seg.jumpHost.id
            ? this.planFile(`${segName}/jump/sshd_config`)
            : id === seg.dataHost?.id
              ? this.planFile(`${segName}/${id}/sshd_config`)
              : path.join(this.dir, "sshd", `${segName}-${id}.sshd_config`);
        list.push({
          id: `${segName}/${id}`,
          ns: this.node(`${segName}/${id}`).ns,
          config,
          key: path.join(this.dir, "keys", `${segName}-${id}`),
          keysDir: keysDir(segName),
          sudo: false,
        });
      }
    }
    return list;
  }

  /** The bash script that builds every namespace, link, address, route and ruleset, and starts every daemon. */
  private upScript(): string {
    const P = this.prefix;
    const L: string[] = ["set -euo pipefail", `cd ${q(this.dir)}`];
    const log = (name: string) => q(path.join(this.dir, "logs", `${name}.log`));
    const inNs = (ns: string, cmd: string) => `nsenter --net=/run/netns/${ns} -- ${cmd}`;
    const namespaces = new Set<string>();
    const mkns = (ns: string) => {
      if (namespaces.has(ns)) return;
      namespaces.add(ns);
      L.push(`ip netns add ${ns}`, `ip -n ${ns} link set lo up`);
      // Per namespace only. IPv6 off: the lab is IPv4, and no router solicitations add noise to the counters.
      L.push(inNs(ns, "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.lo.disable_ipv6=1"));
    };
    const sw = `${P}-sw`;
    mkns(sw);
    const bridges = new Map<string, string>();
    ["dmz", ...Object.keys(this.segments)].forEach((net, i) => {
      const br = `${P}-b${i}`;
      bridges.set(net, br);
      L.push(`ip -n ${sw} link add ${br} type bridge`, `ip -n ${sw} link set ${br} up`);
    });
    let port = 0;
    /** A veth from the switch's bridge `net` straight into `ns` as `ifname`, created between the namespaces (never on the host). */
    /** `mac`: the model's MAC of that NIC, where it has one (the DMZ's bindings and the router's SSH rule key on it). */
    const plug = (net: string, ns: string, ifname: string, addresses: string[], mac?: string) => {
      const p = `${P}-p${port++}`;
      L.push(`ip -n ${sw} link add ${p} type veth peer name ${ifname} netns ${ns}`);
      if (mac) L.push(`ip -n ${ns} link set ${ifname} address ${mac}`);
      L.push(`ip -n ${sw} link set ${p} master ${bridges.get(net)} up`);
      for (const a of addresses) L.push(`ip -n ${ns} addr add ${a} dev ${ifname}`);
      L.push(`ip -n ${ns} link set ${ifname} up`);
    };
    /**
     * A router side as the plan says: on a port, plugged like any host; on a VLAN, the veth
     * is the parent port (a trunk, no address) and the router gets the sub-interface the plan
     * names, as ifupdown makes it from the rendered network config. The switch end is a trunk
     * too: only its VLAN sub-interface joins the segment's bridge, so the segment's frames
     * leave the router tagged and reach the hosts untagged (an access port).
     */
    const plugSide = (net: string, ns: string, side: RouterIfaceJson, mac?: string) => {
      const prefix = Cidr.of(side.subnet).prefix;
      if (!side.vlan || this.vlanMode === "names-only") {
        plug(net, ns, side.iface, [`${side.address}/${prefix}`], mac);
        return;
      }
      const { parent, id } = side.vlan;
      const p = `${P}-p${port++}`;
      L.push(`ip -n ${sw} link add ${p} type veth peer name ${parent} netns ${ns}`);
      // The sub-interface takes the port's MAC when it is made, as on the box.
      if (mac) L.push(`ip -n ${ns} link set ${parent} address ${mac}`);
      L.push(`ip -n ${sw} link set ${p} up`, `ip -n ${sw} link add link ${p} name ${p}.${id} type vlan id ${id}`);
      L.push(`ip -n ${sw} link set ${p}.${id} master ${bridges.get(net)} up`);
      L.push(`ip -n ${ns} link set ${parent} up`, `ip -n ${ns} link add link ${parent} name ${side.iface} type vlan id ${id}`);
      L.push(`ip -n ${ns} addr add ${side.address}/${prefix} dev ${side.iface}`, `ip -n ${ns} link set ${side.iface} up`);
    };
    const dmzPrefix = Cidr.of(this.dmz.infra.subnet).prefix;
    const hostIf = `${P}-e`;

    // The edge: the ISP router on the DMZ, and "the internet" as a local address behind it.
    const edge = this.node("edge/isp").ns;
    mkns(edge);
    plug("dmz", edge, hostIf, [`${this.dmz.infra.gateway}/${dmzPrefix}`], this.partyMac("edge"));
    for (const a of [INTERNET, ...Object.values(BEYOND_EDGE)]) L.push(`ip -n ${edge} addr add ${a}/32 dev lo`);

    // The infra host: its address and the DNS, NTP and proxy service addresses; the plan's routes.
    const infra = this.node("dmz/infra").ns;
    mkns(infra);
    const sa = this.dmz.infra.serviceAddresses;
    plug(
      "dmz",
      infra,
      INFRA_NIC,
      [this.dmz.infra.address, sa.dns, sa.ntp, sa.proxy].map((a) => `${a}/${dmzPrefix}`),
      this.partyMac("infra"),
    );
    for (const r of this.dmz.infra.routes) L.push(`ip -n ${infra} route add ${r.to} via ${r.via}`);
    // The static neighbours its NixOS unit pins: the rendered unit's own commands.
    for (const cmd of infraNeighbourCommands(fs.readFileSync(this.planFile("dmz/infra/configuration.nix"), "utf8")))
      L.push(inNs(infra, cmd));
    L.push(`ip -n ${infra} route add default via ${this.dmz.infra.gateway}`);

    // An admin workstation. It gets the infra host's routes to the segments too: the strongest
    // position in the DMZ, so a direct probe really reaches a router and must be dropped there.
    const admin = this.node("dmz/admin").ns;
    mkns(admin);
    plug("dmz", admin, hostIf, [`${this.adminAddress}/${dmzPrefix}`]);
    for (const r of this.dmz.infra.routes) L.push(`ip -n ${admin} route add ${r.to} via ${r.via}`);
    L.push(`ip -n ${admin} route add default via ${this.dmz.infra.gateway}`);

    for (const seg of Object.values(this.segments)) {
      const r = seg.router;
      const rns = this.routerNs(r.name);
      mkns(rns);
      // The veth ends inside the router carry the plan's interface names: the ruleset matches on them.
      plugSide("dmz", rns, r.wan, r.wan.mac);
      plugSide(seg.name, rns, r.lan);
      // The release's static neighbours (apply.sh's NEIGHBOURS), once the links are up.
      for (const n of r.neighbours) L.push(`ip -n ${rns} -4 neigh replace ${n.address} lladdr ${n.mac} dev ${n.iface} nud permanent`);
      for (const rt of r.routes) L.push(`ip -n ${rns} route add ${rt.to} via ${rt.via} dev ${r.wan.iface}`);
      L.push(`ip -n ${rns} route add default via ${r.wan.gateway} dev ${r.wan.iface}`);
      // The rendered ruleset, unchanged; forwarding only once it is loaded (as apply.sh does).
      L.push(inNs(rns, `nft -f ${q(this.planFile(`${seg.name}/router/nftables.conf`))}`));
      L.push(inNs(rns, "sysctl -qw net.ipv4.ip_forward=1"));
      for (const id of TWIN_HOSTS[seg.name]!.hosts) {
        const n = this.node(`${seg.name}/${id}`);
        mkns(n.ns);
        const mac = seg.hosts.find((h) => h.id === id)?.mac;
        plug(seg.name, n.ns, hostIf, [`${n.address}/${Cidr.of(seg.subnet).prefix}`], mac);
        L.push(`ip -n ${n.ns} route add default via ${r.lan.address}`);
      }
      // The jump host's own rendered firewall, and the data host's.
      L.push(inNs(this.node(`${seg.name}/${seg.jumpHost.id}`).ns, `nft -f ${q(this.planFile(`${seg.name}/jump/host.nft`))}`));
      if (seg.dataHost)
        L.push(
          inNs(this.node(`${seg.name}/${seg.dataHost.id}`).ns, `nft -f ${q(this.planFile(`${seg.name}/${seg.dataHost.id}/host.nft`))}`),
        );
    }
    L.push(inNs(infra, `nft -f ${q(this.planFile("dmz/infra/host.nft"))}`));
    L.push(...this.tunnelScript());

    // --- daemons: detached, logging to files; the PID namespace ends them all.
    const bg = (name: string, ns: string | undefined, cmd: string) =>
      L.push(`setsid ${ns ? `nsenter --net=/run/netns/${ns} -- ` : ""}${cmd} </dev/null >${log(name)} 2>&1 &`);
    bg("agent", undefined, `python3 ${q(AGENT)} serve ${q(path.join(this.dir, "agent-serve.json"))}`);
    bg("dnsmasq", infra, `dnsmasq --keep-in-foreground --log-facility=- --pid-file= -C ${q(this.planFile("dmz/infra/dnsmasq.conf"))}`);
    bg("chronyd-server", infra, `chronyd -x -d -u root -f ${q(path.join(this.dir, "chrony/server/chrony.conf"))}`);
    // Each router's DHCP server (the rendered dnsmasq.conf, DHCP only); leases in the scratch directory.
    for (const seg of Object.values(this.segments)) {
      bg(
        `dnsmasq-${seg.router.name}`,
        this.routerNs(seg.router.name),
        `dnsmasq --keep-in-foreground --log-facility=- --pid-file= --dhcp-leasefile=${q(path.join(this.dir, "dhcp", `${seg.name}.leases`))} -C ${q(this.planFile(`${seg.name}/router/dnsmasq.conf`))}`,
      );
    }
    bg("chronyd-client", this.node(CHRONY_CLIENT).ns, `chronyd -x -d -u root -f ${q(path.join(this.dir, "chrony/client/chrony.conf"))}`);
    bg("nginx", infra, `unshare --mount --propagation private bash -c ${q(this.nginxScript())}`);
    const data = this.dataSegment();
    const dataNs = this.node(`${data.name}/${data.dataHost!.id}`).ns;
    const rendered = (f: string) => this.planFile(`${data.name}/${data.dataHost!.id}/${f}`);
    bg("mariadb", dataNs, `unshare --mount --propagation private bash -c ${q(mariadbScript(this.data, rendered("mariadb-users.sh")))}`);
    bg("smbd", dataNs, `unshare --mount --propagation private bash -c ${q(smbdScript(this.data, rendered("samba-users.sh")))}`);
    for (const s of this.sshds())
      bg(`sshd-${s.id.replace(/\//g, "-")}`, s.ns, `unshare --mount --propagation private bash -c ${q(this.sshdScript(s))}`);
    return L.join("\n");
  }

  /** nginx as the infra host runs it: the certificate and htpasswd files at the configured paths, in a private mount namespace. */
  private nginxScript(): string {
    const conf = this.planFile("dmz/infra/nginx.conf");
    const text = fs.readFileSync(conf, "utf8");
    const certs = nginxCertPaths(text);
    const htpasswd = [...new Set([...text.matchAll(/^\s*auth_basic_user_file\s+([^;]+);/gm)].map((m) => m[1]!))];
    // The certificates backends are verified against: the rendered files, where the unit's LoadCredential puts them.
    const trusted = nginxTrustedPaths(text);
    if (trusted.some((p) => path.dirname(p) !== NGINX_CREDENTIALS_DIR))
      throw new Error(
        `twin: nginx.conf trusts certificates outside ${NGINX_CREDENTIALS_DIR} (${trusted.join(", ")}); teach Twin.nginxScript where they go`,
      );
    // They are written under a private tmpfs on /var/lib; a path elsewhere would land on the host.
    const outside = [...certs.map((c) => c.path), ...htpasswd].filter((p) => !p.startsWith("/var/lib/"));
    if (outside.length > 0)
      throw new Error(
        `twin: nginx.conf names files outside /var/lib (${outside.join(", ")}); teach Twin.nginxScript where to mount a private tmpfs for them`,
      );
    const tls = testCertificate(this.dir);
    const lines = [
      "set -e",
      // A private /var/lib (certificate, secrets, nginx state); /var/log is the twin's tmpfs already.
      "mount -t tmpfs -o mode=0755 tmpfs /var/lib",
      // A private /run for the unit's credentials, owned by nginx as systemd makes them.
      ...(trusted.length > 0
        ? [
            "mount -t tmpfs -o mode=0755 tmpfs /run",
            `install -d -m 0500 -o nginx -g nginx ${q(NGINX_CREDENTIALS_DIR)}`,
            ...trusted.map((p) => `install -m 0400 -o nginx -g nginx ${q(this.planFile(`dmz/infra/${path.basename(p)}`))} ${q(p)}`),
          ]
        : []),
      "mkdir -p /var/log/nginx",
      // The access log goes to syslog (/dev/log); never into the host's journal from a test.
      "if [ -e /dev/log ]; then mount --bind /dev/null /dev/log; fi",
      // As the infra host's unit has them: StateDirectory and LogsDirectory owned by nginx, the
      // certificate and the secrets readable by the nginx group (render/dmz.ts).
      "mkdir -p /var/lib/nginx && chown nginx:nginx /var/lib/nginx /var/log/nginx",
      ...certs.map((c) => `mkdir -p "$(dirname ${q(c.path)})" && install -m 0640 -g nginx ${q(c.key ? tls.key : tls.cert)} ${q(c.path)}`),
      ...htpasswd.map(
        (p) => `install -d -m 0750 -g nginx "$(dirname ${q(p)})" && install -m 0640 -g nginx ${q(path.join(this.dir, "htpasswd"))} ${q(p)}`,
      ),
      // The whole of nginx unprivileged, with only the right to bind ports below 1024 (the unit's
      // User=, AmbientCapabilities=, CapabilityBoundingSet=, NoNewPrivileges=). The rendered file
      // unchanged; Debian builds the stream module as a module, NixOS builds it in.
      `exec setpriv --reuid=nginx --regid=nginx --init-groups --inh-caps=-all,+net_bind_service --ambient-caps=-all,+net_bind_service --bounding-set=-all,+net_bind_service --no-new-privs nginx -g ${q(NGINX_STREAM_MODULE)} -c ${q(conf)}`,
    ];
    return lines.join("\n");
  }

  /** One sshd: its host key and the rendered authorized keys at the paths sshd_config names, in a private mount namespace. */
  private sshdScript(s: SshdSpec): string {
    return [
      "set -e",
      "mount -t tmpfs -o mode=0755 twin-ssh /etc/ssh",
      `install -m 0600 ${q(s.key)} /etc/ssh/ssh_host_ed25519_key`,
      `cp -r ${q(s.keysDir)} /etc/ssh/authorized_keys.d`,
      ...(s.sudo
        ? [
            // sudo stand-in, visible to this sshd's sessions only: a setuid copy of setpriv on a private tmpfs.
            "mount -t tmpfs -o mode=0755 twin-sudo /usr/local/bin",
            "install -m 4755 /usr/bin/setpriv /usr/local/bin/.twin-setpriv",
            `install -m 0755 ${q(path.join(this.dir, "sudo-standin"))} /usr/local/bin/sudo`,
          ]
        : []),
      `exec /usr/sbin/sshd -D -e -f ${q(s.config)}`,
    ].join("\n");
  }

  /** The segment with the data host. */
  private dataSegment(): SegmentJson {
    return Object.values(this.segments).find((s) => s.dataHost)!;
  }

  // --- the WireGuard tunnel --------------------------------------------------------------------------

  /** Where the PID of an end's holder is written: `dmz` or a segment. */
  private holderFile(end: string): string {
    return path.join(this.dir, "wg", `${end}.pid`);
  }

  /**
   * argv that runs `argv` as root in the network namespace and the private /run/wireguard of a
   * tunnel end (`dmz` or a segment): wireguard-go keeps its control socket there, one per box,
   * as every box has its own /run.
   */
  inTunnelEnd(end: string, argv: readonly string[]): string[] {
    const pid = fs.readFileSync(this.holderFile(end), "utf8").trim();
    return ["nsenter", "-t", pid, "-m", "-n", "--", ...argv];
  }

  /**
   * The bash lines that bring every end of the tunnel up as its box does, with wireguard-go for
   * the kernel module (wg-quick falls back to it on its own). Each end first gets a holder: a
   * process in its network namespace with a private tmpfs on /run/wireguard. A router runs its
   * rendered homelab-wireguard.service's own ExecStart lines, its wg-quick file and key taken
   * from the plan output and the twin's key; the infra host runs what NixOS's
   * networking.wireguard units run, from the values real nix evaluates out of its rendered
   * configuration.nix (infraTunnelConfig).
   */
  private tunnelScript(): string[] {
    const t = this.dmz.tunnel;
    if (!t) return [];
    const L: string[] = [`mkdir -p /run/wireguard ${q(path.join(this.dir, "wg"))}`];
    const holder = (end: string, ns: string) => {
      const file = q(this.holderFile(end));
      L.push(
        `setsid nsenter --net=/run/netns/${ns} -- unshare --mount --propagation private bash -c 'mount -t tmpfs -o mode=0755 twin-wg /run/wireguard && exec sleep 1000000' </dev/null >/dev/null 2>&1 &`,
        `echo $! >${file}`,
        `for _ in $(seq 300); do nsenter -t "$(cat ${file})" -m -- mountpoint -q /run/wireguard && break; sleep 0.01; done`,
        `nsenter -t "$(cat ${file})" -m -- mountpoint -q /run/wireguard`,
      );
    };
    const inEnd = (end: string, cmd: string) => `nsenter -t "$(cat ${q(this.holderFile(end))})" -m -n -- ${cmd}`;
    for (const seg of Object.values(this.segments)) {
      if (!seg.router.tunnel) continue;
      holder(seg.name, this.routerNs(seg.router.name));
      const unit = fs.readFileSync(this.planFile(`${seg.name}/router/${ROUTER_TUNNEL.unit}`), "utf8");
      const paths: Record<string, string> = {
        [ROUTER_TUNNEL.confPath(seg.router.tunnel.iface)]: this.planFile(
          `${seg.name}/router/${ROUTER_TUNNEL.conf(seg.router.tunnel.iface)}`,
        ),
        [ROUTER_TUNNEL.keyPath(seg.router.tunnel.iface)]: tunnelKeyFile(this.dir, seg.name),
      };
      for (const c of startCommands(unit)) L.push(inEnd(seg.name, c.argv.map((w) => q(paths[w] ?? w)).join(" ")));
    }
    const infra = infraTunnelConfig(this.planFile("dmz/infra/configuration.nix"));
    holder("dmz", this.node("dmz/infra").ns);
    for (const [iface, c] of Object.entries(infra)) {
      // The interface unit: the link, its addresses, key and port, up; then each peer's unit: the peer and its routes.
      L.push(inEnd("dmz", `wireguard-go ${q(iface)}`));
      for (const ip of c.ips) L.push(inEnd("dmz", `ip address add ${q(ip)} dev ${q(iface)}`));
      L.push(inEnd("dmz", `wg set ${q(iface)} private-key ${q(tunnelKeyFile(this.dir, "dmz"))} listen-port ${c.listenPort}`));
      L.push(inEnd("dmz", `ip link set up dev ${q(iface)}`));
      for (const p of c.peers) {
        L.push(
          inEnd(
            "dmz",
            `wg set ${q(iface)} peer ${q(p.publicKey)} endpoint ${q(p.endpoint)} persistent-keepalive ${p.persistentKeepalive} allowed-ips ${q(p.allowedIPs.join(","))}`,
          ),
        );
        for (const a of p.allowedIPs) L.push(inEnd("dmz", `ip route replace ${q(a)} dev ${q(iface)} table main`));
      }
    }
    return L;
  }

  /** Each tunnel peer of the infra host without a handshake yet, by public key ("" when every one has one). */
  private async tunnelsWithoutHandshake(): Promise<string> {
    const t = this.dmz.tunnel;
    if (!t) return "";
    const r = await this.exec(undefined, this.inTunnelEnd("dmz", ["wg", "show", t.iface, "latest-handshakes"]), { timeoutMs: 5000 });
    if (r.code !== 0) return `wg show on the infra host failed: ${r.stderr}`;
    const lines = r.stdout.split("\n").filter(Boolean);
    const missing = lines.filter((l) => l.split("\t")[1] === "0").map((l) => `tunnel to ${l.split("\t")[0]}`);
    return lines.length === 0 ? "the infra host's tunnel has no peer" : missing.join("\n");
  }

  /** Wait (bounded) until every daemon listens and the agent reports ready. */
  private async waitReady(ms: number): Promise<void> {
    const want: { ns: string; proto: "t" | "u"; addr: string; port: number; what: string }[] = [];
    const sa = this.dmz.infra.serviceAddresses;
    const infra = this.node("dmz/infra").ns;
    want.push({ ns: infra, proto: "u", addr: sa.dns, port: 53, what: "dnsmasq" });
    want.push({ ns: infra, proto: "u", addr: sa.ntp, port: 123, what: "chronyd" });
    want.push({ ns: infra, proto: "t", addr: sa.proxy, port: 443, what: "nginx" });
    want.push({ ns: infra, proto: "u", addr: sa.proxy, port: 2456, what: "nginx stream" });
    for (const [name, ns] of this.routers) want.push({ ns, proto: "u", addr: "0.0.0.0", port: 67, what: `dnsmasq (DHCP) of ${name}` });
    const data = this.dataSegment();
    const dataNs = this.node(`${data.name}/${data.dataHost!.id}`).ns;
    for (const [port, what] of [
      [3306, "mariadbd"],
      [445, "smbd"],
    ] as const)
      want.push({ ns: dataNs, proto: "t", addr: data.dataHost!.address, port, what });
    for (const s of this.sshds()) {
      const addr = /^ListenAddress\s+(\S+)/m.exec(fs.readFileSync(s.config, "utf8"))?.[1] ?? this.node(s.id).address;
      want.push({ ns: s.ns, proto: "t", addr, port: 22, what: `sshd ${s.id}` });
    }
    const script = want.map((w) => `ss -Hln${w.proto} src ${w.addr}:${w.port} | grep -q . || echo ${q(w.what)}`);
    const check = want.map((w, i) => `nsenter --net=/run/netns/${w.ns} -- bash -c ${q(script[i]!)}`).join("\n");
    let missing = "";
    await waitFor(
      "the twin's daemons",
      ms,
      async () => {
        const agentReady =
          fs.existsSync(path.join(this.dir, "logs/agent.log")) &&
          fs.readFileSync(path.join(this.dir, "logs/agent.log"), "utf8").includes("ready");
        const r = await this.sh(check, 10000);
        // The users scripts have run: the daemons hold the model's users.
        const users = Object.entries(this.data.ready)
          .filter(([, f]) => !fs.existsSync(f))
          .map(([d]) => `${d} users\n`)
          .join("");
        const tunnels = await this.tunnelsWithoutHandshake();
        missing = `${agentReady ? "" : "agent\n"}${users}${r.stdout}${r.stderr}${tunnels}`.trim();
        return !missing;
      },
      { detail: () => `still missing:\n${missing}` },
    );
  }

  /** The tail of every daemon's log, for failure messages. */
  daemonLogs(): string {
    const dir = path.join(this.dir, "logs");
    if (!fs.existsSync(dir)) return "";
    return fs
      .readdirSync(dir)
      .sort()
      .map((f) => `--- ${f}\n${fs.readFileSync(path.join(dir, f), "utf8").slice(-1500)}`)
      .join("\n");
  }

  // --- observing and probing -----------------------------------------------------------------------------

  /** Run probes in parallel (agent.py). */
  async probe(probes: readonly Probe[]): Promise<ProbeResult[]> {
    if (probes.length === 0) return [];
    const file = path.join(this.dir, `probes-${randomBytes(4).toString("hex")}.json`);
    fs.writeFileSync(file, JSON.stringify(probes));
    try {
      const r = await this.exec(undefined, ["python3", AGENT, "probe", file], { timeoutMs: 20000 });
      if (r.code !== 0) throw new Error(`agent.py probe failed (${r.code}): ${r.stderr}`);
      return JSON.parse(r.stdout) as ProbeResult[];
    } finally {
      fs.rmSync(file, { force: true });
    }
  }

  /**
   * Every drop counter of the twin, keyed `<router> <counter>` for the routers' named counters,
   * `<node> policy` for the host firewalls' policy counter (infra and jump hosts) and
   * `<node> <counter>` for their named counters.
   */
  async readDropCounters(): Promise<Map<string, number>> {
    const parts: string[] = [];
    for (const [name, ns] of this.routers) parts.push(`echo "### ${name}"; nsenter --net=/run/netns/${ns} -- nft -j list counters`);
    for (const [id, ns] of this.hostFirewalls) {
      parts.push(`echo "### ${id}"; nsenter --net=/run/netns/${ns} -- nft -j list chain inet host input`);
      // And its named counters (the infra host's DMZ guard has one).
      parts.push(`echo "### ${id}"; nsenter --net=/run/netns/${ns} -- nft -j list counters`);
    }
    const r = await this.sh(parts.join("\n"), 10000);
    if (r.code !== 0) throw new Error(`twin: reading counters failed: ${r.stderr}`);
    const counters = new Map<string, number>();
    for (const block of r.stdout.split(/^### /m).filter(Boolean)) {
      const nl = block.indexOf("\n");
      const owner = block.slice(0, nl).trim();
      const json = JSON.parse(block.slice(nl + 1)) as { nftables: Record<string, any>[] };
      for (const e of json.nftables) {
        if (e["counter"]) counters.set(`${owner} ${e["counter"].name}`, e["counter"].packets as number);
        if (e["rule"]?.comment === "dropped by policy") {
          const c = (e["rule"].expr as Record<string, any>[]).find((x) => x["counter"]);
          counters.set(`${owner} policy`, c?.["counter"].packets as number);
        }
      }
    }
    return counters;
  }

  /**
   * Serve more hosts' ports (agent.py serve), for a test that adds addresses of its own (IPv6
   * turned on by mistake). Resolves once every socket is bound; the returned function stops
   * this server (by its PID, inside the twin).
   */
  async serveMore(name: string, hosts: ServeConfig["hosts"]): Promise<() => Promise<void>> {
    const config = path.join(this.dir, `serve-${name}.json`);
    const log = path.join(this.dir, "logs", `serve-${name}.log`);
    fs.writeFileSync(config, JSON.stringify({ hosts }));
    const pid = (await this.sh(`setsid python3 ${q(AGENT)} serve ${q(config)} </dev/null >${q(log)} 2>&1 & echo $!`)).stdout.trim();
    if (!/^\d+$/.test(pid)) throw new Error(`twin: starting the ${name} server printed ${JSON.stringify(pid)}`);
    const stop = async () => {
      await this.sh(`kill ${pid} 2>/dev/null || true`);
    };
    try {
      await waitFor(`the ${name} server`, 5000, () => fs.existsSync(log) && fs.readFileSync(log, "utf8").includes("ready"), {
        detail: () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "(no log)"),
      });
    } catch (e) {
      await stop();
      throw e;
    }
    return stop;
  }

  /** `nft list ruleset` and the counters of one router (or host firewall): for failure messages. */
  async dumpFirewall(owner: string): Promise<string> {
    const ns = this.routers.get(owner) ?? this.hostFirewalls.get(owner);
    if (!ns) return `(no firewall named ${owner})`;
    const r = await this.exec(ns, ["bash", "-c", "nft list ruleset; echo; echo '# counters'; nft list counters"], { timeoutMs: 10000 });
    return `===== ${owner} (${ns}): nft list ruleset =====\n${r.stdout}${r.stderr}`;
  }

  /** The live ruleset of a router without counter values (stable across traffic). */
  async readRuleset(router: string): Promise<string> {
    return this.must(this.routerNs(router), ["nft", "-s", "list", "ruleset"]);
  }

  /**
   * ssh as a test user from the admin workstation, with a segment's rendered ssh_config
   * (ProxyJump through the jump host, pinned host keys). BatchMode: never a prompt.
   */
  ssh(
    user: keyof typeof USERS,
    segment: string,
    target: string,
    command: string,
    extra: readonly string[] = [],
    timeoutMs = 15000,
  ): Promise<Run> {
    return this.exec(
      this.node("dmz/admin").ns,
      // ssh takes the first value of an option: the caller's extras come first.
      [
        "ssh",
        "-F",
        this.planFile(`${segment}/ssh_config`),
        ...extra,
        "-o",
        "BatchMode=yes",
        // Per hop, for a connection expected to succeed: a loaded machine (load 16) missed 3 s. A
        // caller expecting a drop passes its own, shorter one first.
        "-o",
        "ConnectTimeout=8",
        `${user}@${target}`,
        command,
      ],
      { user, timeoutMs },
    );
  }
}

/** One WireGuard interface of a NixOS host, as networking.wireguard.interfaces.<name> holds it. */
export interface NixosWireguard {
  readonly ips: readonly string[];
  readonly listenPort: number;
  readonly privateKeyFile: string;
  readonly peers: readonly {
    readonly publicKey: string;
    readonly allowedIPs: readonly string[];
    readonly endpoint: string;
    readonly persistentKeepalive: number;
  }[];
}

/**
 * networking.wireguard.interfaces of a rendered configuration.nix, evaluated by real nix (lazily,
 * with empty arguments: only this attribute is forced), so the twin runs what the file says.
 */
export function infraTunnelConfig(configurationNix: string): Record<string, NixosWireguard> {
  const expr = `(import ${configurationNix} { config = { }; lib = { }; pkgs = { }; }).networking.wireguard.interfaces`;
  const out = must([
    "nix-instantiate",
    "--eval",
    "--strict",
    "--json",
    "--store",
    "dummy://",
    "--option",
    "build-users-group",
    "",
    "-E",
    expr,
  ]);
  return JSON.parse(out) as Record<string, NixosWireguard>;
}

/**
 * The commands the infra host's rendered homelab-neighbours unit runs (`ExecStart` lines of
 * `${pkgs.iproute2}/bin/ip ...`), as `ip ...` command lines; none found is a failure.
 */
export function infraNeighbourCommands(configurationNix: string): string[] {
  const cmds = [...configurationNix.matchAll(/"\$\{pkgs\.iproute2\}\/bin\/(ip -4 neigh replace [^"]+)"/g)].map((m) => m[1]!);
  if (cmds.length === 0) throw new Error("twin: the infra host's configuration.nix pins no neighbour");
  return cmds;
}

// --- test identities ----------------------------------------------------------------------------------

/** Generated keys: name -> public key line (the private half is `<dir>/keys/<name>`); WireGuard ends as `wg-<stack>`. */
export type TestKeys = Record<string, string>;

/** The WireGuard ends of the twin's lab: the infra host's (the DMZ stack) and each segment router's. */
const TUNNEL_ENDS = ["dmz", ...Object.keys(TWIN_HOSTS)];

/** Where the twin keeps an end's generated WireGuard private key (`dmz` or a segment): what its stack's secret would hold. */
export function tunnelKeyFile(dir: string, end: string): string {
  return path.join(dir, "keys", `wg-${end}`);
}

/** Names of the host keys: `dmz-infra`, `<segment>-router`, `<segment>-<host>` for every sshd. */
function keyNames(): string[] {
  const names = ["alice", "deploy", "dmz-infra"];
  for (const [seg, t] of Object.entries(TWIN_HOSTS)) names.push(`${seg}-router`, ...t.sshd.map((h) => `${seg}-${h}`));
  return names;
}

function generateKeys(dir: string): TestKeys {
  const kd = path.join(dir, "keys");
  fs.mkdirSync(kd, { mode: 0o700 });
  const names = keyNames();
  must(["bash", "-c", names.map((n) => `ssh-keygen -q -t ed25519 -N '' -C ${q(`${n}@twin`)} -f ${q(path.join(kd, n))}`).join(" && ")]);
  // Each end's WireGuard pair: the private half only in the scratch directory (root-only), as a stack secret would hold it.
  must([
    "bash",
    "-c",
    TUNNEL_ENDS.map(
      (e) =>
        `(umask 077 && wg genkey >${q(tunnelKeyFile(dir, e))}) && wg pubkey <${q(tunnelKeyFile(dir, e))} >${q(`${tunnelKeyFile(dir, e)}.pub`)}`,
    ).join(" && "),
  ]);
  return Object.fromEntries([
    ...names.map((n) => [n, fs.readFileSync(path.join(kd, `${n}.pub`), "utf8").trim()]),
    ...TUNNEL_ENDS.map((e) => [`wg-${e}`, fs.readFileSync(`${tunnelKeyFile(dir, e)}.pub`, "utf8").trim()]),
  ]);
}

/** The only edits the twin makes to its copy of the reference lab: test identities. */
function applyTestIdentities(files: Record<string, any>, keys: TestKeys): void {
  const hostKey = (name: string) => keys[name]!.split(" ").slice(0, 2).join(" ");
  const lab = files["homelab.yaml"];
  lab.admins.alice.keys = [...lab.admins.alice.keys, keys["alice"]];
  lab.ssh.deploy.key = keys["deploy"];
  lab.dmz.infra.sshHostKey = hostKey("dmz-infra");
  lab.dmz.tunnel.publicKey = keys["wg-dmz"];
  for (const [seg, t] of Object.entries(TWIN_HOSTS)) {
    const cfg = files[`Pulumi.${seg}.yaml`]?.config?.["homelab:segment"];
    if (!cfg) throw new Error(`twin: the reference lab has no segment ${seg}`);
    cfg.router.sshHostKey = hostKey(`${seg}-router`);
    cfg.router.tunnel.publicKey = keys[`wg-${seg}`];
    for (const h of t.sshd) cfg.hosts[h].sshHostKey = hostKey(`${seg}-${h}`);
  }
}
