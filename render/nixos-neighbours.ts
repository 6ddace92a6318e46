/**
 * Static neighbours of a NixOS host (the infra host pins the DMZ parties: the routers and the
 * ISP edge, model/network/identity.ts). NixOS's scripted networking has no option for them, so
 * a oneshot unit sets them with `ip neigh replace ... nud permanent`, once the NIC's addresses
 * are up: it is wanted by, ordered after and bound to `network-addresses-<nic>.service`, which
 * brings the link up. The kernel drops even permanent entries when the link goes down, so the
 * unit stops with that service and starts again with it.
 */
import { compareIp } from "../model/net";
import type { StaticNeighbour } from "../model/network/identity";
import { NixAttrs, NixInterp, NixRaw, type NixSection } from "./nix";

/** The unit that sets them. */
export const NEIGHBOURS_UNIT = "homelab-neighbours";

/** The section, or none when the host pins no neighbour. */
export function neighboursSection(iface: string, neighbours: readonly StaticNeighbour[]): NixSection[] {
  if (neighbours.length === 0) return [];
  const addresses = `network-addresses-${iface}.service`;
  const ip = (n: StaticNeighbour) =>
    new NixInterp([new NixRaw("pkgs.iproute2"), `/bin/ip -4 neigh replace ${n.address} lladdr ${n.mac} dev ${iface} nud permanent`]);
  const sorted = [...neighbours].sort((a, b) => compareIp(a.address, b.address));
  return [
    {
      comment: [
        `Static neighbours on ${iface}: each address below is pinned to its MAC, so no host on the`,
        "network can take it over by ARP. Set once the NIC's addresses are up, again whenever they come up.",
      ],
      entries: [
        [
          `systemd.services.${NEIGHBOURS_UNIT}`,
          new NixAttrs([
            [["description"], `homelab: static neighbours of ${iface}`],
            [["wantedBy"], [addresses]],
            [["after"], [addresses]],
            [["bindsTo"], [addresses]],
            [
              ["serviceConfig"],
              new NixAttrs([
                [["Type"], "oneshot"],
                [["RemainAfterExit"], true],
                [["ExecStart"], sorted.map(ip)],
              ]),
            ],
          ]),
        ],
      ],
    },
  ];
}
