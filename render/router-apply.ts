/**
 * `apply.sh`, the commit-confirm procedure a router runs for each release (the commands, the
 * environment and the watchdog are described at the top of render/scripts/router-apply.sh).
 * This module renders only the router's facts: its name, interfaces, routes to the other
 * segments, static neighbours and the files a release installs. Exit codes are `APPLY_EXIT`
 * (render/apply-common.ts): 3 here means a check failed and nothing was changed, 5 that
 * installing failed and the previous state was restored.
 */
import { compareCidr } from "../model/net";
import type { RouterPlan } from "../model/network/router";
import { DEFAULT_CONFIRM_TIMEOUT_SECONDS, renderApplyScript, type ShellFact, type ShellItem } from "./apply-common";
import { generatedHeader } from "./header";
import { ROUTER_NETWORK_PATH } from "./router-network";
import { ROUTER_BOOT } from "./router-boot";
import { AUTHORIZED_KEYS_DIR } from "./sshd";
import { ROUTER_TUNNEL, TUNNEL_KEY_FILE } from "./wireguard";

/** Where each release file is installed, relative to HOMELAB_ROOT. */
const APPLY_INSTALL_PATHS = {
  "nftables.conf": ROUTER_BOOT.ruleset,
  "dnsmasq.conf": "/etc/dnsmasq.conf",
  sshd_config: "/etc/ssh/sshd_config",
  // Boot-time addresses and VLAN sub-interfaces; installed, not re-applied live (render/router-network.ts).
  interfaces: ROUTER_NETWORK_PATH,
  // The boot unit, this very script for it to run, and the routes at boot (render/router-boot.ts).
  [ROUTER_BOOT.unit]: ROUTER_BOOT.path,
  "homelab-routes": ROUTER_BOOT.routes,
  "apply.sh": ROUTER_BOOT.script,
  "authorized_keys.d": AUTHORIZED_KEYS_DIR,
} as const;

/**
 * The sysctl file apply.sh writes so the router's kernel settings survive a reboot: only those
 * safe before any ruleset is loaded (IPv6 off). IPv4 forwarding is never in it: at boot only
 * the boot unit turns it on, after the ruleset (render/router-boot.ts).
 */
const APPLY_SYSCTL_FILE = "/etc/sysctl.d/90-homelab-router.conf";

/**
 * The kernel settings of every router, in the order apply.sh sets them (after the ruleset is
 * loaded), and whether its sysctl file keeps them for boot (`atBoot`): IPv6 off first, since the lab is IPv4 only and
 * the ruleset drops IPv6 anyway (render/nft.ts, `ipv6Drop`), then IPv4 forwarding last.
 * `all.disable_ipv6` takes every existing interface's address away, `default` every later one.
 */
export const ROUTER_SYSCTLS = [
  { key: "net.ipv6.conf.all.forwarding", value: 0, why: "IPv6 is never forwarded", atBoot: true },
  { key: "net.ipv6.conf.all.disable_ipv6", value: 1, why: "no interface has an IPv6 address", atBoot: true },
  { key: "net.ipv6.conf.default.disable_ipv6", value: 1, why: "nor does one that appears later", atBoot: true },
  // At boot the boot unit turns it on, once the ruleset is loaded; a sysctl file would turn it on before.
  { key: "net.ipv4.ip_forward", value: 1, why: "a router forwards IPv4, once its ruleset is live", atBoot: false },
] as const;

/**
 * The tunnel's release files and where they go: the unit (0644, with INSTALL), and the wg-quick
 * file and the private key, root-only (0600, PRIVATE_INSTALL). None for a router without an end.
 */
function tunnelInstall(router: RouterPlan): { install: ShellItem[]; private: ShellItem[] } {
  const t = router.tunnel;
  if (!t) return { install: [], private: [] };
  return {
    install: [{ value: `${ROUTER_TUNNEL.unit}:${ROUTER_TUNNEL.path}` }],
    private: [
      { value: `${ROUTER_TUNNEL.conf(t.iface)}:${ROUTER_TUNNEL.confPath(t.iface)}` },
      {
        value: `${TUNNEL_KEY_FILE}:${ROUTER_TUNNEL.keyPath(t.iface)}`,
        comment: "the stack's secret homelab:wireguardKey, uploaded by the release",
      },
    ],
  };
}

/** The tunnel's facts: empty strings for a router without an end, which the script then leaves alone. */
function tunnelFacts(router: RouterPlan): ShellFact[] {
  const t = router.tunnel;
  return [
    {
      name: "TUNNEL_IFACE",
      value: t?.iface ?? "",
      comment: "The WireGuard tunnel from the infra host (render/wireguard.ts); empty: this router has no end.",
    },
    { name: "TUNNEL_CONF", value: t ? ROUTER_TUNNEL.conf(t.iface) : "" },
    { name: "TUNNEL_KEY", value: t ? TUNNEL_KEY_FILE : "" },
    { name: "TUNNEL_PUBLIC_KEY", value: t?.publicKey ?? "", comment: "The release's private key must be the private half of this." },
    { name: "TUNNEL_UNIT", value: t ? ROUTER_TUNNEL.unit : "" },
    { name: "TUNNEL_UNIT_FILE", value: t ? ROUTER_TUNNEL.path : "" },
    { name: "TUNNEL_UNIT_LINK", value: t ? ROUTER_TUNNEL.wants : "" },
  ];
}

/** The part of the script that comes from the plan. Everything else is the same for every router. */
function routerFacts(router: RouterPlan): ShellFact[] {
  const routes = [...router.routes].sort((a, b) => compareCidr(a.to, b.to));
  const tunnel = tunnelInstall(router);
  return [
    { name: "ROUTER", value: router.name },
    { name: "WAN_IFACE", value: router.wan.iface },
    { name: "LAN_IFACE", value: router.lan.iface },
    {
      name: "ROUTES",
      comment: "Other segments, each through its own router's WAN address: '<destination> <gateway>'.",
      value: routes.map((r) => ({ value: `${r.to.toString()} ${r.via}`, comment: r.segment })),
    },
    {
      name: "NEIGHBOURS",
      comment: "Static neighbours, set after the routes: '<address> <MAC> <interface>'.",
      value: router.neighbours.map((n) => ({ value: `${n.address} ${n.mac} ${n.iface}`, comment: n.what })),
    },
    { name: "DEFAULT_TIMEOUT", value: DEFAULT_CONFIRM_TIMEOUT_SECONDS },
    {
      name: "INSTALL",
      comment: "Release file -> installed path (under HOMELAB_ROOT).",
      value: [
        ...Object.entries(APPLY_INSTALL_PATHS)
          .filter(([f]) => f !== "authorized_keys.d")
          .map(([f, p]) => ({ value: `${f}:${p}` })),
        ...tunnel.install,
      ],
    },
    {
      name: "PRIVATE_INSTALL",
      comment: "Release file -> installed path, root-only (0600).",
      value: tunnel.private,
    },
    { name: "KEYS_DIR", value: APPLY_INSTALL_PATHS["authorized_keys.d"] },
    { name: "SYSCTL_FILE", value: APPLY_SYSCTL_FILE },
    {
      name: "SYSCTLS",
      comment: "Kernel settings, set in this order after the ruleset is loaded: '<key>=<value>'.",
      value: ROUTER_SYSCTLS.map((s) => ({ value: `${s.key}=${s.value}`, comment: s.why })),
    },
    {
      name: "BOOT_SYSCTLS",
      comment: "The ones SYSCTL_FILE keeps for boot, before any ruleset: never IPv4 forwarding.",
      value: ROUTER_SYSCTLS.filter((s) => s.atBoot).map((s) => ({ value: `${s.key}=${s.value}` })),
    },
    {
      name: "BOOT_UNIT",
      value: ROUTER_BOOT.unit,
      comment: "The boot unit: its name, its file and its enable link (render/router-boot.ts).",
    },
    { name: "BOOT_UNIT_FILE", value: ROUTER_BOOT.path },
    { name: "BOOT_UNIT_LINK", value: ROUTER_BOOT.wants },
    ...tunnelFacts(router),
  ];
}

/** The router's apply.sh: this router's facts, then the body every router shares. Same plan, same bytes. */
export function renderRouterApply(router: RouterPlan): string {
  const what = `apply.sh of ${router.name} (${router.segment}): commit-confirm for one release`;
  return renderApplyScript(generatedHeader("#", what, "render/router-apply.ts"), routerFacts(router), "router-apply");
}
