/**
 * A router's bootstrap: one bash script an owner runs from the console of a freshly installed
 * Debian box to make it that router, ready for the first `pulumi up` (the firewall whose NVMe
 * died, rebuilt from code). It carries the router's first release, the same files the segment
 * stack uploads (render/segment.ts), and installs it with the release's own apply.sh; before
 * that it installs the packages, the deploy user with its one sudo rule and the host key that
 * `npm run bootstrap` made and pinned in the model. Pure: the host key comes in as text, and the
 * script holds its private half, so the CLI writes it root-only and the script deletes itself.
 */
import { createHash } from "crypto";
import type { RouterPlan } from "../model/network/router";
import { renderScript, ROUTER_UPLOADS, routerUploadDir, type ShellFact } from "./apply-common";
import { hashFiles, sortFiles, type RenderedFile } from "./files";
import { generatedHeader } from "./header";
import { SSH_HOST_KEY_PATH } from "./sshd";
import { TUNNEL_KEY_FILE } from "./wireguard";

/** The packages a router runs: its ruleset, DHCP, sshd, sudo, ifupdown and the tunnel's tools. */
export const ROUTER_PACKAGES = ["nftables", "dnsmasq", "openssh-server", "sudo", "ifupdown", "wireguard-tools"] as const;

/** Where the deploy user's sudo rule is installed. */
export const DEPLOY_SUDOERS = "/etc/sudoers.d/homelab-deploy";

/** The release id of the first release, from its files: the same files give the same id. */
export function bootstrapRelease(files: readonly Pick<RenderedFile, "path" | "content">[]): string {
  return `bootstrap-${hashFiles(createHash("sha256"), files).digest("hex").slice(0, 12)}`;
}

/**
 * The deploy identity's one sudo rule on a router: bash running an uploaded release's apply.sh
 * (components/release.ts, ROUTER_PROTOCOL, uploads to routerUploadDir). It is root on the router by design, since it
 * installs the router's firewall; the rule pins the command's form, so sudo's log says what ran.
 */
export function deploySudoRule(user: string): string {
  return `${user} ALL=(root) NOPASSWD: /usr/bin/bash ${routerUploadDir(user, "*")}/apply.sh *`;
}

/** What the bootstrap needs besides the router's plan. */
export interface BootstrapInput {
  readonly router: RouterPlan;
  /** The router's release files, paths relative to the release directory (render/segment.ts ROUTER_DIR stripped). */
  readonly release: readonly RenderedFile[];
  readonly deployUser: string;
  /** The host key `npm run bootstrap` made: its OpenSSH private key and its public line (`ssh-ed25519 AAAA…`). */
  readonly hostKey: { readonly privateKey: string; readonly publicKey: string };
}

/** The whole script. It holds the host's private key: write it root-only. */
export function renderRouterBootstrap(input: BootstrapInput): string {
  const { router, release, deployUser, hostKey } = input;
  const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
  const sha = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");
  const id = bootstrapRelease(release);
  const facts: ShellFact[] = [
    { name: "ROUTER", value: router.name },
    { name: "SEGMENT", value: router.segment },
    { name: "DEPLOY_USER", value: deployUser },
    { name: "SUDOERS_FILE", value: DEPLOY_SUDOERS },
    { name: "SUDO_RULE", value: deploySudoRule(deployUser) },
    {
      name: "UPLOAD_DIR",
      value: ROUTER_UPLOADS,
      comment: "Under the deploy user's home, where the Release component uploads every later release.",
    },
    { name: "RELEASE", value: id },
    { name: "CONFIRM_SECONDS", value: 600, comment: "Apply and confirm run back to back here; the watchdog is armed all the same." },
    { name: "APT_PACKAGES", value: ROUTER_PACKAGES.map((p) => ({ value: p })) },
    {
      name: "IFACES",
      value: [
        { side: "WAN", i: router.wan, prefix: router.wan.subnet.prefix },
        { side: "LAN", i: router.lan, prefix: router.lan.subnet.prefix },
      ].map(({ side, i, prefix }) => ({
        value: `${i.iface}:${i.address}/${prefix}:${i.vlan?.parent ?? ""}:${i.vlan?.id ?? ""}`,
        comment: side,
      })),
      comment: "iface:address/prefix:VLAN parent:VLAN id, brought up now as the rendered interfaces do at boot.",
    },
    {
      name: "TUNNEL_PUBLIC_KEY",
      value: router.tunnel?.publicKey ?? "",
      comment: "router.tunnel.publicKey; empty: no end of the tunnel, nothing on stdin.",
    },
    { name: "TUNNEL_KEY_FILE", value: TUNNEL_KEY_FILE },
    { name: "HOST_KEY_PATH", value: SSH_HOST_KEY_PATH },
    {
      name: "HOST_KEY_PUBLIC",
      value: hostKey.publicKey.split(" ").slice(0, 2).join(" "),
      comment: "router.sshHostKey, pinned in the model.",
    },
    { name: "HOST_KEY_PRIVATE_B64", value: b64(hostKey.privateKey), comment: "Its private half, base64: this file is a secret." },
    {
      name: "RELEASE_FILES",
      value: sortFiles(release).map((f) => ({ value: `${f.path}:${(f.mode ?? 0o644).toString(8)}:${sha(f.content)}:${b64(f.content)}` })),
      comment: "The first release: path:mode:sha256:base64, as the segment stack uploads it.",
    },
  ];
  const header = generatedHeader(
    "#",
    `Bootstrap of ${router.name} (${router.segment}) on a fresh Debian box: sudo bash <this file> < wireguard.key. It holds the host's private key.`,
    "render/bootstrap.ts",
    "Do not edit or keep: run npm run bootstrap again for a new one; it deletes itself once done.",
  );
  return renderScript(header, facts, "router-bootstrap");
}
