/** Command-line parsing for the offline tools: strict, with one clear usage error. */
import { parseArgs } from "util";

/** The tools and their flags. */
export const USAGE = `usage: npm run <command> [-- options]

commands:
  check   validate the lab              [--dir D] [--json]
  plan    run every stack under mocks   [--dir D] [--out O] [--json] [--stack S]

options:
  --dir D     the directory with Pulumi.yaml, homelab.yaml and Pulumi.<stack>.yaml (default: the repository)
  --out O     where plan writes rendered files, one folder per stack (default: out)
  --json      machine-readable output on stdout
  --stack S   plan only this stack (repeatable)`;

/** A mistake on the command line: printed with the usage, never with a stack trace. */
export class UsageError extends Error {
  constructor(message: string) {
    super(`${message}\n\n${USAGE}`);
    this.name = "UsageError";
  }
}

/** Parsed options. */
export interface CliOptions {
  readonly command: "check" | "plan";
  readonly dir: string;
  readonly out: string;
  readonly json: boolean;
  readonly stacks: readonly string[];
}

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
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const [command, ...rest] = parsed.positionals;
  if (parsed.values.help) throw new UsageError("help");
  if (command !== "check" && command !== "plan") throw new UsageError(command ? `unknown command "${command}"` : "no command given");
  if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(" ")}`);
  return {
    command,
    dir: parsed.values.dir ?? defaults.dir,
    out: parsed.values.out ?? "out",
    json: parsed.values.json ?? false,
    stacks: parsed.values.stack ?? [],
  };
}
