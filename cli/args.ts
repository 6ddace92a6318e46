/** Command-line parsing for the offline tools: strict, with one clear usage error. */
import { parseArgs } from "util";

/** The tools and their flags. */
const USAGE = `usage: npm run <command> [-- options]

commands:
  check   validate the lab              [--dir D] [--json]
  plan    run every stack under mocks   [--dir D] [--out O] [--json] [--stack S]
          state what a change does      --diff REF [--markdown | --json] [--exit-code] [--dir D]
  docs    render the docs               [--dir D] [--out O] [--check] [--source auto|live|offline]
  maintenance NODE  what maintaining one Proxmox node does, and the commands to run  [--dir D] [--script]
  maintenance --weekly  every node once a week and every update restart: each VM's downtime  [--dir D]
  bootstrap ROUTER  the script that makes a fresh Debian box that router, a new host key pinned  [--dir D] [--out O]

options:
  --dir D       the directory with Pulumi.yaml, homelab.yaml and Pulumi.<stack>.yaml (default: the repository)
  --out O       plan: where rendered files go, one folder per stack (default: out)
                docs: the docs directory (default: D/docs)
                bootstrap: where the script goes (default: out/bootstrap)
  --json        machine-readable output on stdout
  --stack S     plan only this stack (repeatable)
  --diff REF    plan the working tree and the lab config at git REF (with this working tree's code)
                and state the change in plain words; writes no files
  --markdown    with --diff: a pull-request comment (Markdown)
  --exit-code   with --diff: exit 2 when something changed (0 when nothing did, 1 on errors)
  --check       docs: write nothing; exit 1, listing stale files, when O differs from what
                would be written (compares with the model unless --source is given)
  --script      maintenance: print the commands as one bash script
  --weekly      maintenance: the weekly plan instead of one node's
  --source S    docs: live (every stack's \`docs\` output through the pulumi CLI), offline (the model),
                or auto (live when a pulumi CLI and the stacks exist, else offline; the default)`;

/** A mistake on the command line: printed with the usage, never with a stack trace. */
export class UsageError extends Error {
  constructor(message: string) {
    super(`${message}\n\n${USAGE}`);
    this.name = "UsageError";
  }
}

/** Parsed options. */
export interface CliOptions {
  readonly command: "check" | "plan" | "docs" | "maintenance" | "bootstrap";
  readonly dir: string;
  /** Where output goes; undefined means the command's default (plan: out, docs: <dir>/docs). */
  readonly out?: string;
  readonly json: boolean;
  readonly stacks: readonly string[];
  /** plan: the git ref to compare the working tree's lab with. */
  readonly diff?: string;
  /** plan --diff: a pull-request comment. */
  readonly markdown: boolean;
  /** plan --diff: exit 2 when something changed. */
  readonly exitCode: boolean;
  /** docs: compare instead of writing. */
  readonly check: boolean;
  /** docs: where the docs come from; undefined means the command's default. */
  readonly source?: "auto" | "live" | "offline";
  /** maintenance: the Proxmox node. */
  readonly node?: string;
  /** bootstrap: the router. */
  readonly router?: string;
  /** maintenance: print the bash script. */
  readonly script: boolean;
  /** maintenance: the weekly plan. */
  readonly weekly: boolean;
}

const SOURCES = ["auto", "live", "offline"] as const;

/** Parse argv (without node and script). */
export function parseCli(argv: readonly string[], defaults: { dir: string }): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        dir: { type: "string" },
        out: { type: "string" },
        json: { type: "boolean", default: false },
        stack: { type: "string", multiple: true },
        diff: { type: "string" },
        markdown: { type: "boolean", default: false },
        "exit-code": { type: "boolean", default: false },
        check: { type: "boolean", default: false },
        source: { type: "string" },
        script: { type: "boolean", default: false },
        weekly: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const [command, ...rest] = parsed.positionals;
  const v = parsed.values;
  if (v.help) throw new UsageError("help");
  if (command !== "check" && command !== "plan" && command !== "docs" && command !== "maintenance" && command !== "bootstrap")
    throw new UsageError(command ? `unknown command "${command}"` : "no command given");
  const [target, ...extra] = command === "maintenance" || command === "bootstrap" ? rest : [undefined, ...rest];
  if (command === "maintenance" && target === undefined && !v.weekly)
    throw new UsageError("maintenance needs a Proxmox node, such as: npm run maintenance -- pve1 (or --weekly for the week)");
  if (command === "maintenance" && target !== undefined && v.weekly)
    throw new UsageError("--weekly plans every node: give no node with it");
  if (command === "bootstrap" && target === undefined)
    throw new UsageError("bootstrap needs a router, such as: npm run bootstrap -- lab-fw");
  const node = command === "maintenance" ? target : undefined;
  const router = command === "bootstrap" ? target : undefined;
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(" ")}`);
  // Each flag belongs to some commands only: refuse it elsewhere rather than ignore it.
  const only = (flag: string, given: boolean, allowed: boolean, where: string) => {
    if (given && !allowed) throw new UsageError(`${flag} works with ${where} only`);
  };
  only(
    "--out",
    v.out !== undefined,
    command !== "check" && command !== "maintenance" && v.diff === undefined,
    "plan (without --diff), docs and bootstrap",
  );
  only("--json", v.json, command === "check" || command === "plan", "check and plan");
  only("--script", v.script, command === "maintenance" && !v.weekly, "maintenance <node>");
  only("--weekly", v.weekly, command === "maintenance", "maintenance");
  only(
    "--stack",
    (v.stack ?? []).length > 0,
    command === "plan" && v.diff === undefined,
    "plan (without --diff: a diff plans every stack)",
  );
  only("--diff", v.diff !== undefined, command === "plan", "plan");
  only("--markdown", v.markdown, v.diff !== undefined, "plan --diff");
  only("--exit-code", v["exit-code"], v.diff !== undefined, "plan --diff");
  only("--check", v.check, command === "docs", "docs");
  only("--source", v.source !== undefined, command === "docs", "docs");
  if (v.markdown && v.json) throw new UsageError("--markdown and --json exclude each other");
  if (v.diff !== undefined && v.diff.trim() === "") throw new UsageError("--diff needs a git ref, such as main or HEAD~1");
  if (v.source !== undefined && !(SOURCES as readonly string[]).includes(v.source))
    throw new UsageError(`--source must be one of ${SOURCES.join(", ")}, not "${v.source}"`);
  return {
    command,
    dir: v.dir ?? defaults.dir,
    ...(v.out !== undefined ? { out: v.out } : {}),
    json: v.json,
    stacks: v.stack ?? [],
    ...(v.diff !== undefined ? { diff: v.diff } : {}),
    markdown: v.markdown,
    exitCode: v["exit-code"],
    check: v.check,
    ...(v.source !== undefined ? { source: v.source as CliOptions["source"] } : {}),
    ...(node !== undefined ? { node } : {}),
    ...(router !== undefined ? { router } : {}),
    script: v.script,
    weekly: v.weekly,
  };
}
