/**
 * IPv6 turned on by mistake, in a running twin: the sandbox's agent and games, the sandbox
 * router and the admin workstation on the DMZ get IPv6 addresses (ULA, from the test, not the
 * model: the lab has none), the router forwards IPv6, and every neighbour is static. ND has to
 * be static: the router's input chain drops ICMPv6 like any other IPv6, so nothing could be
 * resolved, and the row would prove the input drop instead of the forward drop it is about.
 * Only link and global addresses the test adds exist (`addr_gen_mode` 1: no link-local, so
 * nothing solicits routers), and `undo()` turns IPv6 off again in every namespace it touched.
 */
import type { Twin } from "./twin";

/** The test's IPv6 addresses: the sandbox LAN and the DMZ each get a /64. */
export const V6 = {
  agent: "fd00:40::10",
  games: "fd00:40::20",
  fwLan: "fd00:40::1",
  fwWan: "fd00:1::14",
  admin: "fd00:1::50",
  prefix: 64,
  lan: "fd00:40::/64",
} as const;

/** One interface of the scenario: namespace, interface name, the test's IPv6 address. */
interface V6Port {
  readonly ns: string;
  readonly iface: string;
  readonly address: string;
}

/** The sysctls that turn IPv6 on (or off) on one interface, without link-local addresses. */
function sysctls(p: V6Port, on: boolean): string {
  const d = on ? 0 : 1;
  const gen = on ? [`net.ipv6.conf.${p.iface}.addr_gen_mode=1`] : [];
  return [
    "sysctl -qw",
    `net.ipv6.conf.all.disable_ipv6=${d}`,
    `net.ipv6.conf.default.disable_ipv6=${d}`,
    ...gen,
    `net.ipv6.conf.${p.iface}.disable_ipv6=${d}`,
  ].join(" ");
}

/** The scenario's interfaces and static neighbours, read from the running twin. */
async function ports(twin: Twin) {
  const r = twin.segments["sandbox"]!.router;
  const fw = twin.routerNs(r.name);
  const p = {
    agent: { ns: twin.node("sandbox/agent").ns, iface: twin.hostIface, address: V6.agent },
    games: { ns: twin.node("sandbox/games").ns, iface: twin.hostIface, address: V6.games },
    fwLan: { ns: fw, iface: r.lan.iface, address: V6.fwLan },
    fwWan: { ns: fw, iface: r.wan.iface, address: V6.fwWan },
    admin: { ns: twin.node("dmz/admin").ns, iface: twin.hostIface, address: V6.admin },
  };
  // `ip -j`, not /sys: the twin's sysfs shows the host's namespace, whatever namespace reads it.
  const mac = async (x: V6Port) => {
    const [link] = JSON.parse(await twin.must(undefined, ["ip", "-n", x.ns, "-j", "link", "show", "dev", x.iface])) as {
      address: string;
    }[];
    return link!.address;
  };
  const macs = Object.fromEntries(await Promise.all(Object.entries(p).map(async ([k, v]) => [k, await mac(v)] as const)));
  return { p, fw, macs: macs as Record<keyof typeof p, string> };
}

/**
 * Turn IPv6 on in the scenario's namespaces, forwarding on in the sandbox router (the mistake).
 * Returns `undo`, which turns it all off again (addresses, routes and neighbours go with it).
 */
export async function turnIpv6On(twin: Twin): Promise<{ undo: () => Promise<void> }> {
  const { p, fw, macs } = await ports(twin);
  const all = Object.values(p);
  const inNs = (ns: string, cmd: string) => `nsenter --net=/run/netns/${ns} -- ${cmd}`;
  const neigh = (from: V6Port, to: keyof typeof p) =>
    `ip -n ${from.ns} -6 neigh replace ${p[to].address} lladdr ${macs[to]} dev ${from.iface} nud permanent`;
  const undo = async () => {
    const off = [...all.map((x) => inNs(x.ns, sysctls(x, false))), inNs(fw, "sysctl -qw net.ipv6.conf.all.forwarding=0")];
    const r = await twin.sh(off.join("\n"));
    if (r.code !== 0) throw new Error(`twin: turning IPv6 off again failed:\n${r.stderr}`);
  };
  const on = [
    "set -e",
    ...all.map((x) => inNs(x.ns, sysctls(x, true))),
    inNs(fw, "sysctl -qw net.ipv6.conf.all.forwarding=1"),
    ...all.map((x) => `ip -n ${x.ns} -6 addr add ${x.address}/${V6.prefix} dev ${x.iface} nodad`),
    `ip -n ${p.agent.ns} -6 route add default via ${V6.fwLan}`,
    `ip -n ${p.admin.ns} -6 route add ${V6.lan} via ${V6.fwWan}`,
    neigh(p.agent, "fwLan"),
    neigh(p.agent, "games"),
    neigh(p.games, "agent"),
    neigh(p.fwLan, "agent"),
    neigh(p.fwWan, "admin"),
    neigh(p.admin, "fwWan"),
  ];
  const r = await twin.sh(on.join("\n"));
  if (r.code !== 0) {
    await undo();
    throw new Error(`twin: turning IPv6 on failed:\n${r.stderr}`);
  }
  return { undo };
}
