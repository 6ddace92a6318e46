/**
 * The compute domain's part of the schema: the Proxmox cluster in `homelab.yaml`
 * (`hardware.proxmox`: nodes, their datastores and PCI devices) and a host's `vm`.
 */
import { z } from "zod";
import { Ipv4, Mac, Name, PASSWORD_KEY, SshPublicKey, VlanId, obj, unionRule, unknownKeyMessage } from "../schema-kit";
import { pattern } from "../values";

/**
 * Seconds a guest takes to boot until its services answer, or to shut down cleanly: what a
 * pinned VM's node maintenance and a guest's own update reboot cost it. At least 1 s, at most an hour.
 */
export const GuestSeconds = z.number().int().min(1).max(3600);

export const Disk = obj({ datastore: Name, sizeGiB: z.number().int().min(1) });

/**
 * Replication intervals a Proxmox schedule repeats evenly: minutes that divide an hour, or
 * whole hours that divide a day. Any other count drifts against the hour (every 7 minutes runs at :56
 * and again at :00), so the recovery point the docs promise would not hold.
 */
export const REPLICATION_MINUTES: readonly number[] = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440];

/** How often an HA VM's disks are replicated to the node it fails over to, in minutes: its recovery point. */
export const ReplicationMinutes = z
  .number()
  .int()
  .superRefine((m, ctx) => {
    if (REPLICATION_MINUTES.includes(m)) return;
    const near = [...REPLICATION_MINUTES].sort((a, b) => Math.abs(a - m) - Math.abs(b - m) || a - b)[0]!;
    ctx.addIssue({
      code: "custom",
      message: `must divide an hour or a day evenly: one of ${REPLICATION_MINUTES.join(", ")} minutes`,
      params: { fix: `write ${near}` },
    });
  });

/**
 * A Proxmox datastore's storage type (its `storage.cfg` type). zfspool is node-local ZFS, the
 * one type Proxmox storage replication copies to another node; nfs, cifs, rbd and cephfs are
 * shared (every node that lists them sees the same disks); lvmthin, lvm and dir are node-local
 * and cannot be replicated.
 */
export const DatastoreType = z.enum(["zfspool", "lvmthin", "lvm", "dir", "nfs", "cifs", "rbd", "cephfs"]);
export type DatastoreType = z.infer<typeof DatastoreType>;

export const Datastore = obj({ type: DatastoreType });

const NIC_RULE = unionRule(
  "a NIC is either { bridge: <network> } (a bridge on the node, with vlan: <1-4094> when the bridge is VLAN-aware and the NIC is tagged) or { passthrough: <pci id> } (a physical NIC of the node)",
  "write { bridge: <network> } or { passthrough: <pci id> } (a bridge NIC may add vlan: <id>), with no other key in the braces",
);

export const Nic = z.union(
  [
    obj({
      bridge: Name,
      /** The VLAN the NIC is tagged with on a VLAN-aware bridge (Proxmox `tag`); absent: untagged. */
      vlan: VlanId.optional(),
      /** The NIC's MAC address. The first NIC has the host's `mac` (its static DHCP lease), so only a further NIC gives one. */
      mac: Mac.optional(),
    }),
    obj({ passthrough: Name }),
  ],
  {
    error: (iss) => {
      const keys = iss.errors.flat().flatMap((e) => (e.code === "unrecognized_keys" ? e.keys : []));
      const password = keys.find((k) => PASSWORD_KEY.test(k));
      return password ? unknownKeyMessage(password, ["bridge", "mac", "passthrough", "vlan"]) : NIC_RULE;
    },
  },
);

export const Vm = obj({
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
  /**
   * The node an HA VM restarts on when its own node fails; its disks are replicated there.
   * @default the planner's choice: the surviving node with the most free memory that fits it
   */
  failover: Name.optional(),
  /** How often its disks are replicated to its failover node (its recovery point). @default hardware.proxmox.replicationMinutes */
  replicationMinutes: ReplicationMinutes.optional(),
  /**
   * The least memory the balloon driver may shrink the VM to (Proxmox `balloon`, the provider's
   * `memory.floating`). @default 0: no ballooning, the VM always has memoryMiB
   */
  balloonMiB: z.number().int().min(0).default(0),
  /** The image it is installed from, an id in hardware.proxmox.images. @default none: installed by hand, no boot media */
  image: Name.optional(),
  /**
   * The guest is installed on its disk, so an ISO image is no longer attached (the drive stays,
   * empty). Proxmox refuses to migrate a VM with an ISO of node-local storage attached. @default false
   */
  installed: z.boolean().default(false),
  /**
   * Seconds from power-on until its services answer: what a restart costs it (maintenance plan,
   * docs/maintenance.md). @default its image's bootSeconds, else 30
   */
  bootSeconds: GuestSeconds.optional(),
  /** Seconds a clean shutdown takes. @default 10 */
  shutdownSeconds: GuestSeconds.optional(),
  /**
   * The lab stops working without it: the maintenance planner says loudly when a node's
   * maintenance would take it down. @default true for the DMZ infra host (DNS, NTP, the proxy) and a
   * database host, false otherwise
   */
  critical: z.boolean().optional(),
  /**
   * The VM keeps state of its own that a rebuild from code would lose, so the backup ledger
   * (the segment's `backups`) must say how it is backed up. @default by role: true for a
   * database, monitoring, server, vdi, agent, game-server, nas or hypervisor; false for a jump
   * host, a mirror (a cache), a Talos node (the cluster's state is etcd) and a vip
   */
  stateful: z.boolean().optional(),
});

/** The hash algorithms Proxmox verifies a download with (download.File checksumAlgorithm). */
export const CHECKSUM_ALGORITHMS = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"] as const;

/** A boot or install image the cluster downloads onto the nodes that need it, verified by its checksum. */
export const Image = obj({
  /**
   * `iso`: a CD-ROM image to install from, attached until the VM is `installed`; `disk`: a disk
   * image (qcow2 or raw) imported into the VM's root disk when it is created.
   */
  kind: z.enum(["iso", "disk"]),
  /** Where Proxmox downloads it from. */
  url: pattern(
    /^https?:\/\/[^\s/?#]+\/[^\s?#]+$/,
    "must be an http(s) URL of a file, such as https://cdimage.debian.org/.../debian-12.iso",
    "write the full download URL of the file, without a query string",
  ),
  /** The file's digest in lower-case hex, as the distribution publishes it (SHA256SUMS, ...). */
  checksum: pattern(
    /^[0-9a-f]+$/,
    "must be a hex digest in lower case",
    "copy the digest from the distribution's checksum file, in lower case",
  ),
  checksumAlgorithm: z.enum(CHECKSUM_ALGORITHMS),
  /** The installed guest runs qemu-guest-agent, so Proxmox may talk to it (addresses, clean shutdown). @default false */
  guestAgent: z.boolean().default(false),
  /** The guest boots with UEFI: OVMF firmware and an EFI disk. @default true */
  uefi: z.boolean().default(true),
  /** The guest reads cloud-init (NoCloud) from a drive Proxmox builds on ide2. @default false */
  cloudInit: z.boolean().default(false),
  /** Seconds a guest installed from it takes to boot until its services answer. @default 30 */
  bootSeconds: GuestSeconds.optional(),
});

export const PciDevice = obj({
  /** What it is, for humans and for validation of GPU passthrough. */
  kind: z.enum(["gpu", "nic", "hba", "usb", "other"]),
  /** `vendor:device`, e.g. `10de:2504`. */
  vendorDevice: z.string().regex(/^[0-9a-f]{4}:[0-9a-f]{4}$/, { error: 'must be "vendor:device" in lower-case hex, such as "8086:1533"' }),
  /** PCI address on the node, e.g. `0000:01:00.0`. */
  path: z.string().regex(/^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/, { error: 'must be a PCI address such as "0000:01:00.0"' }),
  iommuGroup: z.number().int().min(0),
  /** Subsystem `vendor:device` (lspci -nnv "Subsystem"): a Proxmox PCI mapping without it is incomplete. */
  subsystemId: z.string().regex(/^[0-9a-f]{4}:[0-9a-f]{4}$/, {
    error:
      'must be the subsystem "vendor:device" in lower-case hex, as `lspci -nnv -s <path>` prints it after Subsystem, such as "1458:4074"',
  }),
  description: z.string(),
});

export const ProxmoxNode = obj({
  description: z.string(),
  cpuCores: z.number().int().min(1),
  memoryGiB: z.number().int().min(1),
  /** Memory kept for the hypervisor itself (ZFS ARC, services). @default 8 */
  reservedMemoryGiB: z.number().int().min(0).default(8),
  /** Datastore id -> usable GiB. */
  storage: z.record(Name, z.number().int().min(1)),
  /** The networks this node has a bridge into: segment names or "dmz". */
  networks: z.array(Name).min(1),
  /**
   * The VLAN ids a bridge carries tagged, by network (the bridge is VLAN-aware with these
   * vids): a NIC tagged vlan: V into network N needs V under N here. @default {} (no tagged VLANs)
   */
  vlans: z.record(Name, z.array(VlanId).min(1)).default({}),
  /** The segment its management address is in. */
  segment: Name,
  address: Ipv4,
  mac: Mac,
  /** Its SSH host key, pinned in the generated client config. */
  sshHostKey: SshPublicKey.optional(),
  /** Devices that may be passed through, by id. */
  pci: z.record(Name, PciDevice).default({}),
  /**
   * Seconds from `reboot` until the node is back in the cluster, quorate and starting guests
   * (firmware, POST, Proxmox's services): its pinned VMs are down that long besides their own
   * shutdown and boot. @default 180
   */
  rebootSeconds: z.number().int().min(10).max(3600).default(180),
});

/** `hardware.proxmox`: the cluster and its nodes. */
export const Proxmox = obj({
  cluster: Name,
  /**
   * The Proxmox VE major version every node runs (`pveversion` prints it). It picks the HA
   * affinity objects: node affinity rules (Harule) on 9, HA groups (Hagroup) on 8, which 9
   * no longer has.
   */
  version: z.literal([8, 9]),
  /** The segment stack that declares the lab-wide Proxmox objects (PCI mappings, HA groups); other stacks read them from its contract. */
  owner: Name,
  /** Every datastore a node lists, by id, with its storage type. */
  datastores: z.record(Name, Datastore).default({}),
  /** How often an HA VM's disks are replicated to its failover node, unless the VM says otherwise. @default 15 (Proxmox's own default schedule) */
  replicationMinutes: ReplicationMinutes.default(15),
  /**
   * The URL of the cluster's API that `pulumi up` talks to (the provider's endpoint), such as
   * https://pve.lab.example.net. Required once the lab has a VM (rule proxmox.endpoint).
   */
  endpoint: pattern(
    /^https:\/\/[a-z0-9.-]+(:\d{1,5})?\/?$/,
    "must be an https URL of a host, with an optional port, such as https://pve.lab.example.net or https://10.10.0.21:8006",
    "write the URL of a node's API (https://<node>:8006) or of the proxy that publishes it",
  ).optional(),
  /**
   * A PAM user with passwordless sudo on every node, for what an API token cannot do over the
   * API (uploading snippets: the cloud-init user data of Debian and Ubuntu VMs); Pulumi logs in
   * as it with the deploy key from the ssh-agent. Required once a VM gets user data (rule
   * proxmox.snippets-ssh). @default none: nothing the lab declares needs SSH to the nodes
   */
  sshUser: Name.optional(),
  /** The file-based datastore (with iso and import content) every node downloads images to. @default "local" */
  imageDatastore: Name.default("local"),
  /**
   * The file-based datastore (with snippets content enabled: Datacenter > Storage > Content) every
   * node keeps cloud-init user-data snippets on. Uploading a snippet needs `sshUser`. @default "local"
   */
  snippetDatastore: Name.default("local"),
  /** Boot and install images, by id: a VM's `image` names one. @default {} */
  images: z.record(Name, Image).default({}),
  /** vCPUs a node may hand out per physical thread. @default 4 */
  cpuOvercommit: z.number().positive().default(4),
  /**
   * Seconds a live migration pauses a VM at its switch-over, as the maintenance plan counts it.
   * Proxmox's migrate_downtime (the most QEMU may pause a VM) defaults to 0.1 s and is raised step
   * by step when a busy guest does not converge. @default 1
   */
  migrationPauseSeconds: z.number().positive().max(60).default(1),
  nodes: z.record(Name, ProxmoxNode),
});
