/**
 * Commit-confirm for NixOS hosts: the same discipline as the routers' apply script, on
 * NixOS generations. `apply` builds a release (`nixos-rebuild build`), arms a detached
 * watchdog, and activates it the way `nixos-rebuild test` does (`switch-to-configuration
 * test`: running, not the boot default); `confirm`, from a new SSH connection, makes exactly
 * the activated system the boot default; without it the watchdog re-activates the previous
 * generation. A reboot before the confirm also lands on the previous generation, because
 * `test` never touches the boot default.
 *
 * The script is render/scripts/nixos-apply.sh; this module renders only its facts.
 */
import { DEFAULT_CONFIRM_TIMEOUT_SECONDS, HOMELAB_STATE_DIR, renderApplyScript } from "./apply-common";
import { generatedHeader } from "./header";

/** The command the configuration installs apply.sh as, and the deploy user's only sudo rule. */
export const NIXOS_APPLY_COMMAND = "homelab-apply";
/** Where the deploy identity uploads each release, one directory per release id. */
export const RELEASES_DIR = `${HOMELAB_STATE_DIR}/releases`;
/** Where the active release's files live; nixos-rebuild builds `configuration.nix` from here. */
export const NIXOS_CONFIG_DIR = "/etc/nixos/homelab";

/** What the script needs to know about its host. */
export interface NixosApplySpec {
  /** The host's FQDN, for the header. */
  readonly host: string;
  /** Seconds `apply` waits for the confirm when the caller passes none. @default DEFAULT_CONFIRM_TIMEOUT_SECONDS (120) */
  readonly defaultTimeoutSeconds?: number;
}

/** The apply.sh text: the host's facts, then the body every NixOS host shares (checked with `bash -n` and shellcheck). */
export function renderNixosApply(spec: NixosApplySpec): string {
  const timeout = spec.defaultTimeoutSeconds ?? DEFAULT_CONFIRM_TIMEOUT_SECONDS;
  if (!Number.isInteger(timeout) || timeout < 1) throw new Error(`bug: confirm timeout must be a positive integer, got ${timeout}`);
  const header = generatedHeader("#", `apply.sh: NixOS commit-confirm for ${spec.host}`, "render/nixos-apply.ts");
  return renderApplyScript(
    header,
    [
      { name: "NAME", value: NIXOS_APPLY_COMMAND, comment: "The command this script is installed as." },
      { name: "NIXOS_CONFIG_DIR", value: NIXOS_CONFIG_DIR, comment: "Where the active release's files live (under HOMELAB_ROOT)." },
      { name: "DEFAULT_TIMEOUT", value: timeout },
    ],
    "nixos-apply",
  );
}
