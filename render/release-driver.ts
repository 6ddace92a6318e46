/**
 * The script the Release component runs on the deploying machine (render/scripts/release-driver.sh):
 * the facts of one release on one box (how to reach it over SSH, its pinned host keys, the apply
 * and confirm commands, the confirm deadline), then the fixed bash. Pure: the component maps its
 * target onto these facts and hands the text to a command:local:Command.
 */
import { APPLY_EXIT, renderScript, type ShellFact } from "./apply-common";
import { generatedHeader } from "./header";

/** One SSH endpoint: address, port, login and its public host key (`<type> <base64>`). */
export interface DriverEndpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly hostKey: string;
}

/** Everything one release's driver needs. */
export interface DriverFacts {
  /** The release id. */
  readonly release: string;
  /** The box, reached through `jump` when given. */
  readonly box: DriverEndpoint;
  readonly jump?: DriverEndpoint;
  /** The command that checks, applies and arms the watchdog, run over the first connection. */
  readonly apply: string;
  /** The command that confirms, run over a fresh connection. */
  readonly confirm: string;
  /** Seconds the box waits for the confirm before it rolls back. */
  readonly timeoutSeconds: number;
}

/** A value that goes into ssh_config or known_hosts unquoted: it must be one word of safe characters. */
function checked(what: string, value: string, pattern: RegExp): string {
  if (!pattern.test(value)) throw new Error(`bug: release driver: ${what} ${JSON.stringify(value)} is not ${pattern}`);
  return value;
}

const HOST = /^[A-Za-z0-9][A-Za-z0-9.:-]*$/;
const USER = /^[a-z_][a-z0-9_-]*$/;
/** `<type> <base64>`, without a comment: known_hosts takes it as is. */
const HOST_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}$/;

/** A host key (`<type> <base64>`, optionally a one-line comment) without its comment. */
function keyOnly(key: string): string {
  const m = /^(\S+ \S+)(?: [^\n\r]*)?$/.exec(key.trim());
  return m ? m[1]! : key;
}

function endpointFacts(prefix: "BOX" | "JUMP", e: DriverEndpoint | undefined): ShellFact[] {
  if (e !== undefined && (!Number.isInteger(e.port) || e.port < 1 || e.port > 65535))
    throw new Error(`bug: release driver: port ${e.port}`);
  return [
    { name: `${prefix}_HOST`, value: e === undefined ? "" : checked("host", e.host, HOST) },
    { name: `${prefix}_PORT`, value: e === undefined ? "" : String(e.port) },
    { name: `${prefix}_USER`, value: e === undefined ? "" : checked("user", e.user, USER) },
    { name: `${prefix}_HOST_KEY`, value: e === undefined ? "" : checked("host key", keyOnly(e.hostKey), HOST_KEY) },
  ];
}

/** The driver script of one release. */
export function renderReleaseDriver(f: DriverFacts): string {
  const facts: ShellFact[] = [
    { name: "RELEASE", value: f.release, comment: "The release, the box and its jump host (empty when the box is reached directly)." },
    { name: "BOX", value: f.box.host },
    ...endpointFacts("BOX", f.box),
    ...endpointFacts("JUMP", f.jump),
    { name: "APPLY", value: f.apply, comment: "The box's commands: apply (first connection), confirm (a fresh one)." },
    { name: "CONFIRM", value: f.confirm },
    {
      name: "TIMEOUT",
      value: f.timeoutSeconds,
      comment: "Seconds the box waits for the confirm before its watchdog rolls the release back.",
    },
    {
      name: "NOT_PENDING",
      value: APPLY_EXIT.notPending,
      comment: "The apply scripts' exit status for a release that is not pending (render/apply-common.ts).",
    },
  ];
  return renderScript(
    generatedHeader(
      "#",
      `the release driver of ${f.release} on ${f.box.host}`,
      "render/release-driver.ts",
      "Do not edit: run by pulumi up.",
    ),
    facts,
    "release-driver",
  );
}
