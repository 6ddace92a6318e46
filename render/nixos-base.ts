/**
 * The base NixOS host: every file of a segment's NixOS VM that the lab manages but whose services
 * it does not render yet (today the monitor host). It gets the NixOS host treatment of the data
 * host without its services: static addressing, the lab's DNS and NTP, the model's users with keys
 * only, the hardened sshd admitting the segment's jump host only, its host firewall (exactly the
 * flows that end at it, the same list the router enforces), the node exporter and commit-confirm.
 * A service the model publishes on it (Grafana on the monitor) is let through its firewall but
 * not configured: nothing listens there until its own renderer exists.
 */
import { Cidr } from "../model/net";
import type { PlannedHost } from "../model/network/hosts";
import type { HostRole } from "../model/network/schema";
import type { SshAccess } from "../model/network/ssh";
import type { SegmentPlan } from "../model/plan";
import { sortFiles, type RenderedFile } from "./files";
import { flowsEndingAt } from "./host-firewall";
import type { JumpLabFacts } from "./jump";
import { NODE_EXPORTER_PORT, canonicalAccess, nixosHostFiles, type NixosHostSpec } from "./nixos";

/**
 * The roles whose NixOS VMs get the base host. The jump host and the data host have renderers
 * of their own; the mirrors' and the agent's services come with their own renderers (issue 10).
 */
export const BASE_HOST_ROLES: ReadonlySet<HostRole> = new Set<HostRole>(["monitoring"]);

/** The segment's base NixOS hosts, in address order: NixOS VMs of a base role, other than its jump host and data host. */
export function baseNixosHosts(seg: SegmentPlan): PlannedHost[] {
  return seg.hosts.filter(
    (h) =>
      h.os === "nixos" &&
      h.source === "vm" &&
      h.role !== "switch" &&
      BASE_HOST_ROLES.has(h.role) &&
      h.id !== seg.jumpHost.id &&
      h.id !== seg.dataHost?.id,
  );
}

/**
 * What every NixOS host on a segment's LAN shares in its spec: its name and address behind the
 * segment's router, the DMZ's DNS and NTP, the admins' access, and the node exporter on its address.
 */
export function segmentLanHost(
  seg: SegmentPlan,
  id: string,
  address: string,
  access: SshAccess,
  lab: JumpLabFacts,
): Omit<NixosHostSpec, "role"> {
  return {
    hostName: id,
    domain: `${seg.name}.${lab.domain}`,
    timeZone: lab.timezone,
    addresses: [{ address, prefixLength: seg.subnet.prefix }],
    gateway: seg.router.lan.address,
    nameservers: [lab.dns],
    timeServers: [lab.ntp],
    access,
    exporters: [{ kind: "node", listen: address, port: NODE_EXPORTER_PORT }],
  };
}

/** Every file of one base host under `<host id>/`, sorted. */
export function renderBaseHostFiles(seg: SegmentPlan, host: PlannedHost, sshAccess: SshAccess, lab: JumpLabFacts): RenderedFile[] {
  const access = canonicalAccess(sshAccess);
  return sortFiles(
    nixosHostFiles({
      dir: host.id,
      spec: {
        role: `${host.description}; base host, its services not rendered yet`,
        ...segmentLanHost(seg, host.id, host.address, access, lab),
      },
      label: `${host.role} host of ${seg.name}`,
      // Admins and Pulumi come through the jump host, and only through it.
      sshd: { listen: [host.address], allowFrom: [Cidr.host(seg.jumpHost.address)], forwarding: { kind: "none" } },
      firewall: { rules: flowsEndingAt(seg, host.address) },
    }),
  );
}
