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

# shellcheck shell=bash
# --- a NixOS host's commit-confirm script (render/scripts/nixos-apply.sh) -----------------------
# Installed as $NAME, the deploy identity's only sudo rule; usage() below lists its commands.
#
# A new apply while another release is pending rolls that one back first (superseded).
# Without a confirm the watchdog re-activates the generation that ran before (the system
# profile, which "test" never changes) and restores its files. A reboot before the confirm
# boots that generation too; the next command notices the watchdog is gone and records the
# rollback.
#
# Tested off-NixOS: the tests run this script with HOMELAB_ROOT pointing at a scratch tree and
# stand-ins for nixos-rebuild, nix-env and switch-to-configuration. Not testable there: a real
# build and activation (and what activation does to a live SSH session), sudo's rule, the
# garbage-collection root, and a real reboot.
#
# HOMELAB_ROOT prefixes every system path; HOMELAB_STATE replaces $STATE_DIR.
# Exit status: 1 error, else EXIT_* above: usage; check (the release is missing); not pending
# (rolled back); install (the build failed and nothing was activated, or activation failed and
# was rolled back); busy (the lock was held too long).

ROOT="${HOMELAB_ROOT:-}"
STATE="${HOMELAB_STATE:-$ROOT$STATE_DIR}"
RELEASES="$STATE/releases"
BOOK="$STATE/apply"
CONFIG_DIR="$ROOT$NIXOS_CONFIG_DIR"
PROFILE="$ROOT/nix/var/nix/profiles/system"
CURRENT="$ROOT/run/current-system"
# A rollback holds the lock through one activation; nothing else holds it for long.
LOCK_WAIT=600
SELF="$(readlink -f "$0")"
# sudo and non-interactive SSH sessions bring a minimal environment: put NixOS's own tools first
# (not under HOMELAB_ROOT, where the tests' stand-ins must win), and nixpkgs on NIX_PATH.
if [[ -z "$ROOT" ]]; then export PATH="/run/wrappers/bin:/run/current-system/sw/bin:${PATH:-/usr/bin:/bin}"; fi
export NIX_PATH="${NIX_PATH:-nixpkgs=/nix/var/nix/profiles/per-user/root/channels/nixos}"

log() { printf '%s: %s\n' "$NAME" "$*" >&2; }
complain() { log "$*"; }
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }

# One command at a time: apply, confirm, rollback and the watchdog all take this lock.
lock() { take_lock "$BOOK" "another $NAME command held $BOOK/lock for $LOCK_WAIT s"; }
unlock() {
  flock -u 9
  exec 9>&-
}

pending_id() { cat "$BOOK/pending" 2>/dev/null || true; }

watchdog_alive() {
  local pid
  pid="$(cat "$BOOK/watchdog-pid" 2>/dev/null || true)"
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
  # The pid may have been reused after a reboot: it must still be this script's watchdog.
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- " watchdog "
}

kill_watchdog() {
  if watchdog_alive; then kill "$(cat "$BOOK/watchdog-pid")" 2>/dev/null || true; fi
}

clear_pending() {
  rm -f "$BOOK/pending" "$BOOK/pending-system" "$BOOK/previous-system" "$BOOK/watchdog-pid" "$BOOK/deadline" "$BOOK/result"
  rm -rf "$BOOK/previous-files"
}

# Re-activate the system that ran before the pending release and restore its files.
# The caller holds the lock.
roll_back_locked() {
  local id="$1" why="$2" previous
  previous="$(cat "$BOOK/previous-system")"
  log "rolling back release $id: $why"
  rm -rf "$CONFIG_DIR"
  if [[ -d "$BOOK/previous-files" ]]; then cp -a "$BOOK/previous-files" "$CONFIG_DIR"; fi
  if ! "$previous/bin/switch-to-configuration" test; then
    log "re-activating $previous failed; it is still the boot default, so a reboot restores it"
  fi
  printf 'rolled-back %s %s\n' "$(now)" "$why" >"$BOOK/result-$id"
  clear_pending
}

# A pending release whose watchdog is gone (the host rebooted, or someone killed it) is
# rolled back now rather than left pending forever. The caller holds the lock.
reconcile_locked() {
  local id
  id="$(pending_id)"
  if [[ -n "$id" ]] && ! watchdog_alive; then
    roll_back_locked "$id" "its watchdog is gone (reboot or kill) and it was never confirmed"
  fi
}

cmd_apply() {
  local id="${1:-}" timeout="${2:-$DEFAULT_TIMEOUT}" src previous pending new
  check_id "$id"
  if ! [[ "$timeout" =~ ^[0-9]{1,5}$ ]] || ((timeout < 1 || timeout > 86400)); then
    die "$EXIT_USAGE" "the timeout is 1-86400 seconds (got '$timeout')"
  fi
  src="$RELEASES/$id"
  [[ -f "$src/configuration.nix" ]] || die "$EXIT_CHECK" "release $id is not uploaded: $src/configuration.nix is missing"
  lock
  reconcile_locked
  pending="$(pending_id)"
  if [[ -n "$pending" ]]; then
    # Start from a confirmed state: the snapshot below must never be an unconfirmed release.
    log "release $pending is still pending; rolling it back first"
    kill_watchdog
    roll_back_locked "$pending" "superseded by release $id"
  fi
  previous="$(readlink -f "$PROFILE")" || die 1 "there is no system profile at $PROFILE"
  [[ -x "$previous/bin/switch-to-configuration" ]] || die 1 "$previous is not a NixOS system (no bin/switch-to-configuration)"

  rm -rf "$BOOK/previous-files" "$BOOK/result-$id" "$BOOK/result"
  if [[ -d "$CONFIG_DIR" ]]; then cp -a "$CONFIG_DIR" "$BOOK/previous-files"; fi
  # A fresh directory swapped in, so no file of an older release lingers.
  mkdir -p "$(dirname "$CONFIG_DIR")"
  rm -rf "$CONFIG_DIR.new"
  cp -a "$src" "$CONFIG_DIR.new"
  rm -rf "$CONFIG_DIR"
  mv "$CONFIG_DIR.new" "$CONFIG_DIR"

  # Build first: nothing changes on the host yet, so a build failure needs no rollback, and
  # the confirm deadline does not tick away while packages download. The result link in the
  # bookkeeping directory keeps the new system from garbage collection until the confirm.
  log "building release $id"
  if ! (cd "$BOOK" && nixos-rebuild build -I "nixos-config=$CONFIG_DIR/configuration.nix"); then
    rm -rf "$CONFIG_DIR"
    if [[ -d "$BOOK/previous-files" ]]; then cp -a "$BOOK/previous-files" "$CONFIG_DIR"; fi
    rm -rf "$BOOK/previous-files"
    printf 'failed %s nixos-rebuild build failed; nothing was activated\n' "$(now)" >"$BOOK/result-$id"
    die "$EXIT_INSTALL" "release $id failed to build; nothing was activated"
  fi
  new="$(readlink -f "$BOOK/result")"
  printf '%s\n' "$previous" >"$BOOK/previous-system"
  printf '%s\n' "$new" >"$BOOK/pending-system"
  printf '%s\n' "$id" >"$BOOK/pending"

  # Arm the watchdog before anything is activated: in its own session, detached from this
  # SSH connection, so neither a dropped connection nor the activation can take it along.
  setsid "$SELF" watchdog "$id" "$timeout" </dev/null >>"$BOOK/watchdog.log" 2>&1 9>&- &
  printf '%s\n' "$!" >"$BOOK/watchdog-pid"
  printf '%s\n' "$(($(date +%s) + timeout))" >"$BOOK/deadline"

  # Activate without making it the boot default (what "nixos-rebuild test" does). The lock is
  # held throughout, so a confirm or the watchdog sees either the old or the new system.
  log "activating release $id (running, not the boot default)"
  if ! "$new/bin/switch-to-configuration" test; then
    kill_watchdog
    roll_back_locked "$id" "activation failed"
    die "$EXIT_INSTALL" "release $id failed to activate and was rolled back"
  fi
  unlock
  log "release $id is active; confirm it within ${timeout}s from a new SSH connection: $NAME confirm $id"
}

cmd_confirm() {
  local id="${1:-}" result new
  check_id "$id"
  lock
  reconcile_locked
  result="$(cat "$BOOK/result-$id" 2>/dev/null || true)"
  case "$result" in
    rolled-back*)
      log "release $id was rolled back and is not running ($result)"
      log "nothing was made permanent; once a fresh SSH connection reaches this host, run pulumi up again: it applies release $id again"
      exit "$EXIT_NOT_PENDING"
      ;;
    confirmed*)
      log "release $id is already confirmed ($result)"
      exit 0
      ;;
  esac
  [[ "$(pending_id)" == "$id" ]] || die "$EXIT_NOT_PENDING" "release $id is not waiting for a confirm (pending: $(pending_id))"
  new="$(cat "$BOOK/pending-system")"
  [[ "$(readlink -f "$CURRENT")" == "$new" ]] || die 1 "the running system is not the one release $id activated ($new); not confirming"
  # Make exactly the tested system permanent: no rebuild that could differ from what ran.
  nix-env -p "$PROFILE" --set "$new"
  "$new/bin/switch-to-configuration" boot
  printf 'confirmed %s %s\n' "$(now)" "$new" >"$BOOK/result-$id"
  kill_watchdog
  clear_pending
  log "release $id confirmed: $new is the boot default"
}

cmd_rollback() {
  local id="${1:-}"
  check_id "$id"
  lock
  [[ "$(pending_id)" == "$id" ]] || die "$EXIT_NOT_PENDING" "release $id is not pending (pending: $(pending_id)); a confirmed release is undone by applying the previous one"
  kill_watchdog
  roll_back_locked "$id" "rolled back by hand"
}

# Sleep in the background so a confirm's TERM ends the watchdog at once, then roll back
# unless the release was confirmed meanwhile.
cmd_watchdog() {
  local id="$1" timeout="$2" sleeper
  sleep "$timeout" &
  sleeper=$!
  trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
  wait "$sleeper" || true
  trap - TERM
  # The watchdog never gives up on the lock: whatever holds it, the rollback must still happen.
  mkdir -p "$BOOK"
  exec 9>"$BOOK/lock"
  flock 9
  if [[ "$(pending_id)" == "$id" ]]; then roll_back_locked "$id" "not confirmed within ${timeout}s"; fi
}

cmd_status() {
  local id f
  printf 'running:      %s\n' "$(readlink -f "$CURRENT" || echo unknown)"
  printf 'boot default: %s\n' "$(readlink -f "$PROFILE" || echo unknown)"
  id="$(pending_id)"
  if [[ -n "$id" ]]; then
    printf 'pending:      %s (rolls back at %s unless confirmed; watchdog %s)\n' "$id" \
      "$(date -u -d "@$(cat "$BOOK/deadline" 2>/dev/null || echo 0)" +%Y-%m-%dT%H:%M:%SZ)" \
      "$(watchdog_alive && echo armed || echo gone)"
  else
    printf 'pending:      none\n'
  fi
  for f in "$BOOK"/result-*; do
    [[ -e "$f" ]] || continue
    printf 'release %s: %s\n' "${f##*/result-}" "$(cat "$f")"
  done
}

usage() {
  cat >&2 <<EOF
$NAME apply <release-id> [timeoutSeconds]
    Installs $STATE_DIR/releases/<release-id>/ as $NIXOS_CONFIG_DIR/, builds it
    ("nixos-rebuild build"), arms a watchdog, then activates it as "nixos-rebuild test"
    would ("switch-to-configuration test"): running, but not the boot default.
$NAME confirm <release-id>
    From a NEW SSH connection (proof the host is still reachable): disarms the watchdog and
    makes exactly the activated system the boot default. Exit $EXIT_NOT_PENDING if it was already rolled back.
$NAME rollback <release-id>     roll back a pending release now
$NAME status                    what runs, what boots, what is pending
EOF
}

check_paths
[[ -n "$ROOT" || "$(id -u)" -eq 0 ]] || die 1 "run as root: sudo $NAME $*"
case "${1:-}" in
  apply) shift; cmd_apply "$@" ;;
  confirm) shift; cmd_confirm "$@" ;;
  rollback) shift; cmd_rollback "$@" ;;
  status) cmd_status ;;
  watchdog) shift; cmd_watchdog "$@" ;;
  *) usage; exit "$EXIT_USAGE" ;;
esac
