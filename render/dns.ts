/**
 * The DMZ DNS: dnsmasq as an authoritative-for-the-lab, forwarding-for-the-rest resolver.
 * It serves no DHCP (each segment router does its own). Names under the lab's domain are
 * answered from the model only; anything else goes to the configured upstreams.
 */
import { compareText } from "../model/order";
import type { DmzPlan, DnsRecord } from "../model/network/dmz";
import { compareCidr } from "../model/net";
import { generatedHeader } from "./header";

/** Cache entries kept; the lab is small, the upstream answers are the bulk of it. */
const CACHE_SIZE = 2000;

/**
 * One line per record. Hosts, routers and the DMZ's own names get `host-record` (A and PTR,
 * so reverse lookups name the box). A published service name becomes a CNAME to the DMZ
 * name that owns the same address (`proxy.<domain>`), so it resolves to the proxy while the
 * proxy's address still reverse-resolves to exactly one name; a service address that no DMZ
 * name owns falls back to its own host-record.
 */
function recordLines(records: readonly DnsRecord[]): string[] {
  // planDmz lists records by name already; sorting once here keeps the file independent of
  // the order of any plan it is given (the determinism tests render a shuffled one).
  const sorted = [...records].sort((a, b) => compareText(a.name, b.name));
  const owners = new Map<string, string>();
  for (const r of sorted) {
    if (r.kind !== "service" && !owners.has(r.address)) owners.set(r.address, r.name);
  }
  return sorted.map((r) => {
    const owner = owners.get(r.address);
    return r.kind === "service" && owner !== undefined ? `cname=${r.name},${owner}` : `host-record=${r.name},${r.address}`;
  });
}

/** The dnsmasq.conf of the DMZ DNS (checked with `dnsmasq --test -C`). */
export function renderDnsmasqDns(plan: DmzPlan): string {
  const domain = plan.domain;
  const clients = [...plan.dns.clients]
    .sort(compareCidr)
    .map((c) => c.toString())
    .join(", ");
  const lines = [
    generatedHeader("#", `dnsmasq.conf of the DMZ DNS (${plan.dns.listen})`, "render/dns.ts"),
    "# DNS only: there is no dhcp-range, so this dnsmasq never answers DHCP.",
    "port=53",
    `listen-address=${plan.dns.listen}`,
    "# Bind the service address alone, so other daemons on the host keep their own port 53 free.",
    "bind-interfaces",
    "",
    "# The model is the only source: never read the host's resolv.conf or /etc/hosts.",
    "no-resolv",
    "no-hosts",
    ...plan.dns.upstream.map((u) => `server=${u}`),
    "",
    `# ${domain} is answered here and nowhere else: a name the model does not know is NXDOMAIN, never forwarded.`,
    `local=/${domain}/`,
    "# Plain names and private reverse lookups never leave the lab.",
    "domain-needed",
    "bogus-priv",
    "# Upstream answers that point into private ranges are dropped (DNS rebinding); the lab's own names may.",
    "stop-dns-rebind",
    `rebind-domain-ok=/${domain}/`,
    `cache-size=${CACHE_SIZE}`,
    "",
    "# Who may ask: dnsmasq has no source-address ACL (local-service would admit only the DMZ's own",
    "# subnet, not the routed segments), so the host firewall admits port 53 only from:",
    `#   ${clients}`,
    "",
    "# Records: hosts and routers (with reverse), published services as aliases of the proxy.",
    ...recordLines(plan.dns.records),
    "",
  ];
  return lines.join("\n");
}
