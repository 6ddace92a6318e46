/**
 * The backup ledger, planned: every stateful thing of the lab with its backup resolved (where
 * its copies go, when, for how long, its offsite copy, and the freshness series the "backup too
 * old" alert reads), the Proxmox backup jobs that carry the VM backups, the MariaDB dumps each
 * data host runs, and the storage replications, which are listed for what they are: not a
 * backup (a replica follows every change within minutes, a deletion or a corruption included).
 *
 * Freshness contract (with the monitoring): every backup that runs on a NixOS host exports
 * `homelab_backup_last_success_timestamp_seconds{backup="<ledger id>"}` and
 * `homelab_backup_max_age_seconds{backup="<ledger id>"}` through that host's node exporter
 * textfile collector; a Proxmox job's and a replication's freshness comes from the PVE exporter.
 *
 * Call only on a validated lab. Pure: no Pulumi.
 */
import { planHaVms } from "../compute/lab-objects";
import type { Placement } from "../compute/placement";
import { DMZ_STACK, type Lab, own, type Segment, segmentList } from "../lab";
import { compareText } from "../order";
import { maxAgeSeconds, parseSchedule, retentionSeconds, type Schedule } from "./schedule";
import type { BackupEntry } from "./schema";
import { type StatefulThing, statefulThings, type ThingKind } from "./things";

/** Where a node exporter's textfile collector reads `*.prom` files on the lab's NixOS hosts. */
export const TEXTFILE_DIR = "/var/lib/prometheus-node-exporter-text";
/** The freshness series' names. */
export const FRESHNESS_METRICS = {
  lastSuccess: "homelab_backup_last_success_timestamp_seconds",
  maxAge: "homelab_backup_max_age_seconds",
} as const;
/** Where services.mysqlBackup writes its dumps (the module's default), one `<database>.gz` each, replaced by every run. */
export const MYSQL_BACKUP_DIR = "/var/backup/mysql";

/** A backup target, resolved. */
export interface TargetPlan {
  readonly id: string;
  readonly description: string;
  readonly proxmoxStorage: string;
  readonly offsite: { readonly copy: string } | { readonly none: string };
}

/** How long copies are kept. */
export interface RetentionPlan {
  readonly text: string;
  readonly seconds: number;
  /** Copies kept (vzdump's keep-last): the retention over the interval, rounded up. */
  readonly keepLast: number;
}

/** Where a backup's freshness series come from. */
export type Freshness =
  | { readonly source: "textfile"; readonly host: string; readonly maxAgeSeconds: number }
  | { readonly source: "pve-exporter"; readonly maxAgeSeconds: number };

/** One ledger entry: a stateful thing and its backup. */
export interface LedgerEntry {
  /** `<segment>/<thing>`: the `backup` label of its freshness series. */
  readonly id: string;
  readonly segment: string;
  readonly thing: string;
  readonly kind: ThingKind;
  readonly what: string;
  readonly why: string;
  readonly backup:
    | {
        readonly kind: "vzdump";
        readonly vmId: number;
        readonly target: TargetPlan;
        readonly schedule: Schedule;
        readonly retention: RetentionPlan;
        readonly mode: "snapshot" | "suspend" | "stop";
        /** The Proxmox backup job that includes it. */
        readonly job: string;
      }
    | {
        readonly kind: "dump";
        readonly schedule: Schedule;
        /** The host that runs the dump, `<segment>/<host>`, and where the dump lands. */
        readonly host: string;
        readonly location: string;
        /** The ledger id of the VM backup that keeps its copies. */
        readonly keptBy: string;
      }
    | { readonly kind: "included"; readonly in: string }
    | { readonly kind: "none"; readonly reason: string };
  /** Absent for `none` and `included` (the entry that copies it has one). */
  readonly freshness?: Freshness;
}

/** A Proxmox backup job (vzdump) of the cluster: the VMs of one target, schedule, retention and mode. */
export interface VzdumpJobPlan {
  /** The job's id, `homelab-<target>-<schedule>-<retention>`. */
  readonly id: string;
  readonly storage: string;
  /** The Proxmox calendar event. */
  readonly schedule: string;
  readonly mode: "snapshot" | "suspend" | "stop";
  /** vzdump's prune settings: `{ "keep-last": "14" }`. */
  readonly pruneBackups: Readonly<Record<string, string>>;
  /** The VM ids it backs up, as strings (the provider's type), ascending. */
  readonly vmids: readonly string[];
  /** The ledger entries it carries. */
  readonly entries: readonly string[];
  readonly description: string;
}

/** A data host's MariaDB dump (services.mysqlBackup) and its freshness. */
export interface MysqlDumpPlan {
  readonly ledgerId: string;
  readonly segment: string;
  readonly host: string;
  readonly databases: readonly string[];
  /** systemd OnCalendar. */
  readonly calendar: string;
  readonly location: string;
  readonly maxAgeSeconds: number;
}

/** A storage replication: listed, never counted as a backup. */
export interface ReplicationEntry {
  /** `<stack>/replication:<host>`. */
  readonly id: string;
  readonly vm: string;
  readonly from: string;
  readonly to: string;
  readonly minutes: number;
  readonly maxAgeSeconds: number;
}

/** The planned ledger. */
export interface BackupPlan {
  readonly entries: readonly LedgerEntry[];
  readonly targets: readonly TargetPlan[];
  readonly jobs: readonly VzdumpJobPlan[];
  readonly dumps: readonly MysqlDumpPlan[];
  readonly replications: readonly ReplicationEntry[];
  /** The repository every router's and NixOS host's configuration is rendered from. */
  readonly code?: { readonly repository: string; readonly copies: string };
}

/** The `<segment>/<thing>` id of a thing. */
export function ledgerId(segment: string, thing: string): string {
  return `${segment}/${thing}`;
}

function target(lab: Lab, id: string): TargetPlan {
  const t = lab.backups?.targets[id];
  if (!t?.offsite) throw new Error(`bug: backup target ${id} unchecked`);
  return { id, description: t.description, proxmoxStorage: t.proxmoxStorage, offsite: t.offsite };
}

function vmIdOf(lab: Lab, segment: string, host: string): number {
  const vm = lab.segments[segment]?.hosts[host]?.vm;
  if (!vm) throw new Error(`bug: ${segment}/${host} is no VM`);
  return vm.vmId;
}

/** The slug of a schedule in a job id: `daily-0230`, `weekly-sun-0300`, `hourly`. */
function scheduleSlug(s: Schedule): string {
  return s.text.replace(/:/g, "").replace(/ /g, "-");
}

function planEntry(lab: Lab, thing: StatefulThing, entry: BackupEntry): LedgerEntry {
  const id = ledgerId(thing.segment, thing.id);
  const base = { id, segment: thing.segment, thing: thing.id, kind: thing.kind, what: thing.what, why: thing.why };
  switch (entry.kind) {
    case "vzdump": {
      const schedule = parseSchedule(entry.schedule);
      const seconds = retentionSeconds(entry.retention);
      const retention = { text: entry.retention, seconds, keepLast: Math.ceil(seconds / schedule.seconds) };
      return {
        ...base,
        backup: {
          kind: "vzdump",
          vmId: vmIdOf(lab, thing.segment, thing.host!),
          target: target(lab, entry.target),
          schedule,
          retention,
          mode: entry.mode,
          job: `homelab-${entry.target}-${scheduleSlug(schedule)}-${entry.retention}${entry.mode === "snapshot" ? "" : `-${entry.mode}`}`,
        },
        freshness: { source: "pve-exporter", maxAgeSeconds: maxAgeSeconds(schedule.seconds) },
      };
    }
    case "dump": {
      const schedule = parseSchedule(entry.schedule);
      const host = ledgerId(thing.segment, thing.host!);
      return {
        ...base,
        backup: { kind: "dump", schedule, host, location: MYSQL_BACKUP_DIR, keptBy: ledgerId(thing.segment, entry.keptBy) },
        freshness: { source: "textfile", host, maxAgeSeconds: maxAgeSeconds(schedule.seconds) },
      };
    }
    case "included":
      return { ...base, backup: { kind: "included", in: ledgerId(thing.segment, entry.in) } };
    case "none":
      return { ...base, backup: { kind: "none", reason: entry.reason } };
  }
}

function planJobs(entries: readonly LedgerEntry[]): VzdumpJobPlan[] {
  const jobs = new Map<
    string,
    { storage: string; schedule: string; mode: VzdumpJobPlan["mode"]; keep: number; vms: { vmId: number; entry: string }[]; text: string }
  >();
  for (const e of entries) {
    const b = e.backup;
    if (b.kind !== "vzdump") continue;
    const j = jobs.get(b.job) ?? {
      storage: b.target.proxmoxStorage,
      schedule: b.schedule.pve,
      mode: b.mode,
      keep: b.retention.keepLast,
      vms: [],
      text: `${b.schedule.text}, kept ${b.retention.text}, to ${b.target.id}`,
    };
    j.vms.push({ vmId: b.vmId, entry: e.id });
    jobs.set(b.job, j);
  }
  return [...jobs]
    .map(([id, j]) => {
      const vms = [...j.vms].sort((a, b) => a.vmId - b.vmId);
      return {
        id,
        storage: j.storage,
        schedule: j.schedule,
        mode: j.mode,
        pruneBackups: { "keep-last": String(j.keep) },
        vmids: vms.map((v) => String(v.vmId)),
        entries: vms.map((v) => v.entry),
        description: `homelab backup: ${j.text}`,
      };
    })
    .sort((a, b) => compareText(a.id, b.id));
}

/**
 * The segment's MariaDB dump, when its ledger dumps its data host's MariaDB: what the data host's
 * services.mysqlBackup runs, and the freshness it exports. Call on a validated lab.
 */
export function planMysqlDump(seg: Segment): MysqlDumpPlan | undefined {
  const m = seg.dataHost?.mariadb;
  const e = own(seg.backups, "mariadb");
  if (!m || e?.kind !== "dump") return undefined;
  const schedule = parseSchedule(e.schedule);
  return {
    ledgerId: ledgerId(seg.name, "mariadb"),
    segment: seg.name,
    host: seg.dataHost!.host,
    databases: [...new Set(m.databases)].sort(),
    calendar: schedule.systemd,
    location: MYSQL_BACKUP_DIR,
    maxAgeSeconds: maxAgeSeconds(schedule.seconds),
  };
}

function planReplications(lab: Lab, placement: Placement): ReplicationEntry[] {
  const stacks = [...segmentList(lab).map((s) => s.name), DMZ_STACK];
  return stacks
    .flatMap((stack) =>
      planHaVms(lab, placement, stack).flatMap((h) =>
        h.replication
          ? [
              {
                id: ledgerId(stack, `replication:${h.host}`),
                vm: `${stack}/${h.host}`,
                from: h.node,
                to: h.replication.target,
                minutes: h.replication.minutes,
                maxAgeSeconds: maxAgeSeconds(h.replication.minutes * 60),
              },
            ]
          : [],
      ),
    )
    .sort((a, b) => compareText(a.id, b.id));
}

/** The whole lab's ledger. Call on a validated lab (every stateful thing declared, every reference resolved). */
export function planBackups(lab: Lab, placement: Placement): BackupPlan {
  const entries: LedgerEntry[] = [];
  for (const seg of segmentList(lab)) {
    for (const thing of statefulThings(lab, seg)) {
      const entry = Object.hasOwn(seg.backups, thing.id) ? seg.backups[thing.id] : undefined;
      if (!entry) throw new Error(`bug: ${ledgerId(seg.name, thing.id)} has no backup declaration after validation`);
      entries.push(planEntry(lab, thing, entry));
    }
  }
  const used = new Set(entries.flatMap((e) => (e.backup.kind === "vzdump" ? [e.backup.target.id] : [])));
  return {
    entries,
    targets: [...used].sort().map((id) => target(lab, id)),
    jobs: planJobs(entries),
    dumps: segmentList(lab).flatMap((seg) => planMysqlDump(seg) ?? []),
    replications: planReplications(lab, placement),
    ...(lab.backups?.code ? { code: { ...lab.backups.code } } : {}),
  };
}
