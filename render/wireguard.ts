/**
 * The WireGuard tunnel from the infra host to each router (model/network/tunnel.ts), as each
 * end reads it:
 *
 * - a router (Debian): `/etc/wireguard/wg-homelab.conf` for wg-quick, and the unit
 *   `homelab-wireguard.service`, which brings the tunnel up at boot only after
 *   homelab-router.service has loaded the ruleset (Requires= and After=: no ruleset, no tunnel),
 *   then sets the private key from its own root-only file;
 * - the infra host (NixOS): `networking.wireguard.interfaces.wg-homelab`, one peer per router.
 *
 * No private key is in any of these files: each end's key is its stack's config secret
 * homelab:wireguardKey, uploaded by the release as the secret file `wireguard.key` and
 * installed where these files name it (a router: root-only, 0600, by apply.sh; the infra host:
 * next to configuration.nix, as the release delivers every secret file).
 */
import type { InfraTunnelPlan } from "../model/network/tunnel";
import type { RouterPlan } from "../model/network/router";
import { generatedHeader } from "./header";
import { nixAttrs, type NixSection } from "./nix";
import { NIXOS_CONFIG_DIR } from "./nixos-apply";
import { ROUTER_BOOT } from "./router-boot";

/** The release file that carries an end's private key: uploaded from the stack's config secret, never rendered. */
export const TUNNEL_KEY_FILE = "wireguard.key";

/** Where a router's tunnel files live, and its unit. */
export const ROUTER_TUNNEL = {
  /** wg-quick names the interface after the file: wg-homelab.conf makes wg-homelab. */
  conf: (iface: string) => `${iface}.conf`,
  confPath: (iface: string) => `/etc/wireguard/${iface}.conf`,
  /** The private key, installed root-only (0600) by apply.sh from the release's wireguard.key. */
  keyPath: (iface: string) => `/etc/wireguard/${iface}.key`,
  unit: "homelab-wireguard.service",
  path: "/etc/systemd/system/homelab-wireguard.service",
  /** What `systemctl enable` makes for `WantedBy=multi-user.target`. */
  wants: "/etc/systemd/system/multi-user.target.wants/homelab-wireguard.service",
} as const;

/** The infra host's private key: the release's secret file, next to configuration.nix. */
export const INFRA_TUNNEL_KEY = `${NIXOS_CONFIG_DIR}/${TUNNEL_KEY_FILE}`;

/** A router's end, or a bug when it has none. */
function tunnelOf(router: RouterPlan) {
  if (!router.tunnel) throw new Error(`bug: ${router.name} has no end of the tunnel`);
  return router.tunnel;
}

/** The router's wg-quick file: its address and port, and the infra host as its only peer. Same plan, same bytes. */
export function renderRouterTunnel(router: RouterPlan): string {
  const t = tunnelOf(router);
  const lines = [
    "[Interface]",
    `# ${router.name}'s end: its tunnel address, and the port the infra host dials at its WAN address`,
    `# ${router.wan.address} (the ruleset accepts that port from the infra host's ${t.peer.dmzAddress} only).`,
    `# No private key here: ${ROUTER_TUNNEL.unit} sets it from ${ROUTER_TUNNEL.keyPath(t.iface)}.`,
    `Address = ${t.address}/${t.prefix}`,
    `ListenPort = ${t.port}`,
    "",
    "# The infra host: the only peer, and the only source the tunnel accepts. Both ends dial and keep",
    "# the session alive, so a rebooted router (or infra host) has the tunnel back at once.",
    "[Peer]",
    `PublicKey = ${t.peer.publicKey}`,
    `AllowedIPs = ${t.peer.address}/32`,
    `Endpoint = ${t.peer.dmzAddress}:${t.port}`,
    `# Keepalives every ${t.keepaliveSeconds} s: ${ROUTER_TUNNEL.unit} turns them on once the key is set.`,
  ];
  const what = `WireGuard tunnel of ${router.name} (${router.segment}) from the infra host, for wg-quick`;
  return `${generatedHeader("#", what, "render/wireguard.ts")}\n${lines.join("\n")}\n`;
}

/**
 * The router's tunnel unit. It starts after homelab-router.service and requires it, so at boot
 * the tunnel comes up only once the ruleset is loaded (a ruleset that fails to load leaves the
 * tunnel down, as it leaves forwarding off); the key is set from its file, never from the conf.
 */
export function renderRouterTunnelUnit(router: RouterPlan): string {
  const t = tunnelOf(router);
  const conf = ROUTER_TUNNEL.confPath(t.iface);
  const lines = [
    "[Unit]",
    `Description=homelab: ${router.name} brings up the WireGuard tunnel from the infra host, once its ruleset is loaded`,
    `Documentation=file:${conf}`,
    "# After the ruleset (no ruleset, no tunnel), and once the network is up, so its first handshake goes out.",
    `After=${ROUTER_BOOT.unit} network-online.target`,
    `Requires=${ROUTER_BOOT.unit}`,
    "Wants=network-online.target",
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    `ExecStart=/usr/bin/wg-quick up ${conf}`,
    `ExecStart=/usr/bin/wg set ${t.iface} private-key ${ROUTER_TUNNEL.keyPath(t.iface)}`,
    "# Keepalives start only now, with the key set: turning them on sends the first one, which opens the session at once.",
    `ExecStart=/usr/bin/wg set ${t.iface} peer ${t.peer.publicKey} persistent-keepalive ${t.keepaliveSeconds}`,
    `ExecStop=/usr/bin/wg-quick down ${conf}`,
    "",
    "[Install]",
    "WantedBy=multi-user.target",
  ];
  const what = `${ROUTER_TUNNEL.unit} of ${router.name} (${router.segment}): the tunnel from the infra host, after the ruleset`;
  return `${generatedHeader("#", what, "render/wireguard.ts")}\n${lines.join("\n")}\n`;
}

/**
 * The infra host's end, as a NixOS section: one peer per router, each allowed only its router's
 * tunnel address and dialled at its WAN address. `keyVersion` is the secret's public
 * fingerprint: a new key restarts the interface's unit.
 */
export function infraTunnelSection(t: InfraTunnelPlan, keyVersion?: string): NixSection {
  const iface = `networking.wireguard.interfaces.${t.iface}`;
  return {
    comment: [
      `WireGuard to every segment router: the proxy reaches each segment's published services at its router's`,
      `tunnel address, so they arrive authenticated by this host's key. The private key is the release's`,
      `secret file ${TUNNEL_KEY_FILE} (the DMZ stack's secret homelab:wireguardKey), never in the store.`,
    ],
    entries: [
      [`${iface}.ips`, [`${t.address}/${t.subnet.prefix}`]],
      [`${iface}.listenPort`, t.port],
      [`${iface}.privateKeyFile`, INFRA_TUNNEL_KEY],
      [
        `${iface}.peers`,
        t.peers.map((p) =>
          nixAttrs({
            publicKey: p.publicKey,
            allowedIPs: [`${p.address}/32`],
            endpoint: `${p.wanAddress}:${t.port}`,
            persistentKeepalive: t.keepaliveSeconds,
          }),
        ),
      ],
      ...(keyVersion !== undefined ? ([[`systemd.services.wireguard-${t.iface}.restartTriggers`, [keyVersion]]] as const) : []),
    ],
  };
}
