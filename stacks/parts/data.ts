/**
 * The segment's NixOS data host: MariaDB, NFS, Samba and the registry, deployed as a
 * confirmed release through the jump host. Its passwords are config secrets of the segment's
 * stack, uploaded as secret files of the release and never rendered.
 */
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { NixosHost } from "../../components/nixos-host";
import type { SecretFile } from "../../components/release";
import type { DataHostPlan } from "../../model/data/plan";
import { PROJECT } from "../../model/lab";
import { readLabSources, stackFile } from "../../model/load";
import { ConfigError, type Problem } from "../../model/problems";
import { renderDataHostFiles } from "../../render/data-host";
import { filesUnder } from "../../render/files";
import { jumpLabFacts } from "../../render/jump";
import type { StackContext } from "../context";
import { OUTPUTS } from "../contracts";
import { need, type SegmentPart } from "./part";

/**
 * The data host's secret files, from the stack's config secrets, and their fingerprints: the
 * ciphertext the stack file keeps (public, new whenever a secret is set again), else the key.
 * Every missing secret is named in one error, with the command that sets it.
 */
function dataSecrets(ctx: StackContext, plan: DataHostPlan): { files: SecretFile[]; versions: Record<string, string> } {
  const config = new pulumi.Config(PROJECT);
  const stored = readLabSources(ctx.dir).stacks[ctx.stack] ?? {};
  const problems: Problem[] = [];
  const files: SecretFile[] = [];
  const versions: Record<string, string> = {};
  for (const s of plan.secrets) {
    const content = config.getSecret(s.key.slice(PROJECT.length + 1));
    if (content === undefined) {
      problems.push({
        file: stackFile(ctx.stack),
        path: s.key,
        message: `is not set: it is ${s.what} on ${plan.fqdn} (dataHost in ${stackFile(ctx.stack)})`,
        fix: `pulumi config set --secret ${s.key} -s ${ctx.stack}${s.file.endsWith(".htpasswd") ? " < htpasswd-file (htpasswd -nB <user> for each client)" : ""}`,
      });
      continue;
    }
    const value = stored[s.key];
    const ciphertext = typeof value === "object" && value !== null && "secure" in value ? String(value.secure) : s.key;
    const fingerprint = createHash("sha256").update(ciphertext).digest("hex").slice(0, 16);
    files.push({ path: s.file, content, fingerprint });
    versions[s.file] = fingerprint;
  }
  if (problems.length > 0) throw new ConfigError(problems, "cannot run this stack");
  return { files, versions };
}

/** The data host, when the segment has one: reached through the jump host, after it (which opens its port 22 to the deploy identity). */
export const dataHost: SegmentPart = {
  id: "data-host",
  applies: ({ plan }) => plan.dataHost !== undefined,
  declare({ ctx, lab, segment, plan, access, timeout }, provided) {
    const entry = need(provided.entry, "data-host", "jump-host");
    const dh = plan.dataHost!;
    const secrets = dataSecrets(ctx, dh);
    const files = filesUnder(renderDataHostFiles(plan, access, jumpLabFacts(lab), secrets.versions), dh.id);
    const host = new NixosHost(
      dh.id,
      {
        files,
        secretFiles: secrets.files,
        target: { host: dh.address, user: lab.ssh.deploy.user, hostKey: segment.hosts[dh.id]!.sshHostKey!, proxy: entry.target },
        ...timeout,
      },
      // After the jump host, and after its own VM when the segment declares one.
      { dependsOn: [entry.resource, ...(provided.vms?.[dh.id] ? [provided.vms[dh.id]!] : [])] },
    );
    return { outputs: { [OUTPUTS.dataRelease]: host.release } };
  },
};
