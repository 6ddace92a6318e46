/**
 * A stack file's own settings, checked as strictly as the lab: every `homelab:` key a stack
 * program reads (stacks/context.ts) is validated here, so a value that would only fail at
 * deploy time (`confirmTimeoutSeconds: 30s`) fails `check`; an unknown key gets a
 * did-you-mean; and a secret written in plain text, under any namespace, is refused
 * without being printed.
 */
import { CONFIG_KEYS, PROJECT } from "./lab";
import { isSecretValue, problem, SECRET_NOT_SHOWN, type Problem } from "./problems";
import { PASSWORD_KEY, unknownKeyMessage } from "./schema-kit";
import { didYouMean, suggest } from "./suggest";

/** The bounds stacks/context.ts reads `confirmTimeoutSeconds` with. */
export const CONFIRM_TIMEOUT = { min: 10, max: 3600 } as const;

/** An encrypted config value as Pulumi writes it: `{ secure: <ciphertext> }`. */
function isEncrypted(v: unknown): boolean {
  return typeof v === "object" && v !== null && "secure" in v;
}

/**
 * `confirmTimeoutSeconds` as Pulumi's `config.getNumber` reads it: a number, or text that
 * is one (`pulumi config set` writes text), whole, within CONFIRM_TIMEOUT.
 */
function confirmTimeoutProblem(file: string, value: unknown): Problem | undefined {
  const n = typeof value === "number" ? value : typeof value === "string" && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
  if (Number.isInteger(n) && n >= CONFIRM_TIMEOUT.min && n <= CONFIRM_TIMEOUT.max) return undefined;
  const digits = typeof value === "string" ? /\d+/.exec(value)?.[0] : undefined;
  return problem(
    { file, path: CONFIG_KEYS.confirmTimeout },
    value,
    `must be a whole number of seconds from ${CONFIRM_TIMEOUT.min} to ${CONFIRM_TIMEOUT.max}, without a unit: a box waits that long for the confirm before it reverts a change`,
    Number.isNaN(n) && digits !== undefined
      ? `write ${CONFIG_KEYS.confirmTimeout}: ${Math.min(CONFIRM_TIMEOUT.max, Math.max(CONFIRM_TIMEOUT.min, Number(digits)))}`
      : `write a number from ${CONFIRM_TIMEOUT.min} to ${CONFIRM_TIMEOUT.max}, such as ${CONFIG_KEYS.confirmTimeout}: 120`,
  );
}

/** A secret in plain text in a stack file: refused, never printed, with the command that stores it encrypted. */
function plaintextSecret(file: string, stack: string, key: string, known: boolean): Problem {
  return problem(
    { file, path: key },
    SECRET_NOT_SHOWN,
    `holds a secret in plain text in the stack file (not shown here)${known ? "" : `; this program does not read ${key}`}: anyone who can read the repository can read it`,
    `delete it from ${file} and rotate it, then ${known ? "store" : "if another tool needs it, store"} it encrypted: pulumi config set --secret ${key} -s ${stack}`,
  );
}

/**
 * The deploy key in a stack file, encrypted or not: refused. Whoever can decrypt a stack's
 * config (a preview's credentials) could read it; it lives in the deployer's ssh-agent.
 */
function deployKeyInConfig(file: string, stack: string, plain: boolean): Problem {
  return problem(
    { file, path: CONFIG_KEYS.deployKey },
    SECRET_NOT_SHOWN,
    `${plain ? "holds the deploy key in plain text (not shown here)" : "holds the deploy key"}: the deploy key is never stack config, because whoever can preview a stack can decrypt its config; updates log in with the key from an ssh-agent`,
    `remove it (pulumi config rm ${CONFIG_KEYS.deployKey} -s ${stack})${plain ? ", rotate the key (make a new deploy key pair and update ssh.deploy.key in homelab.yaml)" : ""}, and deploy with the key in an agent: ssh-add ~/.ssh/homelab_deploy`,
  );
}

/**
 * Every problem of a stack file's own keys (besides the segment's or DMZ's facts, which the
 * schema checks). `secrets` are further keys the stack reads, each only as an encrypted value
 * (the ACME DNS credentials of the DMZ stack).
 */
export function settingProblems(
  file: string,
  stack: string,
  isDmz: boolean,
  config: Readonly<Record<string, unknown>>,
  secrets: readonly string[] = [],
): Problem[] {
  const allowed: string[] = [isDmz ? CONFIG_KEYS.dmz : CONFIG_KEYS.segment, CONFIG_KEYS.confirmTimeout, ...secrets];
  const out: Problem[] = [];
  for (const key of Object.keys(config).sort()) {
    const value = config[key];
    const ours = key.startsWith(`${PROJECT}:`);
    const known = allowed.includes(key);
    if (key === CONFIG_KEYS.deployKey) {
      out.push(deployKeyInConfig(file, stack, !isEncrypted(value)));
      continue;
    }
    if (!isEncrypted(value) && (secrets.includes(key) || isSecretValue(key, value))) {
      out.push(plaintextSecret(file, stack, key, known || !ours));
      continue;
    }
    if (!ours || known) continue;
    if (PASSWORD_KEY.test(key)) {
      out.push(problem({ file, path: key }, value, unknownKeyMessage(key, allowed), "remove the key"));
      continue;
    }
    const hint = suggest(key, allowed);
    out.push(
      problem(
        { file, path: key },
        value,
        `unknown config key${didYouMean(key, allowed)} (a ${isDmz ? "DMZ" : "segment"} stack reads ${allowed.join(", ")})`,
        hint ? `rename it to ${hint}` : `remove it from ${file}`,
      ),
    );
  }
  const timeout = config[CONFIG_KEYS.confirmTimeout];
  if (timeout !== undefined) {
    const p = confirmTimeoutProblem(file, timeout);
    if (p) out.push(p);
  }
  return out;
}
