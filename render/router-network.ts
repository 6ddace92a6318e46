/**
 * A segment router's network config, as Debian's ifupdown reads it
 * (`/etc/network/interfaces.d/homelab`, sourced by Debian's default `/etc/network/interfaces`):
 * the WAN address with the default route through the ISP edge, and the LAN address. A LAN
 * (or WAN) that is a VLAN sub-interface (`enp2s0.20`) names its parent port with
 * `vlan-raw-device`; ifupdown creates the sub-interface (`ip link add link enp2s0 name
 * enp2s0.20 type vlan id 20`) before it sets the address.
 *
 * The release installs this file but does not re-run ifupdown: changing a live address over
 * the SSH session that carries the change could cut it. It takes effect at the next boot
 * (or `ifup`), and is the first-boot network config of a new box. Routes to the other
 * segments are in their own stanza, interfaces.d/homelab-routes (render/router-boot.ts).
 */
import type { RouterIface, RouterPlan } from "../model/network/router";
import { generatedHeader } from "./header";

/** Where apply.sh installs the file. */
export const ROUTER_NETWORK_PATH = "/etc/network/interfaces.d/homelab";

/** One `iface` stanza, with its options and a comment line above it. */
function stanza(side: RouterIface, prefix: number, why: string, gateway?: string): string[] {
  return [
    `# ${why}`,
    `auto ${side.iface}`,
    `iface ${side.iface} inet static`,
    `    address ${side.address}/${prefix}`,
    ...(gateway !== undefined ? [`    gateway ${gateway}`] : []),
    ...(side.vlan ? [`    vlan-raw-device ${side.vlan.parent}`] : []),
  ];
}

/** `, tagged VLAN 20 on enp2s0` for a VLAN side, else nothing. */
function tagged(side: RouterIface): string {
  return side.vlan ? `, tagged VLAN ${side.vlan.id} on port ${side.vlan.parent}` : "";
}

/** The interfaces(5) text for one router. Same plan, same bytes. */
export function renderRouterNetwork(router: RouterPlan): string {
  const lines = [
    ...stanza(
      router.wan,
      router.wan.subnet.prefix,
      `WAN: the DMZ${tagged(router.wan)}; the default route is the ISP edge.`,
      router.wan.gateway,
    ),
    "",
    ...stanza(
      router.lan,
      router.lan.subnet.prefix,
      `LAN: the ${router.segment} segment ${router.lan.subnet}${tagged(router.lan)}; this box is its gateway.`,
    ),
  ];
  return `${generatedHeader("#", `network config of ${router.name} (${router.segment}), for ifupdown`, "render/router-network.ts")}\n${lines.join("\n")}\n`;
}
