/**
 * The OpenSSH client side of a segment: a config an admin can `Include` to reach every
 * SSH-able box of the segment through its jump host, and the known_hosts lines that pin
 * their host keys. Every box is verified by a key from the model (`StrictHostKeyChecking
 * yes`), looked up by FQDN through `HostKeyAlias`, so the same known_hosts works whether a
 * box is reached by alias, FQDN or through the jump host.
 */
import { keyMaterial } from "../model/lab";
import { compareText } from "../model/order";
import { compareIp } from "../model/net";
import type { PlannedHost } from "../model/network/hosts";
import type { SegmentPlan } from "../model/plan";
import { generatedHeader } from "./header";

/** Operating systems that run an sshd an admin logs in to. Talos has no SSH; VIPs and switches are not hosts. */
export const SSH_OS: ReadonlySet<string> = new Set(["nixos", "debian", "proxmox", "truenas"]);

/** Where the rendered known_hosts is expected on an admin's workstation. */
export const DEFAULT_KNOWN_HOSTS_FILE = "~/.ssh/homelab_known_hosts";

/** The settings every box of the lab is reached with: keys only, pinned host keys, nothing forwarded. */
export const SSH_CLIENT_SETTINGS: readonly string[] = [
  "IdentitiesOnly yes",
  "PasswordAuthentication no",
  "KbdInteractiveAuthentication no",
  "PubkeyAuthentication yes",
  "StrictHostKeyChecking yes",
  `UserKnownHostsFile ${DEFAULT_KNOWN_HOSTS_FILE}`,
  "ForwardAgent no",
  "ForwardX11 no",
];

/** One box the client config names. */
export interface SshBox {
  readonly id: string;
  readonly fqdn: string;
  /** What ssh connects to: the LAN address, or the router's WAN address for the jump host. */
  readonly hostName: string;
  /** The address inside the segment, also pinned in known_hosts. */
  readonly lanAddress: string;
  readonly why: string;
  /** The alias of the jump host in between, when there is one. */
  readonly proxyJump?: string;
  /** The pinned host key (`type base64`), when the model has one. */
  readonly hostKey?: string;
}

/** `<host>.<segment>`, the short alias of a box. */
export function sshAlias(plan: SegmentPlan, id: string): string {
  return `${id}.${plan.name}`;
}

/** The boxes of a segment an admin can SSH to: the jump host first, then the router, then hosts by address. */
export function sshTargets(plan: SegmentPlan): SshBox[] {
  const jump = plan.jumpHost;
  const jumpAlias = sshAlias(plan, jump.id);
  const router = plan.router;
  const hostKey = (key: string | undefined) => (key ? { hostKey: keyMaterial(key) } : {});
  const behind = plan.hosts
    .filter((h) => h.id !== jump.id && SSH_OS.has(h.os))
    .sort((a, b) => compareIp(a.address, b.address) || compareText(a.id, b.id))
    .map((h: PlannedHost): SshBox => ({
      id: h.id,
      fqdn: h.fqdn,
      hostName: h.address,
      lanAddress: h.address,
      why: `${h.description} (${h.os})`,
      proxyJump: jumpAlias,
      ...hostKey(h.sshHostKey),
    }));
  return [
    {
      id: jump.id,
      fqdn: jump.fqdn,
      hostName: router.wan.address,
      lanAddress: jump.address,
      why: `${jump.description}: at ${router.name}'s WAN address, which forwards port 22 to ${jump.address} for the admin workstations only`,
      ...hostKey(jump.sshHostKey),
    },
    {
      id: router.name,
      fqdn: router.fqdn,
      hostName: router.lan.address,
      lanAddress: router.lan.address,
      why: `the segment's router; its sshd accepts the jump host only`,
      proxyJump: jumpAlias,
      ...hostKey(router.sshHostKey),
    },
    ...behind,
  ];
}

/** The client config for one segment. Same plan, same bytes. */
export function renderSshClientConfig(plan: SegmentPlan): string {
  const targets = sshTargets(plan);
  const names = (t: SshBox) => [sshAlias(plan, t.id), t.fqdn];
  const hostBlocks = targets.flatMap((t) => [
    `# ${t.why}`,
    `Host ${names(t).join(" ")}`,
    `\tHostName ${t.hostName}`,
    "\tPort 22",
    // The key is pinned under the FQDN, whatever address or alias was used.
    `\tHostKeyAlias ${t.fqdn}`,
    ...(t.proxyJump ? [`\tProxyJump ${t.proxyJump}`] : []),
    "",
  ]);
  // Shared settings come last: ssh uses the first value it finds, so per-host lines win,
  // and listing the names (not a wildcard) keeps these settings off unrelated hosts.
  const shared = [
    "# Every box above: keys only, pinned host keys, nothing forwarded.",
    `Host ${targets.flatMap(names).join(" ")}`,
    ...SSH_CLIENT_SETTINGS.map((l) => `\t${l}`),
    "",
  ];
  return [
    generatedHeader("#", `OpenSSH client config for the ${plan.name} segment: Include it from ~/.ssh/config`, "render/ssh-client.ts"),
    ...hostBlocks,
    ...shared,
  ].join("\n");
}

/**
 * known_hosts lines for the boxes of a segment that have a host key: the jump host, the
 * router and hosts with `sshHostKey`. Each line names the FQDN
 * (what `HostKeyAlias` looks up) and the LAN address (for ssh run on the jump host).
 * Boxes without a key in the model get no line, so strict checking refuses them until
 * the model pins their key.
 */
export function renderKnownHosts(plan: SegmentPlan): string {
  const lines = sshTargets(plan).flatMap((t) => (t.hostKey ? [`${t.fqdn},${t.lanAddress} ${t.hostKey}`] : []));
  return `${generatedHeader("#", `known_hosts of the ${plan.name} segment (see ssh_config's UserKnownHostsFile)`, "render/ssh-client.ts")}${lines.join("\n")}\n`;
}
