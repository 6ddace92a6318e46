/**
 * Network rules about addresses: disjoint subnets, every address inside its network and
 * outside the DHCP pool, sane DHCP pools, and no address used twice.
 *
 * Addresses equal to a gateway (a router's LAN address, the ISP edge) are reported by
 * `addresses.in-network` ("is the gateway"), not again by `addresses.unique`. No DMZ
 * address (infra, dns, ntp, proxy, router WAN sides, DMZ hardware, the ISP edge) may lie
 * inside an admin source: jump hosts trust those networks like workstations. The DMZ
 * service addresses (dns, ntp, proxy) are addresses of their own, distinct from each
 * other, from the infra host's address and from every other address, so a service can
 * move to another host without renumbering its clients.
 */
import { DMZ_STACK, LAB_FILE } from "../../lab";
import { allowedStatic, freeAddress, showRange } from "../../lab-index";
import { Cidr, intToIp, ipToInt, rangeContains } from "../../net";
import { joinPath, type Problem, problem } from "../../problems";
import { duplicates, eg, list, place, type Rule, sp, type Where } from "../../rule";

/** The private ranges (RFC 1918) a lab's networks come from. */
const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"].map((c) => Cidr.of(c));

/** The first block of `prefix` bits in `range`, from the block of `near` when it is in there, that overlaps nothing taken. */
function freeIn(range: Cidr, prefix: number, near: Cidr, taken: readonly Cidr[]): string | undefined {
  if (prefix < range.prefix) return undefined;
  const size = 2 ** (32 - prefix);
  const base = ipToInt(range.network);
  const blocks = 2 ** (prefix - range.prefix);
  const start = range.contains(near.network) ? Math.floor((ipToInt(near.network) - base) / size) : 0;
  for (let i = 0; i < Math.min(blocks, 4096); i++) {
    const c = Cidr.parse(`${intToIp(base + ((start + i) % blocks) * size)}/${prefix}`);
    if (c && !taken.some((t) => t.overlaps(c))) return c.toString();
  }
  return undefined;
}

/**
 * A free network of `prefix` bits for a suggestion, from the lab's own ranges: the private
 * range that holds `near` first, then the ones holding most of the lab's networks (`taken`),
 * so a lab on 192.168.0.0/16 or 172.16.0.0/12 is not told to renumber into 10.0.0.0/8.
 */
export function freeSubnet(prefix: number, near: Cidr, taken: readonly Cidr[]): string | undefined {
  const used = (r: Cidr) => taken.filter((t) => r.covers(t)).length;
  const ranges = PRIVATE_RANGES.map((r, i) => ({ r, i }))
    .sort((a, b) => Number(b.r.contains(near.network)) - Number(a.r.contains(near.network)) || used(b.r) - used(a.r) || a.i - b.i)
    .map((x) => x.r);
  for (const range of ranges) {
    const free = freeIn(range, prefix, near, taken);
    if (free) return free;
  }
  return undefined;
}

export const subnetsDisjoint: Rule = {
  id: "subnets.disjoint",
  description:
    "The DMZ subnet and every segment subnet are pairwise disjoint (a router must know where an address lives), and every admin source network lies inside the DMZ subnet (the admins' workstations sit on the home LAN behind the ISP edge).",
  check(ix) {
    const { lab } = ix;
    const nets: (Where & { name: string; cidr: Cidr })[] = [
      { file: LAB_FILE, path: "dmz.subnet", name: "the DMZ", cidr: lab.dmz.subnet },
      ...ix.segments.map((s) => ({ file: s.file, path: sp("subnet"), name: s.name, cidr: s.subnet })),
    ];
    const out: Problem[] = [];
    nets.forEach((b, j) => {
      for (const a of nets.slice(0, j)) {
        if (!a.cidr.overlaps(b.cidr)) continue;
        const free = freeSubnet(
          b.cidr.prefix,
          b.cidr,
          nets.map((n) => n.cidr),
        );
        out.push(
          problem(
            b,
            b.cidr.toString(),
            `${b.name}'s subnet ${b.cidr} overlaps ${a.name}'s ${a.cidr} (${place(a)}); every network of the lab must be disjoint from every other, or routes and firewall rules become ambiguous`,
            `give ${b.name} a subnet that overlaps no other network of the lab${eg(free)}`,
          ),
        );
      }
    });
    lab.ssh.adminSources.forEach((c, i) => {
      if (lab.dmz.subnet.covers(c)) return;
      out.push(
        problem(
          { file: LAB_FILE, path: joinPath("ssh.adminSources", i) },
          c.toString(),
          `admin source ${c} is not inside the DMZ subnet ${lab.dmz.subnet}; the admins' workstations sit on the home LAN behind the ISP edge, so every admin source must lie within ${lab.dmz.subnet.firstHost}-${lab.dmz.subnet.lastHost}`,
          `use a network inside ${lab.dmz.subnet} that holds only the admins' workstations, e.g. ${lab.dmz.subnet.prefix <= 27 ? `${intToIp(ipToInt(lab.dmz.subnet.broadcast) - 31)}/27` : lab.dmz.subnet.toString()}`,
        ),
      );
    });
    return out;
  },
};

export const addressesInNetwork: Rule = {
  id: "addresses.in-network",
  description:
    "Every address lies inside its network (hosts, VIPs, hardware, router LAN sides in their segment; router WAN sides, the infra host, DNS, NTP, proxy and DMZ hardware in the DMZ) and is not the network, broadcast or gateway address; static addresses stay outside the DHCP pool; no DMZ address lies inside an admin source (it would be trusted like an admin workstation).",
  check(ix) {
    const { lab } = ix;
    const taken = ix.taken;
    const out: Problem[] = [];
    for (const a of ix.addresses) {
      if (a.zone === undefined) continue; // refs.hardware-segments reports the unknown segment
      const z = ix.zone(a.zone);
      if (!z) continue;
      const free = () => freeAddress(lab, z, taken);
      const pick = () => `give ${a.label} a free address${eg(free())}`;
      if (!z.cidr.contains(a.address)) {
        out.push(
          problem(
            a,
            a.address,
            `${a.label} ${a.address} is not inside ${z.name}'s network ${z.cidr}; ${allowedStatic(lab, z, a.gateway)}`,
            `use an address inside ${z.cidr}${eg(free())}`,
          ),
        );
        continue;
      }
      if (!z.cidr.isUsable(a.address)) {
        const which = a.address === z.cidr.network ? "network" : "broadcast";
        out.push(
          problem(
            a,
            a.address,
            `${a.label} ${a.address} is the ${which} address of ${z.name} (${z.cidr}); usable addresses are ${z.cidr.firstHost}-${z.cidr.lastHost}`,
            pick(),
          ),
        );
        continue;
      }
      if (!a.gateway && a.address === z.gateway) {
        out.push(
          problem(
            a,
            a.address,
            `${a.label} ${a.address} is ${z.gatewayLabel}, the gateway of ${z.name}; ${allowedStatic(lab, z, a.gateway)}`,
            pick(),
          ),
        );
        continue;
      }
      // The router's own address inside the pool is reported by dhcp.pool, at the pool.
      if (!a.gateway && z.pool && rangeContains(z.pool, a.address)) {
        out.push(
          problem(
            a,
            a.address,
            `${a.label} ${a.address} lies inside ${z.name}'s DHCP pool ${showRange(z.pool)}: dnsmasq could lease it to another machine; ${allowedStatic(lab, z, a.gateway)}`,
            `pick a free address outside ${showRange(z.pool)}${eg(free())}`,
          ),
        );
        continue;
      }
      const admin = z.name === DMZ_STACK ? lab.ssh.adminSources.find((c) => c.contains(a.address)) : undefined;
      if (admin) {
        out.push(
          problem(
            a,
            a.address,
            `${a.label} ${a.address} lies inside the admin source ${admin}: jump hosts accept SSH from every address there, so it would be trusted like an admin's workstation; DMZ addresses must lie outside ${list(lab.ssh.adminSources.map(String))}`,
            `give ${a.label} a free address outside the admin sources${eg(free())}, or narrow ssh.adminSources to the workstations only`,
          ),
        );
      }
    }
    return out;
  },
};

export const dhcpPool: Rule = {
  id: "dhcp.pool",
  description:
    "Each segment's DHCP pool lies inside its subnet, excludes the network and broadcast addresses, starts at or before its end, and does not contain the router's LAN address.",
  check(ix) {
    const out: Problem[] = [];
    for (const seg of ix.segments) {
      const c = seg.subnet;
      const { start, end } = seg.dhcp;
      let ok = true;
      for (const [key, ip] of [
        ["start", start],
        ["end", end],
      ] as const) {
        const where = { file: seg.file, path: sp("dhcp", key) };
        if (!c.contains(ip)) {
          out.push(
            problem(
              where,
              ip,
              `the DHCP pool ${key} ${ip} is not inside ${seg.name}'s subnet ${c}; the pool must lie within ${c.firstHost}-${c.lastHost}`,
              `set dhcp.${key} to an address inside ${c}`,
            ),
          );
          ok = false;
        } else if (!c.isUsable(ip)) {
          out.push(
            problem(
              where,
              ip,
              `the DHCP pool ${key} ${ip} is the ${ip === c.network ? "network" : "broadcast"} address of ${c}; the pool must lie within ${c.firstHost}-${c.lastHost}`,
              `set dhcp.${key} to an address within ${c.firstHost}-${c.lastHost}`,
            ),
          );
          ok = false;
        }
      }
      if (ipToInt(start) > ipToInt(end)) {
        out.push(
          problem(
            { file: seg.file, path: sp("dhcp") },
            { start, end },
            `the DHCP pool of ${seg.name} starts at ${start}, after its end ${end}`,
            `swap them: start: ${end}, end: ${start}`,
          ),
        );
        continue;
      }
      if (ok && rangeContains(seg.dhcp, seg.router.lanAddress)) {
        const lan = seg.router.lanAddress;
        const fix =
          lan === start && lan !== end
            ? `start the pool after the router: start: ${intToIp(ipToInt(start) + 1)}`
            : lan === end && lan !== start
              ? `end the pool before the router: end: ${intToIp(ipToInt(end) - 1)}`
              : `move the pool so it excludes ${lan}, or move the router out of it`;
        out.push(
          problem(
            { file: seg.file, path: sp("dhcp") },
            { start, end },
            `${seg.name}'s DHCP pool ${showRange(seg.dhcp)} contains the router's LAN address ${lan}; dnsmasq would lease the gateway's own address`,
            fix,
          ),
        );
      }
    }
    return out;
  },
};

export const addressesUnique: Rule = {
  id: "addresses.unique",
  description:
    "No two hosts, VIPs, routers, hardware or DMZ service addresses share an address anywhere in the lab; the DMZ's dns, ntp and proxy addresses are distinct from each other and from the infra host's own address.",
  check(ix) {
    const { lab } = ix;
    const book = ix.addresses.filter((a) => !a.gateway);
    const taken = ix.taken;
    return duplicates(
      book,
      (a) => a.address,
      (dup, first) => {
        const z = dup.zone === undefined ? undefined : ix.zone(dup.zone);
        const free = z ? freeAddress(lab, z, taken) : undefined;
        return problem(
          dup,
          dup.address,
          `${dup.label} uses ${dup.address}, which is already the address of ${first.label} (${place(first)}); every address in the lab must be unique`,
          `give ${dup.label} a free address${eg(free)}`,
        );
      },
    );
  },
};
