/**
 * What crosses a StackReference: typed, versioned contracts with one writer and one
 * reader. Output names live here and nowhere else; the shapes are zod schemas in
 * model/contracts.ts, with their types derived from them. One reader checks what another
 * stack exported and reports every problem, each naming the stack, the output, the path
 * and the fix; a secret field crosses as its own secret output and stays a secret Output.
 */
import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import {
  DmzDocsSchema,
  DOCS_CONTRACT_VERSION,
  SEGMENT_CONTRACT_VERSION,
  SegmentContractSchema,
  SegmentDocsSchema,
  type DmzDocs,
  type PublishedSegment,
  type SegmentContract,
  type SegmentDocs,
} from "../model/contracts";
import { SECRET_PLACEHOLDER } from "../model/lab";

export { DOCS_CONTRACT_VERSION, SEGMENT_CONTRACT_VERSION, type DmzDocs, type SegmentContract, type SegmentDocs } from "../model/contracts";

/** Stack output names: an interface between stacks and for humans reading `pulumi stack output`. */
export const OUTPUTS = {
  /** A segment's SegmentContract: what the DMZ needs to publish it. */
  contract: "contract",
  /** The router's current release id (a hash of its rendered files). */
  routerRelease: "routerRelease",
  /** The segment jump host's current release id. */
  jumpRelease: "jumpRelease",
  /** The segment data host's current release id, when it has one. */
  dataRelease: "dataRelease",
  /** Each VM of the stack by host id: its Proxmox VM id and node. */
  vms: "vms",
  /** The DMZ's infra host release id. */
  infraRelease: "infraRelease",
  /** The DMZ's lab-wide catalog: every published name, where it leads, through which firewall. */
  catalog: "catalog",
  /** The owner's Proxmox contract (ProxmoxContract): the lab-wide PCI mappings and HA groups other stacks name. */
  proxmox: "proxmox",
  /** Every stack's documentation contract (SegmentDocs or DmzDocs): what `npm run docs` renders. */
  docs: "docs",
  /** A segment's Talos cluster: its endpoint, versions, installer image and nodes (plain). */
  talos: "talos",
  /** The Talos cluster's admin kubeconfig; secret. */
  kubeconfig: "kubeconfig",
  /** The Talos cluster's talosctl client configuration; secret. */
  talosconfig: "talosconfig",
} as const;

/** Build the contract a segment stack exports. */
export function segmentContract(published: PublishedSegment): SegmentContract {
  return { version: SEGMENT_CONTRACT_VERSION, ...published };
}

/** The result of reading one versioned output. */
export type Read<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: readonly string[] };

/** A secret field of a contract: its own stack output (a stack output is secret as a whole), read so that it stays secret. */
export interface SecretField<S extends z.ZodType = z.ZodType> {
  readonly output: string;
  readonly schema: S;
}

/** How one versioned contract output is read, and the secret outputs that go with it. */
export interface ContractSpec<S extends z.ZodType = z.ZodType, K extends Record<string, z.ZodType> = Record<string, never>> {
  /** The plain output: versioned, checked before anything is declared. */
  readonly output: string;
  readonly version: number;
  readonly schema: S;
  /** What to do about any problem. */
  readonly fix: string;
  /** What the output says when it was never written. */
  readonly missing: string;
  /** For a segment's output: the segment it must describe. */
  readonly segment?: string;
  /** Secret fields, by name. */
  readonly secrets: { readonly [F in keyof K]: SecretField<K[F]> };
}

/**
 * Check one versioned output of another stack: a missing output, a secret, another
 * version, a wrong shape and the wrong segment each give a problem naming the stack, the
 * output, the path and the fix. Every contract is read this way.
 */
export function readVersioned<T>(spec: Omit<ContractSpec, "secrets">, stackName: string, value: unknown): Read<T> {
  const { output, fix } = spec;
  if (value === undefined || value === null)
    return { ok: false, problems: [`stack ${stackName} has no "${output}" output: ${spec.missing}. Fix: ${fix}`] };
  if (value === SECRET_PLACEHOLDER) return { ok: false, problems: [secretContract(stackName, output, fix)] };
  const version = (value as { version?: unknown }).version;
  if (version !== spec.version) {
    return {
      ok: false,
      problems: [
        `stack ${stackName} exports ${output} version ${JSON.stringify(version)}; this program reads version ${spec.version}. Fix: ${fix}`,
      ],
    };
  }
  const r = spec.schema.safeParse(value);
  if (!r.success)
    return {
      ok: false,
      problems: r.error.issues.map((i) => `stack ${stackName} output ${output}.${i.path.join(".")}: ${i.message}. Fix: ${fix}`),
    };
  const name = (r.data as { name?: unknown }).name;
  if (spec.segment !== undefined && name !== spec.segment) {
    return {
      ok: false,
      problems: [
        `stack ${stackName} describes segment "${String(name)}", not "${spec.segment}". Fix: check homelab:dmz.stackPrefix and the segment list in Pulumi.dmz.yaml`,
      ],
    };
  }
  // The writer's value as it was (the schema tolerates fields a newer writer may add).
  return { ok: true, value: value as T };
}

const secretContract = (stackName: string, output: string, fix: string) =>
  `stack ${stackName} output ${output} is secret; a contract never holds a secret. Fix: ${fix}`;

/** A contract read through a StackReference: the plain value, and each secret field as a secret Output. */
export interface ReferenceRead<T, K extends Record<string, z.ZodType>> {
  readonly value: T;
  readonly secrets: { readonly [F in keyof K]: pulumi.Output<z.output<K[F]>> };
}

/**
 * Read a contract from another stack through `ref`. The plain output is read and checked
 * now, so a problem fails the stack before anything is declared. Each secret field must be
 * exported as a secret (a plain one is a problem: it already sits in clear in that
 * stack's state), is checked now, and is returned through `requireOutput`, which keeps it
 * secret; it is never unwrapped here. A stack that cannot be read at all is one problem.
 */
export async function readReference<T, K extends Record<string, z.ZodType> = Record<string, never>>(
  ref: Pick<pulumi.StackReference, "getOutputDetails" | "requireOutput">,
  stackName: string,
  spec: ContractSpec<z.ZodType, K>,
): Promise<Read<ReferenceRead<T, K>>> {
  const { fix } = spec;
  const fields = Object.entries(spec.secrets) as [keyof K & string, SecretField][];
  let details: pulumi.StackReferenceOutputDetails[];
  try {
    details = await Promise.all([spec.output, ...fields.map(([, f]) => f.output)].map((o) => ref.getOutputDetails(o)));
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return {
      ok: false,
      problems: [`stack ${stackName} cannot be read (${why}): it does not exist or this account cannot see it. Fix: ${fix}`],
    };
  }
  const [plain, ...secret] = details;
  if (plain!.secretValue !== undefined) return { ok: false, problems: [secretContract(stackName, spec.output, fix)] };
  const read = readVersioned<T>(spec, stackName, plain!.value);
  const problems = read.ok ? [] : [...read.problems];
  fields.forEach(([, f], i) => problems.push(...secretProblems(stackName, f, secret[i]!, fix)));
  if (!read.ok || problems.length > 0) return { ok: false, problems };
  const secrets = Object.fromEntries(
    fields.map(([name, f]) => [name, pulumi.secret(ref.requireOutput(f.output).apply((v: unknown) => f.schema.parse(v)))]),
  ) as unknown as ReferenceRead<T, K>["secrets"];
  return { ok: true, value: { value: read.value, secrets } };
}

/** What is wrong with one secret field's output; never quotes its value. */
function secretProblems(stackName: string, f: SecretField, d: pulumi.StackReferenceOutputDetails, fix: string): string[] {
  if (d.value === undefined && d.secretValue === undefined) return [`stack ${stackName} has no "${f.output}" output. Fix: ${fix}`];
  if (d.secretValue === undefined) {
    return [
      `stack ${stackName} output ${f.output} is not secret, and it must cross stacks as one. Fix: export it with pulumi.secret(...) in that stack and rotate it (it is in clear in that stack's state), then ${fix}`,
    ];
  }
  const r = f.schema.safeParse(d.secretValue);
  return r.success
    ? []
    : r.error.issues.map(
        (i) => `stack ${stackName} secret output ${f.output}${i.path.length > 0 ? `.${i.path.join(".")}` : ""}: ${i.message}. Fix: ${fix}`,
      );
}

/** The result of reading one segment's contract. */
export type ContractRead = Read<SegmentContract>;

/**
 * Check one segment's `contract` output. `undefined` means the stack exists but never
 * exported one: it has not been deployed with this program.
 */
export function readSegmentContract(segment: string, stackName: string, value: unknown): ContractRead {
  return readVersioned<SegmentContract>(segmentContractSpec(segment), stackName, value);
}

/** How the DMZ reads one segment's contract. */
export function segmentContractSpec(segment: string): ContractSpec {
  return {
    output: OUTPUTS.contract,
    version: SEGMENT_CONTRACT_VERSION,
    schema: SegmentContractSchema,
    missing: `the ${segment} segment is not deployed`,
    fix: `run \`pulumi up -s ${segment}\` from this commit first (then the DMZ), or remove ${segment} from homelab:dmz.segments in Pulumi.dmz.yaml`,
    segment,
    secrets: {},
  };
}

/** What a stack's `docs` output is expected to describe. */
export type DocsExpectation = { readonly kind: "segment"; readonly name: string } | { readonly kind: "dmz" };

/** The result of reading one stack's docs. */
export type DocsRead<T> = Read<T>;

/**
 * Check one stack's `docs` output, with the same discipline as the DMZ's contract reader.
 * `undefined` means the stack never exported docs.
 */
export function readDocsContract(expect: { kind: "segment"; name: string }, stackName: string, value: unknown): DocsRead<SegmentDocs>;
export function readDocsContract(expect: { kind: "dmz" }, stackName: string, value: unknown): DocsRead<DmzDocs>;
export function readDocsContract(
  expect: { kind: "segment"; name: string } | { kind: "dmz" },
  stackName: string,
  value: unknown,
): DocsRead<SegmentDocs | DmzDocs> {
  const stack = expect.kind === "dmz" ? "dmz" : expect.name;
  const spec: ContractSpec = {
    output: OUTPUTS.docs,
    version: DOCS_CONTRACT_VERSION,
    schema: expect.kind === "dmz" ? DmzDocsSchema : SegmentDocsSchema,
    missing: "it was deployed by an older program or not at all",
    fix: `redeploy it from this commit (\`pulumi up -s ${stack}\`), or build the docs offline (\`npm run docs -- --source offline\`)`,
    ...(expect.kind === "segment" ? { segment: expect.name } : {}),
    secrets: {},
  };
  return readVersioned<SegmentDocs | DmzDocs>(spec, stackName, value);
}
