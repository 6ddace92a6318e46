# shellcheck shell=bash
# --- a router's apply.sh (render/scripts/router-apply.sh) --------------------------------------
# The commit-confirm procedure a router runs for each release. The Release component uploads a
# release directory over SSH and runs, as root:
#
#   apply.sh apply <release-id> [timeoutSeconds]   check, snapshot, arm the watchdog, install
#   apply.sh confirm <release-id>                   over a NEW connection: keep it
#   apply.sh rollback [release-id]                  restore the snapshot now
#   apply.sh status                                 current, pending and last rolled-back release
#   apply.sh boot                                   at boot (homelab-router.service): roll back a pending release's files
#
# Exit codes are EXIT_* above: a check failed and nothing was changed, the release is not
# pending, installing failed and the previous state was restored, the lock was held too long.
#
# Environment, so the same script runs in a test network namespace without touching the host:
# HOMELAB_ROOT prefixes every installed path (default empty, i.e. /), HOMELAB_STATE is where
# snapshots and markers live (default $HOMELAB_ROOT$STATE_DIR), HOMELAB_SERVICES=none skips the
# dnsmasq restart and sshd reload (default systemd). The ruleset, routes, static neighbours and
# SYSCTLS (IPv4 forwarding, IPv6 off) always act on the network namespace the script runs in.
#
# The watchdog is armed BEFORE anything is installed: if the SSH session dies half-way, the box
# still restores itself. It runs detached (systemd-run when systemd manages services, else
# setsid+nohup with every inherited descriptor closed, so neither the SSH session nor the lock is
# held open by it) and rolls back only if, under the lock, the very attempt it guards is still
# pending. It never gives up on the lock: it waits as long as it takes, saying so every LOCK_WAIT s.
#
# At boot the unit homelab-router.service (render/router-boot.ts) turns forwarding off, runs
# "apply.sh boot" from its installed copy, loads /etc/nftables.conf and only then turns forwarding
# on. "boot" finds a release still pending (the box went down before its confirm or its watchdog)
# and puts back the files of the state before it, so a lockout never outlives a power cut.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

# --- paths and environment ---------------------------------------------------------------
RELEASE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="${HOMELAB_ROOT:-}"
ROOT="${ROOT%/}"
STATE="${HOMELAB_STATE:-$ROOT$STATE_DIR}"
SERVICES="${HOMELAB_SERVICES:-systemd}"
MANAGED=("$KEYS_DIR" "$SYSCTL_FILE" "$BOOT_UNIT_LINK")
if [[ -n $TUNNEL_IFACE ]]; then MANAGED+=("$TUNNEL_UNIT_LINK"); fi
for entry in "${INSTALL[@]}" "${PRIVATE_INSTALL[@]}"; do MANAGED+=("${entry#*:}"); done

# Longest wait for the lock. Every step under it is bounded, so this is never reached by a healthy run.
# HOMELAB_LOCK_WAIT shortens it in tests.
LOCK_WAIT="${HOMELAB_LOCK_WAIT:-300}"

say() { printf 'apply.sh[%s]: %s\n' "$ROUTER" "$*"; }
warn() { printf 'apply.sh[%s]: %s\n' "$ROUTER" "$*" >&2; }
complain() { warn "error: $*"; }
usage() {
  cat >&2 <<EOF
usage: apply.sh apply <release-id> [timeout-seconds]
       apply.sh confirm <release-id>
       apply.sh rollback [release-id]
       apply.sh status
       apply.sh boot
environment: HOMELAB_ROOT (default /), HOMELAB_STATE (default \$HOMELAB_ROOT$STATE_DIR),
             HOMELAB_SERVICES=systemd|none (default systemd), HOMELAB_LOCK_WAIT (default 300 s)
EOF
  exit "$EXIT_USAGE"
}
when() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

lock() { take_lock "$STATE" "another apply.sh has held $STATE/lock for $LOCK_WAIT s"; }
read_state() {
  if [[ -f $STATE/$1 ]]; then cat "$STATE/$1"; fi
}
write_state() {
  printf '%s\n' "$2" >"$STATE/$1.tmp"
  mv -f "$STATE/$1.tmp" "$STATE/$1"
}

# --- (a) check everything before touching anything ------------------------------------------
check_release() {
  local problems=() out f tool iface
  for f in nftables.conf dnsmasq.conf sshd_config homelab-routes "$BOOT_UNIT"; do
    [[ -f $RELEASE_DIR/$f ]] || problems+=("$f is missing from $RELEASE_DIR")
  done
  if ! compgen -G "$RELEASE_DIR/authorized_keys.d/*" >/dev/null; then
    problems+=("authorized_keys.d/ is missing or empty: nobody could log in")
  fi
  for tool in nft ip flock setsid dnsmasq sshd ssh-keygen; do
    command -v "$tool" >/dev/null || problems+=("$tool is not installed")
  done
  if [[ -n $TUNNEL_IFACE ]]; then
    for f in "$TUNNEL_CONF" "$TUNNEL_UNIT"; do
      [[ -f $RELEASE_DIR/$f ]] || problems+=("$f is missing from $RELEASE_DIR")
    done
    [[ -s $RELEASE_DIR/$TUNNEL_KEY ]] || problems+=("$TUNNEL_KEY (the tunnel's private key, the stack's secret homelab:wireguardKey) is missing from $RELEASE_DIR")
    for tool in wg wg-quick; do
      command -v "$tool" >/dev/null || problems+=("$tool is not installed (apt-get install wireguard-tools)")
    done
  fi
  case $SERVICES in
    systemd)
      if [[ ! -d /run/systemd/system ]] || ! command -v systemctl >/dev/null; then
        problems+=("HOMELAB_SERVICES=systemd but systemd is not running here; set HOMELAB_SERVICES=none")
      fi
      ;;
    none) ;;
    *) problems+=("HOMELAB_SERVICES must be systemd or none, not '$SERVICES'") ;;
  esac
  for iface in "$WAN_IFACE" "$LAN_IFACE"; do
    ip link show dev "$iface" >/dev/null 2>&1 || problems+=("interface $iface does not exist")
  done
  if ((${#problems[@]} == 0)); then
    out=$(nft -c -f "$RELEASE_DIR/nftables.conf" 2>&1) || problems+=("nftables.conf fails nft -c: $out")
    out=$(dnsmasq --test -C "$RELEASE_DIR/dnsmasq.conf" 2>&1) || problems+=("dnsmasq.conf fails dnsmasq --test: $out")
    out=$(sshd -t -f "$RELEASE_DIR/sshd_config" 2>&1) || problems+=("sshd_config fails sshd -t: $out")
    if command -v systemd-analyze >/dev/null; then
      out=$(systemd-analyze verify --man=no "$RELEASE_DIR/$BOOT_UNIT" 2>&1) || problems+=("$BOOT_UNIT fails systemd-analyze verify: $out")
    fi
    for f in "$RELEASE_DIR"/authorized_keys.d/*; do
      out=$(ssh-keygen -l -f "$f" 2>&1) || problems+=("authorized_keys.d/${f##*/} has no valid key: $out")
    done
    if [[ -n $TUNNEL_IFACE ]]; then check_tunnel; fi
  fi
  if ((${#problems[@]} > 0)); then
    warn "check failed; nothing was changed:"
    printf '  - %s\n' "${problems[@]}" >&2
    return 1
  fi
  say "checked nftables.conf (nft -c), dnsmasq.conf (dnsmasq --test), sshd_config (sshd -t), $BOOT_UNIT and authorized_keys.d${TUNNEL_IFACE:+, $TUNNEL_CONF (wg-quick strip) and the tunnel key}"
}

# The tunnel's files, adding to check_release's problems: wg-quick parses the file, and the
# private key is the private half of the model's public key (neither key is ever printed).
check_tunnel() {
  local out public
  out=$(wg-quick strip "$RELEASE_DIR/$TUNNEL_CONF" 2>&1 >/dev/null) || problems+=("$TUNNEL_CONF fails wg-quick strip: $out")
  if public=$(wg pubkey <"$RELEASE_DIR/$TUNNEL_KEY" 2>/dev/null); then
    [[ $public == "$TUNNEL_PUBLIC_KEY" ]] || problems+=("$TUNNEL_KEY is not the private half of router.tunnel.publicKey $TUNNEL_PUBLIC_KEY (its public half is $public): set the stack's homelab:wireguardKey to the key that public key was made from")
  else
    problems+=("$TUNNEL_KEY is not a WireGuard private key (wg pubkey refuses it): set the stack's homelab:wireguardKey to the output of wg genkey")
  fi
  if command -v systemd-analyze >/dev/null; then
    out=$(systemd-analyze verify --man=no "$RELEASE_DIR/$TUNNEL_UNIT" 2>&1) || problems+=("$TUNNEL_UNIT fails systemd-analyze verify: $out")
  fi
}

# --- (b) snapshot and restore --------------------------------------------------------------------
route_dests() {
  local entry
  for entry in "${ROUTES[@]}"; do printf '%s\n' "${entry%% *}"; done
  if [[ -f $STATE/routes ]]; then cat "$STATE/routes"; fi
}

# "<address> <interface>" of every neighbour this release or the one before pins.
neighbour_keys() {
  local entry addr dev
  for entry in "${NEIGHBOURS[@]}"; do
    read -r addr _ dev <<<"$entry"
    printf '%s %s\n' "$addr" "$dev"
  done
  if [[ -f $STATE/neighbours ]]; then cat "$STATE/neighbours"; fi
}

# The live ruleset, forwarding, every file this script installs, and the routes and neighbours it manages.
snapshot() {
  local snap=$1 rel dest addr dev
  rm -rf "$snap"
  mkdir -p "$snap/files"
  nft list ruleset >"$snap/ruleset.nft"
  read_sysctls >"$snap/sysctls"
  : >"$snap/absent"
  for rel in "${MANAGED[@]}"; do
    if [[ -e $ROOT$rel || -L $ROOT$rel ]]; then
      mkdir -p "$snap/files${rel%/*}"
      cp -a "$ROOT$rel" "$snap/files$rel"
    else
      printf '%s\n' "$rel" >>"$snap/absent"
    fi
  done
  route_dests | sort -u >"$snap/route-dests"
  while read -r dest; do
    ip -4 route show exact "$dest"
  done <"$snap/route-dests" >"$snap/routes"
  if [[ -f $STATE/routes ]]; then cp "$STATE/routes" "$snap/managed-routes"; fi
  neighbour_keys | sort -u >"$snap/neighbour-keys"
  # Only permanent entries are state: a learned one comes back by itself.
  while read -r addr dev; do
    ip -4 neigh show to "$addr" dev "$dev" nud permanent | awk -v dev="$dev" '$2 == "lladdr" { print $1, $3, dev }'
  done <"$snap/neighbour-keys" >"$snap/neighbours"
  if [[ -f $STATE/neighbours ]]; then cp "$STATE/neighbours" "$snap/managed-neighbours"; fi
}

# The snapshot's files, and the routes this script manages (its list of them). Best effort;
# returns 1 if any step failed.
restore_files() {
  local snap=$1 failed=0 rel
  for rel in "${MANAGED[@]}"; do
    rm -rf "$ROOT$rel.homelab-new"
    if [[ -e $snap/files$rel || -L $snap/files$rel ]]; then
      if ! { cp -a "$snap/files$rel" "$ROOT$rel.homelab-new" && rm -rf "$ROOT$rel" && mv "$ROOT$rel.homelab-new" "$ROOT$rel"; }; then failed=1; fi
    else
      rm -rf "$ROOT$rel" || failed=1
    fi
  done
  if [[ -f $snap/managed-routes ]]; then cp "$snap/managed-routes" "$STATE/routes" || failed=1; else rm -f "$STATE/routes"; fi
  if [[ -f $snap/managed-neighbours ]]; then cp "$snap/managed-neighbours" "$STATE/neighbours" || failed=1; else rm -f "$STATE/neighbours"; fi
  return "$failed"
}

# Best effort: every step runs even if an earlier one failed; returns 1 if any did.
restore() {
  local snap=$1 failed=0 dest line word words kept addr mac dev
  if ! { printf 'flush ruleset\n'; cat "$snap/ruleset.nft"; } | nft -f -; then
    warn "could not reload the saved live ruleset; loading the previous $ROOT/etc/nftables.conf instead"
    if [[ -f $snap/files/etc/nftables.conf ]]; then nft -f "$snap/files/etc/nftables.conf" || failed=1; else failed=1; fi
  fi
  restore_files "$snap" || failed=1
  while read -r dest; do
    for _ in 1 2 3 4 5 6 7 8; do ip -4 route del "$dest" 2>/dev/null || break; done
  done <"$snap/route-dests"
  while read -r line; do
    [[ -n $line ]] || continue
    # "ip route show" prints state flags that "ip route replace" does not take back.
    kept=()
    read -ra words <<<"$line"
    for word in "${words[@]}"; do
      case $word in linkdown | dead | offload | trap | rt_offload | rt_trap | rt_offload_failed) ;; *) kept+=("$word") ;; esac
    done
    ip -4 route replace "${kept[@]}" || failed=1
  done <"$snap/routes"
  while read -r addr dev; do
    ip -4 neigh del "$addr" dev "$dev" 2>/dev/null || true
  done <"$snap/neighbour-keys"
  while read -r addr mac dev; do
    ip -4 neigh replace "$addr" lladdr "$mac" dev "$dev" nud permanent || failed=1
  done <"$snap/neighbours"
  write_sysctls <"$snap/sysctls" || failed=1
  reload_services || failed=1
  return "$failed"
}

# --- (c) install -----------------------------------------------------------------------------------
# SYSCTLS as they are now, '<key>=<value>' per line; a key this kernel lacks (IPv6 compiled
# out or disabled at boot) is left out: there is nothing to set or restore.
read_sysctls() {
  local entry key
  for entry in "${SYSCTLS[@]}"; do
    key=${entry%%=*}
    if [[ -e /proc/sys/${key//.//} ]]; then printf '%s=%s\n' "$key" "$(<"/proc/sys/${key//.//}")"; fi
  done
}

# Set '<key>=<value>' lines from stdin, in order, in this network namespace.
write_sysctls() {
  local line key
  while IFS= read -r line; do
    key=${line%%=*}
    if [[ ! -e /proc/sys/${key//.//} ]]; then
      say "$key is not in this kernel; nothing to set"
      continue
    fi
    printf '%s\n' "${line#*=}" >"/proc/sys/${key//.//}" || return 1
  done
}

reload_services() {
  if [[ $SERVICES == none ]]; then
    say "HOMELAB_SERVICES=none: dnsmasq and sshd are not restarted"
    return 0
  fi
  # dnsmasq reads its DHCP options only at start. sshd is reloaded, not restarted: it
  # re-reads its config and keeps every open session, including the one running this.
  timeout 60 systemctl restart dnsmasq.service || return 1
  timeout 60 systemctl reload ssh.service 2>/dev/null || timeout 60 systemctl reload sshd.service || return 1
  # The tunnel takes a new file or key only by coming up again; this SSH session does not use it.
  if [[ -n $TUNNEL_IFACE ]]; then timeout 60 systemctl restart "$TUNNEL_UNIT" || return 1; fi
}

install_file() {
  local src=$1 dst=$2 mode=$3
  mkdir -p "${dst%/*}" &&
    install -m "$mode" "$src" "$dst.homelab-new" &&
    mv -f "$dst.homelab-new" "$dst"
}

# The model's list is the whole list: a key file of a removed admin disappears.
install_keys() {
  local dst=$ROOT$KEYS_DIR f
  rm -rf "$dst.homelab-new" || return 1
  mkdir -p "${dst%/*}" || return 1
  mkdir -m 0755 "$dst.homelab-new" || return 1
  for f in "$RELEASE_DIR"/authorized_keys.d/*; do
    install -m 0644 "$f" "$dst.homelab-new/${f##*/}" || return 1
  done
  rm -rf "$dst.homelab-old" || return 1
  if [[ -e $dst ]]; then mv "$dst" "$dst.homelab-old" || return 1; fi
  mv "$dst.homelab-new" "$dst" && rm -rf "$dst.homelab-old"
}

in_routes() {
  local entry
  for entry in "${ROUTES[@]}"; do [[ ${entry%% *} == "$1" ]] && return 0; done
  return 1
}

apply_routes() {
  local entry dest via old
  if [[ -f $STATE/routes ]]; then
    while read -r old; do
      [[ -z $old ]] || in_routes "$old" || ip -4 route del "$old" 2>/dev/null || true
    done <"$STATE/routes"
  fi
  for entry in "${ROUTES[@]}"; do
    read -r dest via <<<"$entry"
    ip -4 route replace "$dest" via "$via" dev "$WAN_IFACE" || return 1
  done
  for entry in "${ROUTES[@]}"; do printf '%s\n' "${entry%% *}"; done >"$STATE/routes.tmp" && mv -f "$STATE/routes.tmp" "$STATE/routes"
}

in_neighbours() {
  local entry addr dev
  for entry in "${NEIGHBOURS[@]}"; do
    read -r addr _ dev <<<"$entry"
    [[ $addr == "$1" && $dev == "$2" ]] && return 0
  done
  return 1
}

# Pin every neighbour of the release; unpin those the previous one pinned and this one does not.
apply_neighbours() {
  local entry addr mac dev old odev
  if [[ -f $STATE/neighbours ]]; then
    while read -r old odev; do
      [[ -z $old ]] || in_neighbours "$old" "$odev" || ip -4 neigh del "$old" dev "$odev" 2>/dev/null || true
    done <"$STATE/neighbours"
  fi
  for entry in "${NEIGHBOURS[@]}"; do
    read -r addr mac dev <<<"$entry"
    ip -4 neigh replace "$addr" lladdr "$mac" dev "$dev" nud permanent || return 1
  done
  for entry in "${NEIGHBOURS[@]}"; do
    read -r addr _ dev <<<"$entry"
    printf '%s %s\n' "$addr" "$dev"
  done >"$STATE/neighbours.tmp" && mv -f "$STATE/neighbours.tmp" "$STATE/neighbours"
}

# Enable the tunnel's unit as "systemctl enable" would (its WantedBy link).
enable_tunnel_unit() {
  local link=$ROOT$TUNNEL_UNIT_LINK
  mkdir -p "${link%/*}" && ln -sfn "$TUNNEL_UNIT_FILE" "$link.homelab-new" && mv -fT "$link.homelab-new" "$link"
}

# Enable the boot unit as "systemctl enable" would (its WantedBy link), then check it is.
enable_boot_unit() {
  local link=$ROOT$BOOT_UNIT_LINK
  mkdir -p "${link%/*}" && ln -sfn "$BOOT_UNIT_FILE" "$link.homelab-new" && mv -fT "$link.homelab-new" "$link" || return 1
  if [[ $SERVICES == systemd ]]; then timeout 60 systemctl daemon-reload || return 1; fi
  boot_unit_enabled || {
    complain "$BOOT_UNIT is not enabled after installing it: $(boot_unit_state)"
    return 1
  }
}

# "enabled", or what is wrong: the link, the unit file, or what systemctl says.
boot_unit_state() {
  local state
  if [[ ! -L $ROOT$BOOT_UNIT_LINK || $(readlink "$ROOT$BOOT_UNIT_LINK") != "$BOOT_UNIT_FILE" ]]; then
    echo "no link $BOOT_UNIT_LINK -> $BOOT_UNIT_FILE"
  elif [[ ! -f $ROOT$BOOT_UNIT_FILE ]]; then
    echo "$BOOT_UNIT_FILE is missing"
  elif [[ $SERVICES == systemd ]] && ! state=$(timeout 30 systemctl is-enabled "$BOOT_UNIT" 2>&1); then
    echo "systemctl is-enabled $BOOT_UNIT says: $state"
  else
    echo enabled
  fi
}
boot_unit_enabled() { [[ $(boot_unit_state) == enabled ]]; }

install_release() {
  local entry
  for entry in "${INSTALL[@]}"; do
    install_file "$RELEASE_DIR/${entry%%:*}" "$ROOT${entry#*:}" 0644 || return 1
  done
  # The tunnel's file and private key: root's alone (install makes the copy root-owned).
  for entry in "${PRIVATE_INSTALL[@]}"; do
    install_file "$RELEASE_DIR/${entry%%:*}" "$ROOT${entry#*:}" 0600 || return 1
  done
  install_keys || return 1
  # IPv6 off at boot; IPv4 forwarding is not in the file: at boot the boot unit turns it on, after the ruleset.
  { printf '# Written by apply.sh of %s: IPv6 off; %s turns IPv4 forwarding on at boot, after the ruleset.\n' "$ROUTER" "$BOOT_UNIT" && printf '%s\n' "${BOOT_SYSCTLS[@]}"; } >"$STATE/sysctl.tmp" || return 1
  install_file "$STATE/sysctl.tmp" "$ROOT$SYSCTL_FILE" 0644 || return 1
  rm -f "$STATE/sysctl.tmp"
  enable_boot_unit || return 1
  if [[ -n $TUNNEL_IFACE ]]; then enable_tunnel_unit || return 1; fi
  # One transaction: the whole new ruleset or, if nft refuses it, the old one untouched.
  nft -f "$ROOT/etc/nftables.conf" || return 1
  apply_routes || return 1
  apply_neighbours || return 1
  # Forwarding goes on only after the drop-by-default ruleset is live (it is the last setting).
  printf '%s\n' "${SYSCTLS[@]}" | write_sysctls || return 1
  reload_services || return 1
}

# --- (d) the watchdog ------------------------------------------------------------------------------
# Detached from the SSH session, from this script's output and from the lock's descriptor.
arm_watchdog() {
  local id=$1 token=$2 timeout=$3 unit
  local script="$STATE/releases/$id/apply.sh"
  if [[ $SERVICES == systemd ]] && command -v systemd-run >/dev/null; then
    unit="homelab-watchdog-$token"
    timeout 30 systemd-run --quiet --collect --unit "$unit" \
      --setenv=HOMELAB_ROOT="$ROOT" --setenv=HOMELAB_STATE="$STATE" --setenv=HOMELAB_SERVICES="$SERVICES" \
      /bin/bash "$script" _watchdog "$id" "$token" "$timeout" || return 1
    write_state watchdog "systemd $unit $token"
    say "armed watchdog: systemd unit $unit.service"
  else
    HOMELAB_ROOT="$ROOT" HOMELAB_STATE="$STATE" HOMELAB_SERVICES="$SERVICES" \
      setsid nohup bash "$script" _watchdog "$id" "$token" "$timeout" </dev/null >>"$STATE/watchdog.log" 2>&1 9>&- &
    write_state watchdog "pid $! $token"
    say "armed watchdog: process $! (log: $STATE/watchdog.log)"
  fi
}

# Stop the watchdog of this attempt, if it still runs. The pending marker is what really
# decides, so a watchdog that escapes this finds nothing to do.
disarm_watchdog() {
  local token=$1 kind what tok
  [[ -f $STATE/watchdog ]] || return 0
  read -r kind what tok <"$STATE/watchdog"
  if [[ $tok == "$token" ]]; then
    case $kind in
      systemd) timeout 30 systemctl stop "$what.service" 2>/dev/null || true ;;
      pid) if grep -qs -- "$token" "/proc/$what/cmdline"; then kill -- "-$what" 2>/dev/null || kill "$what" 2>/dev/null || true; fi ;;
    esac
  fi
  rm -f "$STATE/watchdog"
}

# The watchdog's lock: never given up, whoever holds it; the rollback must still happen.
watchdog_lock() {
  local id=$1 token=$2 waited=0
  mkdir -p "$STATE"
  exec 9>"$STATE/lock"
  until flock -w "$LOCK_WAIT" 9; do
    waited=$((waited + LOCK_WAIT))
    warn "watchdog $token: $STATE/lock is still held after $waited s; still waiting, then release $id is rolled back unless it was confirmed"
  done
}

run_watchdog() {
  local id=$1 token=$2 timeout=$3 pending
  sleep "$timeout"
  watchdog_lock "$id" "$token"
  pending=$(read_state pending)
  if [[ $pending != "$id $token "* ]]; then
    say "watchdog $token: release $id is no longer pending; nothing to do"
    exit 0
  fi
  warn "watchdog: release $id was not confirmed within $timeout s; restoring the previous state"
  if restore "$STATE/rollback"; then say "watchdog: restored"; else warn "watchdog: restored with errors (see above)"; fi
  write_state rolled-back "$id $(date +%s) not-confirmed"
  rm -f "$STATE/pending" "$STATE/watchdog"
}

# --- commands -------------------------------------------------------------------------------------
# Roll back the pending attempt now (a superseding apply, or "apply.sh rollback").
rollback_pending() {
  local reason=$1 id token
  read -r id token _ <<<"$(read_state pending)"
  disarm_watchdog "$token"
  if restore "$STATE/rollback"; then say "restored the state before release $id"; else warn "restored the state before release $id, with errors"; fi
  write_state rolled-back "$id $(date +%s) $reason"
  rm -f "$STATE/pending"
}

cmd_apply() {
  local id=$1 timeout=${2:-$DEFAULT_TIMEOUT} token deadline pending
  check_id "$id"
  if [[ ! $timeout =~ ^[1-9][0-9]{0,3}$ ]] || ((timeout > 3600)); then
    die "$EXIT_USAGE" "timeout '$timeout' must be 1-3600 seconds"
  fi
  check_release || exit "$EXIT_CHECK"
  lock
  pending=$(read_state pending)
  if [[ -n $pending ]]; then
    say "release ${pending%% *} is still pending; restoring the state before it, so the snapshot is a confirmed state"
    rollback_pending "superseded-by-$id"
  fi
  # Keep a root-owned copy: the watchdog runs from it, whatever happens to the upload.
  if [[ $RELEASE_DIR != "$STATE/releases/$id" ]]; then
    rm -rf "$STATE/releases/$id.new"
    mkdir -p "$STATE/releases"
    cp -R "$RELEASE_DIR" "$STATE/releases/$id.new"
    rm -rf "$STATE/releases/$id"
    mv "$STATE/releases/$id.new" "$STATE/releases/$id"
  fi
  snapshot "$STATE/rollback"
  token="$(date +%s%N)-$$"
  deadline=$(($(date +%s) + timeout))
  write_state pending "$id $token $deadline"
  arm_watchdog "$id" "$token" "$timeout" || {
    rm -f "$STATE/pending"
    die 1 "could not arm the watchdog; nothing was installed"
  }
  if ! install_release; then
    warn "installing release $id failed; restoring the previous state"
    rollback_pending install-failed
    exit "$EXIT_INSTALL"
  fi
  say "applied release $id: ruleset loaded, ${#ROUTES[@]} route(s) and ${#NEIGHBOURS[@]} neighbour(s) set, files installed"
  say "the watchdog restores the previous state at $(when "$deadline") unless 'apply.sh confirm $id' runs first, over a new connection"
}

cmd_confirm() {
  local id=$1 pending token rolled current at reason
  check_id "$id"
  lock
  pending=$(read_state pending)
  if [[ $pending == "$id "* ]]; then
    read -r _ token _ <<<"$pending"
    disarm_watchdog "$token"
    write_state current "$id $(date +%s)"
    rm -f "$STATE/pending"
    rm -rf "$STATE/rollback"
    # Keep only the current release's copy.
    [[ ! -d $STATE/releases ]] || find "$STATE/releases" -mindepth 1 -maxdepth 1 ! -name "$id" -exec rm -rf {} +
    say "confirmed release $id; the watchdog is disarmed and $id is current"
    return 0
  fi
  # Current wins over an older rollback of the same id: a release rolled back once, then applied
  # and confirmed again, is what runs.
  current=$(read_state current)
  if [[ $current == "$id "* ]]; then
    say "release $id is already confirmed and current"
    return 0
  fi
  rolled=$(read_state rolled-back)
  if [[ $rolled == "$id "* ]]; then
    read -r _ at reason <<<"$rolled"
    die "$EXIT_NOT_PENDING" "release $id was rolled back at $(when "$at") ($reason) before this confirm; the previous configuration is live. Once a fresh SSH connection reaches this box, run pulumi up again: it applies release $id again."
  fi
  die "$EXIT_NOT_PENDING" "release $id is not pending (pending: ${pending:-none}); run 'apply.sh apply $id' first"
}

cmd_rollback() {
  local id=${1:-} pending
  if [[ -n $id ]]; then check_id "$id"; fi
  lock
  pending=$(read_state pending)
  [[ -n $pending ]] || die "$EXIT_NOT_PENDING" "no release is pending"
  [[ -z $id || $pending == "$id "* ]] || die "$EXIT_NOT_PENDING" "release $id is not pending (pending: ${pending%% *})"
  rollback_pending manual
}

# At boot, before the ruleset loads: a pending release was never confirmed. Put back the files
# of the state before it; the boot unit then loads that ruleset. The live half of the snapshot
# (ruleset, routes, forwarding) died with the reboot. Always exits 0: the unit must go on to load
# a ruleset, and a restore that failed is reported loudly.
cmd_boot() {
  local pending id
  lock
  pending=$(read_state pending)
  rm -f "$STATE/watchdog"
  if [[ -z $pending ]]; then
    say "boot: no release is pending; $(boot_unit_state)"
    return 0
  fi
  read -r id _ <<<"$pending"
  warn "boot: release $id was pending and never confirmed; restoring the files of the state before it"
  if restore_files "$STATE/rollback"; then say "boot: restored the files before release $id"; else complain "boot: restored the files before release $id with errors (see above)"; fi
  write_state rolled-back "$id $(date +%s) reboot-before-confirm"
  rm -f "$STATE/pending"
}

cmd_status() {
  local current pending rolled id at extra
  current=$(read_state current)
  pending=$(read_state pending)
  rolled=$(read_state rolled-back)
  if [[ -n $current ]]; then read -r id at _ <<<"$current" && echo "current: $id (confirmed $(when "$at"))"; else echo "current: none"; fi
  if [[ -n $pending ]]; then read -r id _ at <<<"$pending" && echo "pending: $id (rolls back at $(when "$at"))"; else echo "pending: none"; fi
  if [[ -n $rolled ]]; then read -r id at extra <<<"$rolled" && echo "rolled-back: $id ($extra, $(when "$at"))"; else echo "rolled-back: none"; fi
  echo "boot unit: $BOOT_UNIT $(boot_unit_state)"
}

# --- main ---------------------------------------------------------------------------------------------
# The watchdog may run from another working directory (systemd-run starts in /).
check_paths
[[ $LOCK_WAIT =~ ^[1-9][0-9]{0,4}$ ]] || die "$EXIT_USAGE" "HOMELAB_LOCK_WAIT must be 1-99999 seconds, not '$LOCK_WAIT'"
case ${1:-} in
  apply) (($# >= 2 && $# <= 3)) || usage; cmd_apply "$2" "${3:-}" ;;
  confirm) (($# == 2)) || usage; cmd_confirm "$2" ;;
  rollback) (($# <= 2)) || usage; cmd_rollback "${2:-}" ;;
  status) (($# == 1)) || usage; cmd_status ;;
  boot) (($# == 1)) || usage; cmd_boot ;;
  _watchdog) (($# == 4)) || usage; run_watchdog "$2" "$3" "$4" ;;
  *) usage ;;
esac
