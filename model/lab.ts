/**
 * The lab as one typed value: lab-wide facts from `homelab.yaml` plus every segment's
 * facts from its `Pulumi.<segment>.yaml`, parsed and normalised. Validation and planning
 * work on this value only.
 */
import { Cidr } from "./net";
import { compareText } from "./order";
import { unreachable } from "./unreachable";
import type { DmzFile, LabFile, SegmentFile } from "./schema";

/** The file that holds the lab-wide facts. */
export const LAB_FILE = "homelab.yaml";
/** The Pulumi project name; config keys are `homelab:<key>`. */
export const PROJECT = "homelab";
/** The name of the DMZ stack. Every other stack is a segment. */
export const DMZ_STACK = "dmz";

/** Config keys a stack file may set in the project namespace. */
export const CONFIG_KEYS = {
  segment: `${PROJECT}:segment`,
  dmz: `${PROJECT}:dmz`,
  /** Not read: the deploy key comes from an ssh-agent; check refuses it in a stack file. */
  deployKey: `${PROJECT}:deployKey`,
  /** Seconds a router or host waits for the second connection's confirm before it reverts. */
  confirmTimeout: `${PROJECT}:confirmTimeoutSeconds`,
  /**
   * The private key of the stack's end of the WireGuard tunnel (the infra host's in the DMZ
   * stack, the router's in a segment stack): read encrypted only, uploaded as a secret file.
   */
  wireguardKey: `${PROJECT}:wireguardKey`,
  /** The stack's Proxmox API token (`user@realm!tokenid=uuid`), a secret: what it declares VMs and images with. */
  proxmoxApiToken: `${PROJECT}:proxmoxApiToken`,
} as const;

/** What stands in for a secret value: Pulumi's `stack output` prints it, and so does the offline plan. */
export const SECRET_PLACEHOLDER = "[secret]";

/** Transport protocol of a flow or service. */
export type Proto = "tcp" | "udp";

/** One port and protocol. */
export interface PortSpec {
  readonly port: number;
  readonly proto: Proto;
}

/** Parse `2049/tcp` (already checked by the schema). */
export function parsePortProto(text: string): PortSpec {
  const [port, proto] = text.split("/") as [string, Proto];
  return { port: Number(port), proto };
}

/** `2049/tcp`. */
export function showPort(p: PortSpec): string {
  return `${p.port}/${p.proto}`;
}

/** Order ports: TCP before UDP, then by number. */
export function comparePorts(a: PortSpec, b: PortSpec): number {
  return compareText(a.proto, b.proto) || a.port - b.port;
}

/**
 * A record's own entry, never an inherited one: names come from the user, and
 * `constructor` or `toString` must not resolve through Object.prototype.
 */
export function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** An OpenSSH public key line without its comment: `type base64`. */
export function keyMaterial(line: string): string {
  return line.split(/\s+/).slice(0, 2).join(" ");
}

/** One segment: an isolated network behind its own router. */
export type Segment = Omit<SegmentFile, "subnet"> & {
  /** The stack name, which is the segment name. */
  readonly name: string;
  /** The file it came from, for error messages. */
  readonly file: string;
  readonly subnet: Cidr;
};

/** A host of some segment, with the segment it belongs to. */
export type Host = SegmentFile["hosts"][string];
/** A published service. */
export type Service = SegmentFile["services"][string];
/** A VM's spec. */
export type VmSpec = NonNullable<Host["vm"]>;
/** A Proxmox node. */
export type ProxmoxNode = LabFile["hardware"]["proxmox"]["nodes"][string];

/** The WireGuard tunnel's lab-wide facts (`dmz.tunnel`), its subnet parsed. */
export type LabTunnel = Omit<NonNullable<LabFile["dmz"]["tunnel"]>, "subnet"> & { readonly subnet: Cidr };

/** The whole lab. */
export interface Lab {
  readonly domain: string;
  readonly timezone: string;
  readonly dmz: Omit<LabFile["dmz"], "subnet" | "tunnel"> & { readonly subnet: Cidr; readonly tunnel?: LabTunnel };
  readonly ssh: { readonly adminSources: readonly Cidr[]; readonly deploy: LabFile["ssh"]["deploy"] };
  readonly admins: LabFile["admins"];
  readonly hardware: LabFile["hardware"];
  /** When boxes update themselves and restart. */
  readonly maintenance: LabFile["maintenance"];
  /** The backup ledger's lab-wide facts (targets, the code repository), when declared. */
  readonly backups?: LabFile["backups"];
  /** Segments by name, in name order. */
  readonly segments: Readonly<Record<string, Segment>>;
  /** The DMZ stack's own config, when the lab has a DMZ stack file. */
  readonly dmzStack?: DmzFile;
}

/** Build the normalised lab from schema-checked files. */
export function buildLab(labFile: LabFile, segments: Record<string, { file: string; config: SegmentFile }>, dmzStack?: DmzFile): Lab {
  const segs: Record<string, Segment> = {};
  const { tunnel, ...dmz } = labFile.dmz;
  for (const name of Object.keys(segments).sort()) {
    const { file, config } = segments[name]!;
    segs[name] = { ...config, name, file, subnet: Cidr.of(config.subnet) };
  }
  return {
    domain: labFile.domain,
    timezone: labFile.timezone,
    dmz: { ...dmz, subnet: Cidr.of(dmz.subnet), ...(tunnel ? { tunnel: { ...tunnel, subnet: Cidr.of(tunnel.subnet) } } : {}) },
    ssh: { adminSources: labFile.ssh.adminSources.map((c) => Cidr.of(c)), deploy: labFile.ssh.deploy },
    admins: labFile.admins,
    hardware: labFile.hardware,
    maintenance: labFile.maintenance,
    ...(labFile.backups ? { backups: labFile.backups } : {}),
    segments: segs,
    ...(dmzStack ? { dmzStack } : {}),
  };
}

/** Segments in name order. */
export function segmentList(lab: Lab): Segment[] {
  return Object.keys(lab.segments)
    .sort()
    .map((n) => lab.segments[n]!);
}

/** A host's fully qualified name: `<host>.<segment>.<domain>`. */
export function hostFqdn(lab: Lab, segment: string, host: string): string {
  return `${host}.${segment}.${lab.domain}`;
}

/** The transport a published service uses between the proxy and its backend. */
export function serviceProto(s: Pick<Service, "kind">): Proto {
  return kindProto(s.kind);
}

/** The transport of a kind of service: HTTP rides on TCP. */
export function kindProto(kind: Service["kind"]): Proto {
  switch (kind) {
    case "http":
    case "tcp":
      return "tcp";
    case "udp":
      return "udp";
    default:
      return unreachable(kind, "service kind");
  }
}

/** A published HTTP service's name: `<hostname ?? id>.<domain>`. */
export function serviceFqdn(lab: Lab, id: string, service: Service): string {
  return `${service.kind === "http" ? (service.hostname ?? id) : id}.${lab.domain}`;
}

/** The DMZ's own names: the infra host and the service addresses it answers on. */
export type DmzService = "infra" | "dns" | "ntp" | "proxy";

/**
 * The DMZ's own names and their addresses, in this order: the infra host, then its DNS,
 * NTP and proxy service addresses. Each is `<name>.<domain>` in DNS and `dmz/<name>` as a
 * flow target; this is the one list of them.
 */
export function dmzServiceAddresses(lab: Lab): Record<DmzService, string> {
  return { infra: lab.dmz.infra.address, dns: lab.dmz.dns, ntp: lab.dmz.ntp, proxy: lab.dmz.proxy };
}
