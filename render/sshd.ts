/**
 * sshd configuration, one policy for every box: public keys only, no password or
 * keyboard-interactive login, no root login, modern algorithms, and users allowed only
 * from the sources the model names (`AllowUsers user@cidr`). Compatible with OpenSSH 9.2
 * (Debian 12) and later.
 */
import type { Cidr } from "../model/net";
import type { SshAccess } from "../model/network/ssh";
import { generatedHeader } from "./header";
import type { RenderedFile } from "./files";
import { unreachable } from "../model/unreachable";

/** Where one sshd listens and whom it lets in. */
export interface SshdPolicy {
  /** What this sshd guards, for the header, e.g. `cluster-fw (router)`. */
  readonly role: string;
  /** Addresses to listen on; empty means all. */
  readonly listen: readonly string[];
  /** Sources allowed to log in: the jump host, or the admins' workstations. */
  readonly allowFrom: readonly Cidr[];
  /** What this sshd forwards: nothing, or TCP for ProxyJump as a jump host. */
  readonly forwarding: SshForwarding;
  /**
   * `config`: the whole sshd_config. `drop-in`: a file the distribution's own sshd_config
   * includes first (Debian and Ubuntu: `Include /etc/ssh/sshd_config.d/*.conf` on its first
   * line), so every setting here wins over the distribution's, which still defines the sftp
   * subsystem (a second definition is a fatal error in OpenSSH 9.2).
   * @default "config"
   */
  readonly file?: "config" | "drop-in";
}

/**
 * A jump host forwards TCP so admins' ProxyJump works; the deploy identity may open only the
 * addresses deployment reaches through it (`host:port`, e.g. the router's LAN address, port
 * 22), so a stolen deploy key is no tunnel into the segment. Every other box forwards nothing.
 */
export type SshForwarding = { readonly kind: "none" } | { readonly kind: "jump"; readonly deployOpens: readonly string[] };

/** Where authorized keys live: the model's list, not users' own files. NixOS uses the same path. */
export const AUTHORIZED_KEYS_DIR = "/etc/ssh/authorized_keys.d";

/** The one host key every sshd serves (ed25519). NixOS generates it at the same path. */
export const SSH_HOST_KEY_PATH = "/etc/ssh/ssh_host_ed25519_key";

const KEX = ["sntrup761x25519-sha512@openssh.com", "curve25519-sha256", "curve25519-sha256@libssh.org"];
const CIPHERS = ["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "aes128-gcm@openssh.com"];
const MACS = ["hmac-sha2-512-etm@openssh.com", "hmac-sha2-256-etm@openssh.com"];
const HOST_KEY_ALGORITHMS = ["ssh-ed25519", "sk-ssh-ed25519@openssh.com"];
const PUBKEY_ALGORITHMS = [
  "ssh-ed25519",
  "sk-ssh-ed25519@openssh.com",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "rsa-sha2-512",
  "rsa-sha2-256",
];

/** The sshd_config text for one policy. */
export function renderSshdConfig(policy: SshdPolicy, access: SshAccess): string {
  const dropIn = policy.file === "drop-in";
  // A Match block runs to the end of the configuration: in a drop-in it would take the distribution's lines too.
  if (dropIn && policy.forwarding.kind === "jump") throw new Error("bug: a jump host's sshd (with its Match block) cannot be a drop-in");
  const allow = access.users.flatMap((u) => policy.allowFrom.map((c) => `${u.name}@${c.toString()}`));
  const lines = [
    generatedHeader("#", `${dropIn ? "sshd_config drop-in" : "sshd_config"} for ${policy.role}`, "render/sshd.ts"),
    "Port 22",
    "AddressFamily inet",
    ...policy.listen.map((a) => `ListenAddress ${a}`),
    `HostKey ${SSH_HOST_KEY_PATH}`,
    "",
    "# Keys only. There is no setting anywhere in the model that turns passwords back on.",
    "AuthenticationMethods publickey",
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PermitEmptyPasswords no",
    "PermitRootLogin no",
    `AuthorizedKeysFile ${AUTHORIZED_KEYS_DIR}/%u`,
    "PermitUserEnvironment no",
    '# PAM for account and session checks only: password-less accounts are locked ("!") on',
    "# Debian and NixOS alike, and sshd without PAM refuses them even for key logins.",
    "UsePAM yes",
    "",
    "# Only the model's users, and only from the sources the model allows.",
    `AllowUsers ${allow.join(" ")}`,
    "",
    `KexAlgorithms ${KEX.join(",")}`,
    `Ciphers ${CIPHERS.join(",")}`,
    `MACs ${MACS.join(",")}`,
    `HostKeyAlgorithms ${HOST_KEY_ALGORITHMS.join(",")}`,
    `PubkeyAcceptedAlgorithms ${PUBKEY_ALGORITHMS.join(",")}`,
    "",
    "LoginGraceTime 30",
    "MaxAuthTries 3",
    "MaxSessions 4",
    "MaxStartups 10:30:60",
    "ClientAliveInterval 300",
    "ClientAliveCountMax 2",
    "LogLevel VERBOSE",
    "X11Forwarding no",
    "AllowAgentForwarding no",
    "PermitTunnel no",
    ...forwardingLines(policy.forwarding),
    ...(dropIn ? [] : ["Subsystem sftp internal-sftp"]),
    ...deployMatch(policy.forwarding, access),
    "",
  ];
  return lines.join("\n");
}

/** The global forwarding settings of a policy. */
function forwardingLines(forwarding: SshForwarding): string[] {
  switch (forwarding.kind) {
    case "none":
      return ["DisableForwarding yes"];
    case "jump":
      return [
        "# A jump host forwards TCP so ProxyJump works, and nothing else.",
        "AllowTcpForwarding yes",
        "AllowStreamLocalForwarding no",
        "GatewayPorts no",
        "PermitListen none",
      ];
    default: {
      return unreachable(forwarding, "forwarding kind");
    }
  }
}

/** On a jump host, the deploy identity's Match block (last: a Match block runs to the end of the file). */
function deployMatch(forwarding: SshForwarding, access: SshAccess): string[] {
  if (forwarding.kind !== "jump") return [];
  if (forwarding.deployOpens.length === 0) throw new Error("bug: a jump host's deploy identity must be allowed at least one address");
  return access.users
    .filter((u) => u.deploy)
    .flatMap((u) => [
      "",
      `# ${u.name} deploys through this host and may reach only what it deploys, forwarding nothing else.`,
      `Match User ${u.name}`,
      "    AllowTcpForwarding local",
      `    PermitOpen ${forwarding.deployOpens.join(" ")}`,
      "    PermitListen none",
      "    AllowStreamLocalForwarding no",
      "    X11Forwarding no",
      "    AllowAgentForwarding no",
      "    PermitTunnel no",
    ]);
}

/** One authorized_keys file per user, under `<dir>/authorized_keys.d/<user>`. */
export function renderAuthorizedKeys(dir: string, access: SshAccess): RenderedFile[] {
  return access.users.map((u) => ({
    path: `${dir}/authorized_keys.d/${u.name}`,
    content: `${generatedHeader("#", `authorized keys of ${u.name}`, "render/sshd.ts")}${[...u.keys].sort().join("\n")}\n`,
    checker: "authorized-keys" as const,
  }));
}
