/**
 * The configuration schema: what `homelab.yaml` (lab-wide facts) and each
 * `Pulumi.<stack>.yaml` (one segment's facts, or the DMZ's) may contain.
 *
 * Every object is strict: an unknown key is an error with a did-you-mean. There is
 * deliberately no field that could enable SSH password login; any key that looks like
 * one gets an error saying so.
 */
import { z } from "zod";
import { Cidr, isIpv4, isMac } from "./net";
import { didYouMean } from "./suggest";

/** Keys that would switch on password login somewhere. They are refused by name (and `passthrough` is not one). */
export const PASSWORD_KEY = /passw(or)?d|^pass$|kbd.?interactive|keyboard.?interactive|challenge.?response/i;

/** A strict object whose unknown keys get a did-you-mean against its own shape. */
function obj<T extends z.ZodRawShape>(shape: T) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code !== "unrecognized_keys") return undefined;
      return iss.keys.map((k) => unknownKeyMessage(k, known)).join("; ");
    },
  });
}

/**
 * The message of a discriminated union whose discriminator matched nothing. zod types the
 * issue as a union issue, but a non-object input arrives as `invalid_type`, which keeps
 * zod's own message.
 */
function unionError(message: string) {
  return (iss: { readonly code: string }) => (iss.code === "invalid_union" ? message : undefined);
}

/** The message for one unknown key. Exported for the loader, which splits per key. */
export function unknownKeyMessage(key: string, known: readonly string[]): string {
  if (PASSWORD_KEY.test(key)) {
    return `unknown key "${key}": SSH password login cannot be configured anywhere in this lab; remove the key and add the person's public key under admins in homelab.yaml`;
  }
  return `unknown key "${key}"${didYouMean(key, known)} (allowed keys: ${[...known].sort().join(", ")})`;
}

/** A lower-case DNS label: the ids of segments, hosts, services, nodes. */
export const Name = z.string().regex(/^[a-z][a-z0-9-]{0,30}[a-z0-9]$|^[a-z]$/, {
  error: "must be a lower-case DNS label: a-z, 0-9 and '-', starting with a letter, at most 32 characters",
});

export const Ipv4 = z.string().refine(isIpv4, { error: "must be an IPv4 address such as 10.10.0.10" });

export const CidrText = z
  .string()
  .refine((s) => Cidr.parse(s) !== undefined, { error: "must be an IPv4 network such as 10.10.0.0/24 (no host bits set)" });

export const Mac = z.string().refine(isMac, { error: "must be a unicast MAC address in lower case, such as 52:54:00:12:34:56" });

export const Port = z.number().int().min(1).max(65535);

/** `2049/tcp` or `123/udp`. */
export const PortProto = z
  .string()
  .regex(/^([1-9]\d{0,4})\/(tcp|udp)$/, { error: 'must look like "2049/tcp" or "123/udp"' })
  .refine((s) => Number(s.split("/")[0]) <= 65535, { error: "port must be 1-65535" });

/** An OpenSSH public key line. Only modern key types are accepted. */
export const SshPublicKey = z
  .string()
  .regex(/^(ssh-ed25519|sk-ssh-ed25519@openssh\.com|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ssh-rsa) [A-Za-z0-9+/]+={0,2}( \S.*)?$/, {
    error: 'must be an OpenSSH public key line such as "ssh-ed25519 AAAA... alice@laptop"',
  })
  .refine((s) => !s.startsWith("ssh-rsa ") || s.split(" ")[1]!.length >= 540, {
    error: "RSA keys shorter than 3072 bits are refused; use ssh-ed25519",
  });

const Reason = z.string().min(10, { error: "must say why, in at least 10 characters" });

// --- shared shapes --------------------------------------------------------------------------------

const Disk = obj({ datastore: Name, sizeGiB: z.number().int().min(1) });

const Nic = z.union([obj({ bridge: Name }), obj({ passthrough: Name })], {
  error: (iss) => {
    const keys = iss.errors.flat().flatMap((e) => (e.code === "unrecognized_keys" ? e.keys : []));
    const password = keys.find((k) => PASSWORD_KEY.test(k));
    return password
      ? unknownKeyMessage(password, ["bridge", "passthrough"])
      : "a NIC is either { bridge: <network> } (a bridge on the node) or { passthrough: <pci id> } (a physical NIC of the node)";
  },
});

const Vm = obj({
  node: Name,
  vmId: z.number().int().min(100).max(999999999),
  cores: z.number().int().min(1),
  memoryMiB: z.number().int().min(256),
  disks: z.record(Name, Disk),
  /** The first NIC carries the host's address. */
  nics: z.array(Nic).min(1),
  /** Non-NIC devices passed through (a GPU), by the node's pci id. */
  passthrough: z.array(Name).default([]),
  /** HA-managed and live-migratable. Passthrough VMs are pinned and can never be HA. @default true */
  ha: z.boolean().default(true),
});

// --- lab-wide facts (homelab.yaml) --------------------------------------------------------------

const PciDevice = obj({
  /** What it is, for humans and for validation of GPU passthrough. */
  kind: z.enum(["gpu", "nic", "hba", "usb", "other"]),
  /** `vendor:device`, e.g. `10de:2504`. */
  vendorDevice: z.string().regex(/^[0-9a-f]{4}:[0-9a-f]{4}$/, { error: 'must be "vendor:device" in lower-case hex, such as "8086:1533"' }),
  /** PCI address on the node, e.g. `0000:01:00.0`. */
  path: z.string().regex(/^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/, { error: 'must be a PCI address such as "0000:01:00.0"' }),
  iommuGroup: z.number().int().min(0),
  /** Subsystem `vendor:device`, needed for a complete Proxmox mapping. */
  subsystemId: z
    .string()
    .regex(/^[0-9a-f]{4}:[0-9a-f]{4}$/)
    .optional(),
  description: z.string(),
});

const ProxmoxNode = obj({
  description: z.string(),
  cpuCores: z.number().int().min(1),
  memoryGiB: z.number().int().min(1),
  /** Memory kept for the hypervisor itself (ZFS ARC, services). @default 8 */
  reservedMemoryGiB: z.number().int().min(0).default(8),
  /** Datastore id -> usable GiB. */
  storage: z.record(Name, z.number().int().min(1)),
  /** The networks this node has a bridge into: segment names or "dmz". */
  networks: z.array(Name).min(1),
  /** The segment its management address is in. */
  segment: Name,
  address: Ipv4,
  mac: Mac,
  /** Its SSH host key, pinned in the generated client config. */
  sshHostKey: SshPublicKey.optional(),
  /** Devices that may be passed through, by id. */
  pci: z.record(Name, PciDevice).default({}),
});

const Switch = obj({
  description: z.string(),
  segment: Name,
  address: Ipv4,
  mac: Mac,
  ports: z.number().int().min(1),
  linkGbps: z.number().positive(),
});

const RouterHardware = obj({
  description: z.string(),
  linkGbps: z.number().positive(),
  /** Interface names on the box. */
  wanInterface: z.string().regex(/^[a-z][a-z0-9]{0,14}$/, { error: "must be a Linux interface name such as enp1s0" }),
  lanInterface: z.string().regex(/^[a-z][a-z0-9]{0,14}$/, { error: "must be a Linux interface name such as enp2s0" }),
});

const Nas = obj({
  description: z.string(),
  segment: Name,
  address: Ipv4,
  mac: Mac,
  /** Its SSH host key, pinned in the generated client config. */
  sshHostKey: SshPublicKey.optional(),
  poolTiB: z.number().positive(),
});

const Admin = obj({
  /** Full name, for docs. */
  fullName: z.string(),
  /** At least one key: the lab has no password login to fall back on. */
  keys: z.array(SshPublicKey).min(1, { error: "every admin needs at least one SSH public key; there is no password login" }),
});

const DmzInfra = obj({
  /** The infra host's own address. */
  address: Ipv4,
  mac: Mac,
  /** Its SSH host key, so Pulumi verifies what it connects to. */
  sshHostKey: SshPublicKey,
  /** The VM: its NIC bridges into "dmz" on a node that has that network. */
  vm: Vm,
});

export const LabFile = obj({
  /** The lab's DNS domain; published names are `<service>.<domain>`, hosts `<host>.<segment>.<domain>`. */
  domain: z
    .string()
    .regex(/^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$/, { error: "must be a lower-case DNS domain such as lab.example.net" }),
  timezone: z.string().default("UTC"),
  dmz: obj({
    subnet: CidrText,
    /** The ISP edge router (not managed). */
    gateway: Ipv4,
    /** Service addresses on the infra host. */
    dns: Ipv4,
    ntp: Ipv4,
    proxy: Ipv4,
    infra: DmzInfra,
    /** Resolvers dnsmasq forwards names outside the lab to. */
    upstreamDns: z.array(Ipv4).min(1),
    /** NTP servers chrony follows. */
    upstreamNtp: z.array(z.string().min(1)).min(1),
    /** TLS certificate for the proxy: a wildcard for the domain. */
    tls: obj({ certificate: z.string().startsWith("/"), key: z.string().startsWith("/") }),
  }),
  ssh: obj({
    /** Where admins' workstations sit (the home LAN behind the ISP router): the only sources a jump host accepts. */
    adminSources: z.array(CidrText).min(1),
    /** The identity Pulumi deploys with; its private key is the config secret homelab:deployKey. */
    deploy: obj({ user: Name, key: SshPublicKey }),
  }),
  admins: z.record(Name, Admin),
  hardware: obj({
    proxmox: obj({
      cluster: Name,
      /** vCPUs a node may hand out per physical thread. @default 4 */
      cpuOvercommit: z.number().positive().default(4),
      nodes: z.record(Name, ProxmoxNode),
    }),
    nas: z.record(Name, Nas),
    switches: z.record(Name, Switch),
    routers: z.record(Name, RouterHardware),
  }),
});
export type LabFile = z.infer<typeof LabFile>;

// --- one segment's facts (Pulumi.<segment>.yaml, key homelab:segment) ----------------------------

const HostRole = z.enum([
  "jump",
  "server",
  "database",
  "nas",
  "hypervisor",
  "monitoring",
  "k8s-control-plane",
  "k8s-worker",
  "vdi",
  "mirror",
  "agent",
  "game-server",
  "vip",
]);

const Host = obj({
  role: HostRole,
  description: z.string(),
  address: Ipv4,
  /** Gives the host a static DHCP lease. A VIP has none. */
  mac: Mac.optional(),
  os: z.enum(["nixos", "talos", "debian", "truenas", "proxmox", "none"]),
  /** A VM on the Proxmox cluster; absent for physical boxes and VIPs. */
  vm: Vm.optional(),
  /** Its SSH host key: required where Pulumi or an admin logs in (jump hosts, NixOS hosts). */
  sshHostKey: SshPublicKey.optional(),
  /** Ports the host serves that other segments rely on, for docs and the twin. */
  listens: z.array(PortProto).default([]),
});

const Auth = z.discriminatedUnion(
  "kind",
  [
    /** The application authenticates (accounts, a pairing PIN, a whitelist). */
    obj({ kind: z.literal("app"), note: z.string().min(3) }),
    /** The proxy asks for HTTP basic auth against an htpasswd file on the infra host. */
    obj({ kind: z.literal("basic"), realm: z.string().min(1) }),
    /** No authentication; an internet-exposed service then needs `reason`. */
    obj({ kind: z.literal("none") }),
  ],
  { error: unionError('auth.kind must be one of "app", "basic", "none"') },
);

const Backend = obj({ host: Name, port: Port, tls: z.boolean().default(false) });

const Service = z.discriminatedUnion(
  "kind",
  [
    obj({
      kind: z.literal("http"),
      description: z.string(),
      /** The name under the domain; @default the service id. */
      hostname: Name.optional(),
      backend: Backend,
      auth: Auth,
      exposure: z.enum(["internet", "lab"]),
      /** Why a service with auth "none" is exposed to the internet. */
      reason: Reason.optional(),
      /** Port on the firewall's WAN address the proxy connects to. @default backend.port */
      wanPort: Port.optional(),
    }),
    ...(["tcp", "udp"] as const).map((kind) =>
      obj({
        kind: z.literal(kind),
        description: z.string(),
        /** The port the proxy listens on. */
        port: Port,
        backend: Backend,
        auth: Auth,
        exposure: z.enum(["internet", "lab"]),
        reason: Reason.optional(),
        wanPort: Port.optional(),
      }),
    ),
  ],
  { error: unionError('kind must be one of "http", "tcp", "udp"') },
);

const Storage = obj({
  protocol: z.enum(["nfs", "smb"]),
  /** `<segment>/<host>` of the server. */
  server: z.string(),
  /** NFS export path or SMB share name. */
  export: z.string().min(1),
  /** Hosts of this segment that mount it. */
  consumers: z.array(Name).min(1),
  reason: Reason.optional(),
});

const Flow = obj({
  /** Hosts of this segment; @default the whole segment. */
  from: z.array(Name).optional(),
  /** `<segment>` (its whole subnet), `<segment>/<host>`, or `dmz`. */
  to: z.string(),
  ports: z.array(PortProto).min(1),
  reason: Reason,
});

const Talos = obj({
  clusterName: Name,
  /** The Kubernetes API VIP; inside the subnet, outside DHCP. */
  vip: Ipv4,
  controlPlanes: z.array(Name),
  workers: z.array(Name),
  talosVersion: z.string().regex(/^v\d+\.\d+\.\d+$/, { error: 'must look like "v1.13.0"' }),
  kubernetesVersion: z.string().regex(/^v?\d+\.\d+\.\d+$/, { error: 'must look like "1.34.1"' }),
});

export const SegmentFile = obj({
  description: z.string(),
  /** An untrusted segment may open no flow into another segment without a stated reason. */
  trust: z.enum(["trusted", "untrusted"]),
  subnet: CidrText,
  /** Hosts may reach the internet through the router (masqueraded). @default true */
  internet: z.boolean().default(true),
  router: obj({
    name: Name,
    /** Key of homelab.yaml hardware.routers. */
    hardware: Name,
    wanAddress: Ipv4,
    lanAddress: Ipv4,
    sshHostKey: SshPublicKey,
  }),
  dhcp: obj({
    start: Ipv4,
    end: Ipv4,
    leaseTime: z
      .string()
      .regex(/^\d+[mhd]$/, { error: 'must look like "12h"' })
      .default("12h"),
  }),
  /** The host id of the segment's jump host. */
  jumpHost: Name,
  hosts: z.record(Name, Host),
  services: z.record(Name, Service).default({}),
  storage: z.record(Name, Storage).default({}),
  flows: z.record(Name, Flow).default({}),
  talos: Talos.optional(),
});
export type SegmentFile = z.infer<typeof SegmentFile>;

// --- the DMZ stack (Pulumi.dmz.yaml, key homelab:dmz) ----------------------------------------------

export const DmzFile = obj({
  /** Segment stacks whose published services the DMZ serves. */
  segments: z.array(Name).min(1),
  /**
   * How stack references are named: `<prefix>/<segment>`, e.g. `organization/homelab` on a
   * self-managed backend or `acme/homelab` on Pulumi Cloud.
   */
  stackPrefix: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, { error: 'must be "<org>/<project>", such as organization/homelab' }),
});
export type DmzFile = z.infer<typeof DmzFile>;
