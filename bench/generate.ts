/**
 * A synthetic lab of any size, for the benchmarks (bench/plan-scale.ts) and for tests that
 * need a lab larger than the reference: `generateLab({ segments, vms, seed })` gives the text
 * of homelab.yaml and of every Pulumi.<stack>.yaml, and `npm run check` accepts every lab it
 * generates. Segments repeat five kinds (bench/generate-segments.ts), so every kind of host,
 * service, share and flow appears in the reference lab's proportions: NixOS, Debian and Talos
 * VMs, VIPs and physical boxes, GPU and NIC passthrough, Talos clusters, mirror caches, HTTP,
 * TCP and UDP services with app and no auth (never basic alone: check refuses it), NFS and SMB mounts, explicit flows into
 * segments, hosts and the DMZ, untrusted segments with egress allowlists, VLAN routers, a NAS
 * of each kind, switches. The same seed gives the same lab, byte for byte.
 *
 *   npx tsx bench/generate.ts --segments 50 --vms 2000 [--seed 1] --out DIR
 *
 * writes a lab directory (Pulumi.yaml, homelab.yaml, Pulumi.<stack>.yaml) for
 * `npm run check -- --dir DIR` and `npm run plan -- --dir DIR`.
 */
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { stringify } from "yaml";
import { statefulThings, vmThing } from "../model/backup/things";
import { parseLab } from "../model/load";
import { intIp, ipInt, prefixFor, Rng, SegmentNet, Unique } from "./generate-kit";
import { NodePool } from "./generate-nodes";
import { DESCRIPTIONS, extraStatics, fillSegment, type Kind, KINDS, type LabCtx, MIN_VMS, SegmentBuilder } from "./generate-segments";

/** How large a lab to generate. */
export interface LabSize {
  /** Segment stacks, 1 to 250. */
  readonly segments: number;
  /** VMs in the whole lab, the DMZ infra host and every jump host included: at least 3 per segment, plus one. */
  readonly vms: number;
  /** @default 1 */
  readonly seed?: number;
}

/** A generated lab: file texts, by file. */
export interface GeneratedLab {
  /** homelab.yaml. */
  readonly homelab: string;
  /** Stack name -> the text of its Pulumi.<stack>.yaml (every segment, and dmz). */
  readonly stacks: Record<string, string>;
}

const DOMAIN = "lab.example.net";
/** VMs per Proxmox node, about: the cluster grows with the lab. */
const VMS_PER_NODE = 100;

/** Each segment's name, kind and VM budget (its jump host included). */
function layout(size: LabSize): { name: string; kind: Kind; vms: number }[] {
  const counts = new Map<Kind, number>();
  const per = Math.floor((size.vms - 1) / size.segments);
  const rest = (size.vms - 1) % size.segments;
  return Array.from({ length: size.segments }, (_, i) => {
    const vms = per + (i < rest ? 1 : 0);
    const wanted = KINDS[i % KINDS.length]!;
    const kind = vms >= MIN_VMS[wanted] ? wanted : "apps";
    const n = (counts.get(kind) ?? 0) + 1;
    counts.set(kind, n);
    return { name: `${kind}-${n}`, kind, vms };
  });
}

function checkSize(size: LabSize): void {
  if (!Number.isInteger(size.segments) || size.segments < 1 || size.segments > 250)
    throw new Error(`segments must be an integer from 1 to 250, not ${size.segments}`);
  if (!Number.isInteger(size.vms) || size.vms < 3 * size.segments + 1)
    throw new Error(`vms must be an integer of at least 3 per segment plus the infra host (${3 * size.segments + 1}), not ${size.vms}`);
}

/** Generate a lab of `size`. */
export function generateLab(size: LabSize): GeneratedLab {
  checkSize(size);
  const seed = size.seed ?? 1;
  const segs = layout(size);
  const nodes = Math.max(3, Math.ceil(size.vms / VMS_PER_NODE) + 1);
  const pool = new NodePool(nodes);
  const uniq = new Unique(seed);
  const ctx: LabCtx = {
    rng: new Rng(seed),
    uniq,
    pool,
    stream: { tcp: 20000, udp: 30000 },
    core: segs[0]!.name,
    ...(segs.some((s) => s.kind === "lab") ? { lab: segs.find((s) => s.kind === "lab")!.name } : {}),
    segments: segs.map(({ name, kind }) => ({ name, kind })),
  };
  const infraVm = pool.place({ cores: 2, memoryMiB: 4096, disks: { root: 32 }, bridge: "dmz" }, 100);
  const builders = segs.map((s, i) => {
    // The first segment also holds the Proxmox nodes' management addresses, a NAS and a switch.
    const hardware = (i === 0 ? nodes : 0) + (s.kind === "core" ? 2 : s.kind === "cluster" ? 1 : 0);
    const net = new SegmentNet(i, prefixFor(s.vms + extraStatics(s.kind) + hardware + 1));
    const b = new SegmentBuilder(ctx, s.name, i, s.kind, net, i % 4 === 3 ? 100 + i : undefined);
    fillSegment(b, s.vms);
    return b;
  });
  const homelabDoc = labFile(ctx, builders, infraVm);
  const segDocs: Record<string, Record<string, unknown>> = {};
  builders.forEach((b, i) => {
    const trust = b.kind === "sandbox" ? "untrusted" : "trusted";
    segDocs[b.name] = b.toYaml(
      DESCRIPTIONS[b.kind],
      trust,
      `rtr${i + 1}`,
      intIp(ipInt("192.168.1.1") + i),
      intIp(ipInt(TUNNEL.address) + 1 + i),
    );
  });
  addLedger(homelabDoc, segDocs);
  const homelab = yamlText("Lab-wide facts of a generated lab.", homelabDoc);
  const stacks: Record<string, string> = {};
  for (const b of builders)
    stacks[b.name] = yamlText(`The ${b.kind} segment ${b.name} of a generated lab.`, { config: { "homelab:segment": segDocs[b.name] } });
  stacks.dmz = yamlText("The DMZ stack: it reads every segment below through a StackReference.", {
    config: { "homelab:dmz": { segments: builders.map((b) => b.name), stackPrefix: "organization/homelab" } },
  });
  return { homelab, stacks };
}

/** The WireGuard tunnel of a generated lab: the infra host's address, then the routers' in segment order. */
const TUNNEL = { subnet: "10.255.0.0/24", address: "10.255.0.1" } as const;

function yamlText(comment: string, doc: unknown): string {
  return `# ${comment}\n# Generated by bench/generate.ts: regenerate rather than edit.\n${stringify(doc, { lineWidth: 0 })}`;
}

/**
 * The backup ledger of a generated lab: one NAS target, and for every stateful thing the model
 * derives (read from the generated files by the model itself) a declaration: each stateful VM
 * backed up nightly, the data host's MariaDB dumped and its shares included in its VM's backup
 * (or none, when that VM is not backed up), etcd none.
 */
function addLedger(homelab: Record<string, unknown>, segs: Record<string, Record<string, unknown>>): void {
  homelab.backups = {
    code: { repository: "git@example.net:lab/homelab.git", copies: "the hosting service and every admin's clone" },
    targets: {
      nas: {
        description: "The NAS's backup dataset, an NFS storage of every node",
        proxmoxStorage: "nas-backup",
        offsite: { copy: "a weekly cloud sync of the dataset" },
      },
    },
  };
  const stacks = Object.fromEntries(Object.entries(segs).map(([name, seg]) => [name, { "homelab:segment": seg }]));
  const parsed = parseLab({ dir: ".", lab: homelab, stacks, problems: [] });
  if (!parsed.lab)
    throw new Error(`bug: the generated lab does not parse:\n${parsed.problems.map((p) => `${p.path}: ${p.message}`).join("\n")}`);
  for (const seg of Object.values(parsed.lab.segments)) {
    const things = statefulThings(parsed.lab, seg);
    const vms = new Set(things.filter((t) => t.kind === "vm").map((t) => t.id));
    const ledger: Record<string, unknown> = {};
    for (const t of things) {
      const vm = t.host !== undefined && vms.has(vmThing(t.host)) ? vmThing(t.host) : undefined;
      const none = { kind: "none", reason: "a generated lab keeps no copy of it" };
      if (t.kind === "vm") ledger[t.id] = { kind: "vzdump", target: "nas", schedule: "daily 02:30", retention: "14d" };
      else if (t.kind === "etcd") ledger[t.id] = none;
      else if (t.kind === "mariadb") ledger[t.id] = vm ? { kind: "dump", schedule: "daily 01:15", keptBy: vm } : none;
      else ledger[t.id] = vm ? { kind: "included", in: vm } : none;
    }
    if (things.length > 0) segs[seg.name]!.backups = ledger;
  }
}

/** homelab.yaml: the DMZ, SSH, admins and the hardware, with the Proxmox nodes sized for the VMs placed on them. */
function labFile(ctx: LabCtx, builders: readonly SegmentBuilder[], infraVm: unknown): Record<string, unknown> {
  const { uniq } = ctx;
  const first = builders[0]!;
  const sized = ctx.pool.sized();
  const networks = [...builders.map((b) => b.name), "dmz"];
  const proxmoxNodes = Object.fromEntries(
    Object.entries(sized).map(([name, s]) => [
      name,
      {
        description: `Rack server ${name}`,
        cpuCores: s.cpuCores,
        memoryGiB: s.memoryGiB,
        storage: { "local-zfs": s.storageGiB },
        networks,
        // Every bridge carries the VLAN its segment is tagged with, so a tagged NIC runs and fails over anywhere.
        vlans: Object.fromEntries(builders.flatMap((b) => (b.vlan !== undefined ? [[b.name, [b.vlan]]] : []))),
        segment: first.name,
        address: first.net.take(),
        mac: uniq.hardwareMac(),
        sshHostKey: uniq.sshKey(`node/${name}`),
        pci: s.pci,
      },
    ]),
  );
  const nasKinds = [{ kind: "truenas" }, { kind: "synology" }, { kind: "generic", uiPort: 8443 }];
  const cores = builders.filter((b) => b.kind === "core");
  const nas = Object.fromEntries(
    cores.map((b, i) => [
      `nas-${b.name}`,
      {
        ...nasKinds[i % 3]!,
        description: `NAS of ${b.name}`,
        segment: b.name,
        address: b.net.take(),
        mac: uniq.hardwareMac(),
        poolTiB: 29,
      },
    ]),
  );
  const switches: Record<string, unknown> = {
    "sw-dmz": { description: "The DMZ switch", segment: "dmz", address: "192.168.0.250", mac: uniq.hardwareMac(), ports: 8, linkGbps: 1 },
  };
  for (const b of builders.filter((x) => x.kind === "core" || x.kind === "cluster"))
    switches[`sw-${b.name}`] = {
      description: `The switch of ${b.name}`,
      segment: b.name,
      address: b.net.take(),
      mac: uniq.hardwareMac(),
      ports: 24,
      linkGbps: 10,
    };
  const routers = Object.fromEntries(
    builders.map((b, i) => [
      `rtr${i + 1}`,
      {
        description: `Router box of ${b.name}`,
        linkGbps: i % 3 === 0 ? 2.5 : 1,
        wanInterface: "enp1s0",
        lanInterface: b.vlan !== undefined ? `enp2s0.${b.vlan}` : "enp2s0",
        wanMac: uniq.hardwareMac(),
        ...(b.vlan !== undefined ? { ports: ["enp1s0", "enp2s0", "enp3s0", "enp4s0"] } : {}),
      },
    ]),
  );
  const admin = (name: string, full: string, keys: number): [string, unknown] => [
    name,
    { fullName: full, keys: Array.from({ length: keys }, (_, k) => uniq.sshKey(`admin/${name}/${k}`, `${name}@device${k + 1}`)) },
  ];
  const doc = {
    domain: DOMAIN,
    timezone: "Europe/Berlin",
    dmz: {
      subnet: "192.168.0.0/22",
      gateway: "192.168.0.1",
      gatewayMac: uniq.hardwareMac(),
      dns: "192.168.0.53",
      ntp: "192.168.0.123",
      proxy: "192.168.0.80",
      upstreamDns: ["9.9.9.9", "149.112.112.112"],
      upstreamNtp: ["ptbtime1.ptb.de", "time.cloudflare.com"],
      tls: { acme: { email: "admins@example.net", dnsProvider: "cloudflare", credentialsSecret: "acmeDnsCredentials", acceptTerms: true } },
      // Outside every segment's 10.<1-250>.0.0: one address for the infra host and one per router.
      tunnel: { subnet: TUNNEL.subnet, address: TUNNEL.address, publicKey: uniq.wireguardKey("dmz/infra") },
      infra: { address: "192.168.0.10", mac: uniq.vmMac(), sshHostKey: uniq.sshKey("dmz/infra"), vm: infraVm },
    },
    ssh: { adminSources: ["192.168.3.192/27"], deploy: { user: "deploy", key: uniq.sshKey("deploy", "pulumi-deploy") } },
    admins: Object.fromEntries([admin("alice", "Alice Example", 2), admin("bob", "Bob Example", 1), admin("carol", "Carol Example", 1)]),
    hardware: {
      proxmox: {
        cluster: "pve",
        endpoint: "https://pve.lab.example.net",
        version: 9,
        owner: first.name,
        datastores: { "local-zfs": { type: "zfspool" } },
        cpuOvercommit: 4,
        nodes: proxmoxNodes,
      },
      nas,
      switches,
      routers,
    },
  };
  return doc;
}

/** The project file every lab directory needs: the repository's own. */
const PROJECT_FILE = path.resolve(__dirname, "..", "Pulumi.yaml");

/** Write `lab` into `dir` as a lab directory, replacing the lab files there. */
export function writeLab(lab: GeneratedLab, dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(dir)) if (f === "homelab.yaml" || /^Pulumi\..+\.yaml$/.test(f)) fs.rmSync(path.join(dir, f));
  fs.copyFileSync(PROJECT_FILE, path.join(dir, "Pulumi.yaml"));
  fs.writeFileSync(path.join(dir, "homelab.yaml"), lab.homelab);
  for (const [stack, text] of Object.entries(lab.stacks)) fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), text);
}

function main(argv: readonly string[]): void {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: { segments: { type: "string" }, vms: { type: "string" }, seed: { type: "string" }, out: { type: "string" } },
  });
  if (values.segments === undefined || values.vms === undefined || values.out === undefined)
    throw new Error("usage: npx tsx bench/generate.ts --segments N --vms M [--seed S] --out DIR");
  const size = { segments: Number(values.segments), vms: Number(values.vms), seed: Number(values.seed ?? 1) };
  writeLab(generateLab(size), path.resolve(values.out));
  process.stdout.write(`wrote a lab of ${size.segments} segments and ${size.vms} VMs (seed ${size.seed}) to ${values.out}\n`);
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
