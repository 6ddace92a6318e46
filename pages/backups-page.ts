/**
 * The backup ledger page (backups.md): every stateful thing of the lab and its backup (what,
 * where, when, for how long, the offsite copy, the freshness series the "backup too old" alert
 * reads), the configurations that are code, and the storage replications, listed as what they
 * are: not backups. Read from the docs contracts only.
 */
import type { DocsBackupEntry } from "../model/contracts";
import { showSeconds } from "../model/backup/schedule";
import { nav, relative, segmentPage, type DocsContext } from "./context";
import { cell, code, Page, table } from "./markdown";
import { RUNBOOKS } from "./runbooks";

/** Where a backup's copies go, in words. */
function where(e: DocsBackupEntry, byId: ReadonlyMap<string, DocsBackupEntry>): string {
  switch (e.kind) {
    case "vzdump":
      return `target ${code(e.target!)} (Proxmox storage ${code(e.storage!)})`;
    case "dump":
      return `${code(`${e.location!}/<database>.gz`)} on ${code(e.host!)}, kept by ${code(e.via!)}'s backup${byId.get(e.via!)?.target ? ` to ${code(byId.get(e.via!)!.target!)}` : ""}`;
    case "included":
      return `on its VM's disks: in ${code(e.via!)}'s backup`;
    case "none":
      return "none";
  }
}

function when(e: DocsBackupEntry, byId: ReadonlyMap<string, DocsBackupEntry>): [string, string] {
  const keeper = e.via !== undefined ? byId.get(e.via) : undefined;
  switch (e.kind) {
    case "vzdump":
      return [code(e.schedule!), `${code(e.retention!)} (${e.keepLast!} copies)`];
    case "dump":
      return [
        code(e.schedule!),
        keeper?.retention ? `latest on the host; ${code(keeper.retention)} in ${code(keeper.id)}` : "latest on the host",
      ];
    case "included":
      return keeper?.schedule ? [`${code(keeper.schedule)} (its VM's)`, code(keeper.retention!)] : ["—", "—"];
    case "none":
      return ["—", "—"];
  }
}

function offsite(e: DocsBackupEntry, byId: ReadonlyMap<string, DocsBackupEntry>): string {
  const o = e.offsite ?? (e.via !== undefined ? byId.get(e.via)?.offsite : undefined);
  if (!o) return e.kind === "none" ? "—" : "none";
  return "copy" in o ? cell(o.copy) : `none: ${cell(o.none)}`;
}

function freshness(e: DocsBackupEntry): string {
  const f = e.freshness;
  if (!f) return e.kind === "none" ? "none (no backup)" : "its VM's backup's";
  const age = `too old after ${showSeconds(f.maxAgeSeconds)}`;
  return f.source === "textfile" ? `textfile on ${code(f.host!)}; ${age}` : `PVE exporter; ${age}`;
}

function ledgerSection(p: Page, entries: readonly DocsBackupEntry[], byId: ReadonlyMap<string, DocsBackupEntry>): void {
  p.heading(2, "The ledger");
  if (entries.length === 0) p.add("The lab has no stateful thing.");
  else
    p.add(
      table(
        ["id", "what", "kind", "where", "schedule", "retention", "offsite", "freshness"],
        entries.map((e) => {
          const [schedule, retention] = when(e, byId);
          return [
            code(e.id),
            `${cell(e.what)}${e.kind === "none" ? `: ${cell(e.reason!)}` : ""}`,
            code(e.kind),
            where(e, byId),
            schedule,
            retention,
            offsite(e, byId),
            freshness(e),
          ];
        }),
      ),
    );
}

function jobsSection(p: Page, entries: readonly DocsBackupEntry[]): void {
  const jobs = new Map<string, DocsBackupEntry[]>();
  for (const e of entries) if (e.job !== undefined) jobs.set(e.job, [...(jobs.get(e.job) ?? []), e]);
  p.heading(2, "Proxmox backup jobs");
  if (jobs.size === 0) p.add("No VM is backed up by vzdump.");
  else
    p.add(
      table(
        ["job", "schedule", "storage", "keeps", "VMs"],
        [...jobs].map(([job, es]) => [
          code(job),
          code(es[0]!.schedule!),
          code(es[0]!.storage!),
          `${es[0]!.keepLast!} copies`,
          es.map((e) => `${code(String(e.vmId!))} ${cell(e.thing.replace(/^vm:/, `${e.id.split("/")[0]!}/`))}`).join(", "),
        ]),
      ),
    );
}

function codeSection(p: Page, ctx: DocsContext): void {
  const code0 = ctx.segments.find((s) => s.backups?.code)?.backups?.code;
  p.heading(2, "Configuration is code");
  p.add(
    [
      `Every router's ruleset, DHCP and sshd, and the \`configuration.nix\` of every NixOS host the lab renders, come from this lab's repository${code0 ? ` (${code(code0.repository)}; copies: ${cell(code0.copies)})` : ""}:`,
      "its backup is the repository, and a rebuild is `pulumi up` of its stack (the runbooks below say how). No runtime backup is taken of them.",
      "A NixOS host whose configuration the lab does not render (yet) is not code: whatever it runs is in its VM's backup when it is",
      "stateful, and nowhere else when it is not.",
    ].join("\n"),
  );
  p.add(
    table(
      ["segment", "router", "NixOS hosts (code where the lab renders them)"],
      ctx.segments.map((s) => [
        `[${cell(s.name)}](${segmentPage(s.name)})`,
        code(s.router.name),
        s.hosts
          .filter((h) => h.os === "nixos")
          .map((h) => code(h.name))
          .join(", "),
      ]),
    ),
  );
}

function replicationSection(p: Page, ctx: DocsContext): void {
  const replications = [...ctx.segments.flatMap((s) => s.backups?.replications ?? []), ...(ctx.dmz.backups?.replications ?? [])];
  p.heading(2, "Storage replication is not a backup");
  p.add(
    [
      "An HA VM's node-local ZFS disks are copied to its failover node on a schedule, so the VM restarts there with data at most that old.",
      "A replica follows every change, a deletion or a corruption included, and lives in the same lab: it is no backup, and the ledger",
      "does not count it. Its freshness comes from the PVE exporter.",
    ].join("\n"),
  );
  p.add(
    replications.length === 0
      ? "No VM is replicated."
      : table(
          ["id", "VM", "from", "to", "every", "too old after"],
          replications.map((r) => [
            code(r.id),
            code(r.vm),
            code(r.from),
            code(r.to),
            showSeconds(r.minutes * 60),
            showSeconds(r.maxAgeSeconds),
          ]),
        ),
  );
}

/** The ledger page. */
export function renderBackups(ctx: DocsContext): string {
  const from = "backups.md";
  const p = new Page();
  p.heading(1, "Backups");
  p.add(nav(from));
  p.add(
    [
      "Every stateful thing the model has, and its backup. The list is derived from the model (VMs with state, the data hosts' MariaDB,",
      "registry, NFS exports and Samba shares, the Talos clusters' etcd): `npm run check` fails naming any thing without a declaration in",
      "its segment's `backups`. What deploys it: each `vzdump` entry is a Proxmox backup job declared by the stack that owns the lab-wide",
      "Proxmox objects; a `dump` is `services.mysqlBackup` on the data host; `included` data lives on a VM's disks and travels in that",
      "VM's backup. An offsite copy is declared, not deployed: it is configured where the target lives (the NAS).",
    ].join("\n"),
  );
  p.add(
    [
      'Freshness: every backup exports `homelab_backup_last_success_timestamp_seconds{backup="<id>"}` and',
      '`homelab_backup_max_age_seconds{backup="<id>"}` (one and a half schedule intervals). A dump writes them through the node',
      "exporter's textfile collector on the host that runs it (after each success, and `0`, never, at boot until the first success);",
      "a Proxmox job's come from the PVE exporter the monitor polls. The `BackupTooOld` alert fires when the last success is older.",
    ].join("\n"),
  );
  const entries = ctx.segments.flatMap((s) => s.backups?.entries ?? []);
  ledgerSection(p, entries, new Map(entries.map((e) => [e.id, e])));
  jobsSection(p, entries);
  codeSection(p, ctx);
  replicationSection(p, ctx);
  p.heading(2, "Runbooks");
  p.add(RUNBOOKS.map((r) => `- [${r.title}](${relative(from, r.path)}): ${r.summary}`).join("\n"));
  return p.text();
}
