/**
 * A segment router: its nftables ruleset, DHCP and sshd, delivered as one confirmed
 * release. Reached through the segment's jump host, since the router's own sshd accepts
 * only the jump host.
 */
import * as pulumi from "@pulumi/pulumi";
import type { RenderedFile } from "../render/files";
import { Release, ROUTER_PROTOCOL, type SecretFile, type SshTarget } from "./release";

/** Type token of the component. */
export const ROUTER_TYPE = "homelab:network:Router";

/** Arguments of a Router. */
export interface RouterArgs {
  /** The router's rendered files, paths relative to the release directory (`nftables.conf`, `apply.sh`, ...). */
  readonly files: readonly RenderedFile[];
  /** Files whose content is a secret (the tunnel's private key, `wireguard.key`), installed by apply.sh. @default [] */
  readonly secretFiles?: readonly SecretFile[];
  /** The router's LAN address, user, deploy key and host key, with the jump host as proxy. */
  readonly target: SshTarget;
  /** @default DEFAULT_CONFIRM_TIMEOUT_SECONDS (120, render/apply-common.ts) */
  readonly confirmTimeoutSeconds?: number;
}

/** One router, configured with commit-confirm. */
export class Router extends pulumi.ComponentResource {
  /** The confirmed release id. */
  public readonly release: pulumi.Output<string>;

  constructor(name: string, args: RouterArgs, opts?: pulumi.ComponentResourceOptions) {
    super(ROUTER_TYPE, name, {}, opts);
    const release = new Release(
      `${name}-release`,
      {
        files: args.files,
        ...(args.secretFiles ? { secretFiles: args.secretFiles } : {}),
        target: args.target,
        protocol: ROUTER_PROTOCOL,
        ...(args.confirmTimeoutSeconds !== undefined ? { confirmTimeoutSeconds: args.confirmTimeoutSeconds } : {}),
      },
      // Children do not inherit the component's dependsOn: the release itself must wait.
      { parent: this, ...(opts?.dependsOn !== undefined ? { dependsOn: opts.dependsOn } : {}) },
    );
    this.release = release.release;
    this.registerOutputs({ release: this.release });
  }
}
