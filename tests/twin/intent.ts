/**
 * The lab's owners' intent, written by hand: who may reach whom, and where every denied
 * connection must be dropped. It is deliberately NOT derived from the planner's flows
 * (model/plan.ts), so a planner bug cannot hide itself: if the planner forgets a flow, an
 * allowed row fails; if it invents one, a denied row fails. Node ids name twin namespaces
 * and addresses (see Twin.nodes); routers are named as in the lab config.
 *
 * Every denied row proves its drop three ways, in the same run:
 *   1. the probe times out (a drop, not a refusal or an unreachable route: anything else fails);
 *   2. its positive control, an allowed row from the same source through the same
 *      firewall, succeeds;
 *   3. the named drop counter of that firewall moved: all probes run in parallel, each
 *      denied probe sends exactly one packet (TCP connect timeout 0.9 s, below the first SYN
 *      retransmit at 1 s; one UDP datagram), so every drop counter of every firewall must
 *      move by exactly the number of denied rows the table attributes to it. Any mismatch
 *      is re-run row by row to name the row that was not dropped where the table says.
 */
import { TEST_CREDENTIALS, type Probe, type ProbeResult, type Twin } from "./twin";

/** What a row expects. */
export type Expect =
  /** A twin server answered, naming itself; `seen`: the node whose address the server saw as the source. */
  | { readonly reply: string; readonly seen?: string }
  /** A real daemon answered: an SSH banner, a DNS answer with records, an NTP answer, a ping reply, a TCP handshake. */
  | { readonly answers: "ssh" | "dns" | "ntp" | "pong" | "connect" }
  /** HTTPS through the proxy by name: the status and, for 200, the backend (and the source it saw). */
  | { readonly http: number; readonly backend?: string; readonly seen?: string }
  /** Dropped by `<firewall> <counter>`; `control`: the id of an allowed row on the same path. */
  | { readonly drop: string; readonly control: string };

/** One row of the intent table. */
export interface IntentRow {
  readonly from: string;
  readonly to: string;
  /** `443/tcp`, `53/udp`, or `icmp` (ping). */
  readonly port: string;
  /** DNS and NTP rows speak the protocol; `https` rows name a published service (first label). */
  readonly kind?: "dns" | "ntp" | "https" | "connect";
  readonly name?: string;
  /** HTTPS with the proxy's basic-auth test credentials. */
  readonly auth?: boolean;
  /** Send from this address instead of the node's own (added to the source namespace): a spoofed source. */
  readonly spoof?: string;
  /**
   * A bug the twin found in the rendered configuration, not fixed yet: the row is still
   * checked and must still fail (reported as a known failure); once it holds, the check
   * fails until this mark is removed.
   */
  readonly knownBug?: string;
  readonly expect: Expect;
  readonly why: string;
}

/** A row's id: how failures and controls name it. */
export function rowId(r: Pick<IntentRow, "from" | "to" | "port" | "name" | "spoof">): string {
  return `${r.from}${r.spoof ? `(spoofing ${r.spoof})` : ""} -> ${r.to} ${r.port}${r.name ? ` ${r.name}` : ""}`;
}

// --- the table ----------------------------------------------------------------------------------------

const reply = (node: string, seen?: string): Expect => ({ reply: node, ...(seen ? { seen } : {}) });
const drop = (at: string, control: string): Expect => ({ drop: at, control });
const ssh: Expect = { answers: "ssh" };

// Controls used by several rows.
const C = {
  internetViaSandboxFw: "edge/internet -> dmz/proxy 25565/tcp",
  internetViaLabFw: "edge/internet -> dmz/proxy 47984/tcp",
  internetViaClusterFw: "edge/internet -> dmz/proxy 443/tcp wiki",
  internetPingInternalFw: "edge/internet -> internal-fw icmp",
  internetToInfra: "edge/internet -> dmz/proxy 80/tcp",
  agentDns: "sandbox/agent -> dmz/dns 53/udp",
  monitorScrapesCluster: "internal/monitor -> cluster/worker-1 9100/tcp",
  monitorScrapesLab: "internal/monitor -> lab/mirror-2 9100/tcp",
  monitorScrapesSandbox: "internal/monitor -> sandbox/games 9100/tcp",
  dataDns: "internal/data -> dmz/dns 53/udp",
  mirror1Push: "lab/mirror-1 -> internal/data 5000/tcp",
  mirror2Push: "lab/mirror-2 -> internal/data 5000/tcp",
  proxyToInternalFw: "dmz/tunnel -> internal-fw/tunnel 5000/tcp",
  adminToInternalJump: "dmz/admin -> internal-fw 22/tcp",
};

/** The intent table of the reference lab. */
export const INTENT: readonly IntentRow[] = [
  // --- the internet reaches the proxy, and only the proxy --------------------------------------------------
  {
    from: "edge/internet",
    to: "dmz/proxy",
    port: "80/tcp",
    kind: "connect",
    expect: { answers: "connect" },
    why: "the proxy redirects plain HTTP to HTTPS",
  },
  {
    from: "edge/internet",
    to: "dmz/proxy",
    port: "443/tcp",
    kind: "https",
    name: "wiki",
    expect: { http: 200, backend: "cluster/ingress", seen: "dmz/tunnel" },
    why: "wiki is internet-exposed, via cluster-fw's DNAT",
  },
  {
    from: "edge/internet",
    to: "dmz/proxy",
    port: "443/tcp",
    kind: "https",
    name: "agent",
    expect: { http: 200, backend: "sandbox/agent", seen: "dmz/tunnel" },
    why: "the agent's UI is internet-exposed; it authenticates itself",
  },
  {
    from: "edge/internet",
    to: "dmz/proxy",
    port: "25565/tcp",
    expect: reply("sandbox/games", "dmz/tunnel"),
    why: "minecraft is published: proxy -> sandbox-fw -> games",
  },
  {
    from: "edge/internet",
    to: "dmz/proxy",
    port: "2456/udp",
    expect: reply("sandbox/games", "dmz/tunnel"),
    why: "valheim is published: proxy -> sandbox-fw -> games",
  },
  // Sunshine's whole port family is published: proxy -> lab-fw -> vdi.
  ...(
    [
      ["47984/tcp", "HTTPS"],
      ["47989/tcp", "HTTP"],
      ["48010/tcp", "RTSP"],
      ["47998/udp", "video"],
      ["47999/udp", "control"],
      ["48000/udp", "audio"],
      ["48002/udp", "microphone"],
      ["48010/udp", "RTSP over UDP"],
    ] as const
  ).map(([port, what]): IntentRow => ({
    from: "edge/internet",
    to: "dmz/proxy",
    port,
    expect: reply("lab/vdi", "dmz/tunnel"),
    why: `Sunshine ${what} is published: proxy -> lab-fw -> vdi`,
  })),
  {
    from: "edge/internet",
    to: "dmz/proxy",
    port: "443/tcp",
    kind: "https",
    name: "sunshine",
    expect: { http: 403 },
    why: "Sunshine's web UI is for the admins only, never the internet",
  },
  ...["grafana", "registry", "pve", "nas", "argocd", "mirror"].map((name): IntentRow => ({
    from: "edge/internet",
    to: "dmz/proxy",
    port: "443/tcp",
    kind: "https",
    name,
    expect: { http: 403 },
    why: "lab-exposed names are refused to the internet by the proxy",
  })),
  {
    from: "edge/internet",
    to: "internal-fw",
    port: "icmp",
    expect: { answers: "pong" },
    why: "routers answer ping (rate-limited): the path to internal-fw works",
  },
  {
    from: "edge/isp",
    to: "sandbox-fw",
    port: "icmp",
    expect: { answers: "pong" },
    why: "routers answer ping: the path to sandbox-fw works",
  },
  // A firewall's published ports are translated for the infra host's tunnel address only.
  {
    from: "edge/internet",
    to: "sandbox-fw",
    port: "8080/tcp",
    expect: drop("sandbox-fw drop_input", C.internetViaSandboxFw),
    why: "only the proxy reaches published ports",
  },
  {
    from: "edge/internet",
    to: "sandbox-fw",
    port: "25565/tcp",
    expect: drop("sandbox-fw drop_input", C.internetViaSandboxFw),
    why: "only the proxy reaches published ports",
  },
  {
    from: "edge/internet",
    to: "sandbox-fw",
    port: "2456/udp",
    expect: drop("sandbox-fw drop_input", C.internetViaSandboxFw),
    why: "only the proxy reaches published ports",
  },
  {
    from: "edge/internet",
    to: "lab-fw",
    port: "47984/tcp",
    expect: drop("lab-fw drop_input", C.internetViaLabFw),
    why: "only the proxy reaches published ports",
  },
  {
    from: "edge/internet",
    to: "lab-fw",
    port: "47998/udp",
    expect: drop("lab-fw drop_input", C.internetViaLabFw),
    why: "only the proxy reaches published ports",
  },
  {
    from: "edge/internet",
    to: "lab-fw",
    port: "80/tcp",
    expect: drop("lab-fw drop_input", C.internetViaLabFw),
    why: "only the proxy reaches published ports",
  },
  {
    from: "edge/internet",
    to: "cluster-fw",
    port: "80/tcp",
    expect: drop("cluster-fw drop_input", C.internetViaClusterFw),
    why: "only the proxy reaches published ports",
  },
  ...["3000/tcp", "5000/tcp", "8006/tcp", "443/tcp"].map((port): IntentRow => ({
    from: "edge/internet",
    to: "internal-fw",
    port,
    expect: drop("internal-fw drop_input", C.internetPingInternalFw),
    why: "only the proxy reaches published ports",
  })),
  // SSH to a jump host from the internet: the router translates port 22 for the admin workstations only.
  {
    from: "edge/internet",
    to: "internal-fw",
    port: "22/tcp",
    expect: drop("internal-fw drop_input", C.internetPingInternalFw),
    why: "no SSH from the internet",
  },
  {
    from: "edge/internet",
    to: "cluster-fw",
    port: "22/tcp",
    expect: drop("cluster-fw drop_input", C.internetViaClusterFw),
    why: "no SSH from the internet",
  },
  {
    from: "edge/internet",
    to: "lab-fw",
    port: "22/tcp",
    expect: drop("lab-fw drop_input", C.internetViaLabFw),
    why: "no SSH from the internet",
  },
  {
    from: "edge/internet",
    to: "sandbox-fw",
    port: "22/tcp",
    expect: drop("sandbox-fw drop_input", C.internetViaSandboxFw),
    why: "no SSH from the internet",
  },
  {
    from: "edge/isp",
    to: "sandbox-fw",
    port: "22/tcp",
    expect: drop("sandbox-fw drop_input", "edge/isp -> sandbox-fw icmp"),
    why: "a DMZ address outside the admin workstations gets no SSH",
  },
  // The infra host's own firewall: DNS, NTP and SSH are for the lab.
  {
    from: "edge/internet",
    to: "dmz/dns",
    port: "53/udp",
    kind: "dns",
    expect: drop("dmz/infra policy", C.internetToInfra),
    why: "the DMZ DNS serves the lab's networks only",
  },
  {
    from: "edge/internet",
    to: "dmz/ntp",
    port: "123/udp",
    kind: "ntp",
    expect: drop("dmz/infra policy", C.internetToInfra),
    why: "the DMZ NTP serves the lab's networks only",
  },
  {
    from: "edge/internet",
    to: "dmz/infra",
    port: "22/tcp",
    expect: drop("dmz/infra policy", C.internetToInfra),
    why: "only admin workstations SSH into infra",
  },
  {
    from: "edge/internet",
    to: "dmz/infra",
    port: "9100/tcp",
    expect: drop("dmz/infra policy", C.internetToInfra),
    why: "only the monitor scrapes infra",
  },

  // --- the proxy reaches each firewall's published ports through the tunnel, translated to the backend ----
  { from: "dmz/tunnel", to: "internal-fw/tunnel", port: "3000/tcp", expect: reply("internal/monitor", "dmz/tunnel"), why: "grafana" },
  { from: "dmz/tunnel", to: "internal-fw/tunnel", port: "5000/tcp", expect: reply("internal/data", "dmz/tunnel"), why: "registry" },
  { from: "dmz/tunnel", to: "internal-fw/tunnel", port: "8006/tcp", expect: reply("internal/pve1", "dmz/tunnel"), why: "pve" },
  { from: "dmz/tunnel", to: "internal-fw/tunnel", port: "443/tcp", expect: reply("internal/truenas", "dmz/tunnel"), why: "nas" },
  {
    from: "dmz/tunnel",
    to: "cluster-fw/tunnel",
    port: "80/tcp",
    expect: reply("cluster/ingress", "dmz/tunnel"),
    why: "wiki and argocd, through the ingress VIP",
  },
  { from: "dmz/tunnel", to: "lab-fw/tunnel", port: "80/tcp", expect: reply("lab/mirror-1", "dmz/tunnel"), why: "mirror" },
  ...(
    [
      ["47984/tcp", "vdi-https"],
      ["47989/tcp", "vdi-http"],
      ["47990/tcp", "sunshine"],
      ["48010/tcp", "vdi-rtsp"],
      ["47998/udp", "vdi-video"],
      ["47999/udp", "vdi-control"],
      ["48000/udp", "vdi-audio"],
      ["48002/udp", "vdi-mic"],
      ["48010/udp", "vdi-rtsp-udp"],
    ] as const
  ).map(([port, why]): IntentRow => ({ from: "dmz/tunnel", to: "lab-fw/tunnel", port, expect: reply("lab/vdi", "dmz/tunnel"), why })),
  { from: "dmz/tunnel", to: "sandbox-fw/tunnel", port: "8080/tcp", expect: reply("sandbox/agent", "dmz/tunnel"), why: "agent" },
  { from: "dmz/tunnel", to: "sandbox-fw/tunnel", port: "25565/tcp", expect: reply("sandbox/games", "dmz/tunnel"), why: "minecraft" },
  { from: "dmz/tunnel", to: "sandbox-fw/tunnel", port: "2456/udp", expect: reply("sandbox/games", "dmz/tunnel"), why: "valheim" },
  // The same ports on the DMZ path, from the proxy's own address and the infra host's own MAC: not
  // translated any more (only the tunnel is), so the router itself drops them.
  {
    from: "dmz/proxy",
    to: "internal-fw",
    port: "3000/tcp",
    expect: drop("internal-fw drop_input", "dmz/tunnel -> internal-fw/tunnel 3000/tcp"),
    why: "published ports only through the tunnel: an address and MAC on the DMZ are no proof",
  },
  {
    from: "dmz/proxy",
    to: "internal-fw",
    port: "5000/tcp",
    expect: drop("internal-fw drop_input", "dmz/tunnel -> internal-fw/tunnel 5000/tcp"),
    why: "published ports only through the tunnel: an address and MAC on the DMZ are no proof",
  },
  {
    from: "dmz/proxy",
    to: "internal-fw",
    port: "8006/tcp",
    expect: drop("internal-fw drop_input", "dmz/tunnel -> internal-fw/tunnel 8006/tcp"),
    why: "published ports only through the tunnel: an address and MAC on the DMZ are no proof",
  },
  {
    from: "dmz/proxy",
    to: "internal-fw",
    port: "443/tcp",
    expect: drop("internal-fw drop_input", "dmz/tunnel -> internal-fw/tunnel 443/tcp"),
    why: "published ports only through the tunnel: an address and MAC on the DMZ are no proof",
  },
  {
    from: "dmz/proxy",
    to: "cluster-fw",
    port: "80/tcp",
    expect: drop("cluster-fw drop_input", "dmz/tunnel -> cluster-fw/tunnel 80/tcp"),
    why: "published ports only through the tunnel: an address and MAC on the DMZ are no proof",
  },
  {
    from: "dmz/proxy",
    to: "lab-fw",
    port: "80/tcp",
    expect: drop("lab-fw drop_input", "dmz/tunnel -> lab-fw/tunnel 80/tcp"),
    why: "published ports only through the tunnel: an address and MAC on the DMZ are no proof",
  },
  {
    from: "dmz/proxy",
    to: "lab-fw",
    port: "47984/tcp",
    expect: drop("lab-fw drop_input", "dmz/tunnel -> lab-fw/tunnel 47984/tcp"),
    why: "published ports only through the tunnel: an address and MAC on the DMZ are no proof",
  },
  {
    from: "dmz/proxy",
    to: "lab-fw",
    port: "47998/udp",
    expect: drop("lab-fw drop_input", "dmz/tunnel -> lab-fw/tunnel 47998/udp"),
    why: "published ports only through the tunnel: an address and MAC on the DMZ are no proof",
  },
  {
    from: "dmz/proxy",
    to: "sandbox-fw",
    port: "8080/tcp",
    expect: drop("sandbox-fw drop_input", "dmz/tunnel -> sandbox-fw/tunnel 8080/tcp"),
    why: "published ports only through the tunnel: an address and MAC on the DMZ are no proof",
  },
  {
    from: "dmz/proxy",
    to: "sandbox-fw",
    port: "25565/tcp",
    expect: drop("sandbox-fw drop_input", "dmz/tunnel -> sandbox-fw/tunnel 25565/tcp"),
    why: "published ports only through the tunnel: an address and MAC on the DMZ are no proof",
  },
  {
    from: "dmz/proxy",
    to: "sandbox-fw",
    port: "2456/udp",
    expect: drop("sandbox-fw drop_input", "dmz/tunnel -> sandbox-fw/tunnel 2456/udp"),
    why: "published ports only through the tunnel: an address and MAC on the DMZ are no proof",
  },
  // Published ports from any other DMZ address, and anything else, are dropped.
  {
    from: "dmz/infra",
    to: "sandbox-fw",
    port: "8080/tcp",
    expect: drop("sandbox-fw drop_input", "dmz/tunnel -> sandbox-fw/tunnel 8080/tcp"),
    why: "published ports only through the tunnel",
  },
  {
    from: "dmz/dns",
    to: "lab-fw",
    port: "80/tcp",
    expect: drop("lab-fw drop_input", "dmz/tunnel -> lab-fw/tunnel 80/tcp"),
    why: "published ports only through the tunnel",
  },
  {
    from: "dmz/admin",
    to: "internal-fw",
    port: "3000/tcp",
    expect: drop("internal-fw drop_input", C.adminToInternalJump),
    why: "published ports only through the tunnel",
  },
  {
    from: "dmz/admin",
    to: "cluster-fw",
    port: "80/tcp",
    expect: drop("cluster-fw drop_input", "dmz/admin -> cluster-fw 22/tcp"),
    why: "published ports only through the tunnel",
  },
  {
    from: "dmz/proxy",
    to: "internal-fw",
    port: "22/tcp",
    expect: drop("internal-fw drop_input", C.proxyToInternalFw),
    why: "the proxy is no admin workstation",
  },
  {
    from: "dmz/proxy",
    to: "sandbox-fw",
    port: "9100/tcp",
    expect: drop("sandbox-fw drop_input", "dmz/tunnel -> sandbox-fw/tunnel 8080/tcp"),
    why: "nothing unpublished is translated",
  },
  // Straight into a segment, past the DNAT: dropped by the segment's router.
  {
    from: "dmz/proxy",
    to: "internal/data",
    port: "5000/tcp",
    expect: drop("internal-fw drop_inbound", C.proxyToInternalFw),
    why: "the proxy goes through the tunnel and the firewall's DNAT",
  },
  {
    from: "dmz/infra",
    to: "internal/data",
    port: "3306/tcp",
    expect: drop("internal-fw drop_inbound", C.proxyToInternalFw),
    why: "the DMZ does not reach into segments",
  },
  {
    from: "dmz/admin",
    to: "lab/mirror-1",
    port: "80/tcp",
    expect: drop("lab-fw drop_inbound", "dmz/admin -> lab-fw 22/tcp"),
    why: "admins use the proxy",
  },
  {
    from: "dmz/admin",
    to: "internal/data",
    port: "22/tcp",
    expect: drop("internal-fw drop_inbound", C.adminToInternalJump),
    why: "SSH only through the jump host",
  },
  {
    from: "dmz/admin",
    to: "sandbox/agent",
    port: "22/tcp",
    expect: drop("sandbox-fw drop_inbound", "dmz/admin -> sandbox-fw 22/tcp"),
    why: "SSH only through the jump host",
  },
  {
    from: "dmz/admin",
    to: "cluster/worker-1",
    port: "50000/tcp",
    expect: drop("cluster-fw drop_inbound", "dmz/admin -> cluster-fw 22/tcp"),
    why: "the Talos API is not open to the DMZ",
  },

  // --- admins ----------------------------------------------------------------------------------------------
  ...["internal-fw", "cluster-fw", "lab-fw", "sandbox-fw"].map((fw): IntentRow => ({
    from: "dmz/admin",
    to: fw,
    port: "22/tcp",
    expect: ssh,
    why: "admin workstation -> router WAN:22 -> jump host",
  })),
  { from: "dmz/admin", to: "dmz/infra", port: "22/tcp", expect: ssh, why: "admins log in to the infra host" },
  {
    from: "dmz/admin",
    to: "dmz/proxy",
    port: "443/tcp",
    kind: "https",
    name: "grafana",
    expect: { http: 200, backend: "internal/monitor", seen: "dmz/tunnel" },
    why: "lab names are open to the admin workstations",
  },
  { from: "dmz/admin", to: "dmz/dns", port: "53/udp", kind: "dns", expect: { answers: "dns" }, why: "the DMZ resolves with the DMZ DNS" },
  {
    from: "dmz/admin",
    to: "dmz/infra",
    port: "9100/tcp",
    expect: drop("dmz/infra policy", "dmz/admin -> dmz/infra 22/tcp"),
    why: "only the monitor scrapes infra",
  },

  // --- jump hosts: SSH inside their own segment, and nowhere else --------------------------------------------
  { from: "internal/jump", to: "internal/data", port: "22/tcp", expect: ssh, why: "the jump host reaches SSH in its segment" },
  { from: "lab/jump", to: "lab/mirror-1", port: "22/tcp", expect: ssh, why: "the jump host reaches SSH in its segment" },
  { from: "sandbox/jump", to: "sandbox/agent", port: "22/tcp", expect: ssh, why: "the jump host reaches SSH in its segment" },
  {
    from: "sandbox/games",
    to: "sandbox/agent",
    port: "8080/tcp",
    expect: reply("sandbox/agent", "sandbox/games"),
    why: "one network, no router between: the game servers reach the agent's UI directly, so it authenticates itself (services.auth-bypass refuses the proxy's basic auth alone)",
  },
  ...["internal", "cluster", "lab", "sandbox"].map((s): IntentRow => ({
    from: `${s}/jump`,
    to: `${s}-fw/lan`,
    port: "22/tcp",
    expect: ssh,
    why: "the router's sshd admits its jump host",
  })),
  {
    from: "internal/data",
    to: "internal-fw/lan",
    port: "22/tcp",
    expect: drop("internal-fw drop_input", C.dataDns),
    why: "the router admits SSH from its jump host only",
  },
  {
    from: "lab/mirror-1",
    to: "lab-fw/lan",
    port: "22/tcp",
    expect: drop("lab-fw drop_input", C.mirror1Push),
    why: "the router admits SSH from its jump host only",
  },
  {
    from: "sandbox/agent",
    to: "sandbox-fw/lan",
    port: "22/tcp",
    expect: drop("sandbox-fw drop_input", C.agentDns),
    why: "the router admits SSH from its jump host only",
  },
  { from: "sandbox/agent", to: "sandbox/jump", port: "icmp", expect: { answers: "pong" }, why: "the jump host answers ping" },
  { from: "lab/mirror-2", to: "lab/jump", port: "icmp", expect: { answers: "pong" }, why: "the jump host answers ping" },
  {
    from: "sandbox/agent",
    to: "sandbox/jump",
    port: "22/tcp",
    expect: drop("sandbox/jump policy", "sandbox/agent -> sandbox/jump icmp"),
    why: "the jump host admits the admin workstations only",
  },
  {
    from: "lab/mirror-2",
    to: "lab/jump",
    port: "22/tcp",
    expect: drop("lab/jump policy", "lab/mirror-2 -> lab/jump icmp"),
    why: "the jump host admits the admin workstations only",
  },
  {
    from: "cluster/jump",
    to: "internal-fw",
    port: "22/tcp",
    expect: drop("cluster-fw drop_outbound_lab", "cluster/jump -> dmz/dns 53/udp"),
    why: "a jump host is no admin workstation",
  },
  {
    from: "lab/jump",
    to: "cluster/jump",
    port: "22/tcp",
    expect: drop("lab-fw drop_outbound_lab", "lab/jump -> dmz/dns 53/udp"),
    why: "a jump host reaches its own segment only",
  },
  {
    from: "internal/jump",
    to: "lab/mirror-1",
    port: "22/tcp",
    expect: drop("internal-fw drop_outbound_lab", "internal/jump -> dmz/ntp 123/udp"),
    why: "a jump host reaches its own segment only",
  },
  {
    from: "sandbox/jump",
    to: "internal/data",
    port: "22/tcp",
    expect: drop("sandbox-fw drop_outbound_lab", "sandbox/jump -> dmz/dns 53/udp"),
    why: "a jump host reaches its own segment only",
  },

  // --- storage and explicit flows ------------------------------------------------------------------------------
  ...["worker-1", "worker-2", "worker-3"].flatMap((w): IntentRow[] => [
    {
      from: `cluster/${w}`,
      to: "internal/data",
      port: "2049/tcp",
      expect: reply("internal/data", `cluster/${w}`),
      why: "k8s-nfs: workers mount NFS from data",
    },
    // Real smbd and MariaDB answer these (the twin's data host); a real client logs in from each worker too (twin.test.ts).
    {
      from: `cluster/${w}`,
      to: "internal/data",
      port: "445/tcp",
      kind: "connect",
      expect: { answers: "connect" },
      why: "media-smb: workers mount SMB from data",
    },
    {
      from: `cluster/${w}`,
      to: "internal/data",
      port: "3306/tcp",
      kind: "connect",
      expect: { answers: "connect" },
      why: "the cluster's apps keep their data in MariaDB on data, as user gitea",
    },
  ]),
  // Inside internal no router stands between hosts: the data host's own firewall admits only its flows' sources.
  { from: "internal/monitor", to: "internal/data", port: "icmp", expect: { answers: "pong" }, why: "the data host answers ping" },
  ...["3306/tcp", "445/tcp", "2049/tcp", "5000/tcp"].map((port): IntentRow => ({
    from: "internal/monitor",
    to: "internal/data",
    port,
    expect: drop("internal/data policy", "internal/monitor -> internal/data icmp"),
    why: "the monitor is no client of the data host, although it shares its switch",
  })),
  {
    from: "cluster/ingress",
    to: "internal/data",
    port: "3306/tcp",
    expect: drop("cluster-fw drop_outbound_lab", "cluster/ingress -> dmz/dns 53/udp"),
    why: "only the workers log in to the database",
  },
  {
    from: "cluster/worker-2",
    to: "internal/data",
    port: "5000/tcp",
    expect: drop("cluster-fw drop_outbound_lab", "cluster/worker-2 -> internal/data 445/tcp"),
    why: "workers get NFS and SMB, not the registry port",
  },
  {
    from: "cluster/ingress",
    to: "internal/data",
    port: "2049/tcp",
    expect: drop("cluster-fw drop_outbound_lab", "cluster/ingress -> dmz/dns 53/udp"),
    why: "only the workers mount",
  },
  {
    from: "cluster/worker-1",
    to: "lab/mirror-1",
    port: "80/tcp",
    expect: drop("cluster-fw drop_outbound_lab", "cluster/worker-1 -> internal/data 2049/tcp"),
    why: "no flow from cluster to lab",
  },
  {
    from: "lab/mirror-1",
    to: "internal/data",
    port: "5000/tcp",
    expect: reply("internal/data", "lab/mirror-1"),
    why: "registry clients push images",
  },
  {
    from: "lab/mirror-2",
    to: "internal/data",
    port: "5000/tcp",
    expect: reply("internal/data", "lab/mirror-2"),
    why: "registry clients push images",
  },
  {
    from: "lab/mirror-1",
    to: "internal/data",
    port: "3306/tcp",
    expect: drop("lab-fw drop_outbound_lab", C.mirror1Push),
    why: "mirrors push images, nothing else",
  },
  {
    from: "lab/mirror-2",
    to: "internal/data",
    port: "2049/tcp",
    expect: drop("lab-fw drop_outbound_lab", C.mirror2Push),
    why: "mirrors push images, nothing else",
  },
  {
    from: "lab/vdi",
    to: "internal/data",
    port: "5000/tcp",
    expect: drop("lab-fw drop_outbound_lab", "lab/vdi -> dmz/dns 53/udp"),
    why: "only the mirrors push",
  },
  {
    from: "lab/mirror-1",
    to: "sandbox/agent",
    port: "8080/tcp",
    expect: drop("lab-fw drop_outbound_lab", C.mirror1Push),
    why: "the lab opens nothing into the sandbox",
  },
  {
    from: "sandbox/agent",
    to: "lab/mirror-1",
    port: "80/tcp",
    expect: drop("sandbox-fw drop_outbound_lab", C.agentDns),
    why: "the sandbox is isolated: the agent reaches the mirror by name through the proxy, never directly",
  },
  // Monitoring: the monitor scrapes node exporters everywhere, and the Talos API.
  {
    from: "internal/monitor",
    to: "cluster/worker-1",
    port: "9100/tcp",
    expect: reply("cluster/worker-1", "internal/monitor"),
    why: "scrape-cluster",
  },
  {
    from: "internal/monitor",
    to: "cluster/worker-2",
    port: "50000/tcp",
    expect: reply("cluster/worker-2", "internal/monitor"),
    why: "scrape-cluster: the Talos API",
  },
  { from: "internal/monitor", to: "lab/mirror-2", port: "9100/tcp", expect: reply("lab/mirror-2", "internal/monitor"), why: "scrape-lab" },
  { from: "internal/monitor", to: "lab/vdi", port: "9100/tcp", expect: reply("lab/vdi", "internal/monitor"), why: "scrape-lab" },
  {
    from: "internal/monitor",
    to: "sandbox/games",
    port: "9100/tcp",
    expect: reply("sandbox/games", "internal/monitor"),
    why: "scrape-sandbox",
  },
  {
    from: "internal/monitor",
    to: "sandbox/agent",
    port: "9100/tcp",
    expect: reply("sandbox/agent", "internal/monitor"),
    why: "scrape-sandbox",
  },
  {
    from: "internal/monitor",
    to: "dmz/infra",
    port: "9100/tcp",
    expect: reply("dmz/infra", "internal/monitor"),
    why: "scrape-dmz: node exporter",
  },
  {
    from: "internal/monitor",
    to: "dmz/infra",
    port: "9113/tcp",
    expect: reply("dmz/infra", "internal/monitor"),
    why: "scrape-dmz: nginx exporter",
  },
  {
    from: "internal/monitor",
    to: "cluster/ingress",
    port: "80/tcp",
    expect: drop("internal-fw drop_outbound_lab", C.monitorScrapesCluster),
    why: "the monitor scrapes, it does not browse",
  },
  {
    from: "internal/monitor",
    to: "lab/mirror-1",
    port: "80/tcp",
    expect: drop("internal-fw drop_outbound_lab", C.monitorScrapesLab),
    why: "the monitor scrapes, it does not browse",
  },
  {
    from: "internal/monitor",
    to: "sandbox/games",
    port: "22/tcp",
    expect: drop("internal-fw drop_outbound_lab", C.monitorScrapesSandbox),
    why: "scraping is not SSH",
  },
  {
    from: "internal/monitor",
    to: "dmz/infra",
    port: "22/tcp",
    expect: drop("internal-fw drop_outbound_lab", "internal/monitor -> dmz/ntp 123/udp"),
    why: "only admin workstations SSH into infra",
  },
  {
    from: "internal/data",
    to: "cluster/worker-1",
    port: "9100/tcp",
    expect: drop("internal-fw drop_outbound_lab", C.dataDns),
    why: "only the monitor scrapes",
  },
  {
    from: "internal/data",
    to: "sandbox/agent",
    port: "8080/tcp",
    expect: drop("internal-fw drop_outbound_lab", C.dataDns),
    why: "no host-to-host traffic between segments",
  },
  {
    from: "internal/data",
    to: "sandbox-fw",
    port: "22/tcp",
    expect: drop("internal-fw drop_outbound_lab", C.dataDns),
    why: "a router's WAN:22 is for the admin workstations only",
  },

  // --- the sandbox is untrusted: nothing in internal, cluster, lab or the DMZ but what a flow allows --------
  ...[
    ["internal/data", "3306/tcp"],
    ["internal/data", "2049/tcp"],
    ["internal/monitor", "3000/tcp"],
    ["internal/truenas", "443/tcp"],
    ["cluster/ingress", "80/tcp"],
    ["cluster/worker-1", "9100/tcp"],
    ["lab/vdi", "47984/tcp"],
    ["lab/mirror-1", "22/tcp"],
    ["lab/mirror-2", "80/tcp"],
    ["dmz/admin", "22/tcp"],
    ["dmz/infra", "22/tcp"],
    ["internal-fw", "22/tcp"],
  ].map(([to, port]): IntentRow => ({
    from: "sandbox/agent",
    to: to!,
    port: port!,
    expect: drop("sandbox-fw drop_outbound_lab", C.agentDns),
    why: "the sandbox reaches nothing of the lab but its flows",
  })),
  // "The internet" from the sandbox is not everything outside the lab: never the edge router
  // (dropped before any flow), never a non-public range beyond the edge.
  {
    from: "sandbox/agent",
    to: "edge/isp",
    port: "80/tcp",
    expect: drop("sandbox-fw drop_edge", C.agentDns),
    why: "the ISP router's admin page is off limits to an untrusted segment",
  },
  ...["edge/private", "edge/cgnat"].map((to): IntentRow => ({
    from: "sandbox/agent",
    to,
    port: "80/tcp",
    expect: drop("sandbox-fw drop_non_public", C.agentDns),
    why: "private and CGNAT networks beyond the edge are not the internet",
  })),
  {
    from: "lab/mirror-2",
    to: "edge/private",
    port: "80/tcp",
    expect: reply("edge/private", "lab-fw"),
    why: "a trusted segment keeps the whole internet, private networks beyond the edge included",
  },
  {
    from: "sandbox/games",
    to: "lab/mirror-1",
    port: "80/tcp",
    expect: drop("sandbox-fw drop_outbound_lab", "sandbox/games -> dmz/dns 53/udp"),
    why: "the sandbox is isolated: no host of it reaches the mirror directly",
  },
  {
    from: "sandbox/games",
    to: "internal/data",
    port: "445/tcp",
    expect: drop("sandbox-fw drop_outbound_lab", "sandbox/games -> dmz/dns 53/udp"),
    why: "the sandbox mounts nothing",
  },
  {
    from: "sandbox/agent",
    spoof: "10.10.0.99",
    to: "dmz/dns",
    port: "53/udp",
    kind: "dns",
    expect: drop("sandbox-fw drop_spoofed", "sandbox/agent -> dmz/dns 53/udp"),
    why: "a source outside the segment never leaves it",
  },
  {
    from: "sandbox/agent",
    to: "dmz/proxy",
    port: "443/tcp",
    kind: "https",
    name: "agent",
    expect: { http: 200, backend: "sandbox/agent", seen: "dmz/tunnel" },
    why: "the sandbox uses internet-exposed names through the proxy",
  },
  {
    from: "sandbox/agent",
    to: "dmz/proxy",
    port: "443/tcp",
    kind: "https",
    name: "mirror",
    expect: { http: 200, backend: "lab/mirror-1", seen: "dmz/tunnel" },
    why: "the mirror lists the sandbox in usedBy: the agent installs packages by name, through the proxy",
  },
  {
    from: "sandbox/agent",
    to: "dmz/proxy",
    port: "443/tcp",
    kind: "https",
    name: "grafana",
    expect: { http: 403 },
    why: "a lab name that does not list the sandbox stays closed to it",
  },

  // --- every segment: DNS, NTP, the proxy by name, the internet (masqueraded) ------------------------------
  ...[
    ["internal/monitor", "internal-fw"],
    ["cluster/worker-3", "cluster-fw"],
    ["lab/mirror-2", "lab-fw"],
    ["sandbox/games", "sandbox-fw"],
  ].flatMap(([host, fw]): IntentRow[] => [
    { from: host!, to: "dmz/dns", port: "53/udp", kind: "dns", expect: { answers: "dns" }, why: "every segment resolves with the DMZ DNS" },
    {
      from: host!,
      to: "dmz/dns",
      port: "53/tcp",
      kind: "dns",
      expect: { answers: "dns" },
      why: "every segment resolves with the DMZ DNS (large answers)",
    },
    {
      from: host!,
      to: "dmz/ntp",
      port: "123/udp",
      kind: "ntp",
      expect: { answers: "ntp" },
      why: "every segment keeps time with the DMZ NTP",
    },
    {
      from: host!,
      to: "edge/internet",
      port: "80/tcp",
      expect: reply("edge/internet", fw),
      why: "segments reach the internet, masqueraded behind their router",
    },
  ]),
  ...["internal/data", "internal/jump", "cluster/ingress", "cluster/jump", "lab/vdi", "lab/jump", "sandbox/agent", "sandbox/jump"].map(
    (host): IntentRow => ({
      from: host,
      to: host === "internal/jump" ? "dmz/ntp" : "dmz/dns",
      port: host === "internal/jump" ? "123/udp" : "53/udp",
      kind: host === "internal/jump" ? "ntp" : "dns",
      expect: { answers: host === "internal/jump" ? "ntp" : "dns" },
      why: "DNS and NTP for every host",
    }),
  ),
  {
    from: "internal/data",
    to: "dmz/proxy",
    port: "443/tcp",
    kind: "https",
    name: "grafana",
    expect: { http: 200, backend: "internal/monitor", seen: "dmz/tunnel" },
    why: "a segment's own published name: out through its router, back in through its DNAT",
  },
  {
    from: "internal/monitor",
    to: "dmz/proxy",
    port: "443/tcp",
    kind: "https",
    name: "mirror",
    expect: { http: 200, backend: "lab/mirror-1", seen: "dmz/tunnel" },
    why: "trusted segments use lab names",
  },
  {
    from: "cluster/worker-1",
    to: "dmz/proxy",
    port: "443/tcp",
    kind: "https",
    name: "registry",
    expect: { http: 200, backend: "internal/data", seen: "dmz/tunnel" },
    why: "trusted segments use lab names",
  },
  {
    from: "lab/mirror-2",
    to: "dmz/proxy",
    port: "443/tcp",
    kind: "https",
    name: "argocd",
    expect: { http: 200, backend: "cluster/ingress", seen: "dmz/tunnel" },
    why: "trusted segments use lab names",
  },
  {
    from: "lab/mirror-2",
    to: "dmz/proxy",
    port: "443/tcp",
    kind: "https",
    name: "pve",
    expect: { http: 200, backend: "internal/pve1", seen: "dmz/tunnel" },
    why: "trusted segments use lab names (TLS backend)",
  },
];

// --- checking -----------------------------------------------------------------------------------------------

/** A row that did not hold, with why. */
export interface IntentFailure {
  readonly row: string;
  readonly message: string;
  /** The firewalls whose ruleset and counters explain it. */
  readonly firewalls: readonly string[];
}

/** The result of one check run. */
export interface IntentReport {
  readonly failures: readonly IntentFailure[];
  /** Rows marked knownBug that still fail, as they must until the bug is fixed. */
  readonly known: readonly IntentFailure[];
  /** Counter deltas of the run, `<firewall> <counter>` -> packets. */
  readonly deltas: ReadonlyMap<string, number>;
  readonly ms: number;
}

/** The firewalls a row's traffic passes: the routers of both ends, and the owner of its drop counter. */
function firewallsOf(twin: Twin, row: IntentRow): string[] {
  const set = new Set([twin.firewallOf(row.from), twin.firewallOf(row.to)].filter((x): x is string => Boolean(x)));
  if ("drop" in row.expect) set.add(row.expect.drop.split(" ")[0]!);
  return [...set];
}

/** The probe for one row. */
function probeOf(twin: Twin, row: IntentRow): Probe {
  const from = twin.node(row.from);
  const to = twin.node(row.to);
  const base = { id: rowId(row), ns: from.ns, src: row.spoof ?? from.address, dst: to.address };
  if (row.port === "icmp") return { ...base, port: 0, proto: "icmp", timeout: 3 };
  const [port, proto] = row.port.split("/") as [string, "tcp" | "udp"];
  const kind = row.kind ?? (port === "22" ? "banner" : "line");
  return {
    ...base,
    port: Number(port),
    proto,
    kind,
    // A denied probe stays below the first SYN retransmit (1 s): exactly one packet to count.
    timeout: "drop" in row.expect ? 0.9 : 2,
    ...(kind === "dns" ? { qname: `proxy.${twin.domain}` } : {}),
    ...(kind === "https" ? { host: `${row.name}.${twin.domain}` } : {}),
    ...(row.auth ? { auth: Buffer.from(TEST_CREDENTIALS).toString("base64") } : {}),
  };
}

/** Whether a probe result meets an allow-type expectation; the reason when it does not. */
function judgeAllowed(twin: Twin, row: IntentRow, r: ProbeResult | undefined): string | undefined {
  if (!r) return "no result";
  const e = row.expect;
  const got = `${r.outcome}${r.text ? `: ${r.text.slice(0, 300)}` : ""}`;
  if ("drop" in e) return undefined;
  if (r.outcome !== "reply") return `expected an answer, got ${got}`;
  if ("reply" in e) {
    const [proto] = row.port.split("/").slice(1);
    const m = /^(\S+) (\d+)\/(tcp|udp) from (\S+)$/.exec(r.text);
    if (!m || m[1] !== e.reply || m[3] !== proto) return `expected ${e.reply} to answer, got ${got}`;
    if (e.seen && m[4] !== twin.node(e.seen).address)
      return `${e.reply} saw the connection from ${m[4]}, expected ${e.seen} (${twin.node(e.seen).address})`;
    return undefined;
  }
  if ("answers" in e) {
    const ok = {
      ssh: /^SSH-2\.0-/,
      dns: /^dns NOERROR answers=[1-9]/,
      ntp: /^ntp stratum=(\d|1[0-5])$/,
      pong: /^pong$/,
      connect: /^connected$/,
    }[e.answers];
    return ok.test(r.text) ? undefined : `expected ${e.answers}, got ${got}`;
  }
  const [status, ...rest] = r.text.split(" ");
  if (Number(status) !== e.http) return `expected HTTP ${e.http}, got ${got}`;
  if (e.backend) {
    let body: { name?: string; from?: string };
    try {
      body = JSON.parse(rest.join(" ")) as { name?: string; from?: string };
    } catch {
      return `expected a backend's JSON answer, got ${got}`;
    }
    if (body.name !== e.backend) return `expected backend ${e.backend}, got ${got}`;
    if (e.seen && body.from !== twin.node(e.seen).address) return `${e.backend} saw the request from ${body.from}, expected ${e.seen}`;
  }
  return undefined;
}

function judgeDenied(r: ProbeResult | undefined): string | undefined {
  if (!r) return "no result";
  if (r.outcome === "timeout") return undefined;
  return `expected a silent drop (timeout), got ${r.outcome}${r.text ? `: ${r.text.slice(0, 300)}` : ""}`;
}

/** Counter deltas between two readings. */
function deltas(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const d = new Map<string, number>();
  for (const [k, v] of after) d.set(k, v - (before.get(k) ?? 0));
  return d;
}

/**
 * Check rows against the running twin: every probe in parallel, then the counters.
 * Returns the failures (empty when the twin meets every row); never throws for a
 * breach, so a test can also assert that a broken ruleset is reported.
 */
export async function checkIntent(twin: Twin, rows: readonly IntentRow[] = INTENT): Promise<IntentReport> {
  const start = Date.now();
  const byId = new Map<string, IntentRow>();
  for (const r of rows) {
    const id = rowId(r);
    if (byId.has(id)) throw new Error(`intent table: duplicate row ${id}`);
    byId.set(id, r);
  }
  // Every denied row's control runs in the same batch, even when the caller picked a subset.
  const all = new Map(byId);
  for (const r of rows) {
    if (!("drop" in r.expect)) continue;
    const c = INTENT.find((x) => rowId(x) === (r.expect as { control: string }).control);
    if (!c || "drop" in c.expect)
      throw new Error(`intent table: ${rowId(r)} names control "${r.expect.control}", which is not an allowed row`);
    all.set(rowId(c), c);
  }
  const spoofed = [...all.values()].filter((r) => r.spoof);
  for (const r of spoofed) await twin.must(twin.node(r.from).ns, ["ip", "addr", "replace", `${r.spoof}/32`, "dev", "lo"]);
  try {
    return await runChecks(twin, all, start);
  } finally {
    for (const r of spoofed) await twin.must(twin.node(r.from).ns, ["ip", "addr", "del", `${r.spoof}/32`, "dev", "lo"]);
  }
}

async function runChecks(twin: Twin, all: ReadonlyMap<string, IntentRow>, start: number): Promise<IntentReport> {
  const before = await twin.readDropCounters();
  const results = new Map((await twin.probe([...all.values()].map((r) => probeOf(twin, r)))).map((r) => [r.id, r]));
  const after = await twin.readDropCounters();
  const delta = deltas(before, after);

  const failures: IntentFailure[] = [];
  const fail = (row: IntentRow, message: string) => failures.push({ row: rowId(row), message, firewalls: firewallsOf(twin, row) });
  const blocked: IntentRow[] = [];
  for (const r of all.values()) {
    const res = results.get(rowId(r));
    const why = "drop" in r.expect ? judgeDenied(res) : judgeAllowed(twin, r, res);
    if (why && !("drop" in r.expect) && res?.outcome === "timeout") blocked.push(r);
    else if (why) fail(r, why);
    if ("drop" in r.expect) {
      if (!after.has(r.expect.drop)) fail(r, `no drop counter "${r.expect.drop}" in the twin (known: ${[...after.keys()].join(", ")})`);
      const control = all.get(r.expect.control)!;
      const cwhy = judgeAllowed(twin, control, results.get(rowId(control)));
      if (cwhy) fail(r, `its positive control "${r.expect.control}" failed in the same run (${cwhy}), so its timeout proves nothing`);
    }
  }

  // An allowed row that timed out was dropped somewhere: re-run it alone (one packet) and say where.
  for (const [i, r] of blocked.entries()) {
    let where = "";
    if (i < 5) {
      const b = await twin.readDropCounters();
      await twin.probe([{ ...probeOf(twin, r), timeout: 0.9 }]);
      const moved = [...deltas(b, await twin.readDropCounters())].filter(([, v]) => v > 0).map(([k]) => k);
      where = moved.length > 0 ? ` (alone, it is dropped at ${moved.join(", ")})` : " (alone, no drop counter moved)";
    }
    fail(r, `expected an answer, got timeout${where}`);
  }

  // Every counter moved by exactly the number of denied rows attributed to it.
  const expected = new Map<string, IntentRow[]>();
  for (const r of all.values()) if ("drop" in r.expect) expected.set(r.expect.drop, [...(expected.get(r.expect.drop) ?? []), r]);
  for (const [counter, d] of delta) {
    const mine = expected.get(counter) ?? [];
    if (d === mine.length) continue;
    const owner = counter.split(" ")[0]!;
    const explainedBy = failures.filter((f) => f.message.includes(`dropped at ${counter}`) || f.message.includes(`, ${counter}`));
    if (mine.length === 0 && explainedBy.length > 0) continue;
    if (mine.length === 0) {
      failures.push({
        row: `counter ${counter}`,
        message: `${d} packet(s) dropped here that no denied row expects: an allowed probe was dropped, or something else is`,
        firewalls: [owner],
      });
      continue;
    }
    // Rows that already failed (answered, refused) explain a shortfall by themselves.
    const unexplained = mine.filter((r) => !failures.some((f) => f.row === rowId(r)));
    if (d === unexplained.length) continue;
    // Name the row: re-run each one alone, with its control, and read its own counter. A
    // count above the table's, with every row dropped here alone, was a late probe's SYN
    // retransmission (a loaded machine), not a finding.
    const named: string[] = [];
    for (const r of unexplained) {
      const why = await aloneFailure(twin, r);
      if (why) {
        fail(r, why);
        named.push(rowId(r));
      }
    }
    if (named.length === 0 && d < unexplained.length) {
      failures.push({
        row: `counter ${counter}`,
        message: `moved by ${d}, expected ${unexplained.length}, yet each row alone is dropped here: something else on this firewall interferes`,
        firewalls: [owner],
      });
    }
  }
  // Known bugs: their rows must still fail; a row that holds now means the mark is stale.
  const known: IntentFailure[] = [];
  for (const r of all.values()) {
    if (!r.knownBug) continue;
    const mine = failures.filter((f) => f.row === rowId(r));
    if (mine.length > 0) {
      known.push(...mine.map((f) => ({ ...f, message: `${f.message} [known bug: ${r.knownBug}]` })));
      for (const f of mine) failures.splice(failures.indexOf(f), 1);
    } else {
      fail(r, `holds now, so the known bug is fixed: remove its knownBug mark (${r.knownBug})`);
    }
  }
  return { failures, known, deltas: delta, ms: Date.now() - start };
}

/** Re-run one denied row alone with its control: why it is not proven, or undefined. */
async function aloneFailure(twin: Twin, r: IntentRow): Promise<string | undefined> {
  const e = r.expect as { drop: string; control: string };
  const control = INTENT.find((x) => rowId(x) === e.control)!;
  const b = await twin.readDropCounters();
  const [res, cres] = await twin.probe([probeOf(twin, r), probeOf(twin, control)]);
  const a = await twin.readDropCounters();
  const own = (a.get(e.drop) ?? 0) - (b.get(e.drop) ?? 0);
  const elsewhere = [...deltas(b, a)].filter(([k, v]) => v > 0 && k !== e.drop).map(([k, v]) => `${k} +${v}`);
  if (!judgeDenied(res) && !judgeAllowed(twin, control, cres) && own >= 1) return undefined;
  return `alone: ${res?.outcome}; control ${cres?.outcome}; ${e.drop} moved by ${own}${elsewhere.length ? `; dropped at ${elsewhere.join(", ")} instead` : ""}`;
}

/** Failures as text, with the ruleset and counters of every firewall involved. */
export async function formatFailures(twin: Twin, failures: readonly IntentFailure[]): Promise<string> {
  if (failures.length === 0) return "";
  const lines = failures.map((f) => `  ✗ ${f.row}: ${f.message}`);
  const fws = [...new Set(failures.flatMap((f) => f.firewalls))].sort();
  const dumps = await Promise.all(fws.map((fw) => twin.dumpFirewall(fw)));
  return `${failures.length} intent row(s) failed:\n${lines.join("\n")}\n\n${dumps.join("\n")}`;
}
