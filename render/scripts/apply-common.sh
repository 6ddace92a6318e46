# shellcheck shell=bash
# --- shared by both commit-confirm scripts (render/scripts/apply-common.sh) --------------------
# The script that follows defines `complain <message>` (how it reports an error on stderr) and
# LOCK_WAIT; EXIT_* are facts above.

# Strict mode and a umask that keeps installed files world-readable, not world-writable.
set -euo pipefail
umask 022

# die <code> <message...>: report through the script's own `complain`, then exit.
die() {
  local code=$1
  shift
  complain "$*"
  exit "$code"
}

# check_id <id>: dies with a usage error unless the id is a safe release directory name.
check_id() {
  [[ "${1:-}" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]] || die "$EXIT_USAGE" "a release id is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (got '${1:-}')"
}

# take_lock <dir> <busy-message>: one command at a time, on descriptor 9 of <dir>/lock, waiting at
# most $LOCK_WAIT seconds; <busy-message> is the error when that runs out.
take_lock() {
  mkdir -p "$1"
  exec 9>"$1/lock"
  flock -w "$LOCK_WAIT" 9 || die "$EXIT_BUSY" "$2"
}

# HOMELAB_ROOT and HOMELAB_STATE must be absolute: a watchdog may run from another working directory.
check_paths() {
  [[ -z "$ROOT" || "$ROOT" == /* ]] || die "$EXIT_USAGE" "HOMELAB_ROOT must be an absolute path, not '$ROOT'"
  [[ "$STATE" == /* ]] || die "$EXIT_USAGE" "HOMELAB_STATE must be an absolute path, not '$STATE'"
}
