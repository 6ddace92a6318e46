/** A stack's part of the backup ledger in its docs contract, from the planned ledger (model/backup/plan.ts). */
import type { BackupPlan, LedgerEntry } from "../model/backup/plan";
import type { DocsBackupEntry, DocsBackups } from "../model/contracts";

function docsEntry(e: LedgerEntry): DocsBackupEntry {
  const b = e.backup;
  const base = { id: e.id, thing: e.thing, what: e.what, why: e.why, kind: b.kind };
  const freshness = e.freshness
    ? {
        freshness: {
          source: e.freshness.source,
          ...(e.freshness.source === "textfile" ? { host: e.freshness.host } : {}),
          maxAgeSeconds: e.freshness.maxAgeSeconds,
        },
      }
    : {};
  switch (b.kind) {
    case "vzdump":
      return {
        ...base,
        target: b.target.id,
        storage: b.target.proxmoxStorage,
        offsite: { ...b.target.offsite },
        job: b.job,
        vmId: b.vmId,
        schedule: b.schedule.text,
        retention: b.retention.text,
        keepLast: b.retention.keepLast,
        ...freshness,
      };
    case "dump":
      return { ...base, schedule: b.schedule.text, host: b.host, location: b.location, via: b.keptBy, ...freshness };
    case "included":
      return { ...base, via: b.in };
    case "none":
      return { ...base, reason: b.reason };
  }
}

/** The ledger entries and replications of `stack`, with the lab's code repository. */
export function docsBackups(plan: BackupPlan, stack: string): DocsBackups {
  return {
    entries: plan.entries.filter((e) => e.segment === stack).map(docsEntry),
    replications: plan.replications.filter((r) => r.id.startsWith(`${stack}/`)).map((r) => ({ ...r })),
    ...(plan.code ? { code: { ...plan.code } } : {}),
  };
}
