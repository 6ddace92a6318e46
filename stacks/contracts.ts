/**
 * What crosses a StackReference: typed, versioned contracts with one writer and one
 * reader. Output names live here and nowhere else. The reader checks the shape and
 * reports every problem of every segment in one error.
 */
import { z } from "zod";
import type { PublishedSegment } from "../model/network/dmz";
import { SECRET_PLACEHOLDER } from "../model/lab";
import { CidrText, Ipv4 as ip, Port as port, PortProto as portText } from "../model/schema-kit";
import { DOCS_CONTRACT_VERSION, type DmzDocs, type SegmentDocs } from "../pages/contract";

export { DOCS_CONTRACT_VERSION, type DmzDocs, type SegmentDocs } from "../pages/contract";

/** Stack output names: an interface between stacks and for humans reading `pulumi stack output`. */
export const OUTPUTS = {
  /** A segment's SegmentContract: what the DMZ needs to publish it. */
  contract: "contract",
  /** The router's current release id (a hash of its rendered files). */
  routerRelease: "routerRelease",
  /** The segment jump host's current release id. */
  jumpRelease: "jumpRelease",
  /** The DMZ's infra host release id. */
  infraRelease: "infraRelease",
  /** The DMZ's lab-wide catalog: every published name, where it leads, through which firewall. */
  catalog: "catalog",
  /** Every stack's documentation contract (SegmentDocs or DmzDocs): what `npm run docs` renders. */
  docs: "docs",
} as const;

/** The contract version this program writes and reads. Bump on any incompatible change. */
export const SEGMENT_CONTRACT_VERSION = 1;

/** A segment stack's contract. */
export interface SegmentContract extends PublishedSegment {
  readonly version: typeof SEGMENT_CONTRACT_VERSION;
}

/** Build the contract a segment stack exports. */
export function segmentContract(published: PublishedSegment): SegmentContract {
  return { version: SEGMENT_CONTRACT_VERSION, ...published };
}

// Values are checked with the model's own schemas: a contract carries what the config held.
const auth = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("app"), note: z.string() }),
  z.object({ kind: z.literal("basic"), realm: z.string() }),
  z.object({ kind: z.literal("none") }),
]);

/** What a published service looks like in both contracts. */
const serviceCore = {
  kind: z.enum(["http", "tcp", "udp"]),
  description: z.string(),
  backend: z.object({ host: z.string(), address: ip, port, tls: z.boolean() }),
  firewall: z.object({ router: z.string(), address: ip, port }),
  auth,
  exposure: z.enum(["internet", "lab"]),
  reason: z.string().optional(),
};

/** The reader's schema. Unknown extra fields are tolerated (a newer writer may add some). */
const ContractSchema = z.object({
  version: z.literal(SEGMENT_CONTRACT_VERSION),
  name: z.string(),
  trust: z.enum(["trusted", "untrusted"]),
  subnet: CidrText,
  router: z.object({ name: z.string(), fqdn: z.string(), wanAddress: ip, lanAddress: ip }),
  jumpHost: z.object({ name: z.string(), fqdn: z.string(), address: ip }),
  hosts: z.array(z.object({ name: z.string(), fqdn: z.string(), address: ip, role: z.string() })),
  services: z.array(z.object({ ...serviceCore, id: z.string(), segment: z.string(), fqdn: z.string().optional(), port: port.optional() })),
  dmzFlows: z.array(
    z.object({
      flow: z.string(),
      from: z.array(CidrText),
      to: ip.optional(),
      ports: z.array(z.object({ port, proto: z.enum(["tcp", "udp"]) })),
      reason: z.string(),
    }),
  ),
});

/** The result of reading one versioned output. */
export type Read<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: readonly string[] };

/**
 * Read one versioned output of another stack: a missing output, a secret, another
 * version, a wrong shape and the wrong segment each give a problem naming the stack and
 * the fix. Both contracts are read this way.
 */
function readVersioned<T>(what: {
  readonly stackName: string;
  readonly output: string;
  readonly version: number;
  readonly schema: z.ZodType;
  /** What to do about any problem. */
  readonly fix: string;
  /** What the output says when it was never written. */
  readonly missing: string;
  /** For a segment's output: the segment it must describe. */
  readonly segment?: string;
  readonly value: unknown;
}): Read<T> {
  const { stackName, output, value, fix } = what;
  if (value === undefined || value === null)
    return { ok: false, problems: [`stack ${stackName} has no "${output}" output: ${what.missing}. Fix: ${fix}`] };
  if (value === SECRET_PLACEHOLDER)
    return { ok: false, problems: [`stack ${stackName} output ${output} is secret; a contract never holds a secret. Fix: ${fix}`] };
  const version = (value as { version?: unknown }).version;
  if (version !== what.version) {
    return {
      ok: false,
      problems: [
        `stack ${stackName} exports ${output} version ${JSON.stringify(version)}; this program reads version ${what.version}. Fix: ${fix}`,
      ],
    };
  }
  const r = what.schema.safeParse(value);
  if (!r.success)
    return {
      ok: false,
      problems: r.error.issues.map((i) => `stack ${stackName} output ${output}.${i.path.join(".")}: ${i.message}. Fix: ${fix}`),
    };
  const name = (r.data as { name?: unknown }).name;
  if (what.segment !== undefined && name !== what.segment) {
    return {
      ok: false,
      problems: [
        `stack ${stackName} describes segment "${String(name)}", not "${what.segment}". Fix: check homelab:dmz.stackPrefix and the segment list in Pulumi.dmz.yaml`,
      ],
    };
  }
  // The writer's value as it was (the schema tolerates fields a newer writer may add).
  return { ok: true, value: value as T };
}

/** The result of reading one segment's contract. */
export type ContractRead = Read<SegmentContract>;

/**
 * Check one segment's `contract` output. `undefined` means the stack exists but never
 * exported one: it has not been deployed with this program.
 */
export function readSegmentContract(segment: string, stackName: string, value: unknown): ContractRead {
  return readVersioned<SegmentContract>({
    stackName,
    output: OUTPUTS.contract,
    version: SEGMENT_CONTRACT_VERSION,
    schema: ContractSchema,
    missing: `the ${segment} segment is not deployed`,
    fix: `run \`pulumi up -s ${segment}\` from this commit first (then the DMZ), or remove ${segment} from homelab:dmz.segments in Pulumi.dmz.yaml`,
    segment,
    value,
  });
}

// The reader's result must be usable as the writer's type: this fails to compile when the
// schema and the interface drift apart.
const _contractInSync: z.infer<typeof ContractSchema> extends SegmentContract ? true : never = true;

// --- the docs contract -----------------------------------------------------------------------------

const cidrText = CidrText;
const flowKind = z.enum(["publish", "expose", "proxy", "dns", "ntp", "storage", "ssh", "explicit"]);
const docsEndpoint = z.object({ zone: z.string(), host: z.string().optional(), label: z.string(), cidrs: z.array(cidrText) });
const docsFlow = z.object({
  id: z.string(),
  kind: flowKind,
  from: docsEndpoint,
  to: docsEndpoint,
  ports: z.array(portText),
  reason: z.string(),
  via: z.object({ router: z.string(), address: ip, ports: z.array(portText) }).optional(),
});
const docsVm = z.object({
  node: z.string(),
  vmId: z.number().int(),
  cores: z.number().int(),
  memoryMiB: z.number().int(),
  diskGiB: z.number().int(),
  passthrough: z.array(z.string()),
  ha: z.boolean(),
});
const docsHost = z.object({
  name: z.string(),
  fqdn: z.string(),
  address: ip,
  mac: z.string().optional(),
  role: z.string(),
  os: z.string(),
  kind: z.enum(["vm", "node", "nas", "switch", "vip", "physical"]),
  description: z.string(),
  listens: z.array(portText),
  vm: docsVm.optional(),
  sshAlias: z.string().optional(),
});
const talosNode = z.object({ name: z.string(), address: ip, node: z.string().optional(), passthrough: z.array(z.string()) });

/** The reader's schema of a segment's docs. Unknown extra fields are dropped (a newer writer may add some). */
const SegmentDocsSchema = z.object({
  version: z.literal(DOCS_CONTRACT_VERSION),
  kind: z.literal("segment"),
  name: z.string(),
  description: z.string(),
  trust: z.enum(["trusted", "untrusted"]),
  subnet: cidrText,
  domain: z.string(),
  internet: z.boolean(),
  router: z.object({ name: z.string(), fqdn: z.string(), hardware: z.string(), linkGbps: z.number(), wanAddress: ip, lanAddress: ip }),
  jumpHost: z.object({ name: z.string(), fqdn: z.string(), address: ip }),
  dhcp: z.object({ start: ip, end: ip, leaseTime: z.string(), dns: ip, ntp: ip }),
  hosts: z.array(docsHost),
  services: z.array(z.object({ ...serviceCore, name: z.string(), url: z.string().optional(), endpoint: z.string().optional() })),
  flows: z.object({ inbound: z.array(docsFlow), outbound: z.array(docsFlow), inside: z.array(docsFlow) }),
  ssh: z.object({
    entry: z.object({ router: z.string(), address: ip, port, jumpHost: z.string(), jumpAddress: ip }),
    adminSources: z.array(cidrText),
    users: z.array(z.string()),
    targets: z.array(
      z.object({
        name: z.string(),
        alias: z.string(),
        fqdn: z.string(),
        address: ip,
        hostName: ip,
        proxyJump: z.string().optional(),
        hostKey: z.string().optional(),
      }),
    ),
    config: z.string(),
    knownHosts: z.string(),
  }),
  talos: z
    .object({
      clusterName: z.string(),
      vip: ip,
      apiEndpoint: z.string(),
      talosVersion: z.string(),
      kubernetesVersion: z.string(),
      controlPlanes: z.array(talosNode),
      workers: z.array(talosNode),
    })
    .optional(),
});

/** The reader's schema of the DMZ's docs. */
const DmzDocsSchema = z.object({
  version: z.literal(DOCS_CONTRACT_VERSION),
  kind: z.literal("dmz"),
  domain: z.string(),
  timezone: z.string(),
  dmz: z.object({
    subnet: cidrText,
    gateway: ip,
    dns: ip,
    ntp: ip,
    proxy: ip,
    upstreamDns: z.array(z.string()),
    upstreamNtp: z.array(z.string()),
    infra: docsHost.extend({ hostKey: z.string() }),
    hardware: z.array(docsHost),
  }),
  adminSources: z.array(cidrText),
  admins: z.array(z.object({ name: z.string(), fullName: z.string() })),
  deployUser: z.string(),
  segments: z.array(
    z.object({ name: z.string(), trust: z.enum(["trusted", "untrusted"]), subnet: cidrText, router: z.string(), wanAddress: ip }),
  ),
  catalog: z.array(
    z.object({
      name: z.string(),
      kind: z.enum(["http", "tcp", "udp"]),
      segment: z.string(),
      service: z.string(),
      firewall: z.string(),
      router: z.string(),
      backend: z.string(),
      auth,
      exposure: z.enum(["internet", "lab"]),
    }),
  ),
  names: z.array(z.object({ name: z.string(), address: ip, kind: z.enum(["service", "host", "entry", "dmz"]) })),
  flows: z.array(docsFlow),
  placement: z.object({
    cpuOvercommit: z.number(),
    nodes: z.array(
      z.object({
        node: z.string(),
        description: z.string(),
        cpuCores: z.number().int(),
        vcpuLimit: z.number().int(),
        usedVcpus: z.number().int(),
        memoryMiB: z.number().int(),
        usedMemoryMiB: z.number().int(),
        storage: z.array(z.object({ datastore: z.string(), usedGiB: z.number(), limitGiB: z.number() })),
        networks: z.array(z.string()),
        worstCase: z.object({ usedVcpus: z.number().int(), usedMemoryMiB: z.number().int(), whenFails: z.string() }),
      }),
    ),
    vms: z.array(docsVm.extend({ name: z.string(), segment: z.string(), host: z.string() })),
    failover: z.array(
      z.object({
        failed: z.string(),
        moves: z.array(z.object({ vm: z.string(), to: z.string() })),
        stranded: z.array(z.string()),
        down: z.array(z.string()),
      }),
    ),
  }),
});

// The reader's result must be usable as the writer's type: this fails to compile when the
// schema and the interfaces drift apart (the mocks tier checks the other direction, by
// reading every stack's real output).
const _segmentDocsInSync: z.infer<typeof SegmentDocsSchema> extends SegmentDocs ? true : never = true;
const _dmzDocsInSync: z.infer<typeof DmzDocsSchema> extends DmzDocs ? true : never = true;

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
  return readVersioned<SegmentDocs | DmzDocs>({
    stackName,
    output: OUTPUTS.docs,
    version: DOCS_CONTRACT_VERSION,
    schema: expect.kind === "dmz" ? DmzDocsSchema : SegmentDocsSchema,
    missing: "it was deployed by an older program or not at all",
    fix: `redeploy it from this commit (\`pulumi up -s ${stack}\`), or build the docs offline (\`npm run docs -- --source offline\`)`,
    ...(expect.kind === "segment" ? { segment: expect.name } : {}),
    value,
  });
}
