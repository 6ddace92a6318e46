/**
 * A NixOS host: its configuration.nix and the files it carries, activated with
 * `nixos-rebuild test` and made permanent only after a fresh connection confirms;
 * otherwise the previous generation comes back on its own.
 */
import * as pulumi from "@pulumi/pulumi";
import type { RenderedFile } from "../render/files";
import { NIXOS_PROTOCOL, Release, type SecretFile, type SshTarget } from "./release";

/** Type token of the component. */
export const NIXOS_HOST_TYPE = "homelab:nixos:Host";

/** Seconds a NixOS host waits for the confirm by default: a NixOS build takes longer than a ruleset load. */
const NIXOS_CONFIRM_TIMEOUT_SECONDS = 300;

/** Arguments of a NixosHost. */
export interface NixosHostArgs {
  /** Paths relative to the release directory: `configuration.nix`, the files it carries, and `apply.sh`. */
  readonly files: readonly RenderedFile[];
  /** Files whose content is a secret (the ACME DNS credentials). @default [] */
  readonly secretFiles?: readonly SecretFile[];
  readonly target: SshTarget;
  /** @default NIXOS_CONFIRM_TIMEOUT_SECONDS (300) */
  readonly confirmTimeoutSeconds?: number;
}

/** One NixOS host, configured with commit-confirm. */
export class NixosHost extends pulumi.ComponentResource {
  /** The confirmed release id. */
  public readonly release: pulumi.Output<string>;

  constructor(name: string, args: NixosHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super(NIXOS_HOST_TYPE, name, {}, opts);
    if (!args.files.some((f) => f.path === "configuration.nix"))
      throw new pulumi.ResourceError(`NixOS host ${name} has no configuration.nix`, this);
    const release = new Release(
      `${name}-release`,
      {
        files: args.files,
        ...(args.secretFiles ? { secretFiles: args.secretFiles } : {}),
        target: args.target,
        protocol: NIXOS_PROTOCOL,
        confirmTimeoutSeconds: args.confirmTimeoutSeconds ?? NIXOS_CONFIRM_TIMEOUT_SECONDS,
      },
      // Children do not inherit the component's dependsOn: the release itself must wait.
      { parent: this, ...(opts?.dependsOn !== undefined ? { dependsOn: opts.dependsOn } : {}) },
    );
    this.release = release.release;
    this.registerOutputs({ release: this.release });
  }
}
