/**
 * What a NixOS host runs for the backup ledger: a data host's MariaDB dump (services.mysqlBackup,
 * its calendar from the ledger), and for every backup a host runs, the freshness series the
 * "backup too old" alert reads, written by render/scripts/backup-freshness.sh into the node
 * exporter's textfile directory: after each success (ExecStartPost of the backup's unit, as root:
 * the `+` prefix) and at boot for any backup that has no file yet (homelab-backup-freshness).
 */
import { FRESHNESS_METRICS, type MysqlDumpPlan, TEXTFILE_DIR } from "../model/backup/plan";
import { renderScript, type ShellFact } from "./apply-common";
import { generatedHeader } from "./header";
import { NixAttrs, NixInterp, NixRaw, nixPath, type NixSection } from "./nix";

/** The freshness script's companion file name. */
export const FRESHNESS_SCRIPT = "backup-freshness.sh";
/** The unit that seeds every backup's freshness file at boot. */
export const FRESHNESS_SEED_UNIT = "homelab-backup-freshness";
/** The unit services.mysqlBackup runs the dump in. */
export const MYSQL_BACKUP_UNIT = "mysql-backup";

/** One backup a host runs: its ledger id and the age after which it is too old. */
export interface HostBackup {
  readonly id: string;
  readonly maxAgeSeconds: number;
}

/** A ledger id as the script and the series carry it: no quote, backslash, space or newline can reach a label value. */
function checkedId(id: string): string {
  if (!/^[A-Za-z0-9_./:-]+$/.test(id)) throw new Error(`bug: ledger id ${JSON.stringify(id)} cannot be a label value here`);
  return id;
}

/** The host's freshness script: its backups as facts, then the fixed body. */
export function renderFreshnessScript(host: string, backups: readonly HostBackup[]): string {
  const facts: ShellFact[] = [
    { name: "TEXTFILE_DIR", value: TEXTFILE_DIR, comment: "The node exporter's --collector.textfile.directory." },
    {
      name: "BACKUPS",
      comment: `<ledger id> <max age in seconds>: the series ${FRESHNESS_METRICS.lastSuccess} and ${FRESHNESS_METRICS.maxAge}.`,
      value: backups.map((b) => ({ value: `${checkedId(b.id)} ${b.maxAgeSeconds}` })),
    },
  ];
  return renderScript(generatedHeader("#", `${FRESHNESS_SCRIPT} of ${host}`, "render/backups.ts"), facts, "backup-freshness");
}

/** `${pkgs.bash}/bin/bash ${./backup-freshness.sh} <args>`, with `+` to run as root whatever the unit's user. */
function freshnessCommand(args: string, root: boolean): NixInterp {
  return new NixInterp([...(root ? ["+"] : []), new NixRaw("pkgs.bash"), "/bin/bash ", nixPath(FRESHNESS_SCRIPT), ` ${args}`]);
}

/** The directory the node exporter reads `*.prom` from, for systemd-tmpfiles. */
export const TEXTFILE_TMPFILES = `d ${TEXTFILE_DIR} 0755 root root -`;

/** The boot-time seed of every backup's freshness file. */
export function freshnessSection(backups: readonly HostBackup[]): NixSection {
  return {
    comment: [
      "Backup freshness for the node exporter's textfile collector: each backup's unit writes its",
      `last success after it succeeds; at boot every backup without a file gets "never" (0), so a`,
      "backup that never ran is too old at once rather than missing (docs/backups.md).",
    ],
    entries: [
      [
        `systemd.services.${FRESHNESS_SEED_UNIT}`,
        new NixAttrs([
          [["description"], `Backup freshness files for ${backups.map((b) => b.id).join(", ")}`],
          [["wantedBy"], ["multi-user.target"]],
          [["after"], ["systemd-tmpfiles-setup.service"]],
          [
            ["serviceConfig"],
            new NixAttrs([
              [["Type"], "oneshot"],
              [["RemainAfterExit"], true],
              [["ExecStart"], freshnessCommand("seed", false)],
            ]),
          ],
        ]),
      ],
    ],
  };
}

/** A data host's MariaDB dump: services.mysqlBackup on the ledger's calendar, its success recorded for the alert. */
export function mysqlBackupSection(dump: MysqlDumpPlan): NixSection {
  return {
    comment: [
      `MariaDB dump (${dump.ledgerId}): every database, one consistent transaction each, gzipped to`,
      `${dump.location}/<database>.gz and replaced each run; the VM's own backup keeps its copies.`,
    ],
    entries: [
      ["services.mysqlBackup.enable", true],
      ["services.mysqlBackup.databases", [...dump.databases]],
      ["services.mysqlBackup.calendar", dump.calendar],
      ["services.mysqlBackup.location", dump.location],
      ["services.mysqlBackup.singleTransaction", true],
      [`systemd.services.${MYSQL_BACKUP_UNIT}.after`, ["mysql.service"]],
      [
        `systemd.services.${MYSQL_BACKUP_UNIT}.serviceConfig.ExecStartPost`,
        [freshnessCommand(`success ${checkedId(dump.ledgerId)}`, true)],
      ],
    ],
  };
}
