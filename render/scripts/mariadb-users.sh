# shellcheck shell=bash
# --- a data host's MariaDB users (render/scripts/mariadb-users.sh) -------------------------------
# Run as root by the oneshot homelab-mariadb-users once MariaDB is up; root logs in by the unix
# socket. It makes the server hold exactly the model's users:
#   - every database of DATABASES exists (created if missing, never dropped);
#   - every account of ACCOUNTS exists with its user's password, and exactly the grants listed
#     (all grants are revoked first, so a database taken out of the model loses its grant);
#   - every other account of a user the script manages, now or before (a source taken out of
#     the model, a user taken out of the model), is dropped. Accounts of other users are left alone.
# A password is read from PASSWORD_DIR/mariadb-<user>.password and reaches the server on the
# client's stdin, never on a command line.
#
# HOMELAB_SECRETS replaces PASSWORD_DIR, HOMELAB_MARIADB the client command (word-split), and
# HOMELAB_STATE the directory of the managed-users list, for tests.
set -euo pipefail
umask 077

SECRETS="${HOMELAB_SECRETS:-$PASSWORD_DIR}"
STATE="${HOMELAB_STATE:-/var/lib/homelab}"
MANAGED="$STATE/mariadb-users.managed"
read -r -a CLIENT <<<"${HOMELAB_MARIADB:-mariadb --protocol=socket -u root}"

die() {
  printf 'mariadb-users: %s\n' "$*" >&2
  exit 1
}

# A SQL string literal: backslashes and single quotes escaped (the server's default sql_mode).
sql_string() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\'/\\\'}
  printf "'%s'" "$s"
}

# The password of <user>, from its file, without the trailing newline; an empty one is refused.
password() {
  local file="$SECRETS/mariadb-$1.password" pw
  [[ -r "$file" ]] || die "no password file $file for user $1 (the release uploads it from the stack's secret)"
  pw=$(<"$file")
  [[ -n "$pw" ]] || die "the password file $file of user $1 is empty"
  printf '%s' "$pw"
}

sql() { "${CLIENT[@]}" -N -B; }

# Every password first: a missing file stops the script before it changes anything.
declare -A PASSWORDS=()
for user in "${USERS[@]}"; do
  pw=$(password "$user")
  PASSWORDS[$user]=$(sql_string "$pw")
done
unset pw

declare -A WANTED=()
{
  for db in "${DATABASES[@]}"; do printf "CREATE DATABASE IF NOT EXISTS \`%s\`;\n" "$db"; done
  for account in "${ACCOUNTS[@]}"; do
    read -r user host dbs <<<"$account"
    [[ -n "${PASSWORDS[$user]+set}" ]] || die "account $user@$host names a user that is not in USERS"
    target="$(sql_string "$user")@$(sql_string "$host")"
    printf 'CREATE USER IF NOT EXISTS %s IDENTIFIED BY %s;\n' "$target" "${PASSWORDS[$user]}"
    printf 'ALTER USER %s IDENTIFIED BY %s;\n' "$target" "${PASSWORDS[$user]}"
    printf 'REVOKE ALL PRIVILEGES, GRANT OPTION FROM %s;\n' "$target"
    IFS=, read -r -a grants <<<"$dbs"
    for db in "${grants[@]}"; do printf "GRANT ALL PRIVILEGES ON \`%s\`.* TO %s;\n" "$db" "$target"; done
  done
} | sql
for account in "${ACCOUNTS[@]}"; do
  read -r user host _ <<<"$account"
  WANTED["$user@$host"]=1
done

# The users to clean up: those listed now and those the previous run managed.
declare -A MANAGE=()
for user in "${USERS[@]}"; do MANAGE[$user]=1; done
if [[ -r "$MANAGED" ]]; then
  while read -r user; do
    if [[ -n "$user" ]]; then MANAGE[$user]=1; fi
  done <"$MANAGED"
fi
list=""
for user in "${!MANAGE[@]}"; do list+="${list:+,}$(sql_string "$user")"; done
if [[ -n "$list" ]]; then
  while IFS=$'\t' read -r user host; do
    [[ -n "${WANTED["$user@$host"]+set}" ]] && continue
    printf 'mariadb-users: dropping %s@%s, which the model no longer has\n' "$user" "$host" >&2
    printf 'DROP USER %s@%s;\n' "$(sql_string "$user")" "$(sql_string "$host")" | sql
  done < <(printf 'SELECT User, Host FROM mysql.user WHERE User IN (%s);\n' "$list" | sql)
fi

mkdir -p "$STATE"
printf '%s\n' "${USERS[@]}" >"$MANAGED.new"
mv "$MANAGED.new" "$MANAGED"
printf 'mariadb-users: %d accounts of %d users hold their passwords and grants\n' "${#ACCOUNTS[@]}" "${#USERS[@]}"
