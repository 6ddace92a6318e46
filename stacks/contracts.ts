/**
 * What crosses a StackReference: typed, versioned contracts with one writer and one
 * reader. Output names live here and nowhere else. The reader checks the shape and
 * reports every problem of every segment in one error.
 */
import { z } from "zod";
import type { PublishedSegment } from "../model/dmz";
import { isIpv4 } from "../model/net";

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

const ip = z.string().refine(isIpv4, { message: "is not an IPv4 address" });
const port = z.number().int().min(1).max(65535);
const auth = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("app"), note: z.string() }),
  z.object({ kind: z.literal("basic"), realm: z.string() }),
  z.object({ kind: z.literal("none") }),
]);

/** The reader's schema. Unknown extra fields are tolerated (a newer writer may add some). */
const ContractSchema = z.object({
  version: z.literal(SEGMENT_CONTRACT_VERSION),
  name: z.string(),
  trust: z.enum(["trusted", "untrusted"]),
  subnet: z.string(),
  router: z.object({ name: z.string(), fqdn: z.string(), wanAddress: ip, lanAddress: ip }),
  jumpHost: z.object({ name: z.string(), fqdn: z.string(), address: ip }),
  hosts: z.array(z.object({ name: z.string(), fqdn: z.string(), address: ip, role: z.string() })),
  services: z.array(
    z.object({
      id: z.string(),
      segment: z.string(),
      kind: z.enum(["http", "tcp", "udp"]),
      description: z.string(),
      fqdn: z.string().optional(),
      port: port.optional(),
      backend: z.object({ host: z.string(), address: ip, port, tls: z.boolean() }),
      firewall: z.object({ router: z.string(), address: ip, port }),
      auth,
      exposure: z.enum(["internet", "lab"]),
      reason: z.string().optional(),
    }),
  ),
  dmzFlows: z.array(
    z.object({
      flow: z.string(),
      from: z.array(z.string()),
      to: ip.optional(),
      ports: z.array(z.object({ port, proto: z.enum(["tcp", "udp"]) })),
      reason: z.string(),
    }),
  ),
});

/** The result of reading one segment's contract. */
export type ContractRead = { readonly ok: true; readonly contract: SegmentContract } | { readonly ok: false; readonly problems: readonly string[] };

/**
 * Check one segment's `contract` output. `undefined` means the stack exists but never
 * exported one: it has not been deployed with this program.
 */
export function readSegmentContract(segment: string, stackName: string, value: unknown): ContractRead {
  if (value === undefined || value === null) {
    return {
      ok: false,
      problems: [`stack ${stackName} has no "${OUTPUTS.contract}" output: the ${segment} segment is not deployed. Fix: run \`pulumi up -s ${segment}\` first, or remove ${segment} from homelab:dmz.segments in Pulumi.dmz.yaml`],
    };
  }
  const version = (value as { version?: unknown }).version;
  if (version !== SEGMENT_CONTRACT_VERSION) {
    return {
      ok: false,
      problems: [`stack ${stackName} exports contract version ${JSON.stringify(version)}; this program reads version ${SEGMENT_CONTRACT_VERSION}. Fix: deploy both stacks from the same commit (\`pulumi up -s ${segment}\`, then the DMZ)`],
    };
  }
  const r = ContractSchema.safeParse(value);
  if (!r.success) {
    return {
      ok: false,
      problems: r.error.issues.map((i) => `stack ${stackName} output ${OUTPUTS.contract}.${i.path.join(".")}: ${i.message}. Fix: redeploy ${segment} from this commit (\`pulumi up -s ${segment}\`)`),
    };
  }
  if (r.data.name !== segment) {
    return { ok: false, problems: [`stack ${stackName} describes segment "${r.data.name}", not "${segment}". Fix: check homelab:dmz.stackPrefix and the segment list in Pulumi.dmz.yaml`] };
  }
  return { ok: true, contract: value as SegmentContract };
}
