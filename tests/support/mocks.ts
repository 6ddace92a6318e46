/** Helpers for the mocks tier: run a stack program of the reference lab under the strict recorder. */
import { runUnderMocks, type MockRun, type StackOutputsByName } from "../../cli/mock-runtime";
import { DRIVER_ENV } from "../../components/release";
import { planLabObjects, proxmoxContract } from "../../model/compute/lab-objects";
import { publishSegment } from "../../model/network/dmz";
import { planLab } from "../../model/plan";
import { runProgram } from "../../stacks";
import { OUTPUTS, segmentContract } from "../../stacks/contracts";
import { referenceLab, REPO } from "./lab";

/** The environment of a deploying machine: an ssh-agent socket (never opened under mocks). */
export const TEST_ENV = { SSH_AUTH_SOCK: "/run/test/ssh-agent.sock" } as const;

/** The DMZ stack's ACME DNS credentials in the tests: a secret the recorder must never show. */
export const TEST_ACME_CREDENTIALS = { key: "homelab:acmeDnsCredentials", value: "CF_DNS_API_TOKEN=test-token-5f1e" } as const;

/** The internal stack's data host secrets in the tests: passwords and an htpasswd line the recorder must never show. */
export const TEST_DATA_SECRETS = {
  "homelab:mariadbGitea": "test-db-pw-7Qk2'\\x",
  "homelab:sambaK8s": "test-smb-pw-9Zr4",
  "homelab:registryHtpasswd": "mirror:$2y$05$test.htpasswd.line.3Fv8",
} as const;

/** Every stack's Proxmox API token in the tests: a secret the recorder must never show. */
export const TEST_PROXMOX_TOKEN = {
  key: "homelab:proxmoxApiToken",
  value: "pulumi@pve!test=5f1e0c2a-9d4b-4e7f-8a61-0b3c9d2e7f41",
} as const;

/**
 * Each end's WireGuard private key in the tests (made with wg genkey; they do not match the
 * reference lab's public keys, which nothing under mocks checks): secrets the recorder must never show.
 */
export const TEST_WIREGUARD_KEYS: Readonly<Record<string, string>> = {
  dmz: "gJjcspeH2bQi0S1BbamcL2T6VzjM3A8DL92U7gczRGI=",
  internal: "4NNM6WjYEPcYP8K3Pr4OhqCA0XDWZwTbPBdYW37J+XI=",
  cluster: "4L2PSsJPtTHmmJd0a44Ry1F2ggdAVgzDqyrxDBdS0nI=",
  lab: "WPeswz3GNZqwAQpgf6UmlJzUaS27MAaqeYhI1Ve2TFY=",
  sandbox: "IIkX7i8KGvV/cobLJ/F+I61KL9isgSq+dsgoNkKx2kI=",
};
export const TEST_WIREGUARD_KEY = "homelab:wireguardKey";

/** The secrets a stack of the reference lab reads, with their test values: every stack's Proxmox token and WireGuard key, the DMZ's ACME credentials, internal's data host secrets. */
export function testConfig(stack: string): Record<string, string> {
  return {
    [TEST_PROXMOX_TOKEN.key]: TEST_PROXMOX_TOKEN.value,
    // A stack of another name (a renamed segment) has a key all the same.
    [TEST_WIREGUARD_KEY]: TEST_WIREGUARD_KEYS[stack] ?? TEST_WIREGUARD_KEYS["lab"]!,
    ...(stack === "dmz" ? { [TEST_ACME_CREDENTIALS.key]: TEST_ACME_CREDENTIALS.value } : {}),
    ...(stack === "internal" ? TEST_DATA_SECRETS : {}),
  };
}

/** Run one stack of the lab in `dir` (default: the reference lab); its secrets are testConfig(stack) unless `config` is given. */
export function runStack(
  stack: string,
  opts: {
    dir?: string;
    preview?: boolean;
    references?: StackOutputsByName;
    env?: Readonly<Record<string, string | undefined>>;
    config?: Record<string, string>;
  } = {},
): Promise<MockRun> {
  return runUnderMocks({
    stack,
    program: () => runProgram(stack, opts.dir ?? REPO, opts.env ?? TEST_ENV),
    config: opts.config ?? testConfig(stack),
    secretKeys: [TEST_ACME_CREDENTIALS.key, TEST_PROXMOX_TOKEN.key, TEST_WIREGUARD_KEY, ...Object.keys(TEST_DATA_SECRETS)],
    references: opts.references ?? ownerReferences(),
    preview: opts.preview ?? false,
  });
}

/**
 * The owner of the lab-wide Proxmox objects (internal) as deployed: its Proxmox contract, which
 * every other stack whose VMs name a PCI mapping or an HA group reads first.
 */
export function ownerReferences(): Record<string, Record<string, unknown>> {
  const lab = referenceLab();
  return {
    [`organization/homelab/${lab.hardware.proxmox.owner}`]: {
      [OUTPUTS.proxmox]: JSON.parse(JSON.stringify(proxmoxContract(planLabObjects(lab, planLab(lab).placement)))),
    },
  };
}

/**
 * The StackReferences the DMZ stack reads, as `organization/homelab/<segment>` -> outputs: each
 * segment's exported contract as the engine would return it (plain JSON), and the owner's
 * Proxmox contract with the owner's.
 */
export function segmentReferences(
  segments: readonly string[] = ["cluster", "internal", "lab", "sandbox"],
): Record<string, Record<string, unknown>> {
  const owner = ownerReferences();
  return Object.fromEntries(
    segments.map((s) => [
      `organization/homelab/${s}`,
      {
        ...owner[`organization/homelab/${s}`],
        [OUTPUTS.contract]: JSON.parse(JSON.stringify(segmentContract(publishSegment(referenceLab(), s)))),
      },
    ]),
  );
}

/**
 * The facts of a Release's apply-confirm command (its driver script, render/release-driver.ts), as
 * bash reads them: `NAME='text'` (single-quoted, `'\''` for a quote) or `NAME=<integer>`.
 */
export function driverFacts(inputs: Readonly<Record<string, unknown>>): Record<string, string> {
  const env = inputs["environment"] as Record<string, unknown> | undefined;
  const script = env?.[DRIVER_ENV];
  if (typeof script !== "string") throw new Error(`no ${DRIVER_ENV} in the command's environment: ${JSON.stringify(inputs)}`);
  const facts: Record<string, string> = {};
  for (const m of script.matchAll(/^([A-Z][A-Z0-9_]*)=(?:'((?:[^']|'\\'')*)'|(\d+))$/gm)) {
    facts[m[1]!] = m[2] !== undefined ? m[2].replace(/'\\''/g, "'") : m[3]!;
  }
  return facts;
}
