# One step of a Talos cluster's version roll, run by Pulumi (local.Command) on the machine
# that runs `pulumi up`. The facts above say which step: STEP=node upgrades one node's Talos
# (drain, talosctl upgrade, wait until healthy, uncordon); STEP=kubernetes runs
# `talosctl upgrade-k8s` once, after every node.
#
# Idempotent, so that a stopped roll resumes where it stopped: each step first reads what the
# cluster runs and does only what is missing. A node already at TALOS_VERSION is not drained
# or rebooted; if this script cordoned it in a run that stopped later, it is checked healthy
# and uncordoned now. Kubernetes already at KUBERNETES_VERSION everywhere is left alone.
#
# The talosconfig and kubeconfig arrive as secrets in the environment only
# (HOMELAB_TALOSCONFIG, HOMELAB_KUBECONFIG); they are written to a private temporary
# directory, removed from the environment, and deleted on exit. The Talos and Kubernetes APIs
# are reached through an SSH SOCKS tunnel to the segment's jump host, whose host key is pinned.
#
# Needs on PATH: bash, ssh, talosctl, kubectl; the deploy key in the ssh-agent at SSH_AUTH_SOCK.

set -euo pipefail

say() { printf 'talos-roll %s: %s\n' "$STEP_ID" "$*"; }
die() {
  printf 'talos-roll %s: %s\n' "$STEP_ID" "$*" >&2
  exit 1
}

for tool in ssh talosctl kubectl; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not on the PATH of the machine running pulumi; install it (README, Upgrades) and run pulumi up again"
done
[[ -n "${HOMELAB_TALOSCONFIG:-}" ]] || die "HOMELAB_TALOSCONFIG is empty: the cluster's talosconfig must come from the stack, as a secret"
[[ -n "${HOMELAB_KUBECONFIG:-}" ]] || die "HOMELAB_KUBECONFIG is empty: the cluster's kubeconfig must come from the stack, as a secret"

work=$(mktemp -d)
tunnel_pid=''
cleanup() {
  if [[ -n "$tunnel_pid" ]]; then
    kill "$tunnel_pid" 2>/dev/null || true
    wait "$tunnel_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# The credentials become files only this user can read, and leave the environment, so no
# child process (ssh, talosctl, kubectl) inherits them.
(
  umask 077
  printf '%s\n' "$HOMELAB_TALOSCONFIG" >"$work/talosconfig"
  printf '%s\n' "$HOMELAB_KUBECONFIG" >"$work/kubeconfig"
)
unset HOMELAB_TALOSCONFIG HOMELAB_KUBECONFIG
export TALOSCONFIG="$work/talosconfig" KUBECONFIG="$work/kubeconfig"

# A SOCKS proxy through the jump host: the deploy user may open exactly the Talos API of each
# node and the Kubernetes API at the VIP there (its sshd's PermitOpen). Both clients honour
# HTTPS_PROXY=socks5://, and TLS still checks the node's own address.
open_tunnel() {
  local known="$work/known_hosts" i
  if [[ "$JUMP_PORT" == 22 ]]; then
    printf '%s %s\n' "$JUMP_HOST" "$JUMP_HOST_KEY" >"$known"
  else
    printf '[%s]:%s %s\n' "$JUMP_HOST" "$JUMP_PORT" "$JUMP_HOST_KEY" >"$known"
  fi
  ssh -F none -N -D "127.0.0.1:$SOCKS_PORT" -p "$JUMP_PORT" \
    -o BatchMode=yes -o ExitOnForwardFailure=yes \
    -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$known" -o GlobalKnownHostsFile=/dev/null \
    -o ConnectTimeout=15 -o ServerAliveInterval=15 -o ServerAliveCountMax=4 \
    "$JUMP_USER@$JUMP_HOST" &
  tunnel_pid=$!
  for ((i = 0; i < 30; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$SOCKS_PORT") 2>/dev/null; then
      export HTTPS_PROXY="socks5://127.0.0.1:$SOCKS_PORT" https_proxy="socks5://127.0.0.1:$SOCKS_PORT"
      unset NO_PROXY no_proxy
      return 0
    fi
    kill -0 "$tunnel_pid" 2>/dev/null || die "the SSH tunnel to $JUMP_USER@$JUMP_HOST:$JUMP_PORT closed: is the deploy key in the ssh-agent, and is local port $SOCKS_PORT free?"
    sleep 1
  done
  die "the SSH tunnel to $JUMP_USER@$JUMP_HOST:$JUMP_PORT did not open local port $SOCKS_PORT within 30 s"
}

# talosctl against the control planes this step does not take down.
talos_endpoints=$(
  IFS=,
  printf '%s' "${ENDPOINTS[*]}"
)
talos() { talosctl --endpoints "$talos_endpoints" "$@"; }

# The whole cluster healthy: etcd, every node's services, Kubernetes' own checks.
cluster_health() {
  local cp_list worker_list
  cp_list=$(
    IFS=,
    printf '%s' "${CONTROL_PLANES[*]}"
  )
  worker_list=$(
    IFS=,
    printf '%s' "${WORKERS[*]}"
  )
  say "waiting for the cluster to be healthy (at most $HEALTH_TIMEOUT)"
  talos --nodes "${ENDPOINTS[0]}" health --control-plane-nodes "$cp_list" ${worker_list:+--worker-nodes "$worker_list"} --wait-timeout "$HEALTH_TIMEOUT"
}

# The node's Talos version as its kubelet reports it: osImage is "Talos (v1.13.0)".
node_talos() {
  local image
  image=$(kubectl get node "$NODE_NAME" -o jsonpath='{.status.nodeInfo.osImage}')
  if [[ "$image" =~ ^Talos\ \((v[^\)]+)\)$ ]]; then
    printf '%s' "${BASH_REMATCH[1]}"
  else
    die "node $NODE_NAME reports osImage \"$image\", not Talos (vX.Y.Z)"
  fi
}

# The kubelet reports the new osImage only once it runs on the new system: wait for it, 5 minutes at most.
wait_node_version() {
  local i
  for ((i = 0; i < 60; i++)); do
    [[ "$(node_talos)" == "$TALOS_VERSION" ]] && return 0
    sleep 5
  done
  return 1
}

# Set by this script while it holds the node cordoned: a resumed run may uncordon only its own.
ROLL_MARK=homelab/cordoned-for-upgrade

finish_node() {
  kubectl wait --for=condition=Ready "node/$NODE_NAME" --timeout="$HEALTH_TIMEOUT"
  cluster_health
  kubectl uncordon "$NODE_NAME"
  kubectl annotate node "$NODE_NAME" "$ROLL_MARK-"
  say "$NODE_NAME ($NODE_ADDRESS) runs Talos $TALOS_VERSION and takes workloads again"
}

step_node() {
  local current mark
  current=$(node_talos)
  mark=$(kubectl get node "$NODE_NAME" -o jsonpath="{.metadata.annotations.$ROLL_MARK}")
  if [[ "$current" == "$TALOS_VERSION" ]]; then
    if [[ -n "$mark" ]]; then
      say "$NODE_NAME is at $TALOS_VERSION but still cordoned by a stopped roll; finishing it"
      finish_node
    else
      say "$NODE_NAME is at $TALOS_VERSION already; nothing to do"
    fi
    return 0
  fi
  say "$NODE_NAME ($NODE_ROLE, $NODE_ADDRESS) runs Talos $current; upgrading to $TALOS_VERSION"
  # Never take a node down while the cluster is already short of one.
  cluster_health
  kubectl annotate --overwrite node "$NODE_NAME" "$ROLL_MARK=$TALOS_VERSION"
  # Evictions respect every PodDisruptionBudget: a refused one is retried until the timeout,
  # and the roll stops here rather than break a budget.
  kubectl drain "$NODE_NAME" --ignore-daemonsets --delete-emptydir-data --timeout="$DRAIN_TIMEOUT"
  talos --nodes "$NODE_ADDRESS" upgrade --image "$INSTALLER_IMAGE" --wait --timeout "$UPGRADE_TIMEOUT"
  kubectl wait --for=condition=Ready "node/$NODE_NAME" --timeout="$HEALTH_TIMEOUT"
  wait_node_version || die "$NODE_NAME came back with Talos $(node_talos), not $TALOS_VERSION; it stays cordoned"
  finish_node
}

# Kubernetes' version: the API server's, and every kubelet's.
k8s_at_target() {
  local server kubelets v
  server=$(kubectl get --raw /version | tr -d ' \n' | sed -n 's/.*"gitVersion":"\([^"]*\)".*/\1/p')
  [[ "$server" == "v$KUBERNETES_VERSION" ]] || return 1
  kubelets=$(kubectl get nodes -o jsonpath='{range .items[*]}{.status.nodeInfo.kubeletVersion}{"\n"}{end}')
  while IFS= read -r v; do
    [[ -z "$v" || "$v" == "v$KUBERNETES_VERSION" ]] || return 1
  done <<<"$kubelets"
}

step_kubernetes() {
  if k8s_at_target; then
    say "the API server and every kubelet run Kubernetes $KUBERNETES_VERSION already; nothing to do"
    return 0
  fi
  cluster_health
  say "upgrading Kubernetes to $KUBERNETES_VERSION (talosctl upgrade-k8s, one component and node at a time)"
  talos --nodes "${CONTROL_PLANES[0]}" upgrade-k8s --to "$KUBERNETES_VERSION"
  cluster_health
  k8s_at_target || die "upgrade-k8s finished but Kubernetes is not at $KUBERNETES_VERSION everywhere"
  say "Kubernetes $KUBERNETES_VERSION everywhere"
}

open_tunnel
case "$STEP" in
  node) step_node ;;
  kubernetes) step_kubernetes ;;
  *) die "unknown STEP $STEP" ;;
esac
