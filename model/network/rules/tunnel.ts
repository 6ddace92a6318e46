/**
 * Network rules about the WireGuard tunnel from the infra host to the segment routers: the
 * proxy reaches a firewall's published ports only through it, because on the shared DMZ an
 * address is no proof of identity (anyone on it can answer ARP for the proxy's address).
 *
 * Decisions encoded here: the tunnel has a subnet of its own that overlaps no lab network
 * (the routers route it to the tunnel interface, never into a segment or the DMZ); every end
 * (the infra host, each router) has its own address in it and its own key pair; every router
 * of a segment that publishes a service has an end, since its firewall translates published
 * ports for the tunnel only. The private halves never appear in a lab file: each is its
 * stack's config secret homelab:wireguardKey.
 */
import { CONFIG_KEYS, LAB_FILE, type Lab, segmentList } from "../../lab";
import type { LabIndex } from "../../lab-index";
import { Cidr, intToIp, ipToInt } from "../../net";
import { type Problem, problem } from "../../problems";
import { duplicates, eg, list, place, type Rule, sp, type Where } from "../../rule";
import { WG_KEY_FIX } from "../../values";
import { freeSubnet } from "./addresses";

/** One end of the tunnel and where it is configured. */
interface TunnelEnd extends Where {
  /** `the infra host` or `<router> (<segment>)`. */
  readonly label: string;
  readonly address: string;
  readonly publicKey: string;
  /** Where its public key is written. */
  readonly keyAt: Where;
}

/** The infra host's end (when the lab declares the tunnel), then every router's that declares one, in segment order. */
function tunnelEnds(lab: Lab): TunnelEnd[] {
  const t = lab.dmz.tunnel;
  const ends: TunnelEnd[] = t
    ? [
        {
          file: LAB_FILE,
          path: "dmz.tunnel.address",
          label: "the infra host",
          address: t.address,
          publicKey: t.publicKey,
          keyAt: { file: LAB_FILE, path: "dmz.tunnel.publicKey" },
        },
      ]
    : [];
  for (const seg of segmentList(lab)) {
    const r = seg.router.tunnel;
    if (!r) continue;
    ends.push({
      file: seg.file,
      path: sp("router", "tunnel", "address"),
      label: `${seg.router.name} (${seg.name})`,
      address: r.address,
      publicKey: r.publicKey,
      keyAt: { file: seg.file, path: sp("router", "tunnel", "publicKey") },
    });
  }
  return ends;
}

/** The lab's networks the tunnel subnet must stay clear of: the DMZ and every segment. */
function labNetworks(ix: LabIndex): (Where & { name: string; cidr: Cidr })[] {
  return [
    { file: LAB_FILE, path: "dmz.subnet", name: "the DMZ", cidr: ix.lab.dmz.subnet },
    ...ix.segments.map((s) => ({ file: s.file, path: sp("subnet"), name: s.name, cidr: s.subnet })),
  ];
}

/** A network for the tunnel that overlaps nothing of the lab, for a fix. */
function freeTunnelSubnet(ix: LabIndex, prefix = 24): string | undefined {
  return freeSubnet(
    prefix,
    Cidr.of("10.255.0.0/24"),
    labNetworks(ix).map((n) => n.cidr),
  );
}

/** The first usable address of `subnet` no end holds, for a fix. */
function freeTunnelAddress(subnet: Cidr, ends: readonly TunnelEnd[]): string | undefined {
  const taken = new Set(ends.map((e) => e.address));
  for (let v = ipToInt(subnet.firstHost), n = 0; v <= ipToInt(subnet.lastHost) && n < 4096; v++, n++) {
    if (!taken.has(intToIp(v))) return intToIp(v);
  }
  return undefined;
}

/** How a stack stores its end's private key. */
function storeKey(stack: string): string {
  return `store its private half with pulumi config set --secret ${CONFIG_KEYS.wireguardKey} -s ${stack} < wireguard.key`;
}

export const tunnelSubnet: Rule = {
  id: "tunnel.subnet",
  description:
    "dmz.tunnel.subnet overlaps no network of the lab (the DMZ, every segment): a router routes the tunnel's addresses to its tunnel interface, so they must never be confused with a segment's or the DMZ's.",
  check(ix) {
    const t = ix.lab.dmz.tunnel;
    if (!t) return [];
    return labNetworks(ix)
      .filter((n) => n.cidr.overlaps(t.subnet))
      .map((n) =>
        problem(
          { file: LAB_FILE, path: "dmz.tunnel.subnet" },
          t.subnet.toString(),
          `the tunnel subnet ${t.subnet} overlaps ${n.name}'s ${n.cidr} (${place(n)}); the tunnel's addresses must be told apart from every lab network, or a router would send tunnel traffic into a segment or the DMZ`,
          `give dmz.tunnel a subnet that overlaps no network of the lab${eg(freeTunnelSubnet(ix, t.subnet.prefix))}, and renumber the tunnel addresses into it`,
        ),
      );
  },
};

export const tunnelAddresses: Rule = {
  id: "tunnel.addresses",
  description:
    "Every end of the tunnel (dmz.tunnel.address, each router.tunnel.address) is a usable address of dmz.tunnel.subnet, and no two ends share one.",
  after: ["tunnel.subnet"],
  check(ix) {
    const t = ix.lab.dmz.tunnel;
    if (!t) return [];
    const ends = tunnelEnds(ix.lab);
    const out: Problem[] = [];
    for (const e of ends) {
      if (t.subnet.isUsable(e.address)) continue;
      const why = t.subnet.contains(e.address)
        ? `is the tunnel subnet's ${e.address === t.subnet.network ? "network" : "broadcast"} address`
        : `is not inside the tunnel subnet ${t.subnet} (dmz.tunnel.subnet in ${LAB_FILE})`;
      out.push(
        problem(
          e,
          e.address,
          `${e.label}'s tunnel address ${e.address} ${why}; a tunnel address is one of ${t.subnet.firstHost}-${t.subnet.lastHost}`,
          `give ${e.label} a free address of the tunnel subnet${eg(freeTunnelAddress(t.subnet, ends))}`,
        ),
      );
    }
    out.push(
      ...duplicates(
        ends,
        (e) => e.address,
        (dup, first) =>
          problem(
            dup,
            dup.address,
            `${dup.label}'s tunnel address ${dup.address} is already ${first.label}'s (${place(first)}); WireGuard routes by address, so every end of the tunnel needs its own`,
            `give ${dup.label} a free address of the tunnel subnet${eg(freeTunnelAddress(t.subnet, ends))}`,
          ),
      ),
    );
    return out;
  },
};

export const tunnelKeys: Rule = {
  id: "tunnel.keys",
  description:
    "Every end of the tunnel has its own key pair: two ends with one public key would share a private key, and WireGuard could not tell them apart.",
  check(ix) {
    return duplicates(
      tunnelEnds(ix.lab),
      (e) => e.publicKey,
      (dup, first) =>
        problem(
          dup.keyAt,
          dup.publicKey,
          `${dup.label} has the same public key as ${first.label} (${place(first.keyAt)}); every end of the tunnel has its own key pair, or the two share a private key and WireGuard cannot tell them apart`,
          `give ${dup.label} a key pair of its own: ${WG_KEY_FIX}`,
        ),
    );
  },
};

/** The services a segment publishes, by id. */
function publishedIds(ix: LabIndex, segment: string): string[] {
  return Object.keys(ix.segments.find((s) => s.name === segment)?.services ?? {}).sort();
}

export const tunnelPeers: Rule = {
  id: "tunnel.peers",
  description:
    "The lab declares dmz.tunnel once any segment publishes a service, and every router of such a segment has its end of it (router.tunnel); a router's end needs dmz.tunnel. A firewall translates published ports for the tunnel only.",
  check(ix) {
    const { lab } = ix;
    const t = lab.dmz.tunnel;
    const ends = tunnelEnds(lab);
    const publishing = ix.segments.filter((s) => publishedIds(ix, s.name).length > 0);
    const out: Problem[] = [];
    if (!t && publishing.length > 0) {
      const subnet = freeTunnelSubnet(ix);
      out.push(
        problem(
          { file: LAB_FILE, path: "dmz.tunnel" },
          undefined,
          `is required: ${list(publishing.map((s) => s.name))} publish services, and the proxy reaches a firewall's published ports only through a WireGuard tunnel from the infra host (an address on the DMZ proves nothing)`,
          `add tunnel: { subnet, address, publicKey } under dmz${subnet ? `, e.g. subnet: ${subnet} and address: ${Cidr.of(subnet).firstHost}` : ""}, with the infra host's public key, and ${storeKey("dmz")}`,
        ),
      );
    }
    for (const seg of ix.segments) {
      const r = seg.router.tunnel;
      const services = publishedIds(ix, seg.name);
      if (r && !t) {
        out.push(
          problem(
            { file: seg.file, path: sp("router", "tunnel") },
            r,
            `${seg.router.name} declares an end of the tunnel, but ${LAB_FILE} has no dmz.tunnel for it to be part of`,
            `add tunnel: { subnet, address, publicKey } under dmz in ${LAB_FILE}, or remove router.tunnel`,
          ),
        );
      }
      if (r || services.length === 0) continue;
      const free = t ? freeTunnelAddress(t.subnet, ends) : undefined;
      out.push(
        problem(
          { file: seg.file, path: sp("router", "tunnel") },
          undefined,
          `is required: ${seg.name} publishes ${services.join(", ")}, and ${seg.router.name} translates published ports only for the WireGuard tunnel from the infra host`,
          `add tunnel: { address, publicKey } under router${free ? `, e.g. address: ${free}` : ""}, with ${seg.router.name}'s public key (${WG_KEY_FIX.replace("<stack>", seg.name)})`,
        ),
      );
    }
    return out;
  },
};
