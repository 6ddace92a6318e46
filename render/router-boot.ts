/**
 * The router's boot unit, `homelab-router.service`: what makes a rebooted router fail closed.
 * It runs before the network comes up (`Before=network-pre.target`, which ifupdown's
 * networking.service, dnsmasq and sshd all start after) and, in this order:
 *
 *   1. forwarding off, whatever a sysctl.d file or the kernel said;
 *   2. `apply.sh boot`: a release still pending was never confirmed (the box went down before
 *      its confirm or its watchdog), so the files of the state before it are put back;
 *   3. the ruleset, `nft -f /etc/nftables.conf`, in one transaction;
 *   4. forwarding on.
 *
 * A oneshot service runs its ExecStart lines one after the other and stops at the first that
 * fails, so a ruleset that does not load leaves forwarding off. apply.sh installs this unit,
 * enables it (the `sysinit.target.wants` link) and refuses a release where it is not enabled.
 */
import { compareCidr } from "../model/net";
import type { RouterPlan } from "../model/network/router";
import { generatedHeader } from "./header";

/** The unit's name, and where apply.sh installs it, enables it and installs itself for it (under HOMELAB_ROOT). */
export const ROUTER_BOOT = {
  unit: "homelab-router.service",
  path: "/etc/systemd/system/homelab-router.service",
  /** What `systemctl enable` makes for `WantedBy=sysinit.target`. */
  wants: "/etc/systemd/system/sysinit.target.wants/homelab-router.service",
  /** The confirmed release's apply.sh, which the unit runs as `boot`. */
  script: "/usr/local/sbin/homelab-router-apply",
  ruleset: "/etc/nftables.conf",
  /** The routes to the other segments and the static neighbours, for ifupdown (sourced by Debian's /etc/network/interfaces). */
  routes: "/etc/network/interfaces.d/homelab-routes",
} as const;

/** The unit file text for one router. Same plan, same bytes. */
export function renderRouterBootUnit(router: RouterPlan): string {
  const lines = [
    "[Unit]",
    `Description=homelab: ${router.name} rolls back an unconfirmed release, loads its ruleset, then forwards`,
    `Documentation=file:${ROUTER_BOOT.script}`,
    "DefaultDependencies=no",
    "# After sysctl.d, so forwarding is off here whatever a file says; before any interface is up.",
    "After=local-fs.target systemd-sysctl.service",
    "Before=network-pre.target shutdown.target",
    "Wants=network-pre.target",
    "Conflicts=shutdown.target",
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    "# One line after the other; the first that fails stops the rest: no ruleset, no forwarding.",
    "ExecStart=/usr/sbin/sysctl -q -w net.ipv4.ip_forward=0",
    `ExecStart=/bin/bash ${ROUTER_BOOT.script} boot`,
    `ExecStart=/usr/sbin/nft -f ${ROUTER_BOOT.ruleset}`,
    "ExecStart=/usr/sbin/sysctl -q -w net.ipv4.ip_forward=1",
    "",
    "[Install]",
    "WantedBy=sysinit.target",
  ];
  const what = `${ROUTER_BOOT.unit} of ${router.name} (${router.segment}): the ruleset before forwarding, at every boot`;
  return `${generatedHeader("#", what, "render/router-boot.ts")}\n${lines.join("\n")}\n`;
}

/**
 * The routes to the other segments and the static neighbours, as ifupdown reads them: an extra
 * `manual` stanza per interface whose `up` lines set them, each time the interface comes up (at
 * boot, or `ifup`). ifupdown applies every stanza of an interface, so this file adds to the
 * box's own address configuration without repeating it. The neighbours come first, so a route
 * through another router already leads to its pinned MAC; a link that goes down loses its
 * permanent neighbours in the kernel, which is why they are set at every `up`. apply.sh sets
 * the same routes and neighbours live.
 */
export function renderRouterRoutes(router: RouterPlan): string {
  const routes = [...router.routes].sort((a, b) => compareCidr(a.to, b.to));
  const neigh = (iface: string) =>
    router.neighbours
      .filter((n) => n.iface === iface)
      .map((n) => `    up ip -4 neigh replace ${n.address} lladdr ${n.mac} dev ${iface} nud permanent`);
  const lanNeighbours = neigh(router.lan.iface);
  const lines = [
    `# When ${router.wan.iface} comes up: the DMZ parties pinned to their MACs, then the routes to the other`,
    "# segments, each through its router's WAN address.",
    `iface ${router.wan.iface} inet manual`,
    ...neigh(router.wan.iface),
    ...routes.map((r) => `    up ip -4 route replace ${r.to.toString()} via ${r.via} dev ${router.wan.iface}`),
    ...(lanNeighbours.length > 0
      ? [
          "",
          `# When ${router.lan.iface} comes up: the jump host pinned to its MAC.`,
          `iface ${router.lan.iface} inet manual`,
          ...lanNeighbours,
        ]
      : []),
  ];
  const what = `static routes and neighbours of ${router.name} (${router.segment}), for ifupdown`;
  return `${generatedHeader("#", what, "render/router-boot.ts")}\n${lines.join("\n")}\n`;
}
