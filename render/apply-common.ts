/**
 * What the two commit-confirm scripts share: the routers' `apply.sh` (render/router-apply.ts)
 * and the NixOS hosts' `homelab-apply` (render/nixos-apply.ts). Their state machines differ
 * (files and routes against NixOS generations); their contract with the Release component
 * and the tests does not: the exit codes, the default confirm timeout, the release-id rule,
 * one command at a time under a lock, and where state lives.
 *
 * Each script is a facts block rendered here in TypeScript (the box's names, paths, timeouts
 * and this protocol's constants, every value shell-quoted) followed by fixed bash kept as
 * `.sh` files under render/scripts/: `apply-common.sh` (strict mode, die, check_id, the lock,
 * the path checks), then the script's own body. shellcheck reads those files as they are.
 */
import { loadScriptBody, type ScriptBody } from "./scripts/load";

/**
 * Exit codes of both apply scripts (the Release component and the tests rely on them): 0 done;
 * 1 anything unexpected; 2 usage; 3 a check failed and nothing was changed (a router's check,
 * a NixOS release not uploaded); 4 the release is not pending (rolled back, superseded or
 * unknown); 5 installing, building or activating failed (the previous state is back); 6
 * another run held the lock too long.
 */
export const APPLY_EXIT = { ok: 0, failed: 1, usage: 2, check: 3, notPending: 4, install: 5, busy: 6 } as const;

/** Seconds a box waits for the confirm when the caller gives none. */
export const DEFAULT_CONFIRM_TIMEOUT_SECONDS = 120;

/** Where a router takes its releases: this directory under the deploy user's home, one directory per release. */
export const ROUTER_UPLOADS = "homelab-uploads";

/** A router release's upload directory (components/release.ts uploads there; a bootstrap makes it). */
export function routerUploadDir(user: string, release: string): string {
  return `/home/${user}/${ROUTER_UPLOADS}/${release}`;
}

/** Where the lab's state lives on every box (HOMELAB_STATE overrides it in tests). */
export const HOMELAB_STATE_DIR = "/var/lib/homelab";

// --- the facts block ------------------------------------------------------------------------------

/** One element of a bash array, with an optional trailing comment. */
export interface ShellItem {
  readonly value: string;
  readonly comment?: string;
}

/** One variable of a facts block: a string (single-quoted), a non-negative integer, or an array of strings. */
export interface ShellFact {
  /** An upper-case shell name, e.g. `WAN_IFACE`. */
  readonly name: string;
  readonly value: string | number | readonly ShellItem[];
  /** A comment line above the variable. @default none */
  readonly comment?: string;
}

/** A single-quoted shell word: bash expands nothing inside it, whatever the text. */
export function shq(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A comment's text must stay on its one line. */
function commentText(text: string): string {
  if (/[\n\r]/.test(text)) throw new Error(`bug: a facts comment must be one line, got ${JSON.stringify(text)}`);
  return text;
}

/** `NAME='value'`, `NAME=42` or `NAME=(\n  'a'  # comment\n)`. */
function factLines(fact: ShellFact): string[] {
  if (!/^[A-Z][A-Z0-9_]*$/.test(fact.name)) throw new Error(`bug: ${JSON.stringify(fact.name)} is not an upper-case shell variable name`);
  const above = fact.comment === undefined ? [] : [`# ${commentText(fact.comment)}`];
  const { name, value } = fact;
  if (typeof value === "string") return [...above, `${name}=${shq(value)}`];
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`bug: fact ${name} must be a non-negative integer, got ${value}`);
    return [...above, `${name}=${value}`];
  }
  if (value.length === 0) return [...above, `${name}=()`];
  const items = value.map((i) => `  ${shq(i.value)}${i.comment === undefined ? "" : `  # ${commentText(i.comment)}`}`);
  return [...above, `${name}=(`, ...items, ")"];
}

/** The protocol's constants every apply script reads: the state directory's default and the exit codes. */
function protocolFacts(): ShellFact[] {
  return [
    { name: "STATE_DIR", value: HOMELAB_STATE_DIR, comment: "The commit-confirm protocol (render/apply-common.ts)." },
    { name: "EXIT_USAGE", value: APPLY_EXIT.usage },
    { name: "EXIT_CHECK", value: APPLY_EXIT.check },
    { name: "EXIT_NOT_PENDING", value: APPLY_EXIT.notPending },
    { name: "EXIT_INSTALL", value: APPLY_EXIT.install },
    { name: "EXIT_BUSY", value: APPLY_EXIT.busy },
  ];
}

// --- the assembled script ---------------------------------------------------------------------------

/** The two commit-confirm scripts, by their body's file under render/scripts/. */
export type ApplyScriptKind = "nixos-apply" | "router-apply";

/** The fixed bash of one kind of script, the same on every box: apply-common.sh, then the kind's own body. */
export function applyScriptBody(kind: ApplyScriptKind): string {
  return `${loadScriptBody("apply-common")}\n${loadScriptBody(kind)}`;
}

/**
 * The script as deployed: the shebang, `header` (from generatedHeader), the box's facts with the
 * protocol's constants, a blank line, then {@link applyScriptBody}.
 */
export function renderApplyScript(header: string, facts: readonly ShellFact[], kind: ApplyScriptKind): string {
  const lines = [...facts, ...protocolFacts()].flatMap(factLines);
  const head = `#!/usr/bin/env bash\n${header}\n# --- facts from the model -------------------------------------------------------------`;
  return `${head}\n${lines.join("\n")}\n\n${applyScriptBody(kind)}`;
}

/**
 * A script that is not a commit-confirm script (a data host's users scripts): the shebang,
 * `header`, its facts, a blank line, then its body from render/scripts/, with no protocol constants.
 */
export function renderScript(
  header: string,
  facts: readonly ShellFact[],
  body: Exclude<ScriptBody, "apply-common" | ApplyScriptKind>,
): string {
  const head = `#!/usr/bin/env bash\n${header}\n# --- facts from the model -------------------------------------------------------------`;
  return `${head}\n${facts.flatMap(factLines).join("\n")}\n\n${loadScriptBody(body)}`;
}
