/**
 * The generated lab's segments. Each is one of five kinds, in the reference lab's
 * proportions: core (the data host with MariaDB, NFS, SMB and the registry, monitoring,
 * backup servers), cluster (a Talos cluster: control planes, workers, an ingress VIP, NFS and
 * SMB mounts), lab (a GPU VDI, mirror caches, dev boxes), sandbox (untrusted: AI agents and
 * game servers, an egress allowlist on every other one) and apps (web apps with
 * their databases). Every segment has its jump host; every fourth router carries its LAN on
 * a VLAN.
 */
import { type Rng, SegmentNet, type Unique } from "./generate-kit";
import type { NodePool, VmAsk, VmYaml } from "./generate-nodes";

/** The kinds of segment, in the order they repeat. */
export const KINDS = ["core", "cluster", "lab", "sandbox", "apps"] as const;
export type Kind = (typeof KINDS)[number];

/** The fewest VMs (the jump host included) a segment of each kind needs; with fewer it becomes an apps segment. */
export const MIN_VMS: Readonly<Record<Kind, number>> = { core: 3, cluster: 5, lab: 2, sandbox: 2, apps: 1 };

/** What every segment reads of the lab being generated. */
export interface LabCtx {
  readonly rng: Rng;
  readonly uniq: Unique;
  readonly pool: NodePool;
  /** The next proxy port for tcp and udp streams: unique lab-wide. */
  readonly stream: { tcp: number; udp: number };
  /** The first core segment: the data host every segment mounts from and pushes to. */
  readonly core: string;
  /** The first lab segment, whose mirror-1 the sandboxes install from. */
  readonly lab?: string;
  /** Every segment's name and kind, in order. */
  readonly segments: readonly { readonly name: string; readonly kind: Kind }[];
}

type Yaml = Record<string, unknown>;

const TALOS = { talosVersion: "v1.13.0", kubernetesVersion: "1.35.0" } as const;

/** One segment being generated: its hosts, services, storage and flows. */
export class SegmentBuilder {
  readonly hosts: Record<string, Yaml> = {};
  readonly services: Record<string, Yaml> = {};
  readonly storage: Record<string, Yaml> = {};
  readonly flows: Record<string, Yaml> = {};
  talos?: Yaml;
  egress?: Yaml;
  /** WAN port/proto -> the backend it forwards to, so two backends never share a WAN port. */
  private readonly wan = new Map<string, string>();
  private nextWan = 8000;

  constructor(
    readonly ctx: LabCtx,
    readonly name: string,
    readonly index: number,
    readonly kind: Kind,
    readonly net: SegmentNet,
    /** The VLAN its router carries the LAN on, if any. */
    readonly vlan?: number,
  ) {}

  /** A VM host. */
  vm(id: string, fields: Yaml, ask: Omit<VmAsk, "bridge">, address = this.net.take()): VmYaml {
    const vm = this.ctx.pool.place({ ...ask, bridge: this.name }, this.ctx.uniq.nextVmId());
    this.hosts[id] = { ...fields, address, mac: this.ctx.uniq.vmMac(), ...this.key(id, fields), vm };
    return vm;
  }

  /** A host that is no VM: a physical box (with a MAC) or a VIP (without). */
  box(id: string, fields: Yaml, mac = true): void {
    this.hosts[id] = { ...fields, address: this.net.take(), ...(mac ? { mac: this.ctx.uniq.hardwareMac() } : {}), ...this.key(id, fields) };
  }

  private key(id: string, fields: Yaml): Yaml {
    return fields.os === "nixos" || fields.os === "debian" ? { sshHostKey: this.ctx.uniq.sshKey(`${this.name}/${id}`) } : {};
  }

  /** A published service; its WAN port is the backend port unless another backend has it already. */
  publish(id: string, service: Yaml & { kind: "http" | "tcp" | "udp"; backend: { host: string; port: number } }): void {
    const proto = service.kind === "udp" ? "udp" : "tcp";
    const backend = `${service.backend.host}:${service.backend.port}`;
    let port = service.backend.port;
    const taken = (p: number) =>
      (p === 22 && proto === "tcp") || (this.wan.has(`${p}/${proto}`) && this.wan.get(`${p}/${proto}`) !== backend);
    if (taken(port)) {
      while (taken(this.nextWan)) this.nextWan++;
      port = this.nextWan++;
    }
    this.wan.set(`${port}/${proto}`, backend);
    const stream = service.kind === "http" ? {} : { port: this.ctx.stream[proto]++ };
    const hostname = service.kind === "http" ? { hostname: `${id}-${this.name}` } : {};
    this.services[id] = { ...service, ...hostname, ...stream, ...(port !== service.backend.port ? { wanPort: port } : {}) };
  }

  /** The segment's `homelab:segment` block. */
  toYaml(description: string, trust: "trusted" | "untrusted", routerHardware: string, wanAddress: string, tunnelAddress: string): Yaml {
    const publishes = Object.keys(this.services).length > 0;
    return {
      description,
      trust,
      subnet: this.net.subnet,
      ...(this.egress ? { egress: this.egress } : {}),
      router: {
        name: `${this.name}-fw`,
        hardware: routerHardware,
        wanAddress,
        lanAddress: this.net.lan,
        sshHostKey: this.ctx.uniq.sshKey(`${this.name}/router`),
        // A router that publishes services has its end of the tunnel from the infra host.
        ...(publishes ? { tunnel: { address: tunnelAddress, publicKey: this.ctx.uniq.wireguardKey(`${this.name}/router`) } } : {}),
      },
      dhcp: { ...this.net.dhcp, leaseTime: trust === "trusted" ? "12h" : "4h" },
      jumpHost: "jump",
      hosts: this.hosts,
      ...(Object.keys(this.services).length > 0 ? { services: this.services } : {}),
      ...(Object.keys(this.storage).length > 0 ? { storage: this.storage } : {}),
      ...(Object.keys(this.flows).length > 0 ? { flows: this.flows } : {}),
      ...(this.talos ? { talos: this.talos } : {}),
    };
  }
}

const disk = (root: number, extra?: Record<string, number>) => ({ root, ...extra });

/** The jump host every segment has. */
function jump(b: SegmentBuilder): void {
  b.vm(
    "jump",
    { role: "jump", description: `SSH jump host of ${b.name}`, os: "nixos" },
    { cores: 1, memoryMiB: 1024, disks: disk(16), ...(b.vlan !== undefined ? { vlan: b.vlan } : {}) },
    b.net.jump,
  );
}

/** A generic server VM: NixOS or Debian, a role of server or database, a common size. */
function server(b: SegmentBuilder, id: string, what: string, listens: string[]): void {
  const { rng } = b.ctx;
  const os = rng.chance(0.7) ? "nixos" : "debian";
  const role = listens.some((l) => l === "5432/tcp" || l === "3306/tcp") ? "database" : "server";
  b.vm(
    id,
    { role, description: what, os, listens },
    {
      cores: rng.weighted([
        [1, 2],
        [2, 5],
        [4, 3],
      ]),
      memoryMiB: rng.weighted([
        [1024, 2],
        [2048, 4],
        [4096, 3],
        [8192, 1],
      ]),
      disks: disk(
        rng.weighted([
          [16, 2],
          [32, 4],
          [64, 3],
          [200, 1],
        ]),
      ),
    },
  );
}

/** Core: the data host, monitoring, backup and database servers; the first core also scrapes every segment. */
function core(b: SegmentBuilder, vms: number): void {
  b.vm(
    "data",
    {
      role: "database",
      description: "MariaDB, NFS exports, SMB shares, container registry",
      os: "nixos",
      listens: ["3306/tcp", "2049/tcp", "445/tcp", "5000/tcp"],
    },
    { cores: 4, memoryMiB: 16384, disks: disk(64, { data: 1000 }) },
  );
  b.vm(
    "monitor",
    { role: "monitoring", description: "Prometheus, Alertmanager and Grafana", os: "nixos", listens: ["3000/tcp", "9090/tcp"] },
    { cores: 2, memoryMiB: 8192, disks: disk(200) },
  );
  for (let i = 1; i <= vms - 3; i++) server(b, `backup-${i}`, `Backup and utility server ${i}`, ["9100/tcp"]);
  b.publish("grafana", {
    kind: "http",
    description: "Dashboards",
    backend: { host: "monitor", port: 3000 },
    auth: { kind: "app", note: "Grafana accounts with TOTP" },
    exposure: "lab",
    websockets: true,
  });
  b.publish("registry", {
    kind: "http",
    description: "Container registry",
    backend: { host: "data", port: 5000 },
    auth: { kind: "app", note: "the registry's own htpasswd auth for every client" },
    exposure: "lab",
    maxBodyMiB: 4096,
  });
  if (b.name !== b.ctx.core) return;
  for (const seg of b.ctx.segments) {
    if (seg.name === b.name) continue;
    b.flows[`scrape-${seg.name}`] = {
      from: ["monitor"],
      to: seg.name,
      ports: seg.kind === "cluster" ? ["9100/tcp", "50000/tcp"] : ["9100/tcp"],
      reason: `Prometheus scrapes the node exporters of ${seg.name}`,
    };
  }
  b.flows["scrape-dmz"] = {
    from: ["monitor"],
    to: "dmz/infra",
    ports: ["9100/tcp", "9113/tcp"],
    reason: "Prometheus scrapes the infra host's exporters",
  };
}

/** Cluster: a Talos cluster (3 control planes, 5 from 25 VMs), workers (the first on a passed-through NIC), an ingress VIP. */
function cluster(b: SegmentBuilder, vms: number): void {
  const cps = vms >= 25 ? 5 : 3;
  const planes: string[] = [];
  const workers: string[] = [];
  for (let i = 1; i <= cps; i++) {
    b.vm(
      `cp-${i}`,
      { role: "k8s-control-plane", description: `Talos control plane ${i}`, os: "talos" },
      { cores: 4, memoryMiB: 8192, disks: disk(64), pinned: true },
    );
    planes.push(`cp-${i}`);
  }
  for (let i = 1; i <= vms - 1 - cps; i++) {
    const device = i === 1 && b.ctx.pool.hasFree("nic") ? { device: "nic" as const } : {};
    const memoryMiB = b.ctx.rng.chance(0.5) ? 16384 : 24576;
    b.vm(
      `worker-${i}`,
      { role: "k8s-worker", description: `Talos worker ${i}`, os: "talos" },
      { cores: 8, memoryMiB, disks: disk(200), pinned: true, ...device },
    );
    workers.push(`worker-${i}`);
  }
  b.box("ingress", { role: "vip", description: "Ingress controller's load-balancer address", os: "none", listens: ["80/tcp"] }, false);
  b.talos = { clusterName: b.name, vip: b.net.vip, controlPlanes: planes, workers, ...TALOS };
  for (const [id, what] of [
    ["wiki", "The wiki, served from Kubernetes"],
    ["argocd", "Argo CD, GitOps for the cluster"],
  ] as const) {
    b.publish(id, {
      kind: "http",
      description: what,
      backend: { host: "ingress", port: 80 },
      auth: { kind: "app", note: "SSO accounts" },
      exposure: id === "wiki" ? "internet" : "lab",
    });
  }
  if (workers.length === 0) return;
  b.storage["k8s-nfs"] = { protocol: "nfs", server: `${b.ctx.core}/data`, export: `/srv/nfs/${b.name}`, consumers: workers };
  b.storage["media-smb"] = { protocol: "smb", server: `${b.ctx.core}/data`, export: "media", consumers: workers };
}

/** Lab: a GPU VDI (when a GPU is free), two mirror caches, a physical box and dev servers. */
function lab(b: SegmentBuilder, vms: number): void {
  let left = vms - 1;
  const mirrors: string[] = [];
  for (let i = 1; i <= Math.min(2, left); i++, left--) {
    b.vm(
      `mirror-${i}`,
      { role: "mirror", description: `Package mirror cache ${i}`, os: "nixos", listens: ["80/tcp"] },
      { cores: 2, memoryMiB: 4096, disks: disk(500) },
    );
    mirrors.push(`mirror-${i}`);
  }
  if (left > 0 && b.ctx.pool.hasFree("gpu")) {
    b.vm(
      "vdi",
      { role: "vdi", description: "Windows VDI streamed with Sunshine", os: "none", listens: ["47984/tcp", "47998/udp"] },
      { cores: 8, memoryMiB: 32768, disks: disk(500), device: "gpu" },
    );
    left--;
    b.publish("vdi-stream", {
      kind: "udp",
      description: "Sunshine video stream",
      backend: { host: "vdi", port: 47998 },
      auth: { kind: "app", note: "Moonlight paired with a PIN" },
      exposure: "internet",
    });
    b.publish("vdi-control", {
      kind: "tcp",
      description: "Sunshine pairing and control",
      backend: { host: "vdi", port: 47984 },
      auth: { kind: "app", note: "Moonlight paired with a PIN" },
      exposure: "internet",
    });
  }
  for (let i = 1; left > 0; i++, left--) server(b, `dev-${i}`, `Development box ${i}`, ["22000/tcp"]);
  b.box("pi-1", { role: "server", description: "Raspberry Pi with sensors", os: "debian", listens: ["1883/tcp"] });
  b.publish("mirror", {
    kind: "http",
    description: "Package mirror cache",
    backend: { host: "mirror-1", port: 80 },
    auth: { kind: "none" },
    exposure: "lab",
  });
  b.flows["push-registry"] = {
    from: mirrors,
    to: `${b.ctx.core}/data`,
    ports: ["5000/tcp"],
    reason: "The mirrors push cached container images into the registry",
  };
}

/** Sandbox (untrusted): AI agents with their own login, game servers, an NFS share with its reason, every other one an egress allowlist. */
function sandbox(b: SegmentBuilder, vms: number): void {
  const { rng } = b.ctx;
  const agents = Math.max(1, Math.ceil((vms - 1) / 3));
  const agentIds: string[] = [];
  for (let i = 1; i <= agents; i++) {
    b.vm(
      `agent-${i}`,
      { role: "agent", description: `AI agent ${i} with shell access`, os: "nixos", listens: ["8080/tcp"] },
      { cores: 4, memoryMiB: rng.chance(0.5) ? 8192 : 16384, disks: disk(200) },
    );
    agentIds.push(`agent-${i}`);
  }
  const games: string[] = [];
  for (let i = 1; i <= vms - 1 - agents; i++) {
    b.vm(
      `games-${i}`,
      { role: "game-server", description: `Game servers ${i}`, os: "debian", listens: ["25565/tcp", "2456/udp"] },
      { cores: 4, memoryMiB: 12288, disks: disk(100) },
    );
    games.push(`games-${i}`);
  }
  b.publish("agent", {
    kind: "http",
    description: "Web UI of the first AI agent",
    backend: { host: "agent-1", port: 8080 },
    // Not the proxy's basic auth: the game servers share the network (rule services.auth-bypass).
    auth: { kind: "app", note: "the agent UI's own login" },
    exposure: "internet",
  });
  games.forEach((g, i) => {
    if (i % 3 !== 0) return;
    b.publish(`minecraft-${i + 1}`, {
      kind: "tcp",
      description: `Minecraft on ${g}`,
      backend: { host: g, port: 25565 },
      auth: { kind: "app", note: "Server whitelist" },
      exposure: "internet",
    });
    b.publish(`valheim-${i + 1}`, {
      kind: "udp",
      description: `Valheim on ${g}`,
      backend: { host: g, port: 2456 },
      auth: { kind: "app", note: "Server password" },
      exposure: "internet",
    });
  });
  if (games.length > 0)
    b.storage["game-saves"] = {
      protocol: "nfs",
      server: `${b.ctx.core}/data`,
      export: `/srv/nfs/${b.name}-saves`,
      consumers: games,
      reason: "Game saves are backed up on the data host",
    };
  if (b.ctx.lab)
    b.flows["agent-mirror"] = {
      from: agentIds,
      to: `${b.ctx.lab}/mirror-1`,
      ports: ["80/tcp"],
      reason: "The agents install packages from the mirror cache",
    };
  if (b.index % 2 === 1)
    b.egress = {
      allow: ["203.0.113.0/24:443/tcp", "198.51.100.7"],
      reason: "The agents reach only their model API and the game master server",
    };
}

/** Apps: web apps (each with its own accounts, some on the internet) with their databases, and the shared MariaDB. */
function apps(b: SegmentBuilder, vms: number): void {
  const { rng } = b.ctx;
  const appIds: string[] = [];
  for (let i = 1; i <= vms - 1; i++) {
    if (i % 5 === 0) {
      server(b, `db-${i}`, `PostgreSQL ${i}`, ["5432/tcp"]);
      continue;
    }
    server(b, `app-${i}`, `Web app ${i}`, ["8080/tcp"]);
    appIds.push(`app-${i}`);
    b.publish(`app-${i}`, {
      kind: "http",
      description: `Web app ${i}`,
      backend: { host: `app-${i}`, port: 8080 },
      // Never the proxy's basic auth alone: the segment's other boxes reach the app directly (rule services.auth-bypass).
      auth: { kind: "app", note: "the app's own accounts" },
      exposure: rng.chance(0.3) ? "internet" : "lab",
    });
  }
  if (appIds.length > 0)
    b.flows["shared-db"] = {
      from: appIds.slice(0, 3),
      to: `${b.ctx.core}/data`,
      ports: ["3306/tcp"],
      reason: "Some apps keep their data in the shared MariaDB",
    };
}

/** Fill a segment of `kind` with `vms` VMs (its jump host included). */
export function fillSegment(b: SegmentBuilder, vms: number): void {
  jump(b);
  const fill = { core, cluster, lab, sandbox, apps }[b.kind];
  fill(b, vms);
}

/** Statics a segment of `kind` with `vms` VMs needs beside its VMs: VIPs and physical boxes. */
export function extraStatics(kind: Kind): number {
  return kind === "cluster" || kind === "lab" ? 1 : 0;
}

/** A description of a segment of each kind. */
export const DESCRIPTIONS: Readonly<Record<Kind, string>> = {
  core: "Data, storage, backups and monitoring",
  cluster: "A Talos Kubernetes cluster",
  lab: "GPU VDI streaming, mirror caches and dev boxes",
  sandbox: "Untrusted, internet-facing: AI agents and game servers",
  apps: "Web apps and their databases",
};
