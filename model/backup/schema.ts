/**
 * The backup domain's part of the schema: the lab-wide backup facts in `homelab.yaml`
 * (`backups`: where backups go, each target's offsite copy, and the repository that holds the
 * lab's code) and each segment's ledger (`backups` of `Pulumi.<segment>.yaml`): for every
 * stateful thing of the segment, how it is backed up, or `none` with a reason.
 *
 * Which things are stateful is derived from the model (model/backup/things.ts), never listed by
 * hand: a rule (backups.declared) names every one without an entry.
 */
import { z } from "zod";
import { Name, obj, Reason, unionError } from "../schema-kit";
import { pattern } from "../values";

/** `daily 02:30`, `weekly sun 03:00` or `hourly`: when a backup runs, in the lab's time zone. */
export const SCHEDULE = /^(hourly|daily ([01]\d|2[0-3]):[0-5]\d|weekly (mon|tue|wed|thu|fri|sat|sun) ([01]\d|2[0-3]):[0-5]\d)$/;

export const Schedule = pattern(
  SCHEDULE,
  "must be hourly, daily HH:MM or weekly <mon..sun> HH:MM",
  "write a schedule such as daily 02:30 or weekly sun 03:00",
);

/** How long copies are kept: `14d` or `8w`. */
export const RETENTION = /^[1-9]\d{0,3}[dw]$/;

export const Retention = pattern(RETENTION, "must be a number of days or weeks, such as 14d or 8w", "write a retention such as 14d or 8w");

/** A target's copy outside the lab: where it goes and how, or `none` with the reason there is none. */
export const Offsite = z.union([obj({ copy: z.string().min(10) }), obj({ none: Reason })], {
  error: unionError(
    "offsite must be { copy: <where the copy goes and how> } or { none: <why there is no offsite copy> }",
    "write offsite: { copy: <e.g. TrueNAS Cloud Sync to a B2 bucket, weekly> } or offsite: { none: <reason> }",
  ),
});

/** Somewhere backups are stored: today a Proxmox storage that takes vzdump backups. */
export const BackupTarget = obj({
  description: z.string(),
  /** The Proxmox storage id vzdump writes to (Datacenter > Storage, with content "backup"), e.g. an NFS share of the NAS. */
  proxmoxStorage: Name,
  /** The copy of this target outside the lab (a fire or a theft takes the lab and the NAS together). */
  offsite: Offsite.optional(),
});

/** `backups` in homelab.yaml. */
export const LabBackups = obj({
  /**
   * The git repository holding this lab's code and config: every router's and NixOS host's
   * configuration is rendered from it, so it is their backup.
   */
  code: obj({
    repository: z.string().min(3),
    /** Where copies of the repository live besides the lab (a hosting service, the admins' clones). */
    copies: z.string().min(3),
  }).optional(),
  /** @default {} */
  targets: z.record(Name, BackupTarget).default({}),
});
export type LabBackups = z.infer<typeof LabBackups>;

const BACKUP_KINDS = ["vzdump", "dump", "included", "none"] as const;

/** One ledger entry: how one stateful thing of the segment is backed up. */
export const BackupEntry = z.discriminatedUnion(
  "kind",
  [
    /** A Proxmox backup job (vzdump) of a VM, every disk, to a target. */
    obj({
      kind: z.literal("vzdump"),
      target: Name,
      schedule: Schedule,
      retention: Retention,
      /** @default snapshot (the VM keeps running; the guest agent freezes its file systems) */
      mode: z.enum(["snapshot", "suspend", "stop"]).default("snapshot"),
    }),
    /**
     * A dump on the host that holds the data (MariaDB: services.mysqlBackup), kept by that host's
     * VM backup (`keptBy: vm:<host>`), whose target, retention and offsite copy it shares.
     */
    obj({ kind: z.literal("dump"), schedule: Schedule, keptBy: z.string().min(1) }),
    /** The data lives on a VM's disks, and that VM's backup (`in: vm:<host>`) copies it. */
    obj({ kind: z.literal("included"), in: z.string().min(1) }),
    /** Deliberately no backup. */
    obj({ kind: z.literal("none"), reason: Reason }),
  ],
  {
    error: unionError(
      `a backup's kind must be one of ${BACKUP_KINDS.map((k) => `"${k}"`).join(", ")}`,
      "write kind: vzdump (with target, schedule, retention), dump (schedule, keptBy), included (in) or none (reason)",
    ),
  },
);
export type BackupEntry = z.infer<typeof BackupEntry>;

/** A segment's ledger: stateful thing id (`vm:<host>`, `mariadb`, `registry`, `nfs:<path>`, `smb:<share>`, `etcd`) -> its backup. */
export const SegmentBackups = z.record(z.string().min(1), BackupEntry);
