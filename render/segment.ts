/**
 * Every file of one segment that is not a host's: the router's release (ruleset, DHCP,
 * sshd, keys, apply.sh) under `router/`, and the admins' SSH client config and
 * known_hosts at the top. The Router component uploads `router/*` as one release.
 */
import { Cidr } from "../model/net";
import type { SshAccess } from "../model/network/ssh";
import type { SegmentPlan } from "../model/plan";
import { renderRouterDhcp } from "./dhcp";
import { sortFiles, type RenderedFile } from "./files";
import { renderRouterNftables } from "./nftables";
import { renderRouterApply } from "./router-apply";
import { renderRouterNetwork } from "./router-network";
import { renderRouterBootUnit, renderRouterRoutes, ROUTER_BOOT } from "./router-boot";
import { renderKnownHosts, renderSshClientConfig } from "./ssh-client";
import { renderAuthorizedKeys, renderSshdConfig } from "./sshd";
import { renderRouterTunnel, renderRouterTunnelUnit, ROUTER_TUNNEL } from "./wireguard";

/** The directory of the router's release inside a segment's files. */
export const ROUTER_DIR = "router";

/** Files already rendered, by plan and access: both are read-only once planned, so their files never change. */
const rendered = new WeakMap<SegmentPlan, WeakMap<SshAccess, readonly RenderedFile[]>>();

/**
 * All files of one segment, sorted by path. The same plan and access are rendered once per
 * process: the segment's stack uploads the router's files and the offline plan writes the rest.
 */
export function renderSegmentFiles(plan: SegmentPlan, access: SshAccess): RenderedFile[] {
  let byAccess = rendered.get(plan);
  if (!byAccess) rendered.set(plan, (byAccess = new WeakMap()));
  let files = byAccess.get(access);
  if (!files) byAccess.set(access, (files = renderFiles(plan, access)));
  return [...files];
}

function renderFiles(plan: SegmentPlan, access: SshAccess): RenderedFile[] {
  const router = plan.router;
  const sshd = renderSshdConfig(
    // The router's sshd listens on the LAN side only and admits the jump host only.
    {
      role: `${router.name} (router of ${plan.name})`,
      listen: [router.lan.address],
      allowFrom: [Cidr.host(router.jumpAddress)],
      forwarding: { kind: "none" },
    },
    access,
  );
  return sortFiles([
    { path: `${ROUTER_DIR}/nftables.conf`, content: renderRouterNftables(router), checker: "nft" },
    { path: `${ROUTER_DIR}/dnsmasq.conf`, content: renderRouterDhcp(router), checker: "dnsmasq" },
    { path: `${ROUTER_DIR}/sshd_config`, content: sshd, checker: "sshd" },
    { path: `${ROUTER_DIR}/interfaces`, content: renderRouterNetwork(router), checker: "ifupdown" },
    ...renderAuthorizedKeys(ROUTER_DIR, access),
    { path: `${ROUTER_DIR}/apply.sh`, content: renderRouterApply(router), checker: "sh", mode: 0o755 },
    { path: `${ROUTER_DIR}/${ROUTER_BOOT.unit}`, content: renderRouterBootUnit(router), checker: "systemd" },
    { path: `${ROUTER_DIR}/homelab-routes`, content: renderRouterRoutes(router), checker: "ifupdown" },
    // Its end of the tunnel from the infra host; the private key is a secret file of the release, never rendered.
    ...(router.tunnel
      ? [
          {
            path: `${ROUTER_DIR}/${ROUTER_TUNNEL.conf(router.tunnel.iface)}`,
            content: renderRouterTunnel(router),
            checker: "wireguard" as const,
          },
          { path: `${ROUTER_DIR}/${ROUTER_TUNNEL.unit}`, content: renderRouterTunnelUnit(router), checker: "systemd" as const },
        ]
      : []),
    { path: "ssh_config", content: renderSshClientConfig(plan), checker: "ssh-client" },
    // ssh-keygen -l -f reads known_hosts lines as well as authorized_keys lines.
    { path: "known_hosts", content: renderKnownHosts(plan), checker: "authorized-keys" },
  ]);
}
