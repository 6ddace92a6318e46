/**
 * The DMZ stack: the infra host with DNS, NTP and the reverse proxy. It learns what to
 * serve from every segment listed in its config, through typed StackReference
 * contracts. It reads them all before declaring anything, so a missing or malformed
 * segment fails the whole stack with one error naming every problem: never a partial
 * deploy.
 */
import * as pulumi from "@pulumi/pulumi";
import { NixosHost } from "../components/nixos-host";
import { planDmz, publishSegment, type DmzPlan } from "../model/dmz";
import { planSshAccess } from "../model/plan";
import { renderDmzFiles } from "../render/dmz";
import type { StackContext } from "./context";
import { OUTPUTS, readSegmentContract, segmentContract, type SegmentContract } from "./contracts";
import { filesUnder } from "./segment";

/** One published name in the lab-wide catalog. */
export interface CatalogEntry {
  /** `wiki.lab.example.net`, or `192.168.1.80:25565/tcp` for a stream. */
  readonly name: string;
  readonly kind: "http" | "tcp" | "udp";
  readonly segment: string;
  readonly service: string;
  /** The firewall's WAN address and port the proxy forwards to. */
  readonly firewall: string;
  readonly exposure: "internet" | "lab";
}

/** Every published name: where it leads and through which firewall. */
export function catalog(plan: DmzPlan): CatalogEntry[] {
  return [
    ...plan.proxy.http.map((r) => ({ name: r.fqdn, kind: "http" as const, segment: r.segment, service: r.service, firewall: `${r.upstream.address}:${r.upstream.port}`, exposure: r.exposure })),
    ...plan.proxy.streams.map((s) => ({ name: `${plan.infra.serviceAddresses.proxy}:${s.port}/${s.proto}`, kind: s.proto, segment: s.segment, service: s.service, firewall: `${s.upstream.address}:${s.upstream.port}`, exposure: s.exposure })),
  ];
}

/** JSON with sorted keys and without undefined fields, for comparing contracts. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

/** Read and check every listed segment's contract; one RunError names every problem. */
async function readContracts(ctx: StackContext): Promise<SegmentContract[]> {
  const config = ctx.lab.dmzStack!;
  const refs = config.segments.map((segment) => {
    const name = `${config.stackPrefix}/${segment}`;
    return { segment, name, ref: new pulumi.StackReference(name) };
  });
  const details = await Promise.all(refs.map((r) => r.ref.getOutputDetails(OUTPUTS.contract)));
  const problems: string[] = [];
  const contracts: SegmentContract[] = [];
  refs.forEach((r, i) => {
    const d = details[i]!;
    const read = readSegmentContract(r.segment, r.name, d.value ?? d.secretValue);
    if (read.ok) contracts.push(read.contract);
    else problems.push(...read.problems);
  });
  if (problems.length > 0) {
    throw new pulumi.RunError(`the DMZ cannot read its segments: ${problems.length} problem${problems.length === 1 ? "" : "s"}\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
  for (const c of contracts) {
    // A deployed segment whose config changed since: publish what is deployed, and say so.
    if (ctx.lab.segments[c.name] && canonical(segmentContract(publishSegment(ctx.lab, c.name))) !== canonical(c)) {
      void pulumi.log.warn(`segment ${c.name}: its deployed contract differs from Pulumi.${c.name}.yaml in this commit; run \`pulumi up -s ${c.name}\` so both agree`);
    }
  }
  return contracts;
}

/** Declare the DMZ's resources and return its stack outputs. */
export async function dmzStack(ctx: StackContext): Promise<Record<string, unknown>> {
  const { lab } = ctx;
  const plan = planDmz(lab, await readContracts(ctx));
  const files = filesUnder(renderDmzFiles(plan, planSshAccess(lab)), "infra");
  const infra = new NixosHost("infra", {
    files: Object.fromEntries(files.map((f) => [f.path, f.content])),
    target: { host: lab.dmz.infra.address, user: lab.ssh.deploy.user, privateKey: ctx.deployKey, hostKey: lab.dmz.infra.sshHostKey },
    ...(ctx.confirmTimeoutSeconds !== undefined ? { confirmTimeoutSeconds: ctx.confirmTimeoutSeconds } : {}),
  });
  return {
    [OUTPUTS.catalog]: catalog(plan),
    [OUTPUTS.infraRelease]: infra.release,
  };
}
