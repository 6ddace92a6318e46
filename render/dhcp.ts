/**
 * A segment router's dnsmasq configuration: DHCP only. DNS is the DMZ's job, so the
 * router's dnsmasq listens on no DNS port at all (`port=0`) and hands out the DMZ DNS and
 * NTP addresses instead. Static leases come from the model's MAC addresses.
 */
import { compareText } from "../model/order";
import { compareIp } from "../model/net";
import type { RouterPlan } from "../model/network/router";
import { generatedHeader } from "./header";

/** One `key=value` (or bare `key`) line of a dnsmasq config, with an optional comment above it. */
interface DnsmasqOption {
  readonly key: string;
  readonly value?: string;
  readonly why?: string;
}

function option(key: string, value?: string, why?: string): DnsmasqOption {
  return { key, ...(value !== undefined ? { value } : {}), ...(why !== undefined ? { why } : {}) };
}

function printOptions(options: readonly DnsmasqOption[]): string[] {
  return options.flatMap((o) => [...(o.why ? [`# ${o.why}`] : []), o.value === undefined ? o.key : `${o.key}=${o.value}`]);
}

/** The dnsmasq.conf text for one router. Same plan, same bytes. */
export function renderRouterDhcp(router: RouterPlan): string {
  const d = router.dhcp;
  const hosts = [...d.hosts].sort((a, b) => compareIp(a.address, b.address) || compareText(a.name, b.name));
  const options: DnsmasqOption[] = [
    option("port", "0", "DHCP only: names are served by the DMZ DNS, never by a router."),
    option("interface", router.lan.iface, "Serve the LAN only, and bind only there, so the WAN side never sees a DHCP server."),
    option("bind-interfaces"),
    option("dhcp-authoritative", undefined, "The only DHCP server on this segment: answer clients with unknown leases at once."),
    option("no-resolv", undefined, "Read nothing from the box's own resolver files."),
    option("no-hosts"),
    option("dhcp-range", `${d.start},${d.end},${d.netmask},${d.leaseTime}`, "The dynamic pool; static hosts below sit outside it."),
    option("dhcp-option", `option:router,${router.lan.address}`),
    option("dhcp-option", `option:dns-server,${d.dns}`),
    option("dhcp-option", `option:ntp-server,${d.ntp}`),
    option("dhcp-option", `option:domain-name,${d.domain}`),
    option("dhcp-option", `option:domain-search,${d.domain}`),
  ];
  const leases = hosts.map((h) => option("dhcp-host", `${h.mac},${h.address},${h.name}`));
  const lines = [
    generatedHeader("#", `dnsmasq (DHCP only) of ${router.name} (${router.segment})`, "render/dhcp.ts"),
    ...printOptions(options),
    "",
    `# Static leases: ${hosts.length} host(s) with a MAC address in the model.`,
    ...printOptions(leases),
    "",
  ];
  return lines.join("\n");
}
