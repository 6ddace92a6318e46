/**
 * The OpenSSH client side of a segment: a config an admin can `Include` to reach every
 * SSH-able box of the segment through its jump host, and the known_hosts lines that pin
 * their host keys. Every box is verified by a key from the model (`StrictHostKeyChecking
 * yes`), looked up by FQDN through `HostKeyAlias`, so the same known_hosts works whether a
 * box is reached by alias, FQDN or through the jump host.
 */
import type { SegmentPlan } from "../model/plan";
import { planSshPaths, sshAlias, type SshBox } from "../model/network/ssh";
import { generatedHeader } from "./header";

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

/** The client config for one segment. Same plan, same bytes. */
export function renderSshClientConfig(plan: SegmentPlan): string {
  const targets = planSshPaths(plan);
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
  const lines = planSshPaths(plan).flatMap((t) => (t.hostKey ? [`${t.fqdn},${t.lanAddress} ${t.hostKey}`] : []));
  return `${generatedHeader("#", `known_hosts of the ${plan.name} segment (see ssh_config's UserKnownHostsFile)`, "render/ssh-client.ts")}${lines.join("\n")}\n`;
}
