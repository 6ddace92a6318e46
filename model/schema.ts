/**
 * The configuration schema: what `homelab.yaml` (lab-wide facts) and each
 * `Pulumi.<stack>.yaml` (one segment's facts, or the DMZ's) may contain.
 *
 * Every object is strict: an unknown key is an error with a did-you-mean. There is
 * deliberately no field that could enable SSH password login; any key that looks like
 * one gets an error saying so.
 */
import { z } from "zod";
import { LabBackups, SegmentBackups } from "./backup/schema";
import { Proxmox } from "./compute/schema";
import { DataHost } from "./data/schema";
import {
  Admin,
  Dhcp,
  Dmz,
  Egress,
  Flow,
  Host,
  Nas,
  RouterHardware,
  SegmentRouter,
  Service,
  Ssh,
  Storage,
  Switch,
  Trust,
} from "./network/schema";
import { CidrText, Name, obj } from "./schema-kit";
import { checkedString, pattern, stackPrefixVerdict, timeZoneVerdict } from "./values";
import { Talos } from "./talos/schema";
import { Maintenance } from "./maintenance/schema";

// --- lab-wide facts (homelab.yaml) --------------------------------------------------------------

export const LabFile = obj({
  /** The lab's DNS domain; published names are `<service>.<domain>`, hosts `<host>.<segment>.<domain>`. */
  domain: pattern(
    /^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$/,
    "must be a lower-case DNS domain such as lab.example.net",
    "write the domain in lower case without a scheme or a trailing dot, such as lab.example.net",
  ),
  /** An IANA time zone name. @default "UTC" */
  timezone: checkedString(timeZoneVerdict).default("UTC"),
  dmz: Dmz,
  ssh: Ssh,
  admins: z.record(Name, Admin),
  hardware: obj({
    proxmox: Proxmox,
    /** @default {} (a lab without a NAS) */
    nas: z.record(Name, Nas).default({}),
    /** @default {} (a lab without managed switches) */
    switches: z.record(Name, Switch).default({}),
    routers: z.record(Name, RouterHardware),
  }),
  /** When boxes update themselves and restart (model/maintenance). @default every field's own default */
  maintenance: Maintenance.prefault({}),
  /** Where backups go and the repository that holds the lab's code (the backup ledger's lab-wide facts). @default none */
  backups: LabBackups.optional(),
});
export type LabFile = z.infer<typeof LabFile>;

// --- one segment's facts (Pulumi.<segment>.yaml, key homelab:segment) ----------------------------

export const SegmentFile = obj({
  description: z.string(),
  /** An untrusted segment may open no flow into another segment without a stated reason. */
  trust: Trust,
  subnet: CidrText,
  /**
   * No flow leaves it for another segment: its hosts use other segments' services only by
   * name through the proxy (a lab-exposed one that lists it in usedBy), so nothing it runs can
   * open a connection into another network's hosts (rule segments.isolated). @default false
   */
  isolated: z.boolean().default(false),
  /** Hosts may reach the internet through the router (masqueraded). @default true */
  internet: z.boolean().default(true),
  /**
   * Internet-bound traffic goes only to these destinations instead of the whole internet.
   * @default undefined: the whole internet (for an untrusted segment, minus the edge router and non-public ranges)
   */
  egress: Egress.optional(),
  router: SegmentRouter,
  dhcp: Dhcp,
  /** The host id of the segment's jump host. */
  jumpHost: Name,
  hosts: z.record(Name, Host),
  services: z.record(Name, Service).default({}),
  storage: z.record(Name, Storage).default({}),
  flows: z.record(Name, Flow).default({}),
  talos: Talos.optional(),
  /** The segment's NixOS data host: MariaDB, Samba, a registry, and the NFS exports storage entries mount. @default none */
  dataHost: DataHost.optional(),
  /**
   * The backup ledger: for every stateful thing of the segment (derived from the model: VMs
   * with state, the data host's MariaDB, registry, NFS exports and Samba shares, the Talos
   * cluster's etcd), how it is backed up, or kind none with a reason. @default {}
   */
  backups: SegmentBackups.default({}),
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
  stackPrefix: checkedString(stackPrefixVerdict),
});
export type DmzFile = z.infer<typeof DmzFile>;
