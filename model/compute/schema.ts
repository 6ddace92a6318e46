/**
 * The compute domain's part of the schema: the Proxmox cluster in `homelab.yaml`
 * (`hardware.proxmox`: nodes, their datastores and PCI devices) and a host's `vm`.
 */
import { z } from "zod";
import { Ipv4, Mac, Name, PASSWORD_KEY, SshPublicKey, VlanId, obj, unionRule, unknownKeyMessage } from "../schema-kit";

export const Disk = obj({ datastore: Name, sizeGiB: z.number().int().min(1) });

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
    }),
    obj({ passthrough: Name }),
  ],
  {
    error: (iss) => {
      const keys = iss.errors.flat().flatMap((e) => (e.code === "unrecognized_keys" ? e.keys : []));
      const password = keys.find((k) => PASSWORD_KEY.test(k));
      return password ? unknownKeyMessage(password, ["bridge", "passthrough", "vlan"]) : NIC_RULE;
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
});

export const PciDevice = obj({
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
  /** The segment its management address is in. */
  segment: Name,
  address: Ipv4,
  mac: Mac,
  /** Its SSH host key, pinned in the generated client config. */
  sshHostKey: SshPublicKey.optional(),
  /** Devices that may be passed through, by id. */
  pci: z.record(Name, PciDevice).default({}),
});

/** `hardware.proxmox`: the cluster and its nodes. */
export const Proxmox = obj({
  cluster: Name,
  /** vCPUs a node may hand out per physical thread. @default 4 */
  cpuOvercommit: z.number().positive().default(4),
  nodes: z.record(Name, ProxmoxNode),
});
