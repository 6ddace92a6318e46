/**
 * The WireGuard tunnel from the infra host to each segment router, planned: what each end
 * configures. The infra host is the one end every router knows (its tunnel address and public
 * key); each router is a peer of the infra host, reached at its WAN address on the tunnel's
 * port. The proxy reaches a segment's published services at its router's tunnel address, so
 * its traffic arrives on the router's tunnel interface from the infra host's tunnel address:
 * authenticated by the infra host's key, whatever the DMZ says about addresses and MACs.
 *
 * Decisions encoded here:
 * - each router's only peer is the infra host, and it accepts from it only the infra host's
 *   tunnel address (allowed IPs): a router never routes a segment or the DMZ into the tunnel;
 * - the infra host's peer for a router allows only that router's tunnel address;
 * - the infra host dials every router (endpoint: the router's WAN address and the tunnel port),
 *   and each router dials the infra host (its DMZ address), both keeping the session alive: a
 *   rebooted end has its tunnel back at once, without waiting for the other's rekey timer;
 * - both ends listen on the tunnel's port, so each firewall can name the other's exactly.
 *
 * The private halves are never planned: each is its stack's config secret homelab:wireguardKey,
 * delivered as a file (render/wireguard.ts names where).
 */
import { DMZ_STACK, type Lab, type Segment } from "../lab";
import type { Cidr } from "../net";
import { compareText } from "../order";

/** The tunnel interface on every end: its name in wg-quick's file, the NixOS unit and the rulesets. */
export const TUNNEL_IFACE = "wg-homelab";

/**
 * Seconds between the infra host's keepalives to each router: the session (and every stateful
 * firewall on the way) stays up, and a rebooted router is found again within this time.
 */
export const TUNNEL_KEEPALIVE_SECONDS = 25;

/** A router's end of the tunnel. */
export interface RouterTunnelPlan {
  readonly iface: string;
  /** The router's own tunnel address, and the tunnel subnet's prefix length. */
  readonly address: string;
  readonly prefix: number;
  /** The UDP port it listens on, at its WAN address. */
  readonly port: number;
  /** Its own public key, which its private key must match. */
  readonly publicKey: string;
  /** Seconds between its keepalives to the infra host. */
  readonly keepaliveSeconds: number;
  /** Its one peer: the infra host. */
  readonly peer: {
    /** The infra host's tunnel address: the only source the router accepts through the tunnel. */
    readonly address: string;
    readonly publicKey: string;
    /** The infra host's DMZ address: the only source of the tunnel's UDP packets at the WAN side. */
    readonly dmzAddress: string;
  };
}

/** One router as the infra host's peer. */
export interface InfraTunnelPeer {
  readonly router: string;
  readonly segment: string;
  /** The router's tunnel address: the only address the infra host sends to and accepts from this peer. */
  readonly address: string;
  readonly publicKey: string;
  /** Where the infra host dials it: the router's WAN address. */
  readonly wanAddress: string;
}

/** The infra host's end of the tunnel. */
export interface InfraTunnelPlan {
  readonly iface: string;
  readonly address: string;
  readonly subnet: Cidr;
  readonly port: number;
  readonly publicKey: string;
  readonly keepaliveSeconds: number;
  /** Every router with an end, by segment name. */
  readonly peers: readonly InfraTunnelPeer[];
}

/** A router's end, when the lab declares the tunnel and the router its end (validation requires both once the segment publishes). */
export function planRouterTunnel(lab: Lab, seg: Segment): RouterTunnelPlan | undefined {
  const t = lab.dmz.tunnel;
  const end = seg.router.tunnel;
  if (!t || !end) return undefined;
  return {
    iface: TUNNEL_IFACE,
    address: end.address,
    prefix: t.subnet.prefix,
    port: t.port,
    publicKey: end.publicKey,
    keepaliveSeconds: TUNNEL_KEEPALIVE_SECONDS,
    peer: { address: t.address, publicKey: t.publicKey, dmzAddress: lab.dmz.infra.address },
  };
}

/** What a segment tells the DMZ about its router's end (the segment contract's `router.tunnel`). */
export interface PublishedTunnelEnd {
  readonly address: string;
  readonly publicKey: string;
}

/**
 * The infra host's end, from the segments it reads (their contracts): one peer per router that
 * has an end. None when the lab declares no tunnel.
 */
export function planInfraTunnel(
  lab: Lab,
  segments: readonly {
    readonly name: string;
    readonly router: { readonly name: string; readonly wanAddress: string; readonly tunnel?: PublishedTunnelEnd };
  }[],
): InfraTunnelPlan | undefined {
  const t = lab.dmz.tunnel;
  if (!t) return undefined;
  const peers = segments
    .filter((s) => s.router.tunnel !== undefined)
    .map((s) => ({
      router: s.router.name,
      segment: s.name,
      address: s.router.tunnel!.address,
      publicKey: s.router.tunnel!.publicKey,
      wanAddress: s.router.wanAddress,
    }))
    .sort((a, b) => compareText(a.segment, b.segment));
  return {
    iface: TUNNEL_IFACE,
    address: t.address,
    subnet: t.subnet,
    port: t.port,
    publicKey: t.publicKey,
    keepaliveSeconds: TUNNEL_KEEPALIVE_SECONDS,
    peers,
  };
}

/**
 * The end of the tunnel `stack` configures (`the infra host`, a router's name), when it has one:
 * that stack reads its private key from its config secret homelab:wireguardKey.
 */
export function tunnelEnd(lab: Lab, stack: string): string | undefined {
  if (!lab.dmz.tunnel) return undefined;
  if (stack === DMZ_STACK) return "the infra host";
  const seg = Object.hasOwn(lab.segments, stack) ? lab.segments[stack] : undefined;
  return seg?.router.tunnel ? seg.router.name : undefined;
}
