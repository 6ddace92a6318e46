/**
 * What every stack program starts from: the whole lab, validated before any resource
 * is declared. The deploy key is not among its inputs: Pulumi's SSH connections use the
 * ssh-agent of the machine that deploys (SSH_AUTH_SOCK), so no stack config and no state
 * holds it, and a preview, which needs no SSH, runs without it.
 */
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { requireLab } from "../model/check";
import { CONFIG_KEYS, DMZ_STACK, PROJECT, type Lab } from "../model/lab";
import { stackFile } from "../model/load";
import { ConfigError } from "../model/problems";
import { missingSecrets } from "./secrets";

/** The inputs of one stack program. */
export interface StackContext {
  /** The stack name: `dmz` or a segment. */
  readonly stack: string;
  /** The project directory with every stack's config file. */
  readonly dir: string;
  /** The whole lab, validated. */
  readonly lab: Lab;
  /** Seconds a box waits for the confirm before reverting, when the stack sets one. */
  readonly confirmTimeoutSeconds?: number;
}

/** Stacks that exist: one `Pulumi.<stack>.yaml` each. */
export function knownStacks(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .map((f) => /^Pulumi\.([^.]+)\.ya?ml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

/**
 * Load and validate the whole lab (every stack's file, so cross-segment rules hold), and
 * make sure an update has an ssh-agent to log in with. Throws ConfigError for any user mistake.
 */
export function loadContext(stack: string, dir: string, env: Readonly<Record<string, string | undefined>> = process.env): StackContext {
  const stacks = knownStacks(dir);
  if (!stacks.includes(stack)) {
    throw new ConfigError(
      [
        {
          file: stackFile(stack),
          path: "(stack name)",
          value: stack,
          message: `unknown stack "${stack}"; the known stacks are ${stacks.join(", ")} (one Pulumi.<stack>.yaml each)`,
          fix: `select one of them (pulumi stack select ${stacks[0] ?? DMZ_STACK}), or add a segment by creating ${stackFile(stack)} with a ${CONFIG_KEYS.segment} block and listing it in Pulumi.dmz.yaml`,
        },
      ],
      "cannot run this stack",
    );
  }
  const lab = requireLab(dir);
  const config = new pulumi.Config(PROJECT);
  if (!pulumi.runtime.isDryRun() && !env.SSH_AUTH_SOCK) {
    throw new ConfigError(
      [
        {
          file: "(environment)",
          path: "SSH_AUTH_SOCK",
          message:
            "is not set: an update logs in to routers and hosts with the deploy key from an ssh-agent (its public half is ssh.deploy.key in homelab.yaml); the key is never stack config",
          fix: 'start an agent and add the key, then run the update again: eval "$(ssh-agent -s)" && ssh-add ~/.ssh/homelab_deploy',
        },
      ],
      "cannot run this stack",
    );
  }
  const missing = missingSecrets(lab, stack);
  if (missing.length > 0) throw new ConfigError(missing, "cannot run this stack");
  const timeout = config.getNumber("confirmTimeoutSeconds", { min: 10, max: 3600 });
  return { stack, dir, lab, ...(timeout !== undefined ? { confirmTimeoutSeconds: timeout } : {}) };
}
