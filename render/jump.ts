/**
 * Every file of a segment's NixOS jump host: the one door into the segment. The router
 * DNATs its WAN port 22 to the jump host without SNAT, so sshd sees the admins' real
 * addresses and can admit exactly the admin workstations.
 */
import type { Lab } from "../model/lab";
import type { SshAccess } from "../model/network/ssh";
import type { SegmentPlan } from "../model/plan";
import { sortFiles, type RenderedFile } from "./files";
import type { HostFirewallSpec } from "./host-firewall";
import { NODE_EXPORTER_PORT, canonicalAccess, nixosHostFiles, type NixosHostSpec } from "./nixos";
import { baseNixosHosts } from "./nixos-base";

/** The output directory of a segment's jump host files. */
export const JUMP_DIR = "jump";

/** Lab-wide facts a jump host needs besides its segment's plan. */
export interface JumpLabFacts {
  readonly domain: string;
  readonly timezone: string;
  /** The DMZ DNS address. */
  readonly dns: string;
  /** The DMZ NTP address. */
  readonly ntp: string;
}

/** The jump host's lab-wide facts, from the lab. */
export function jumpLabFacts(lab: Lab): JumpLabFacts {
  return { domain: lab.domain, timezone: lab.timezone, dns: lab.dmz.dns, ntp: lab.dmz.ntp };
}

/** The jump host's firewall: SSH from the admin workstations, nothing else. */
function jumpFirewall(plan: SegmentPlan, access: SshAccess): Omit<HostFirewallSpec, "host"> {
  const jump = plan.jumpHost.address;
  // Flows from other networks that reach the jump host (a scrape of the whole segment, say):
  // derived from the same flow list as the router's rules. SSH has its own rule above them.
  const inbound = plan.flows
    .filter(
      (f) =>
        f.kind !== "ssh" &&
        f.from.zone !== plan.name &&
        f.from.zone !== "internet" &&
        f.to.zone === plan.name &&
        f.to.cidrs.some((c) => c.contains(jump)),
    )
    .flatMap((f) => f.ports.map((p) => ({ from: f.from.cidrs, proto: p.proto, port: p.port, to: jump, reason: `${f.id}: ${f.reason}` })));
  return {
    rules: [
      {
        from: access.adminSources,
        proto: "tcp",
        port: 22,
        to: jump,
        reason: `admins enter ${plan.name} through this host (the router DNATs its WAN port 22 here, keeping the source)`,
      },
      ...inbound,
    ],
  };
}

/** The jump host as a NixOS host: on the segment's LAN, behind its router, using the DMZ's DNS and NTP. */
function jumpHostSpec(plan: SegmentPlan, access: SshAccess, lab: JumpLabFacts): NixosHostSpec {
  return {
    role: `SSH jump host of ${plan.name}`,
    hostName: plan.jumpHost.id,
    domain: `${plan.name}.${lab.domain}`,
    timeZone: lab.timezone,
    addresses: [{ address: plan.jumpHost.address, prefixLength: plan.subnet.prefix }],
    gateway: plan.router.lan.address,
    nameservers: [lab.dns],
    timeServers: [lab.ntp],
    access,
    exporters: [{ kind: "node", listen: plan.jumpHost.address, port: NODE_EXPORTER_PORT }],
  };
}

/** The addresses Pulumi deploys to through the jump host: the router, the data host, the base NixOS hosts. */
export function deployTargets(plan: SegmentPlan): string[] {
  return [plan.router.lan.address, ...(plan.dataHost ? [plan.dataHost.address] : []), ...baseNixosHosts(plan).map((h) => h.address)];
}

/** Every file of the segment's jump host, sorted by path. */
export function renderJumpFiles(plan: SegmentPlan, sshAccess: SshAccess, lab: JumpLabFacts): RenderedFile[] {
  const access = canonicalAccess(sshAccess);
  return sortFiles(
    nixosHostFiles({
      dir: JUMP_DIR,
      spec: jumpHostSpec(plan, access, lab),
      label: `jump host of ${plan.name}`,
      sshd: {
        listen: [plan.jumpHost.address],
        allowFrom: access.adminSources,
        // Pulumi reaches the router (and the data host and base NixOS hosts) through this host, and
        // nothing else behind it: those are deployed through it as well. The Talos roll reaches the
        // cluster's Talos and Kubernetes APIs through it (components/talos-roll.ts, a SOCKS tunnel).
        forwarding: {
          kind: "jump",
          deployOpens: [
            ...deployTargets(plan).map((a) => `${a}:22`),
            ...(plan.clusterApis ? [...plan.clusterApis.talos, plan.clusterApis.kubernetes] : []),
          ],
        },
      },
      firewall: jumpFirewall(plan, access),
    }),
  );
}
