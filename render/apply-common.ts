/**
 * What the two commit-confirm scripts share: the routers' `apply.sh` (render/router-apply.ts)
 * and the NixOS hosts' `homelab-apply` (render/nixos-apply.ts). Their state machines differ
 * (files and routes against NixOS generations); their contract with the Release component
 * and the tests does not: the exit codes, the default confirm timeout, the release-id rule,
 * one command at a time under a lock, and where state lives.
 *
 * The bash snippets below are template text: `\${` is bash's `${`, `\\` a backslash.
 */

/**
 * Exit codes of both apply scripts (the Release component and the tests rely on them): 0 done;
 * 1 anything unexpected; 2 usage; 3 a check failed and nothing was changed (a router's check,
 * a NixOS release not uploaded); 4 the release is not pending (rolled back, superseded or
 * unknown); 5 installing, building or activating failed (the previous state is back); 6
 * another run held the lock too long.
 */
export const APPLY_EXIT = { ok: 0, failed: 1, usage: 2, check: 3, notPending: 4, install: 5, busy: 6 } as const;

/** Seconds a box waits for the confirm when the caller gives none. */
export const DEFAULT_CONFIRM_TIMEOUT_SECONDS = 120;

/** Where the lab's state lives on every box (HOMELAB_STATE overrides it in tests). */
export const HOMELAB_STATE_DIR = "/var/lib/homelab";

/** Strict mode and a umask that keeps installed files world-readable, not world-writable. */
export const BASH_STRICT = `set -euo pipefail
umask 022`;

/** `EXIT_*` variables with the values of {@link APPLY_EXIT}, for `die "$EXIT_..."`. */
export const BASH_EXIT_CODES = `EXIT_USAGE=${APPLY_EXIT.usage}
EXIT_CHECK=${APPLY_EXIT.check}
EXIT_NOT_PENDING=${APPLY_EXIT.notPending}
EXIT_INSTALL=${APPLY_EXIT.install}
EXIT_BUSY=${APPLY_EXIT.busy}`;

/** `die <code> <message...>`: report through the script's own stderr function (`report`, a bash command using `$*`), then exit. */
export function bashDie(report: string): string {
  return `die() {
  local code=$1
  shift
  ${report}
  exit "$code"
}`;
}

/** `check_id <id>`: dies with a usage error unless the id is a safe release directory name. */
export const BASH_CHECK_ID = `check_id() {
  [[ "\${1:-}" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]] || die "$EXIT_USAGE" "a release id is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (got '\${1:-}')"
}`;

/**
 * `lock`: one command at a time, on descriptor 9 of `<dir>/lock`, waiting at most `$LOCK_WAIT`
 * seconds; `busy` is the message when that runs out.
 */
export function bashLock(dir: string, busy: string): string {
  return `lock() {
  mkdir -p "${dir}"
  exec 9>"${dir}/lock"
  flock -w "$LOCK_WAIT" 9 || die "$EXIT_BUSY" "${busy}"
}`;
}

/** HOMELAB_ROOT and HOMELAB_STATE must be absolute: a watchdog may run from another working directory. */
export const BASH_PATH_CHECKS = `[[ -z "$ROOT" || "$ROOT" == /* ]] || die "$EXIT_USAGE" "HOMELAB_ROOT must be an absolute path, not '$ROOT'"
[[ "$STATE" == /* ]] || die "$EXIT_USAGE" "HOMELAB_STATE must be an absolute path, not '$STATE'"`;
