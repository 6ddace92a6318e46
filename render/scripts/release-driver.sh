# shellcheck shell=bash
# --- the Release component's one command (render/scripts/release-driver.sh) ------------------------
# Runs on the machine that runs `pulumi up`, as the create command of one command:local:Command
# (components/release.ts). It applies a release over one SSH connection, then confirms it over a
# second, fresh one, and exits 0 only once the box has confirmed it. Every other outcome exits
# non-zero with what happened and what to do.
#
# Why one command: a Command whose create fails is not recorded in the stack's state (the command
# provider 1.2.1 returns no partial state), so the next `pulumi up` runs this whole command again:
# a release the box rolled back is applied again, with no --replace. With the apply and the
# confirm as two resources, the recorded apply was never re-run and the confirm failed forever.
#
# Both connections use OpenSSH with this file's own client configuration only (-F): the box's and
# the jump host's host keys pinned (HostKeyAlias, StrictHostKeyChecking), the deploy identity from
# the ssh-agent at SSH_AUTH_SOCK (or the user's default identity files), nothing forwarded.
export LC_ALL=C
set -uo pipefail

# Seconds, after the box's deadline, that the confirm keeps trying: the box's watchdog needs a
# moment to restore the previous state, and a path that comes back then still gets the box's answer.
GRACE=5

say() { printf 'homelab release %s on %s: %s\n' "$RELEASE" "$BOX" "$*"; }
fail() {
  local line
  printf 'homelab release %s on %s FAILED\n' "$RELEASE" "$BOX" >&2
  for line in "$@"; do printf '  %s\n' "$line" >&2; done
  exit 1
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/homelab-release.XXXXXX")" || fail "cannot make a temporary directory for the SSH client configuration"
trap 'rm -rf "$WORK"' EXIT

# The client configuration: the box as "homelab-box", its jump host (if any) as "homelab-jump".
{
  printf 'homelab-box %s\n' "$BOX_HOST_KEY"
  if [[ -n $JUMP_HOST ]]; then printf 'homelab-jump %s\n' "$JUMP_HOST_KEY"; fi
} >"$WORK/known_hosts"
{
  printf 'Host homelab-box\n  HostName %s\n  Port %s\n  User %s\n  HostKeyAlias homelab-box\n' "$BOX_HOST" "$BOX_PORT" "$BOX_USER"
  if [[ -n $JUMP_HOST ]]; then
    # ProxyCommand, not ProxyJump: the inner ssh gets this same configuration explicitly.
    printf '  ProxyCommand ssh -F %s -W [%%h]:%%p homelab-jump\n' "$WORK/config"
    # shellcheck disable=SC2153 # JUMP_PORT is a fact, like every upper-case name here
    printf 'Host homelab-jump\n  HostName %s\n  Port %s\n  User %s\n  HostKeyAlias homelab-jump\n' "$JUMP_HOST" "$JUMP_PORT" "$JUMP_USER"
  fi
  printf 'Host *\n'
  printf '  %s\n' "BatchMode yes" "StrictHostKeyChecking yes" "UserKnownHostsFile $WORK/known_hosts" \
    "GlobalKnownHostsFile /dev/null" "UpdateHostKeys no" "CheckHostIP no" "PasswordAuthentication no" \
    "KbdInteractiveAuthentication no" "ForwardAgent no" "ForwardX11 no" "ClearAllForwardings yes" "RequestTTY no" \
    "ControlMaster no" "ControlPath none" "ConnectTimeout 15" "ServerAliveInterval 15" "ServerAliveCountMax 4"
} >"$WORK/config"

# One new SSH connection that runs $1 on the box; its exit status is the command's, 255 for SSH's own failure.
on_box() { ssh -n -F "$WORK/config" homelab-box "$1"; }

# --- 1. apply, over the first connection ------------------------------------------------------------
say "applying over SSH (the box checks it, arms its watchdog for $TIMEOUT s, then installs it)"
on_box "$APPLY"
rc=$?
apply_rc=$rc
applied_at=$(date +%s)
case $rc in
  0) ;;
  255) say "the applying SSH connection failed or was cut (ssh exit 255); asking the box over a new connection whether the release is pending" ;;
  *)
    fail "what happened: the box refused or failed to apply it (exit $rc; its reason is above). If it installed anything, it restored the previous state itself." \
      "what to do: fix what it names, then run pulumi up again. Nothing was recorded for this release, so the next pulumi up applies it again."
    ;;
esac

# --- 2. confirm, over a fresh connection -----------------------------------------------------------
# The proof the release did not lock the deployer out: a connection opened after the install.
attempt=0
while :; do
  attempt=$((attempt + 1))
  on_box "$CONFIRM"
  rc=$?
  if ((rc == 0)); then
    say "confirmed over a fresh SSH connection (attempt $attempt); it is the box's current release"
    exit 0
  fi
  if ((rc != 255)); then break; fi
  if (($(date +%s) >= applied_at + TIMEOUT + GRACE)); then break; fi
  sleep 1
done

until_when="$(date -u -d "@$((applied_at + TIMEOUT))" +%Y-%m-%dT%H:%M:%SZ)"
if ((rc == 255 && apply_rc == 255)); then
  fail "what happened: no SSH connection to the box worked: the apply's failed or was cut, and no confirm got through ($attempt attempts, until $TIMEOUT s later). If the apply reached the box, its watchdog rolls the release back by itself at about $until_when." \
    "what to do: make the box reachable over SSH from here (the path ${JUMP_HOST:+through the jump host $JUMP_HOST }to $BOX_HOST:$BOX_PORT, the deploy key in the ssh-agent), then run pulumi up again. Nothing was recorded for this release, so the next pulumi up applies it again; no --replace is needed."
elif ((rc == 255)); then
  fail "what happened: after the apply, no fresh SSH connection reached the box ($attempt attempts, until $TIMEOUT s past the apply), so nothing confirmed it. The box's watchdog rolls it back by itself at about $until_when: the previous configuration is live again." \
    "what to do: make the box reachable again over SSH from here (the path ${JUMP_HOST:+through the jump host $JUMP_HOST }to $BOX_HOST:$BOX_PORT; if it is this release's own firewall or sshd change that shuts it, fix that in the lab first), then run pulumi up again. Nothing was recorded for this release, so the next pulumi up applies it again; no --replace is needed."
elif [[ $rc == "$NOT_PENDING" && $apply_rc == 255 ]]; then
  fail "what happened: the box says the release is not pending (its answer is above): the apply never reached it, or the box rolled it back before it was confirmed." \
    "what to do: make sure a new SSH connection from here reaches the box (${JUMP_HOST:+through the jump host $JUMP_HOST, }$BOX_HOST:$BOX_PORT), then run pulumi up again. Nothing was recorded for this release, so the next pulumi up applies it again; no --replace is needed."
elif [[ $rc == "$NOT_PENDING" ]]; then
  fail "what happened: the box rolled the release back before it was confirmed (its time and reason are above): no fresh SSH connection confirmed it within $TIMEOUT s of the apply. The previous configuration is live." \
    "what to do: make sure a new SSH connection from here reaches the box (${JUMP_HOST:+through the jump host $JUMP_HOST, }$BOX_HOST:$BOX_PORT) and that this release does not shut it, raise homelab:confirmTimeoutSeconds if the box needs longer, then run pulumi up again. Nothing was recorded for this release, so the next pulumi up applies it again; no --replace is needed."
else
  fail "what happened: the confirm failed on the box (exit $rc; its reason is above); the box's watchdog rolls the release back at about $until_when unless it is confirmed." \
    "what to do: fix what it names, then run pulumi up again. Nothing was recorded for this release, so the next pulumi up applies it again."
fi
