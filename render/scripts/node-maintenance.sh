# One Proxmox node's planned maintenance (npm run maintenance -- <node> --script), for the
# owner to run as root on ANOTHER node of the cluster: ha-manager takes its commands on any
# node, and this one reboots. The facts above are the plan (model/maintenance/node.ts):
#   1. relocate the HA VMs Proxmox cannot live-migrate (a restart on their failover node);
#   2. enable maintenance mode: HA live-migrates every other HA VM to its failover node;
#   3. wait until every one of them runs there;
#   4. update the node (apt-get update, apt-get dist-upgrade), while its pinned VMs still run;
#   5. reboot it;
#   6. wait for health: the node answers SSH, the cluster is quorate, its pinned VMs run;
#   7. disable maintenance mode: HA migrates the VMs back;
#   8. wait until they run on the node again, then relocate the others back.
# Each wait gives up after WAIT_SECONDS with a message saying what is still missing; the
# steps before it are done, and the rest can be run by hand from the plan.

set -euo pipefail

say() { printf 'maintenance %s: %s\n' "$NODE" "$*"; }
die() {
  printf 'maintenance %s: %s\n' "$NODE" "$*" >&2
  exit 1
}

for tool in ha-manager pvecm ssh; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing: run this as root on another node of the cluster, not on $NODE"
done
[[ "$(hostname -s)" != "$NODE" ]] || die "this is $NODE itself, which reboots: run it on another node of the cluster"

on_node() { ssh -o BatchMode=yes -o ConnectTimeout=10 "root@$NODE_ADDRESS" "$@"; }

# Wait until `check` succeeds, at most WAIT_SECONDS; `what` says what is waited for.
wait_for() {
  local what=$1 waited=0
  shift
  until "$@"; do
    ((waited < WAIT_SECONDS)) || die "gave up after ${WAIT_SECONDS}s waiting for $what"
    sleep "$POLL_SECONDS"
    waited=$((waited + POLL_SECONDS))
  done
  say "$what: done"
}

# An HA resource runs on a node: `ha-manager status` prints `service vm:<id> (<node>, started)`.
runs_on() {
  ha-manager status | grep -Fq "service $1 ($2, started)"
}

# Every listed "vm:<id> <node>" pair runs on its node.
all_run() {
  local pair
  for pair in "$@"; do
    runs_on "${pair% *}" "${pair#* }" || return 1
  done
}

pinned_run() {
  local id
  for id in "${PINNED[@]}"; do
    on_node qm status "$id" | grep -Fxq 'status: running' || return 1
  done
}

quorate() { pvecm status | grep -Eq '^Quorate:[[:space:]]+Yes'; }
node_answers() { on_node true 2>/dev/null; }

away=()
home=()
for pair in "${MIGRATE[@]}" "${RELOCATE[@]}"; do
  away+=("$pair")
  home+=("${pair% *} $NODE")
done
relocated_home=()
for pair in "${RELOCATE[@]}"; do
  relocated_home+=("${pair% *} $NODE")
done

say "relocating ${#RELOCATE[@]} HA VM(s) that cannot live-migrate"
for pair in "${RELOCATE[@]}"; do
  ha-manager crm-command relocate "${pair% *}" "${pair#* }"
done

say "enabling maintenance mode"
ha-manager crm-command node-maintenance enable "$NODE"
wait_for "every HA VM on its failover node" all_run "${away[@]}"

say "updating"
on_node 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get -y dist-upgrade'

say "rebooting"
on_node systemctl reboot || true
# The node takes a moment to stop answering; waiting for the answer before that would see the old boot.
sleep "$POLL_SECONDS"
wait_for "$NODE to answer SSH" node_answers
wait_for "the cluster to be quorate" quorate
wait_for "the pinned VMs to run" pinned_run

say "disabling maintenance mode"
ha-manager crm-command node-maintenance disable "$NODE"
# Maintenance mode brings back only what was on the node when it was enabled.
migrated_home=()
for pair in "${MIGRATE[@]}"; do
  migrated_home+=("${pair% *} $NODE")
done
wait_for "the migrated VMs back on $NODE" all_run "${migrated_home[@]}"
for pair in "${RELOCATE[@]}"; do
  ha-manager crm-command relocate "${pair% *}" "$NODE"
done
wait_for "the relocated VMs back on $NODE" all_run "${relocated_home[@]}"
say "done: every VM is back on $NODE (${#home[@]} moved and returned)"
