/**
 * The DMZ stack: the infra host with DNS, NTP and the reverse proxy. It learns what to
 * serve from every segment listed in its config, through typed StackReference
 * contracts. It reads them all before declaring anything, so a missing or malformed
 * segment fails the whole stack with one error naming every problem: never a partial
 * deploy.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { NixosHost } from "../components/nixos-host";
import type { SecretFile } from "../components/release";
import { readLabSources } from "../model/load";
import type { ProxyCertificate } from "../model/network/certificate";
import { ConfigError } from "../model/problems";
import { planDmz, type PublishedSegment } from "../model/network/dmz";
import { CONFIG_KEYS, DMZ_STACK, own } from "../model/lab";
import { canonicalJson } from "../model/order";
import { planLab } from "../model/plan";
import { INFRA_ACME_CREDENTIALS_FILE, INFRA_DIR, renderDmzFiles } from "../render/dmz";
import { filesUnder } from "../render/files";
import { docsOfDmz } from "../pages/contract-dmz";
import type { StackContext } from "./context";
import { OUTPUTS, readReference, segmentContract, segmentContractSpec, type SegmentContract } from "./contracts";
import { declareMachines, machinesOutput } from "./proxmox";
import { declareHa, readLabObjects } from "./proxmox-lab";
import { acmeCredentialsProblem, readSecret, secretFileOf, wireguardKeyProblem } from "./secrets";
import { tunnelEnd } from "../model/network/tunnel";
import { TUNNEL_KEY_FILE } from "../render/wireguard";

/**
 * Read and check every listed segment's contract; one RunError names every problem.
 * `published` is what each segment of this commit's model publishes, to compare each contract with.
 */
async function readContracts(ctx: StackContext, published: Readonly<Record<string, PublishedSegment>>): Promise<SegmentContract[]> {
  const config = ctx.lab.dmzStack!;
  const refs = config.segments.map((segment) => {
    const name = `${config.stackPrefix}/${segment}`;
    return { segment, name, ref: new pulumi.StackReference(name) };
  });
  const reads = await Promise.all(refs.map((r) => readReference<SegmentContract>(r.ref, r.name, segmentContractSpec(r.segment))));
  const problems: string[] = [];
  const contracts: SegmentContract[] = [];
  for (const read of reads) {
    if (read.ok) contracts.push(read.value.value);
    else problems.push(...read.problems);
  }
  if (problems.length > 0) {
    throw new pulumi.RunError(
      `the DMZ cannot read its segments: ${problems.length} problem${problems.length === 1 ? "" : "s"}\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
  for (const c of contracts) {
    // A deployed segment whose config changed since: publish what is deployed, and say so.
    const mine = own(published, c.name);
    if (mine && canonicalJson(segmentContract(mine)) !== canonicalJson(c)) {
      void pulumi.log.warn(
        `segment ${c.name}: its deployed contract differs from Pulumi.${c.name}.yaml in this commit; run \`pulumi up -s ${c.name}\` so both agree`,
      );
    }
  }
  return contracts;
}

/**
 * The ACME DNS provider's credentials as a secret file of the infra host's release, read from
 * the DMZ stack's config secret; none for a manual certificate. The release id takes the
 * ciphertext the stack file keeps (public, and new whenever the secret is set again), so new
 * credentials make a new release.
 */
function acmeSecretFiles(ctx: StackContext, tls: ProxyCertificate): SecretFile[] {
  if (tls.kind === "manual") return [];
  const key = tls.credentialsKey;
  const content = readSecret(key);
  // loadContext refused a stack without it already; this keeps the read total.
  if (content === undefined) throw new ConfigError([acmeCredentialsProblem(key, tls.dnsProvider)], "cannot run this stack");
  const stored = readLabSources(ctx.dir).stacks[DMZ_STACK]?.[key];
  const ciphertext = typeof stored === "object" && stored !== null && "secure" in stored ? String(stored.secure) : key;
  return [{ path: INFRA_ACME_CREDENTIALS_FILE, content, fingerprint: createHash("sha256").update(ciphertext).digest("hex").slice(0, 16) }];
}

/** The infra host's WireGuard private key as a secret file of its release, when the lab has the tunnel. */
function tunnelSecretFiles(ctx: StackContext): SecretFile[] {
  if (tunnelEnd(ctx.lab, DMZ_STACK) === undefined) return [];
  const file = secretFileOf(ctx.dir, DMZ_STACK, CONFIG_KEYS.wireguardKey, TUNNEL_KEY_FILE);
  // loadContext refused a stack without it already; this keeps the read total.
  if (!file) throw new ConfigError([wireguardKeyProblem(DMZ_STACK, "the infra host")], "cannot run this stack");
  return [file];
}

/** Declare the DMZ's resources and return its stack outputs. */
export async function dmzStack(ctx: StackContext): Promise<Record<string, unknown>> {
  const { lab } = ctx;
  const planned = planLab(lab);
  const contracts = await readContracts(ctx, planned.published);
  const plan = planDmz(lab, contracts);
  const secretFiles = [...acmeSecretFiles(ctx, plan.proxy.tls), ...tunnelSecretFiles(ctx)];
  const versions = Object.fromEntries(secretFiles.map((f) => [f.path, f.fingerprint]));
  const files = filesUnder(renderDmzFiles(plan, planned.ssh, versions), INFRA_DIR);
  await readLabObjects(lab, planned, DMZ_STACK);
  // The infra host is a VM of the DMZ: its configuration is released once the VM exists.
  const machines = declareMachines(lab, planned, DMZ_STACK);
  const vm = machines?.vms.infra;
  if (machines) declareHa(lab, planned, DMZ_STACK, machines.provider, vm ? { infra: vm.vm } : {});
  const infra = new NixosHost(
    "infra",
    {
      files,
      secretFiles,
      target: { host: lab.dmz.infra.address, user: lab.ssh.deploy.user, hostKey: lab.dmz.infra.sshHostKey },
      ...(ctx.confirmTimeoutSeconds !== undefined ? { confirmTimeoutSeconds: ctx.confirmTimeoutSeconds } : {}),
    },
    vm ? { dependsOn: [vm] } : {},
  );
  // Plain data, never a secret: the DMZ as planned from the contracts it read, plus the lab-wide placement.
  const docs = docsOfDmz(lab, planned, { plan, segments: contracts });
  return {
    [OUTPUTS.catalog]: docs.catalog,
    ...(machines ? { [OUTPUTS.vms]: machinesOutput(machines) } : {}),
    [OUTPUTS.infraRelease]: infra.release,
    [OUTPUTS.docs]: docs,
  };
}
