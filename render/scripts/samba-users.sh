# shellcheck shell=bash
# --- a data host's Samba users (render/scripts/samba-users.sh) -----------------------------------
# Run as root by the oneshot homelab-samba-users. It makes Samba's password database hold
# exactly the model's users: each user of USERS is added (or its password set) from
# PASSWORD_DIR/samba-<user>.password and enabled; every other Samba user is deleted. The
# password reaches smbpasswd on its stdin (-s), never on a command line. Each user is also a
# system account without a login (the configuration declares it).
#
# HOMELAB_SECRETS replaces PASSWORD_DIR, HOMELAB_SMB_CONF names the smb.conf that smbpasswd and
# pdbedit read (their default otherwise), for tests.
set -euo pipefail
umask 077

SECRETS="${HOMELAB_SECRETS:-$PASSWORD_DIR}"
SMBPASSWD=(smbpasswd)
PDBEDIT=(pdbedit)
if [[ -n "${HOMELAB_SMB_CONF:-}" ]]; then
  SMBPASSWD+=(-c "$HOMELAB_SMB_CONF")
  PDBEDIT+=(--configfile="$HOMELAB_SMB_CONF")
fi

die() {
  printf 'samba-users: %s\n' "$*" >&2
  exit 1
}

password() {
  local file="$SECRETS/samba-$1.password" pw
  [[ -r "$file" ]] || die "no password file $file for user $1 (the release uploads it from the stack's secret)"
  pw=$(<"$file")
  [[ -n "$pw" ]] || die "the password file $file of user $1 is empty"
  printf '%s' "$pw"
}

# Every password first: a missing file stops the script before it changes anything.
declare -A PASSWORDS=() WANTED=()
for user in "${USERS[@]}"; do
  PASSWORDS[$user]=$(password "$user")
  WANTED[$user]=1
done

for user in "${USERS[@]}"; do
  printf '%s\n%s\n' "${PASSWORDS[$user]}" "${PASSWORDS[$user]}" | "${SMBPASSWD[@]}" -s -a "$user" >/dev/null
  "${SMBPASSWD[@]}" -e "$user" >/dev/null
done

while IFS=: read -r user _; do
  [[ -z "$user" || -n "${WANTED[$user]+set}" ]] && continue
  printf 'samba-users: deleting Samba user %s, which the model does not have\n' "$user" >&2
  "${PDBEDIT[@]}" -x -u "$user" >/dev/null
done < <("${PDBEDIT[@]}" -L)
printf 'samba-users: %d Samba users hold their passwords\n' "${#USERS[@]}"
