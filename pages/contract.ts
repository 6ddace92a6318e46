/**
 * The documentation contract: what every stack exports as its `docs` output, and what
 * `npm run docs` renders pages from. pages/contract-segment.ts and pages/contract-dmz.ts
 * build it from the planned lab (model/planned-lab.ts), so the deployed stacks (live
 * outputs) and the offline docs (the model) describe the lab with the same data and the
 * pages cannot tell the two apart.
 *
 * Everything here is plain JSON: strings, numbers, booleans, arrays and objects, no
 * `undefined` values, no secrets (public SSH host keys are not secrets).
 */
import type { FlowKind } from "../model/network/flows";
import type { PlannedHost, PlannedService } from "../model/network/hosts";

/** The docs contract version this program writes and reads. Bump on any incompatible change. */
export const DOCS_CONTRACT_VERSION = 1;

/** How a service authenticates its users (the model's own union). */
export type DocsAuth = PlannedService["auth"];

/** A VM's placement and size. */
export interface DocsVm {
  readonly node: string;
  readonly vmId: number;
  readonly cores: number;
  readonly memoryMiB: number;
  /** Every disk of the VM, added up. */
  readonly diskGiB: number;
  /** PCI devices of its node passed through to it (NICs, GPUs), by the node's device id. */
  readonly passthrough: readonly string[];
  /** HA-managed: restarts on another node when its node fails. False: pinned to its node. */
  readonly ha: boolean;
}

/** One host of a segment (configured hosts plus the hardware whose address lies in it). */
export interface DocsHost {
  readonly name: string;
  readonly fqdn: string;
  readonly address: string;
  readonly mac?: string;
  readonly role: string;
  readonly os: string;
  /** `vm` (Proxmox VM), `node` (a Proxmox node), `nas`, `switch`, `vip` or `physical`. */
  readonly kind: PlannedHost["source"];
  readonly description: string;
  /** Ports it serves that others rely on, `3306/tcp`. */
  readonly listens: readonly string[];
  readonly vm?: DocsVm;
  /** Its alias in the generated SSH client config; absent when it runs no sshd an admin logs in to. */
  readonly sshAlias?: string;
}

/** One published service, as a user and an operator see it. */
export interface DocsService {
  readonly name: string;
  readonly kind: "http" | "tcp" | "udp";
  readonly description: string;
  /** HTTP: `https://<name>.<domain>/`. */
  readonly url?: string;
  /** TCP/UDP: the proxy's address, port and protocol, `192.168.1.80:25565/tcp`. */
  readonly endpoint?: string;
  readonly backend: { readonly host: string; readonly address: string; readonly port: number; readonly tls: boolean };
  readonly firewall: { readonly router: string; readonly address: string; readonly port: number };
  readonly auth: DocsAuth;
  readonly exposure: "internet" | "lab";
  readonly reason?: string;
}

/** One end of a flow. */
export interface DocsEndpoint {
  /** A segment name, `dmz`, `admin` or `internet`. */
  readonly zone: string;
  readonly host?: string;
  /** `cluster/worker-1`, `cluster`, `dmz/proxy`, `internet`. */
  readonly label: string;
  readonly cidrs: readonly string[];
}

/** One allowed flow. Everything not listed is denied. */
export interface DocsFlow {
  readonly id: string;
  readonly kind: FlowKind;
  readonly from: DocsEndpoint;
  readonly to: DocsEndpoint;
  /** `2049/tcp`. */
  readonly ports: readonly string[];
  readonly reason: string;
  /** For flows a router translates (DNAT): its WAN address and ports. */
  readonly via?: { readonly router: string; readonly address: string; readonly ports: readonly string[] };
}

/** One box an admin can SSH to. */
export interface DocsSshTarget {
  readonly name: string;
  /** `<host>.<segment>`, the alias in the client config. */
  readonly alias: string;
  readonly fqdn: string;
  /** The address inside its network. */
  readonly address: string;
  /** What ssh connects to: the address, or the router's WAN address for a jump host. */
  readonly hostName: string;
  /** The alias of the jump host in between, when there is one. */
  readonly proxyJump?: string;
  /** The pinned host key (`type base64`), when the model has one. */
  readonly hostKey?: string;
}

/** How admins reach a segment over SSH, with the ready-to-use client files. */
export interface DocsSsh {
  /** The only way in: the router's WAN port 22, forwarded to the jump host for the admin workstations only. */
  readonly entry: {
    readonly router: string;
    readonly address: string;
    readonly port: number;
    readonly jumpHost: string;
    readonly jumpAddress: string;
  };
  readonly adminSources: readonly string[];
  /** Who may log in: the admins and the deploy identity. */
  readonly users: readonly string[];
  readonly targets: readonly DocsSshTarget[];
  /** The segment's rendered OpenSSH client config (render/ssh-client.ts). */
  readonly config: string;
  /** The segment's rendered known_hosts. */
  readonly knownHosts: string;
}

/** A Talos Kubernetes cluster. */
export interface DocsTalos {
  readonly clusterName: string;
  readonly vip: string;
  /** The Kubernetes API at the VIP. */
  readonly apiEndpoint: string;
  readonly talosVersion: string;
  readonly kubernetesVersion: string;
  readonly controlPlanes: readonly DocsTalosNode[];
  readonly workers: readonly DocsTalosNode[];
}

/** One Talos node. */
export interface DocsTalosNode {
  readonly name: string;
  readonly address: string;
  /** The Proxmox node it runs on, when it is a VM. */
  readonly node?: string;
  readonly passthrough: readonly string[];
}

/** What a segment stack exports as `docs`. */
export interface SegmentDocs {
  readonly version: typeof DOCS_CONTRACT_VERSION;
  readonly kind: "segment";
  readonly name: string;
  readonly description: string;
  readonly trust: "trusted" | "untrusted";
  readonly subnet: string;
  /** The DNS domain of its hosts, `<segment>.<domain>`. */
  readonly domain: string;
  /** Hosts may reach the internet (masqueraded by the router). */
  readonly internet: boolean;
  readonly router: {
    readonly name: string;
    readonly fqdn: string;
    readonly hardware: string;
    readonly linkGbps: number;
    readonly wanAddress: string;
    readonly lanAddress: string;
  };
  readonly jumpHost: { readonly name: string; readonly fqdn: string; readonly address: string };
  readonly dhcp: { readonly start: string; readonly end: string; readonly leaseTime: string; readonly dns: string; readonly ntp: string };
  readonly hosts: readonly DocsHost[];
  readonly services: readonly DocsService[];
  readonly flows: {
    /** From elsewhere into this segment. */
    readonly inbound: readonly DocsFlow[];
    /** From this segment to elsewhere. */
    readonly outbound: readonly DocsFlow[];
    /** Inside the segment (the jump host's SSH). */
    readonly inside: readonly DocsFlow[];
  };
  readonly ssh: DocsSsh;
  readonly talos?: DocsTalos;
}

/** One published name in the lab-wide catalog: where it leads and through which firewall. */
export interface CatalogEntry {
  /** `wiki.lab.example.net`, or `192.168.1.80:25565/tcp` for a stream. */
  readonly name: string;
  readonly kind: "http" | "tcp" | "udp";
  readonly segment: string;
  readonly service: string;
  /** The firewall's WAN address and port the proxy forwards to. */
  readonly firewall: string;
  /** The firewall (the segment's router) by name. */
  readonly router: string;
  /** Where the firewall translates it to: `<host> <address>:<port>`. */
  readonly backend: string;
  readonly auth: DocsAuth;
  readonly exposure: "internet" | "lab";
}

/** One DNS name the DMZ DNS answers. */
export interface DocsName {
  readonly name: string;
  readonly address: string;
  /** A published `service` (at the proxy), a `host`, a router's `entry` (its WAN side) or the DMZ's own. */
  readonly kind: "service" | "host" | "entry" | "dmz";
}

/** A Proxmox node's load and its headroom when any other node fails. */
export interface DocsNodeLoad {
  readonly node: string;
  readonly description: string;
  readonly cpuCores: number;
  readonly vcpuLimit: number;
  readonly usedVcpus: number;
  readonly memoryMiB: number;
  readonly usedMemoryMiB: number;
  readonly storage: readonly { readonly datastore: string; readonly usedGiB: number; readonly limitGiB: number }[];
  readonly networks: readonly string[];
  /** The most it carries after any one other node fails and its HA VMs restart here. */
  readonly worstCase: { readonly usedVcpus: number; readonly usedMemoryMiB: number; readonly whenFails: string };
}

/** Where VMs run and what happens when a node fails. */
export interface DocsPlacement {
  readonly cpuOvercommit: number;
  readonly nodes: readonly DocsNodeLoad[];
  readonly vms: readonly (DocsVm & { readonly name: string; readonly segment: string; readonly host: string })[];
  readonly failover: readonly {
    readonly failed: string;
    readonly moves: readonly { readonly vm: string; readonly to: string }[];
    readonly stranded: readonly string[];
    readonly down: readonly string[];
  }[];
}

/** What the DMZ stack exports as `docs`: the DMZ itself and everything lab-wide. */
export interface DmzDocs {
  readonly version: typeof DOCS_CONTRACT_VERSION;
  readonly kind: "dmz";
  readonly domain: string;
  readonly timezone: string;
  readonly dmz: {
    readonly subnet: string;
    /** The ISP edge router (not managed). */
    readonly gateway: string;
    readonly dns: string;
    readonly ntp: string;
    readonly proxy: string;
    readonly upstreamDns: readonly string[];
    readonly upstreamNtp: readonly string[];
    readonly infra: DocsHost & { readonly hostKey: string };
    /** Hardware whose address lies in the DMZ (a switch, say). */
    readonly hardware: readonly DocsHost[];
  };
  readonly adminSources: readonly string[];
  readonly admins: readonly { readonly name: string; readonly fullName: string }[];
  readonly deployUser: string;
  /** The segments the DMZ publishes, from their contracts. */
  readonly segments: readonly {
    readonly name: string;
    readonly trust: "trusted" | "untrusted";
    readonly subnet: string;
    readonly router: string;
    readonly wanAddress: string;
  }[];
  readonly catalog: readonly CatalogEntry[];
  readonly names: readonly DocsName[];
  /** Flows that touch no segment (the internet to the proxy). */
  readonly flows: readonly DocsFlow[];
  readonly placement: DocsPlacement;
}

/** Every stack's docs, as `npm run docs` renders them. */
export interface DocsBundle {
  readonly segments: readonly SegmentDocs[];
  readonly dmz: DmzDocs;
}
