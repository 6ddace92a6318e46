/**
 * The shapes that cross a StackReference, each written once as a zod schema; every
 * TypeScript type of a contract is derived from its schema, so the writer's type and the
 * reader's check cannot drift. Values are checked with the model's own value schemas: a
 * contract carries what the config held. Pure: stacks/contracts.ts reads these from other
 * stacks, model/dmz.ts and the docs layer write them.
 *
 * Every contract is plain JSON (no `undefined` values, no secrets): a secret crosses stacks
 * as its own secret output (stacks/contracts.ts, `readReference`).
 */
import { z } from "zod";
import type { FlowKind } from "./network/flows";
import type { PlannedHost, PlannedService } from "./network/hosts";
import { Trust as trust } from "./network/schema";
import { CidrText, Ipv4 as ip, Mac as mac, Port as port, PortProto as portText, WireguardKey as wgKey } from "./schema-kit";

/** A contract type: the schema's output, read-only all the way down. */
export type Contract<S extends z.ZodType> = DeepReadonly<z.output<S>>;

/** Read-only all the way down, for JSON-shaped values. */
export type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** Compile-time proof that two types are the same (the schema restates a model union). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;

const exposure = z.enum(["internet", "lab", "admins"]);
const serviceKind = z.enum(["http", "tcp", "udp"]);

/** A temporary hole's deadline: as written, the instant in seconds since the epoch, and for reading. */
const deadline = z.object({ text: z.string(), epoch: z.number().int(), display: z.string() });

/** How a service authenticates its users (the model's own union). */
const auth = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("app"), note: z.string() }),
  z.object({ kind: z.literal("basic"), realm: z.string() }),
  z.object({ kind: z.literal("none") }),
]);

/** How the proxy verifies a TLS backend (model/network/backend-tls.ts): the certificate it trusts and the name it checks. */
const backendTrust = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("ca"), ca: z.string(), certificate: z.string(), name: z.string() }),
  z.object({ kind: z.literal("pin"), certificate: z.string(), name: z.string() }),
]);

/** What a published service looks like in both contracts. */
const serviceCore = {
  kind: serviceKind,
  description: z.string(),
  /** `tls` is absent for plain HTTP. */
  backend: z.object({ host: z.string(), address: ip, port, tls: backendTrust.optional() }),
  /** The segment firewall's address and port the proxy forwards to: its tunnel address (its WAN address only in a lab without the tunnel). */
  firewall: z.object({ router: z.string(), address: ip, port }),
  auth,
  exposure,
  /** Why a service with auth "none" is exposed to the internet, or used by an untrusted segment. */
  reason: z.string().optional(),
  /** A lab-exposed service's users, when it names them: the segments the proxy admits (else every trusted segment). */
  usedBy: z.array(z.string()).optional(),
  /** A temporary hole's deadline (model/network/until.ts): absent for a service open for good. */
  until: deadline.optional(),
};

// --- the segment contract: what a segment stack tells the DMZ ------------------------------------

/**
 * The segment contract version this program writes and reads. Bump on any incompatible change
 * (2: HTTP services carry maxBodyMiB and websockets; 3: the router's WAN MAC, which the infra
 * host binds its WAN address to; 4: a TLS backend's tls is how the proxy verifies it, a CA's or
 * its own pinned certificate and the name it carries, no longer a boolean; 5: the router's end of
 * the WireGuard tunnel, the infra host's peer, and a published service's firewall address is the
 * router's tunnel address; 6: a service's exposure may be admins, the admin workstations only).
 */
export const SEGMENT_CONTRACT_VERSION = 6;

/** A published service, as the DMZ plans DNS, proxy routes and streams from it. */
const PublishedService = z.object({
  ...serviceCore,
  id: z.string(),
  segment: z.string(),
  /** For HTTP: the public name. */
  fqdn: z.string().optional(),
  /** For TCP/UDP: the port the proxy listens on. */
  port: port.optional(),
  /** For HTTP: the largest request body the proxy accepts, in MiB. */
  maxBodyMiB: z.number().int().min(1).optional(),
  /** For HTTP: the proxy forwards WebSocket upgrades. */
  websockets: z.boolean().optional(),
});

/** An explicit flow from a segment into the DMZ, as the infra host's firewall needs it. */
const DmzFlow = z.object({
  flow: z.string(),
  /** Source networks (CIDR text). */
  from: z.array(CidrText),
  /** The DMZ address it goes to, or absent for the whole DMZ subnet. */
  to: ip.optional(),
  ports: z.array(z.object({ port, proto: z.enum(["tcp", "udp"]) })),
  reason: z.string(),
});

/** What one segment tells the DMZ (model/dmz.ts `publishSegment` writes it). */
export const PublishedSegmentSchema = z.object({
  name: z.string(),
  trust,
  subnet: CidrText,
  router: z.object({
    name: z.string(),
    fqdn: z.string(),
    wanAddress: ip,
    lanAddress: ip,
    wanMac: mac,
    /** Its end of the WireGuard tunnel: the infra host's peer for this router. */
    tunnel: z.object({ address: ip, publicKey: wgKey }).optional(),
  }),
  jumpHost: z.object({ name: z.string(), fqdn: z.string(), address: ip }),
  hosts: z.array(z.object({ name: z.string(), fqdn: z.string(), address: ip, role: z.string() })),
  services: z.array(PublishedService),
  /** Explicit flows from this segment into the DMZ (e.g. monitoring scrapes of the infra host). */
  dmzFlows: z.array(DmzFlow),
});

/** The segment stack's `contract` output. Unknown extra fields are tolerated (a newer writer may add some). */
export const SegmentContractSchema = PublishedSegmentSchema.extend({ version: z.literal(SEGMENT_CONTRACT_VERSION) });

/** What one segment tells the DMZ. */
export type PublishedSegment = Contract<typeof PublishedSegmentSchema>;
/** An explicit flow from a segment into the DMZ. */
export type DmzFlow = Contract<typeof DmzFlow>;
/** A segment stack's contract. */
export type SegmentContract = Contract<typeof SegmentContractSchema>;

const _serviceIsPlanned: Same<Contract<typeof PublishedService>, DeepReadonly<PlannedService>> = true;

// --- the Proxmox contract: what the owner of the lab-wide Proxmox objects tells every other stack ---

/** The Proxmox contract version this program writes and reads. Bump on any incompatible change. */
export const PROXMOX_CONTRACT_VERSION = 1;

/**
 * What the stack that owns the lab-wide Proxmox objects (hardware.proxmox.owner) exports once
 * it has declared them (model/compute/lab-objects.ts plans it): the PCI mappings a VM's
 * hostpci names and, on Proxmox VE 8, the HA groups an HA resource joins.
 */
export const ProxmoxContractSchema = z.object({
  version: z.literal(PROXMOX_CONTRACT_VERSION),
  /** The stack that declared them. */
  owner: z.string(),
  cluster: z.string(),
  /** The Proxmox VE major version they were declared for. */
  pveVersion: z.union([z.literal(8), z.literal(9)]),
  /** Every PCI hardware mapping, by name (`pve1-gpu0`). */
  mappings: z.array(z.object({ name: z.string(), node: z.string(), device: z.string(), vendorDevice: z.string() })),
  /** Proxmox VE 8: every HA group, its nodes by priority; empty on 9. */
  haGroups: z.array(z.object({ name: z.string(), nodes: z.record(z.string(), z.number().int()) })),
});

/** The owner's Proxmox contract. */
export type ProxmoxContract = Contract<typeof ProxmoxContractSchema>;

// --- the docs contract: what every stack exports as `docs` ------------------------------------------

/** The docs contract version this program writes and reads. Bump on any incompatible change (2: router interfaces and VM NICs; 3: an HA VM's failover node and recovery point; 4: the router's WAN MAC; 5: a TLS backend's tls says how the proxy verifies it; 6: the maintenance plan; 7: a service's exposure may be admins). */
export const DOCS_CONTRACT_VERSION = 7;

const flowKind = z.enum(["publish", "expose", "proxy", "dns", "ntp", "storage", "database", "registry", "ssh", "explicit"]);
const _flowKinds: Same<z.output<typeof flowKind>, FlowKind> = true;
const hostKind = z.enum(["vm", "node", "nas", "switch", "vip", "physical"]);
const _hostKinds: Same<z.output<typeof hostKind>, PlannedHost["source"]> = true;
const _auths: Same<Contract<typeof auth>, DeepReadonly<PlannedService["auth"]>> = true;

/** One end of a flow. */
const DocsEndpoint = z.object({
  /** A segment name, `dmz`, `admin` or `internet`. */
  zone: z.string(),
  host: z.string().optional(),
  /** `cluster/worker-1`, `cluster`, `dmz/proxy`, `internet`. */
  label: z.string(),
  cidrs: z.array(CidrText),
});

/** One allowed flow. Everything not listed is denied. */
const DocsFlow = z.object({
  id: z.string(),
  kind: flowKind,
  from: DocsEndpoint,
  to: DocsEndpoint,
  /** `2049/tcp`. */
  ports: z.array(portText),
  reason: z.string(),
  /** For flows a router translates (DNAT): its WAN address and ports. */
  via: z.object({ router: z.string(), address: ip, ports: z.array(portText) }).optional(),
  /** A temporary flow's deadline: its routers stop forwarding it then. */
  until: deadline.optional(),
});

/** A VM's placement and size. */
const DocsVm = z.object({
  node: z.string(),
  vmId: z.number().int(),
  cores: z.number().int(),
  memoryMiB: z.number().int(),
  /** Every disk of the VM, added up. */
  diskGiB: z.number().int(),
  /** PCI devices of its node passed through to it (NICs, GPUs), by the node's device id. */
  passthrough: z.array(z.string()),
  /** HA-managed: restarts on another node when its node fails. False: pinned to its node. */
  ha: z.boolean(),
  /**
   * For an HA VM: the node it restarts on when its node fails, and how often its node-local
   * disks are replicated there, in minutes: its recovery point, the writes a failover may lose
   * (absent: every disk is on shared storage, nothing is lost). Absent for a pinned VM, and for
   * an HA VM that fits on no other node or in a lab with one node.
   */
  failover: z.object({ to: z.string(), replicationMinutes: z.number().int().optional() }).optional(),
  /** Its NICs in order (the first carries its address): a bridge of its node, tagged with `vlan` on a VLAN-aware bridge, or a passed-through device. */
  nics: z.array(
    z.discriminatedUnion("kind", [
      z.object({ kind: z.literal("bridge"), bridge: z.string(), vlan: z.number().int().optional() }),
      z.object({ kind: z.literal("passthrough"), device: z.string() }),
    ]),
  ),
});

/** One host of a segment (configured hosts plus the hardware whose address lies in it). */
const DocsHost = z.object({
  name: z.string(),
  fqdn: z.string(),
  address: ip,
  mac: z.string().optional(),
  role: z.string(),
  os: z.string(),
  /** `vm` (Proxmox VM), `node` (a Proxmox node), `nas`, `switch`, `vip` or `physical`. */
  kind: hostKind,
  description: z.string(),
  /** Ports it serves that others rely on, `3306/tcp`. */
  listens: z.array(portText),
  vm: DocsVm.optional(),
  /** Its alias in the generated SSH client config; absent when it runs no sshd an admin logs in to. */
  sshAlias: z.string().optional(),
});

/** One published service, as a user and an operator see it. */
const DocsService = z.object({
  ...serviceCore,
  name: z.string(),
  /** HTTP: `https://<name>.<domain>/`. */
  url: z.string().optional(),
  /** TCP/UDP: the proxy's address, port and protocol, `192.168.1.80:25565/tcp`. */
  endpoint: z.string().optional(),
});

/** One box an admin can SSH to. */
const DocsSshTarget = z.object({
  name: z.string(),
  /** `<host>.<segment>`, the alias in the client config. */
  alias: z.string(),
  fqdn: z.string(),
  /** The address inside its network. */
  address: ip,
  /** What ssh connects to: the address, or the router's WAN address for a jump host. */
  hostName: ip,
  /** The alias of the jump host in between, when there is one. */
  proxyJump: z.string().optional(),
  /** The pinned host key (`type base64`), when the model has one. */
  hostKey: z.string().optional(),
});

/** How admins reach a segment over SSH, with the ready-to-use client files. */
const DocsSsh = z.object({
  /** The only way in: the router's WAN port 22, forwarded to the jump host for the admin workstations only. */
  entry: z.object({ router: z.string(), address: ip, port, jumpHost: z.string(), jumpAddress: ip }),
  adminSources: z.array(CidrText),
  /** Who may log in: the admins and the deploy identity. */
  users: z.array(z.string()),
  targets: z.array(DocsSshTarget),
  /** The segment's rendered OpenSSH client config (render/ssh-client.ts). */
  config: z.string(),
  /** The segment's rendered known_hosts. */
  knownHosts: z.string(),
});

/** One Talos node. */
const DocsTalosNode = z.object({
  name: z.string(),
  address: ip,
  /** The Proxmox node it runs on, when it is a VM. */
  node: z.string().optional(),
  passthrough: z.array(z.string()),
  /** Whether Proxmox HA restarts it elsewhere (a VM only); absent from contracts written before it existed. */
  ha: z.boolean().optional(),
});

/** A Talos Kubernetes cluster. */
const DocsTalos = z.object({
  clusterName: z.string(),
  vip: ip,
  /** The Kubernetes API at the VIP. */
  apiEndpoint: z.string(),
  talosVersion: z.string(),
  kubernetesVersion: z.string(),
  controlPlanes: z.array(DocsTalosNode),
  workers: z.array(DocsTalosNode),
});

/** One storage replication: a VM's disks copied to its failover node. Not a backup. */
const DocsReplication = z.object({
  id: z.string(),
  vm: z.string(),
  from: z.string(),
  to: z.string(),
  minutes: z.number(),
  maxAgeSeconds: z.number(),
});

/** One entry of the backup ledger, resolved (model/backup/plan.ts). */
const DocsBackupEntry = z.object({
  /** `<segment>/<thing>`: the backup label of its freshness series. */
  id: z.string(),
  thing: z.string(),
  what: z.string(),
  why: z.string(),
  kind: z.enum(["vzdump", "dump", "included", "none"]),
  /** vzdump: the target, its Proxmox storage and its offsite copy; the job and the VM id. */
  target: z.string().optional(),
  storage: z.string().optional(),
  offsite: z.union([z.object({ copy: z.string() }), z.object({ none: z.string() })]).optional(),
  job: z.string().optional(),
  vmId: z.number().optional(),
  /** vzdump and dump: the schedule as written, and vzdump's retention and copies kept. */
  schedule: z.string().optional(),
  retention: z.string().optional(),
  keepLast: z.number().optional(),
  /** dump: the host that runs it and where the dump lands; dump (keptBy) and included (in): the entry whose copies hold it. */
  host: z.string().optional(),
  location: z.string().optional(),
  via: z.string().optional(),
  /** none: why. */
  reason: z.string().optional(),
  freshness: z.object({ source: z.enum(["textfile", "pve-exporter"]), host: z.string().optional(), maxAgeSeconds: z.number() }).optional(),
});

/** A stack's part of the backup ledger. */
const DocsBackups = z.object({
  entries: z.array(DocsBackupEntry),
  replications: z.array(DocsReplication),
  /** The repository the lab's code and config live in: the routers' and NixOS hosts' configurations' backup. */
  code: z.object({ repository: z.string(), copies: z.string() }).optional(),
});

/** What a segment stack exports as `docs`. Unknown extra fields are dropped (a newer writer may add some). */
export const SegmentDocsSchema = z.object({
  version: z.literal(DOCS_CONTRACT_VERSION),
  kind: z.literal("segment"),
  name: z.string(),
  description: z.string(),
  trust,
  subnet: CidrText,
  /** The DNS domain of its hosts, `<segment>.<domain>`. */
  domain: z.string(),
  /** Hosts may reach the internet (masqueraded by the router). */
  internet: z.boolean(),
  router: z.object({
    name: z.string(),
    fqdn: z.string(),
    hardware: z.string(),
    linkGbps: z.number(),
    wanAddress: ip,
    lanAddress: ip,
    /** Interface names on the box; `<port>.<id>` is a VLAN sub-interface. */
    wanInterface: z.string(),
    lanInterface: z.string(),
    /** The WAN port's MAC: the DMZ's parties bind the router's WAN address to it. */
    wanMac: mac,
  }),
  jumpHost: z.object({ name: z.string(), fqdn: z.string(), address: ip }),
  dhcp: z.object({ start: ip, end: ip, leaseTime: z.string(), dns: ip, ntp: ip }),
  hosts: z.array(DocsHost),
  services: z.array(DocsService),
  flows: z.object({
    /** From elsewhere into this segment. */
    inbound: z.array(DocsFlow),
    /** From this segment to elsewhere. */
    outbound: z.array(DocsFlow),
    /** Inside the segment (the jump host's SSH). */
    inside: z.array(DocsFlow),
  }),
  ssh: DocsSsh,
  talos: DocsTalos.optional(),
  /** Its backup ledger; absent from contracts written before the ledger existed. */
  backups: DocsBackups.optional(),
});

/** One published name in the lab-wide catalog: where it leads and through which firewall. */
const CatalogEntry = z.object({
  /** `wiki.lab.example.net`, or `192.168.1.80:25565/tcp` for a stream. */
  name: z.string(),
  kind: serviceKind,
  segment: z.string(),
  service: z.string(),
  /** The firewall's WAN address and port the proxy forwards to. */
  firewall: z.string(),
  /** The firewall (the segment's router) by name. */
  router: z.string(),
  /** Where the firewall translates it to: `<host> <address>:<port>`. */
  backend: z.string(),
  auth,
  exposure,
});

/** One DNS name the DMZ DNS answers. */
const DocsName = z.object({
  name: z.string(),
  address: ip,
  /** A published `service` (at the proxy), a `host`, a router's `entry` (its WAN side) or the DMZ's own. */
  kind: z.enum(["service", "host", "entry", "dmz"]),
});

/** A Proxmox node's load and its headroom when any other node fails. */
const DocsNodeLoad = z.object({
  node: z.string(),
  description: z.string(),
  cpuCores: z.number().int(),
  vcpuLimit: z.number().int(),
  usedVcpus: z.number().int(),
  memoryMiB: z.number().int(),
  usedMemoryMiB: z.number().int(),
  /** Per datastore: its own VMs' disks, the replicas it holds of other nodes' HA VMs, and its size. */
  storage: z.array(z.object({ datastore: z.string(), usedGiB: z.number(), replicaGiB: z.number(), limitGiB: z.number() })),
  networks: z.array(z.string()),
  /** The most it carries after any one other node fails and its HA VMs restart here. */
  worstCase: z.object({ usedVcpus: z.number().int(), usedMemoryMiB: z.number().int(), whenFails: z.string() }),
});

/** Where VMs run and what happens when a node fails. */
const DocsPlacement = z.object({
  cpuOvercommit: z.number(),
  nodes: z.array(DocsNodeLoad),
  vms: z.array(DocsVm.extend({ name: z.string(), segment: z.string(), host: z.string() })),
  failover: z.array(
    z.object({
      failed: z.string(),
      moves: z.array(z.object({ vm: z.string(), to: z.string() })),
      stranded: z.array(z.string()),
      down: z.array(z.string()),
    }),
  ),
});

/** One node's planned maintenance (model/maintenance/node.ts) and the commands for it. */
const DocsNodeMaintenance = z.object({
  node: z.string(),
  rebootSeconds: z.number(),
  moves: z.array(z.object({ vm: z.string(), to: z.string(), how: z.enum(["live-migration", "relocation"]), secondsEachWay: z.number() })),
  outages: z.array(z.object({ vm: z.string(), why: z.string(), downSeconds: z.number() })),
  criticalDown: z.array(z.object({ vm: z.string(), seconds: z.number(), why: z.string() })),
  redundancy: z.array(z.object({ what: z.string(), detail: z.string() })),
  steps: z.array(z.object({ what: z.string(), commands: z.array(z.string()) })),
});

/** The weekly plan (model/maintenance/weekly.ts) and the update windows (model/maintenance/updates.ts). */
const DocsMaintenance = z.object({
  targetSeconds: z.number(),
  migrationPauseSeconds: z.number(),
  nodes: z.array(DocsNodeMaintenance),
  vms: z.array(
    z.object({
      vm: z.string(),
      node: z.string(),
      seconds: z.number(),
      restarts: z.number().int(),
      meetsTarget: z.boolean(),
      causes: z.array(z.object({ seconds: z.number(), what: z.string() })),
    }),
  ),
  updates: z.object({
    day: z.string(),
    windowMinutes: z.number().int(),
    windows: z.array(
      z.object({
        box: z.string(),
        kind: z.enum(["router", "host"]),
        via: z.enum(["unattended-upgrades", "nixos-autoupgrade"]),
        start: z.string(),
        end: z.string(),
        declared: z.boolean(),
        restartSeconds: z.number(),
      }),
    ),
    clashes: z.array(z.object({ a: z.string(), b: z.string(), why: z.string() })),
  }),
});

/** What the DMZ stack exports as `docs`: the DMZ itself and everything lab-wide. */
export const DmzDocsSchema = z.object({
  version: z.literal(DOCS_CONTRACT_VERSION),
  kind: z.literal("dmz"),
  domain: z.string(),
  timezone: z.string(),
  dmz: z.object({
    subnet: CidrText,
    /** The ISP edge router (not managed). */
    gateway: ip,
    dns: ip,
    ntp: ip,
    proxy: ip,
    upstreamDns: z.array(z.string()),
    upstreamNtp: z.array(z.string()),
    infra: DocsHost.extend({ hostKey: z.string() }),
    /** Hardware whose address lies in the DMZ (a switch, say). */
    hardware: z.array(DocsHost),
  }),
  adminSources: z.array(CidrText),
  admins: z.array(z.object({ name: z.string(), fullName: z.string() })),
  deployUser: z.string(),
  /** The segments the DMZ publishes, from their contracts. */
  segments: z.array(z.object({ name: z.string(), trust, subnet: CidrText, router: z.string(), wanAddress: ip })),
  catalog: z.array(CatalogEntry),
  names: z.array(DocsName),
  /** Flows that touch no segment (the internet to the proxy). */
  flows: z.array(DocsFlow),
  placement: DocsPlacement,
  maintenance: DocsMaintenance,
  /** The DMZ's storage replications (not backups); absent from contracts written before the ledger existed. */
  backups: DocsBackups.optional(),
});

/** How a service authenticates its users. */
export type DocsAuth = Contract<typeof auth>;
export type DocsEndpoint = Contract<typeof DocsEndpoint>;
export type DocsFlow = Contract<typeof DocsFlow>;
export type DocsVm = Contract<typeof DocsVm>;
export type DocsHost = Contract<typeof DocsHost>;
export type DocsService = Contract<typeof DocsService>;
export type DocsSshTarget = Contract<typeof DocsSshTarget>;
export type DocsSsh = Contract<typeof DocsSsh>;
export type DocsTalosNode = Contract<typeof DocsTalosNode>;
export type DocsTalos = Contract<typeof DocsTalos>;
export type DocsBackups = Contract<typeof DocsBackups>;
export type DocsBackupEntry = Contract<typeof DocsBackupEntry>;
export type CatalogEntry = Contract<typeof CatalogEntry>;
export type DocsName = Contract<typeof DocsName>;
export type DocsNodeLoad = Contract<typeof DocsNodeLoad>;
export type DocsPlacement = Contract<typeof DocsPlacement>;
export type DocsMaintenance = Contract<typeof DocsMaintenance>;
/** What a segment stack exports as `docs`. */
export type SegmentDocs = Contract<typeof SegmentDocsSchema>;
/** What the DMZ stack exports as `docs`. */
export type DmzDocs = Contract<typeof DmzDocsSchema>;
