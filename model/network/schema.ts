/**
 * The network domain's part of the schema: the DMZ, SSH access and admins, the hardware
 * that sits in a segment (switches, router boxes, NAS), and a segment's router, DHCP pool,
 * hosts, published services, storage mounts and explicit flows.
 */
import { z } from "zod";
import { Vm } from "../compute/schema";
import {
  CidrText,
  IfaceName,
  Ipv4,
  Mac,
  Name,
  Port,
  PortProto,
  Reason,
  RequiredMac,
  SshPublicKey,
  WireguardKey,
  obj,
  unionError,
} from "../schema-kit";
import { checkedString, pattern, pemCertificateVerdict } from "../values";
import { egressTargetVerdict } from "./egress";
import { untilVerdict } from "./until";

export const Switch = obj({
  description: z.string(),
  segment: Name,
  address: Ipv4,
  mac: Mac,
  ports: z.number().int().min(1),
  linkGbps: z.number().positive(),
});

export const RouterHardware = obj({
  description: z.string(),
  linkGbps: z.number().positive(),
  /**
   * Interface names on the box. `<port>.<vlan id>` (such as `enp2s0.20`) is a VLAN
   * sub-interface: the segment is carried tagged on that port, and the router's network
   * config creates the sub-interface.
   */
  wanInterface: IfaceName,
  lanInterface: IfaceName,
  /**
   * The MAC of the WAN port (a VLAN sub-interface on it has the same): the DMZ binds the
   * router's WAN address to it (the other routers' and the infra host's firewalls and static
   * neighbours), so a DMZ host that takes the address gains nothing.
   */
  wanMac: RequiredMac(
    "the DMZ binds each router's WAN address to its port's MAC (static neighbours, source guards); write the MAC of wanInterface's port, from ip link show",
  ),
  /** The box's physical ports. When listed, every interface and VLAN parent must be one of them. @default not checked */
  ports: z.array(IfaceName).optional(),
});

/** The port each NAS kind serves its web UI on when `uiPort` is not given; a generic NAS must say. */
export const NAS_UI_PORTS = { truenas: 443, synology: 5001 } as const;

const nasFields = {
  description: z.string(),
  segment: Name,
  address: Ipv4,
  mac: Mac,
  /** Its SSH host key, pinned in the generated client config. */
  sshHostKey: SshPublicKey.optional(),
  poolTiB: z.number().positive(),
};

export const Nas = z.discriminatedUnion(
  "kind",
  [
    /** TrueNAS (Scale or Core). @default uiPort 443 */
    obj({ kind: z.literal("truenas"), ...nasFields, uiPort: Port.optional() }),
    /** Synology DiskStation (DSM). @default uiPort 5001 (its HTTPS port) */
    obj({ kind: z.literal("synology"), ...nasFields, uiPort: Port.optional() }),
    /** Any other NAS: the port its web UI answers on (HTTPS) must be given. */
    obj({ kind: z.literal("generic"), ...nasFields, uiPort: Port }),
  ],
  {
    error: unionError(
      'a NAS has kind "truenas" (web UI on 443), "synology" (5001) or "generic" (which needs uiPort)',
      "add kind: truenas, kind: synology, or kind: generic with uiPort: <its web UI port>",
    ),
  },
);

export const Admin = obj({
  /** Full name, for docs. */
  fullName: z.string(),
  /** At least one key: the lab has no password login to fall back on. */
  keys: z.array(SshPublicKey).min(1, { error: "every admin needs at least one SSH public key; there is no password login" }),
});

export const DmzInfra = obj({
  /** The infra host's own address. */
  address: Ipv4,
  mac: Mac,
  /** Its SSH host key, so Pulumi verifies what it connects to. */
  sshHostKey: SshPublicKey,
  /** The VM: its NIC bridges into "dmz" on a node that has that network. */
  vm: Vm,
});

/** An absolute path on the infra host, without characters nginx or Nix would read specially. */
const HostPath = pattern(
  /^\/[A-Za-z0-9._/-]+$/,
  "must be an absolute path of letters, digits and ._-/ only",
  "write an absolute path such as /var/lib/homelab/tls/fullchain.pem",
);

/** A host name a certificate carries: one or more lower-case DNS labels (`pve1`, `nas.internal.lab.example.net`). */
const DnsName = pattern(
  /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/,
  "must be a lower-case DNS name, without a scheme, port or trailing dot",
  "write a name the backend's certificate carries (openssl x509 -noout -ext subjectAltName prints them), such as pve1.internal.lab.example.net",
);

/** One PEM certificate (public, never a secret): a CA's, or a backend's own. */
export const PemCertificate = checkedString(pemCertificateVerdict);

/**
 * A certificate an ACME CA issues and NixOS renews (security.acme, lego), proved by DNS-01:
 * a wildcard for the domain, so no published name needs port 80 open for the CA.
 */
export const AcmeTls = obj({
  /** The CA account's contact (security.acme.defaults.email): expiry and revocation notices go there. */
  email: pattern(/^[^\s@]+@[^\s@]+\.[a-z]{2,}$/, "must be an email address", "write the address the CA may send notices to"),
  /** lego's code of the DNS provider that answers the challenge, e.g. cloudflare, route53, rfc2136, hetzner. */
  dnsProvider: pattern(
    /^[a-z0-9][a-z0-9.-]*$/,
    "must be a lego DNS provider code in lower case",
    "write a code such as cloudflare or rfc2136",
  ),
  /**
   * The name of the DMZ stack's config secret that holds the provider's credentials as lego
   * environment lines (KEY=value): `acmeDnsCredentials` is `homelab:acmeDnsCredentials`.
   */
  credentialsSecret: pattern(
    /^[a-z][A-Za-z0-9]{2,63}$/,
    "must be a config key name in camelCase, such as acmeDnsCredentials",
    "write credentialsSecret: acmeDnsCredentials and store the credentials with pulumi config set --secret homelab:acmeDnsCredentials -s dmz",
  ),
  /** The CA's terms of service are accepted (security.acme.acceptTerms): NixOS requests nothing otherwise. */
  acceptTerms: z.literal(true, { error: "must be true: the CA issues nothing until its terms are accepted (security.acme.acceptTerms)" }),
});

/** A certificate placed on the infra host by hand: it is not renewed, so its expiry is declared and checked. */
export const ManualTls = obj({
  certificate: HostPath,
  key: HostPath,
  /** The day it expires (YYYY-MM-DD, the certificate's notAfter): check warns 30 days before and refuses after. */
  expires: pattern(
    /^\d{4}-\d{2}-\d{2}$/,
    "must be a date YYYY-MM-DD",
    "write the certificate's notAfter date, from openssl x509 -enddate -noout -in <file>",
  ),
});

/** The proxy's certificate: `acme` (issued and renewed) or `manual` (placed by hand, expiry declared). */
export const Tls = obj({ acme: AcmeTls.optional(), manual: ManualTls.optional() });

/** A CA whose certificates the proxy trusts for the backends that name it (`backend.tls.ca`). */
export const BackendCa = obj({
  /** Whose CA it is, e.g. "the Proxmox VE cluster's CA (/etc/pve/pve-root-ca.pem)". */
  description: z.string().min(3),
  /** The CA's certificate, PEM. */
  certificate: PemCertificate,
});

/** The UDP port every router's WireGuard listens on, unless `dmz.tunnel.port` says otherwise. */
export const DEFAULT_TUNNEL_PORT = 51820;

/**
 * The WireGuard tunnel from the infra host to every segment router that publishes services:
 * the proxy reaches a firewall's published ports only through it, so an address on the shared
 * DMZ is never proof of identity. Its addresses come from `subnet`, which overlaps no lab
 * network; each end's private key is its stack's config secret `homelab:wireguardKey`.
 */
export const DmzTunnel = obj({
  /** The tunnel's own network: the infra host's and every router's tunnel address lie in it. */
  subnet: CidrText,
  /** The UDP port each router listens on, at its WAN address, for the infra host only. @default 51820 */
  port: Port.default(DEFAULT_TUNNEL_PORT),
  /** The infra host's address in the tunnel: the source every published service sees. */
  address: Ipv4,
  /** The infra host's public key; its private half is the DMZ stack's secret homelab:wireguardKey. */
  publicKey: WireguardKey,
});

/** A router's end of the tunnel: its address in `dmz.tunnel.subnet` and its public key. */
export const RouterTunnel = obj({
  address: Ipv4,
  /** Its private half is the segment stack's secret homelab:wireguardKey. */
  publicKey: WireguardKey,
});

/** `dmz` in homelab.yaml: the DMZ network, its service addresses and the infra host. */
export const Dmz = obj({
  subnet: CidrText,
  /** The ISP edge router (not managed). */
  gateway: Ipv4,
  /**
   * The MAC of the edge router's DMZ side: the routers and the infra host pin the gateway to it
   * (a static neighbour), so no DMZ host can take the default route by ARP. A new edge router
   * needs this changed before it can carry the lab's internet.
   */
  gatewayMac: RequiredMac(
    "the routers and the infra host pin the ISP edge router to its MAC, so no DMZ host can take the default route by ARP; write the MAC its address answers with, from ip neigh show <gateway>",
  ),
  /** Service addresses on the infra host. */
  dns: Ipv4,
  ntp: Ipv4,
  proxy: Ipv4,
  infra: DmzInfra,
  /** Resolvers dnsmasq forwards names outside the lab to. */
  upstreamDns: z.array(Ipv4).min(1),
  /** NTP servers chrony follows. */
  upstreamNtp: z.array(z.string().min(1)).min(1),
  /** The proxy's certificate for the domain and every published name under it: exactly one of acme or manual. */
  tls: Tls,
  /**
   * CAs the proxy verifies TLS backends against, by name (a service's `backend.tls.ca`): the
   * lab's own CA, or an appliance cluster's (Proxmox VE's pve-root-ca). @default {}
   */
  backendCas: z.record(Name, BackendCa).default({}),
  /** The WireGuard tunnel to the routers; required once any segment publishes a service. @default none */
  tunnel: DmzTunnel.optional(),
});

/** `ssh` in homelab.yaml: who may log in, and from where. */
export const Ssh = obj({
  /** Where admins' workstations sit (the home LAN behind the ISP router): the only sources a jump host accepts. */
  adminSources: z.array(CidrText).min(1),
  /** The identity Pulumi deploys with; its private key lives in the deployer's ssh-agent, never in stack config. */
  deploy: obj({ user: Name, key: SshPublicKey }),
});

// --- one segment's facts (Pulumi.<segment>.yaml, key homelab:segment) ----------------------------

export const HostRole = z.enum([
  "jump",
  "server",
  "database",
  "nas",
  "hypervisor",
  "monitoring",
  "k8s-control-plane",
  "k8s-worker",
  "vdi",
  "mirror",
  "agent",
  "game-server",
  "vip",
]);
/** What a host is for. */
export type HostRole = z.infer<typeof HostRole>;

/** The operating system of a host, which decides how (and whether) the lab deploys it. */
export const HostOs = z.enum(["nixos", "talos", "debian", "ubuntu", "truenas", "synology", "proxmox", "none"]);
/** The operating system of a host. */
export type HostOs = z.infer<typeof HostOs>;

export const Host = obj({
  role: HostRole,
  description: z.string(),
  address: Ipv4,
  /** Gives the host a static DHCP lease. A VIP has none. */
  mac: Mac.optional(),
  os: HostOs,
  /** A VM on the Proxmox cluster; absent for physical boxes and VIPs. */
  vm: Vm.optional(),
  /** Its SSH host key: required where Pulumi or an admin logs in (jump hosts, NixOS hosts). */
  sshHostKey: SshPublicKey.optional(),
  /** Ports the host serves that other segments rely on, for docs and the twin. */
  listens: z.array(PortProto).default([]),
});

export const Auth = z.discriminatedUnion(
  "kind",
  [
    /** The application authenticates (accounts, a pairing PIN, a whitelist). */
    obj({ kind: z.literal("app"), note: z.string().min(3) }),
    /** The proxy asks for HTTP basic auth against an htpasswd file on the infra host. */
    obj({ kind: z.literal("basic"), realm: z.string().min(1) }),
    /** No authentication; an internet-exposed service then needs `reason`. */
    obj({ kind: z.literal("none") }),
  ],
  {
    error: unionError(
      'auth.kind must be one of "app", "basic", "none"',
      "write auth: { kind: app, note: <how it authenticates> }, { kind: basic, realm: <name> } or { kind: none }",
    ),
  },
);

/**
 * Who the proxy admits to a service: `internet` (anyone), `lab` (the segments that use it and
 * the admins' workstations), or `admins` (the admins' workstations, ssh.adminSources, only: an
 * appliance's or a host's management UI, never any segment and never the internet).
 */
export const Exposure = z.enum(["internet", "lab", "admins"]);
/** Who the proxy admits to a service. */
export type Exposure = z.infer<typeof Exposure>;

/** The largest request body of an HTTP service, in MiB, unless it says otherwise. */
export const DEFAULT_MAX_BODY_MIB = 10;

/**
 * How the proxy verifies a backend that speaks TLS: exactly one of `ca` (a CA in
 * homelab.yaml dmz.backendCas signed the backend's certificate) or `pin` (the backend's own
 * self-signed certificate). nginx checks the certificate's chain and `name`, and answers 502
 * for any other certificate.
 */
export const BackendTls = obj({
  /** The name of the CA in homelab.yaml `dmz.backendCas` that issued the backend's certificate. */
  ca: Name.optional(),
  /** The backend's own self-signed certificate, PEM (`openssl s_client -connect <host>:<port> | openssl x509`). */
  pin: PemCertificate.optional(),
  /**
   * The name the backend's certificate carries, which nginx checks (proxy_ssl_name) and sends
   * for SNI. @default the backend host's FQDN, `<host>.<segment>.<domain>`
   */
  name: DnsName.optional(),
});

/**
 * A service's backend. `tls` is absent (or false) for plain HTTP, else how its certificate is
 * verified; `tls: true` is refused (rule services.tls), since it says nothing to verify against.
 */
export const Backend = obj({
  host: Name,
  port: Port,
  tls: z
    .union([z.boolean(), BackendTls], {
      error: unionError(
        "backend.tls must be { ca: <name> } or { pin: <PEM> } (optionally with name), or false",
        "write tls: { ca: <a CA in homelab.yaml dmz.backendCas> } or tls: { pin: <the backend's self-signed certificate, PEM> }",
      ),
    })
    .optional(),
});

/** When a temporary hole closes: a date, a time and a timezone (model/network/until.ts). */
export const Until = checkedString(untilVerdict);

export const Service = z.discriminatedUnion(
  "kind",
  [
    obj({
      kind: z.literal("http"),
      description: z.string(),
      /** The name under the domain; @default the service id. */
      hostname: Name.optional(),
      backend: Backend,
      auth: Auth,
      exposure: Exposure,
      /** Why a service with auth "none" is exposed to the internet, or used by an untrusted segment. */
      reason: Reason.optional(),
      /**
       * The segments whose hosts use a lab-exposed service by name, through the proxy: the proxy
       * admits only their networks (and the admin workstations), and only their proxy flows carry
       * its port. An untrusted segment uses a lab service only when it is listed here.
       * @default every trusted segment
       */
      usedBy: z.array(Name).min(1).optional(),
      /**
       * A temporary hole: the date, time and timezone it closes at ("2026-12-06T02:00+01:00").
       * The firewall stops translating it at that second, whoever runs pulumi up; check warns
       * the day before and refuses it once past. @default open for good
       */
      until: Until.optional(),
      /** Port on the firewall's WAN address the proxy connects to. @default backend.port */
      wanPort: Port.optional(),
      /**
       * The largest request body the proxy accepts, in MiB (nginx client_max_body_size); a
       * larger one gets 413 at the proxy, so no client fills the infra host's disk.
       * @default 10
       */
      maxBodyMiB: z.number().int().min(1).max(65536).default(DEFAULT_MAX_BODY_MIB),
      /**
       * The application upgrades connections to WebSockets: only then does the proxy forward
       * the Upgrade and Connection headers and keep idle connections open for an hour.
       * @default false
       */
      websockets: z.boolean().default(false),
    }),
    ...(["tcp", "udp"] as const).map((kind) =>
      obj({
        kind: z.literal(kind),
        description: z.string(),
        /** The port the proxy listens on. */
        port: Port,
        backend: Backend,
        auth: Auth,
        exposure: Exposure,
        reason: Reason.optional(),
        /**
         * The segments whose hosts use a lab-exposed service by name, through the proxy: the proxy
         * admits only their networks (and the admin workstations), and only their proxy flows carry
         * its port. An untrusted segment uses a lab service only when it is listed here.
         * @default every trusted segment
         */
        usedBy: z.array(Name).min(1).optional(),
        /**
         * A temporary hole: the date, time and timezone it closes at ("2026-12-06T02:00+01:00").
         * The firewall stops translating it at that second, whoever runs pulumi up; check warns
         * the day before and refuses it once past. @default open for good
         */
        until: Until.optional(),
        wanPort: Port.optional(),
      }),
    ),
  ],
  {
    error: unionError(
      'kind must be one of "http", "tcp", "udp"',
      "write kind: http (by host name through the proxy), tcp or udp (on a proxy port)",
    ),
  },
);

export const Storage = obj({
  protocol: z.enum(["nfs", "smb"]),
  /** `<segment>/<host>` of the server. */
  server: z.string(),
  /** NFS export path or SMB share name. */
  export: z.string().min(1),
  /** Hosts of this segment that mount it. */
  consumers: z.array(Name).min(1),
  reason: Reason.optional(),
});

export const Flow = obj({
  /** Hosts of this segment; @default the whole segment. */
  from: z.array(Name).optional(),
  /** `<segment>` (its whole subnet), `<segment>/<host>`, or `dmz`. */
  to: z.string(),
  ports: z.array(PortProto).min(1),
  reason: Reason,
  /** A temporary flow: the date, time and timezone it closes at, as a service's `until`. @default open for good */
  until: Until.optional(),
});

/**
 * A segment's internet narrowed to an allowlist (model/network/egress.ts): internet-bound
 * traffic reaches only these destinations, each an address or network, optionally with one port.
 */
export const Egress = obj({
  allow: z.array(checkedString(egressTargetVerdict)).min(1, {
    error: "must list at least one destination; a segment that needs none sets internet: false instead",
  }),
  /** Why the segment needs exactly these destinations. */
  reason: Reason,
});

/** Whether a segment may open flows into others without stating why. */
export const Trust = z.enum(["trusted", "untrusted"]);
/** A segment's trust. */
export type Trust = z.infer<typeof Trust>;

/** A segment's router: its name, its box, and its two addresses. */
export const SegmentRouter = obj({
  name: Name,
  /** Key of homelab.yaml hardware.routers. */
  hardware: Name,
  wanAddress: Ipv4,
  lanAddress: Ipv4,
  sshHostKey: SshPublicKey,
  /** Its end of the WireGuard tunnel from the infra host; required when the segment publishes a service. @default none */
  tunnel: RouterTunnel.optional(),
});

/** A segment's DHCP pool. */
export const Dhcp = obj({
  start: Ipv4,
  end: Ipv4,
  leaseTime: pattern(
    /^\d+[mhd]$/,
    'must be a number and a unit m, h or d, such as "12h"',
    'write a duration such as "12h" or "30m"',
  ).default("12h"),
});
