# shellcheck shell=bash
# --- a router's bootstrap (render/scripts/router-bootstrap.sh) ---------------------------------
# Turns a freshly installed Debian box into the router the facts above name, run once as root
# from its console: `bash <router>-bootstrap.sh < wireguard.key` (the router's tunnel key, the
# stack's secret homelab:wireguardKey; a router without an end of the tunnel reads nothing).
#
# It installs the packages a router runs, makes the deploy user (no password: it logs in with
# the deploy key only) and its one sudo rule, installs the host key `npm run bootstrap` made and
# pinned in the model (this file holds its private half: it deletes itself once done), then
# applies the router's first release with the router's own apply.sh, exactly as Pulumi does
# later: checked (nft -c, sshd -t, ...), snapshotted, installed, confirmed. After it the box lets
# only the deploy path in, and every later change comes through `pulumi up` and commit-confirm.
#
# Environment, for tests: HOMELAB_ROOT prefixes every path (default /), HOMELAB_SERVICES=none
# skips systemd (as apply.sh), HOMELAB_PACKAGES=none skips apt-get, HOMELAB_KEEP=1 keeps this file.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

ROOT="${HOMELAB_ROOT:-}"
ROOT="${ROOT%/}"
SERVICES="${HOMELAB_SERVICES:-systemd}"
PACKAGES="${HOMELAB_PACKAGES:-apt}"
SELF="$(readlink -f "${BASH_SOURCE[0]}")"

say() { printf 'bootstrap[%s]: %s\n' "$ROUTER" "$*"; }
die() {
  printf 'bootstrap[%s]: error: %s\n' "$ROUTER" "$*" >&2
  exit 1
}

[[ $(id -u) -eq 0 ]] || die "run as root, from the console: sudo bash $SELF < wireguard.key"
if [[ -z $ROOT ]]; then
  [[ -r /etc/debian_version ]] || die "this is not a Debian box (no /etc/debian_version): install Debian first"
fi

# --- 1. the tunnel's private key, from stdin -----------------------------------------------------
tunnel_key=""
if [[ -n $TUNNEL_PUBLIC_KEY ]]; then
  [[ ! -t 0 ]] || die "the tunnel's private key goes on stdin: pulumi config get --show-secrets homelab:wireguardKey -s $SEGMENT > wireguard.key, copy it here, then bash $SELF < wireguard.key"
  IFS= read -r tunnel_key || true
  [[ -n $tunnel_key ]] || die "stdin held no key: give the stack's secret homelab:wireguardKey on stdin"
fi

# --- 2. packages ----------------------------------------------------------------------------------
if [[ $PACKAGES == apt ]]; then
  say "installing ${APT_PACKAGES[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${APT_PACKAGES[@]}"
fi
for tool in ip nft sshd ssh-keygen visudo useradd base64 sha256sum; do
  command -v "$tool" >/dev/null || die "$tool is missing: apt-get install ${APT_PACKAGES[*]}"
done
if [[ -n $TUNNEL_PUBLIC_KEY ]]; then
  command -v wg >/dev/null || die "wg is missing: apt-get install wireguard-tools"
  public=$(wg pubkey <<<"$tunnel_key" 2>/dev/null) || die "stdin is not a WireGuard private key (wg pubkey refuses it): give the stack's secret homelab:wireguardKey"
  [[ $public == "$TUNNEL_PUBLIC_KEY" ]] || die "the key on stdin is not the private half of router.tunnel.publicKey $TUNNEL_PUBLIC_KEY (its public half is $public)"
fi

# --- 3. the deploy user and its one sudo rule -----------------------------------------------------
if grep -q "^$DEPLOY_USER:" "$ROOT/etc/passwd"; then
  say "user $DEPLOY_USER exists"
else
  # No password is ever set: the account is locked for passwords, and sshd admits keys only.
  useradd ${ROOT:+--prefix "$ROOT"} --create-home --shell /bin/bash --user-group "$DEPLOY_USER"
  say "made user $DEPLOY_USER (no password; it logs in with the deploy key)"
fi
sudoers="$ROOT$SUDOERS_FILE"
mkdir -p "$(dirname "$sudoers")"
printf '%s\n' "# Written by the bootstrap of $ROUTER: the deploy identity runs the release's apply.sh, nothing else." "$SUDO_RULE" >"$sudoers.new"
visudo -cqf "$sudoers.new" || die "visudo refuses the sudo rule: $SUDO_RULE"
chmod 0440 "$sudoers.new"
mv "$sudoers.new" "$sudoers"
say "sudo rule: $SUDO_RULE"

# --- 4. the pinned host key -----------------------------------------------------------------------
key="$ROOT$HOST_KEY_PATH"
mkdir -p "$(dirname "$key")"
# The only host key: sshd offers no other for a client to pin instead.
rm -f "$(dirname "$key")"/ssh_host_*_key "$(dirname "$key")"/ssh_host_*_key.pub
(umask 077 && base64 -d <<<"$HOST_KEY_PRIVATE_B64" >"$key")
printf '%s\n' "$HOST_KEY_PUBLIC" >"$key.pub"
chmod 0600 "$key"
chmod 0644 "$key.pub"
[[ $(ssh-keygen -y -f "$key" | cut -d' ' -f1-2) == "$HOST_KEY_PUBLIC" ]] || die "the host key in this file does not match its public half: run npm run bootstrap again"
say "host key $(ssh-keygen -l -f "$key.pub" | cut -d' ' -f2) (router.sshHostKey in the model)"

# --- 5. the interfaces, live ---------------------------------------------------------------------
# The release installs them for the next boot (interfaces, homelab-routes); its routes and static
# neighbours go in live, so the WAN and LAN must carry their addresses now.
for side in "${IFACES[@]}"; do
  IFS=: read -r dev cidr parent vlan <<<"$side"
  if [[ -n $parent ]] && ! ip link show "$dev" >/dev/null 2>&1; then
    ip link show "$parent" >/dev/null 2>&1 || die "no port $parent for the VLAN interface $dev: is this the box the model names?"
    ip link add link "$parent" name "$dev" type vlan id "$vlan"
  fi
  ip link show "$dev" >/dev/null 2>&1 || die "no interface $dev: is this the box the model names? (ip link lists its ports)"
  ip link set "$dev" up
  ip addr replace "$cidr" dev "$dev"
  say "$dev: $cidr"
done

# --- 6. the first release, through apply.sh ---------------------------------------------------------
home=$(awk -F: -v u="$DEPLOY_USER" '$1 == u { print $6 }' "$ROOT/etc/passwd")
dir="$ROOT$home/$UPLOAD_DIR/$RELEASE"
rm -rf "$dir"
mkdir -p "$dir"
for entry in "${RELEASE_FILES[@]}"; do
  IFS=: read -r rel mode sum data <<<"$entry"
  mkdir -p "$dir/$(dirname "$rel")"
  base64 -d <<<"$data" >"$dir/$rel"
  chmod "$mode" "$dir/$rel"
  [[ $(sha256sum "$dir/$rel" | cut -d' ' -f1) == "$sum" ]] || die "$rel does not match its checksum: this file is damaged, run npm run bootstrap again"
done
if [[ -n $TUNNEL_PUBLIC_KEY ]]; then (umask 077 && printf '%s\n' "$tunnel_key" >"$dir/$TUNNEL_KEY_FILE"); fi
say "release $RELEASE: ${#RELEASE_FILES[@]} files in $home/$UPLOAD_DIR/$RELEASE"
HOMELAB_ROOT="$ROOT" HOMELAB_SERVICES="$SERVICES" bash "$dir/apply.sh" apply "$RELEASE" "$CONFIRM_SECONDS" ||
  die "apply.sh refused or failed the first release (above); nothing of it is left installed"
HOMELAB_ROOT="$ROOT" HOMELAB_SERVICES="$SERVICES" bash "$dir/apply.sh" confirm "$RELEASE" ||
  die "apply.sh could not confirm the first release (above): it rolls back by itself"
if [[ $ROOT == "" ]]; then chown -R "$DEPLOY_USER:" "$home/$UPLOAD_DIR"; fi

# --- 7. done --------------------------------------------------------------------------------------
if [[ ${HOMELAB_KEEP:-} != 1 ]]; then
  rm -f "$SELF"
  say "deleted $SELF: it held the host's private key"
fi
say "done. Reboot so the interfaces come up as rendered (homelab-router.service loads the ruleset first), then deploy: pulumi up -s $SEGMENT"
