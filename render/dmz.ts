/**
 * Every file of the DMZ infra host: its NixOS configuration and the files it carries
 * (dnsmasq, chrony, nginx, sshd, the host firewall, the commit-confirm script).
 */
import type { DmzPlan } from "../model/network/dmz";
import { type DmzGuard, planDmzGuard } from "../model/network/identity";
import { Cidr } from "../model/net";
import type { SshAccess } from "../model/network/ssh";
import { renderChronyServer } from "./chrony";
import { renderDnsmasqDns } from "./dns";
import { sortFiles, type RenderedFile } from "./files";
import type { HostFirewallRule, HostFirewallSpec } from "./host-firewall";
import { backendTrustFile, NGINX_STATUS, NGINX_UNIT, renderNginx, SECRETS_DIR } from "./nginx";
import {
  COMPANION_FILE,
  DEFAULT_INTERFACE,
  NGINX_EXPORTER_PORT,
  NODE_EXPORTER_PORT,
  canonicalAccess,
  nixosHostFiles,
  type NixosDaemon,
  type NixosHostSpec,
} from "./nixos";
import type { NixosAcme } from "./nixos-acme";
import { NIXOS_CONFIG_DIR } from "./nixos-apply";
import { unreachable } from "../model/unreachable";
import { infraTunnelSection, TUNNEL_KEY_FILE } from "./wireguard";

/** The output directory of the infra host's files. */
export const INFRA_DIR = "infra";

/**
 * The release file that carries the ACME DNS provider's credentials: uploaded from the DMZ
 * stack's config secret (never rendered), it lands next to configuration.nix.
 */
export const INFRA_ACME_CREDENTIALS_FILE = "acme-dns.env";

/** The infra host's security.acme, and the units the proxy waits for: none for a manual certificate. */
function infraAcme(plan: DmzPlan): { acme?: NixosAcme; needs: string[] } {
  const tls = plan.proxy.tls;
  switch (tls.kind) {
    case "manual":
      return { needs: [] };
    case "acme":
      return {
        acme: {
          email: tls.email,
          certs: [
            {
              name: tls.name,
              domains: tls.domains,
              dnsProvider: tls.dnsProvider,
              environmentFile: `${NIXOS_CONFIG_DIR}/${INFRA_ACME_CREDENTIALS_FILE}`,
              group: "nginx",
              reloadServices: [`${NGINX_UNIT}.service`],
            },
          ],
        },
        // The first start waits for the certificate (or its self-signed stand-in).
        needs: [`acme-${tls.name}.service`],
      };
    default: {
      return unreachable(tls, "TLS source");
    }
  }
}

/** Companion file names of the infra host's daemons. */
export const INFRA_FILES = { dnsmasq: "dnsmasq.conf", chrony: "chrony.conf", nginx: "nginx.conf" } as const;

/** What the infra host enforces on its NIC: the other DMZ parties bound to their MACs. */
export function infraGuard(plan: DmzPlan): DmzGuard {
  return planDmzGuard(plan.infra.parties, "infra", DEFAULT_INTERFACE);
}

/** The sources of HTTP(S) to the proxy: anyone when one route is internet-exposed, else the union of the allow lists. */
function httpSources(plan: DmzPlan): readonly Cidr[] | "any" {
  if (plan.proxy.http.some((r) => r.exposure === "internet")) return "any";
  const byText = new Map(plan.proxy.http.flatMap((r) => r.allow).map((c) => [c.toString(), c]));
  return [...byText.values()];
}

/**
 * The infra host's firewall: DNS and NTP for the lab, the proxy's ports, SSH for admins. The
 * docs list the infra host's ports from it (pages/contract-dmz.ts).
 */
export function infraFirewall(plan: DmzPlan): Omit<HostFirewallSpec, "host"> {
  const { dns, ntp, proxy } = plan.infra.serviceAddresses;
  const rules: HostFirewallRule[] = [
    {
      from: plan.ssh.adminSources,
      proto: "tcp",
      port: 22,
      to: plan.infra.address,
      reason: "admins' workstations log in to the infra host",
    },
    { from: plan.dns.clients, proto: "udp", port: 53, to: dns, reason: "the lab's networks resolve names with the DMZ DNS" },
    {
      from: plan.dns.clients,
      proto: "tcp",
      port: 53,
      to: dns,
      reason: "the lab's networks resolve names with the DMZ DNS (large answers)",
    },
    { from: plan.ntp.clients, proto: "udp", port: 123, to: ntp, reason: "the lab's networks keep time with the DMZ NTP server" },
  ];
  if (plan.proxy.http.length > 0) {
    const from = httpSources(plan);
    const who = from === "any" ? "internet and lab clients" : "lab clients (every HTTP route is lab-only)";
    rules.push(
      { from, proto: "tcp", port: 80, to: proxy, reason: `${who} reach the proxy, which redirects to HTTPS` },
      {
        from,
        proto: "tcp",
        port: 443,
        to: proxy,
        reason: `${who} reach published HTTP services; nginx allow lists restrict lab-only names`,
      },
    );
  }
  for (const s of plan.proxy.streams) {
    rules.push({
      from: s.exposure === "internet" ? "any" : s.allow,
      proto: s.proto,
      port: s.port,
      to: proxy,
      reason: `${s.segment}/${s.service} is published (${s.exposure} exposure)`,
    });
  }
  if (plan.tunnel && plan.tunnel.peers.length > 0) {
    rules.push({
      from: plan.tunnel.peers.map((p) => Cidr.host(p.wanAddress)),
      proto: "udp",
      port: plan.tunnel.port,
      to: plan.infra.address,
      reason: "each segment router's end of the WireGuard tunnel answers and rekeys (the guard binds their addresses to their MACs)",
    });
  }
  for (const f of plan.infra.inbound) {
    rules.push({
      from: f.from,
      proto: f.proto,
      port: f.port,
      ...(f.to !== undefined ? { to: f.to } : {}),
      reason: `${f.flow}: ${f.reason}`,
    });
  }
  return { rules, guard: infraGuard(plan) };
}

/** The certificate each TLS route trusts: a companion file handed to the proxy's unit as a credential. */
export function backendTrustFiles(plan: DmzPlan): { id: string; path: string; content: string }[] {
  return plan.proxy.http.flatMap((r) => (r.upstream.tls ? [{ ...backendTrustFile(r), content: r.upstream.tls.certificate }] : []));
}

/** The daemons the infra host runs from its companion files; the proxy starts after `nginxNeeds`. */
function infraDaemons(nginxNeeds: readonly string[], trust: readonly { id: string }[]): NixosDaemon[] {
  return [
    {
      unit: "homelab-dnsmasq",
      description: "DMZ DNS (dnsmasq on the rendered dnsmasq.conf)",
      package: "dnsmasq",
      file: INFRA_FILES.dnsmasq,
      check: { program: "dnsmasq", args: ["--test", "-C", COMPANION_FILE] },
      // dnsmasq starts as root to bind port 53 and drops to its user.
      start: { program: "dnsmasq", args: ["--keep-in-foreground", "--user=dnsmasq", "--group=dnsmasq", "-C", COMPANION_FILE] },
      user: "dnsmasq",
    },
    {
      unit: "homelab-chronyd",
      description: "DMZ NTP server (chronyd on the rendered chrony.conf)",
      package: "chrony",
      file: INFRA_FILES.chrony,
      check: { program: "chronyd", args: ["-p", "-f", COMPANION_FILE] },
      // chronyd keeps CAP_SYS_TIME when it drops to its user; -n stays in the foreground for systemd.
      start: { program: "chronyd", args: ["-n", "-u", "chrony", "-f", COMPANION_FILE] },
      user: "chrony",
    },
    {
      unit: NGINX_UNIT,
      description: "DMZ reverse proxy (nginx on the rendered nginx.conf)",
      package: "nginx",
      file: INFRA_FILES.nginx,
      check: { program: "nginx", args: ["-t", "-q", "-c", COMPANION_FILE] },
      start: { program: "nginx", args: ["-c", COMPANION_FILE] },
      user: "nginx",
      // The whole of nginx runs unprivileged, with only the right to bind ports below 1024.
      serviceConfig: {
        User: "nginx",
        Group: "nginx",
        AmbientCapabilities: ["CAP_NET_BIND_SERVICE"],
        CapabilityBoundingSet: ["CAP_NET_BIND_SERVICE"],
        NoNewPrivileges: true,
        StateDirectory: "nginx",
        // nginx opens its compiled-in error log before it reads the configuration.
        LogsDirectory: "nginx",
        ExecReload: "/run/current-system/sw/bin/kill -HUP $MAINPID",
      },
      needs: nginxNeeds,
      // The certificates backends are verified against, under the same names as companion files.
      credentials: trust.map((t) => ({ id: t.id, file: t.id })),
    },
  ];
}

/** The infra host as a NixOS host. `versions`: the secret files' public fingerprints, by file name. */
export function infraHostSpec(plan: DmzPlan, access: SshAccess, versions: Readonly<Record<string, string>> = {}): NixosHostSpec {
  const { dns, ntp, proxy } = plan.infra.serviceAddresses;
  const acme = infraAcme(plan);
  const addresses = [...new Set([plan.infra.address, dns, ntp, proxy])].map((address) => ({
    address,
    prefixLength: plan.infra.subnet.prefix,
  }));
  return {
    role: "DMZ infra host: DNS, NTP, reverse proxy",
    hostName: plan.infra.name,
    domain: plan.domain,
    timeZone: plan.timezone,
    addresses,
    gateway: plan.infra.gateway,
    routes: plan.infra.routes.map((r) => ({ to: r.to, via: r.via })),
    neighbours: infraGuard(plan).neighbours,
    // Its own DNS first, so the host sees the lab's names like everyone else; the upstreams only
    // answer when dnsmasq itself is down (the resolver moves on after a timeout, not on NXDOMAIN).
    nameservers: [plan.dns.listen, ...plan.dns.upstream],
    timeServers: [],
    access,
    daemons: infraDaemons(acme.needs, backendTrustFiles(plan)),
    ...(acme.acme ? { acme: acme.acme } : {}),
    tmpfiles: [
      "d /var/lib/chrony 0750 chrony chrony -",
      // htpasswd files are placed here out of band; nginx reads them at request time.
      `d ${SECRETS_DIR} 0750 root nginx -`,
    ],
    packages: ["chrony", "dnsutils", ...(plan.tunnel ? ["wireguard-tools"] : [])],
    ...(plan.tunnel ? { sections: [infraTunnelSection(plan.tunnel, versions[TUNNEL_KEY_FILE])] } : {}),
    exporters: [
      { kind: "node", listen: plan.infra.address, port: NODE_EXPORTER_PORT },
      {
        kind: "nginx",
        listen: plan.infra.address,
        port: NGINX_EXPORTER_PORT,
        scrapeUri: `http://${NGINX_STATUS.listen}${NGINX_STATUS.path}`,
      },
    ],
  };
}

/**
 * Every file of the DMZ infra host, sorted by path. `versions` are the secret files' public
 * fingerprints (the stack's ciphertexts), which restart the units that read them.
 */
export function renderDmzFiles(plan: DmzPlan, sshAccess: SshAccess, versions: Readonly<Record<string, string>> = {}): RenderedFile[] {
  const host = nixosHostFiles({
    dir: INFRA_DIR,
    spec: infraHostSpec(plan, canonicalAccess(sshAccess), versions),
    label: "DMZ infra host",
    sshd: { listen: [plan.infra.address], allowFrom: plan.ssh.adminSources, forwarding: { kind: "none" } },
    firewall: infraFirewall(plan),
  });
  return sortFiles([
    ...host,
    { path: `${INFRA_DIR}/${INFRA_FILES.dnsmasq}`, content: renderDnsmasqDns(plan), checker: "dnsmasq" },
    { path: `${INFRA_DIR}/${INFRA_FILES.chrony}`, content: renderChronyServer(plan), checker: "chrony" },
    { path: `${INFRA_DIR}/${INFRA_FILES.nginx}`, content: renderNginx(plan), checker: "nginx" },
    ...backendTrustFiles(plan).map((t): RenderedFile => ({ path: `${INFRA_DIR}/${t.id}`, content: t.content, checker: "x509" })),
  ]);
}
