# shellcheck shell=bash
# --- a backup's freshness for the node exporter (render/scripts/backup-freshness.sh) -------------
# Writes, per backup of the ledger this host runs, one file of the node exporter's textfile
# collector with two series, labelled backup="<ledger id>":
#   homelab_backup_last_success_timestamp_seconds  when the backup last succeeded (0: never)
#   homelab_backup_max_age_seconds                 how old that may be before it is too old
# The monitor's BackupTooOld alert compares them (docs/backups.md).
#
#   backup-freshness.sh success <ledger id>   the backup just succeeded (its unit's ExecStartPost)
#   backup-freshness.sh seed                  at boot: every backup without a file gets one that says
#                                             "never", so a backup that never ran is too old, not absent
#
# A file is written under a temporary name (without .prom, which the collector skips) and renamed
# over the old one, so the collector never reads half a file.
# HOMELAB_TEXTFILE_DIR replaces TEXTFILE_DIR and HOMELAB_NOW the clock (Unix seconds), for tests.
set -euo pipefail
umask 022

DIR="${HOMELAB_TEXTFILE_DIR:-$TEXTFILE_DIR}"

die() {
  printf 'backup-freshness: %s\n' "$*" >&2
  exit 2
}

# The max age of a backup of BACKUPS ("<ledger id> <seconds>" each), or failure.
max_age_of() {
  local entry
  for entry in "${BACKUPS[@]}"; do
    if [[ "${entry% *}" == "$1" ]]; then
      printf '%s' "${entry##* }"
      return 0
    fi
  done
  return 1
}

# The collector's file of a backup: its ledger id with every other character than [A-Za-z0-9_] as _.
file_of() {
  printf '%s/homelab_backup_%s.prom' "$DIR" "${1//[^A-Za-z0-9_]/_}"
}

# write <ledger id> <last success, Unix seconds>
write() {
  local id=$1 when=$2 max tmp
  max=$(max_age_of "$id") || die "no backup $id on this host (its backups: ${BACKUPS[*]})"
  tmp=$(mktemp "$DIR/.homelab_backup.XXXXXX")
  {
    printf '# HELP homelab_backup_last_success_timestamp_seconds When a backup of the ledger last succeeded (0: never).\n'
    printf '# TYPE homelab_backup_last_success_timestamp_seconds gauge\n'
    printf 'homelab_backup_last_success_timestamp_seconds{backup="%s"} %s\n' "$id" "$when"
    printf '# HELP homelab_backup_max_age_seconds How old the last success of a backup of the ledger may be.\n'
    printf '# TYPE homelab_backup_max_age_seconds gauge\n'
    printf 'homelab_backup_max_age_seconds{backup="%s"} %s\n' "$id" "$max"
  } >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$(file_of "$id")"
}

[[ -d "$DIR" ]] || die "no textfile directory $DIR"
case "${1:-}" in
  success)
    [[ $# -eq 2 ]] || die "usage: backup-freshness.sh success <ledger id> | seed"
    now="${HOMELAB_NOW:-$(date +%s)}"
    [[ "$now" =~ ^[0-9]+$ ]] || die "the time $now is not Unix seconds"
    write "$2" "$now"
    ;;
  seed)
    [[ $# -eq 1 ]] || die "usage: backup-freshness.sh success <ledger id> | seed"
    for entry in "${BACKUPS[@]}"; do
      id="${entry% *}"
      [[ -e "$(file_of "$id")" ]] || write "$id" 0
    done
    ;;
  *)
    die "usage: backup-freshness.sh success <ledger id> | seed"
    ;;
esac
