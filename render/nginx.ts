/**
 * The reverse proxy of the DMZ: nginx terminates TLS for every published HTTP name and
 * forwards it to the segment firewall's tunnel address, through the WireGuard tunnel from the
 * infra host, and the firewall DNATs to the backend; TCP and UDP services pass through the
 * stream module the same way. Built as a small directive
 * tree and printed, so structure (one server per name, allow lists, auth) is decided in
 * code, not in string templates.
 *
 * The file carries no `load_module`: NixOS's nginx has the stream module built in. Debian
 * loads it as a module, which the tests add on the command line.
 */
import { compareText } from "../model/order";
import type { DmzPlan, HttpRoute, StreamRoute } from "../model/network/dmz";
import { VERIFY_DEPTH } from "../model/network/backend-tls";
import { comparePorts } from "../model/lab";
import { compareCidr, type Cidr } from "../model/net";
import type { Deadline } from "../model/network/until";
import type { Exposure } from "../model/network/schema";
import { unreachable } from "../model/unreachable";
import { HOMELAB_STATE_DIR } from "./apply-common";
import { generatedHeader } from "./header";

/** One nginx directive, possibly with a block. */
export interface NginxDirective {
  readonly name: string;
  readonly args: readonly string[];
  /** Child directives; undefined for a simple `name args;`. */
  readonly block?: readonly NginxNode[];
}

/** A directive, a comment line, or a blank line. */
export type NginxNode = NginxDirective | { readonly comment: string } | { readonly blank: true };

/** Where the proxy keeps secrets placed out of band (never rendered). */
export const SECRETS_DIR = `${HOMELAB_STATE_DIR}/secrets`;

/** The htpasswd file of one basic-auth service. The file is placed on the host out of band. */
export function htpasswdPath(service: string): string {
  return `${SECRETS_DIR}/htpasswd-${service}`;
}

/** How long a browser keeps refusing plain HTTP to a name after one HTTPS answer: a year. */
export const HSTS_MAX_AGE_SECONDS = 31536000;

/** Connections one client address may hold at once: HTTP(S) across every name, and streams. */
export const PER_CLIENT_CONNECTIONS = 64;
export const PER_CLIENT_STREAMS = 16;

/** The shared-memory zones that count connections per client address; names are global across http and stream. */
const CLIENT_ZONE = { http: "per_client", stream: "per_client_stream" } as const;

/** How long an idle WebSocket stays open. */
const WEBSOCKET_IDLE = "1h";

/** nginx's state directory on the infra host (systemd StateDirectory=nginx). */
const NGINX_STATE_DIR = "/var/lib/nginx";

const d = (name: string, ...args: string[]): NginxDirective => ({ name, args });
const b = (name: string, args: readonly string[], block: readonly NginxNode[]): NginxDirective => ({ name, args, block });
const c = (comment: string): NginxNode => ({ comment });
const blank: NginxNode = { blank: true };

/** Quote an argument when nginx would otherwise split or misread it. */
function arg(a: string): string {
  if (a === "" || /[\s;{}"'#\\]/.test(a)) return `"${a.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  return a;
}

/** Print a directive tree, four spaces per level. */
function printNginx(nodes: readonly NginxNode[], depth = 0): string {
  const pad = "    ".repeat(depth);
  return nodes
    .map((n) => {
      if ("blank" in n) return "";
      if ("comment" in n) return `${pad}# ${n.comment}`;
      const head = [n.name, ...n.args.map(arg)].join(" ");
      if (n.block === undefined) return `${pad}${head};`;
      return `${pad}${head} {\n${printNginx(n.block, depth + 1)}\n${pad}}`;
    })
    .join("\n");
}

/** For a temporary hole: when its segment's firewall stops translating it, which closes this route too. */
function untilNote(until: Deadline | undefined): NginxNode[] {
  return until ? [c(`Temporary: closes at ${until.display}, when its firewall stops translating it (until: ${until.text}).`)] : [];
}

/** `allow <cidr>;` per source and `deny all;`, or nothing for internet exposure. */
function accessList(allow: readonly Cidr[], exposure: Exposure): NginxNode[] {
  let note: string;
  switch (exposure) {
    case "internet":
      return [];
    case "lab":
      note = "Lab exposure: the segments that use it and the admins' workstations only.";
      break;
    case "admins":
      note = "Admins exposure: the admins' workstations only, no segment.";
      break;
    default:
      return unreachable(exposure, "exposure");
  }
  if (allow.length === 0) throw new Error(`bug: a ${exposure}-exposed route with an empty allow list would admit no one`);
  return [c(note), ...[...allow].sort(compareCidr).map((a) => d("allow", a.toString())), d("deny", "all")];
}

/** The systemd unit that runs the proxy on the infra host. */
export const NGINX_UNIT = "homelab-nginx";

/**
 * Where systemd places the proxy unit's credentials (LoadCredential): the certificates it
 * verifies backends against, owned by the unit's user, for as long as the unit runs.
 */
export const NGINX_CREDENTIALS_DIR = `/run/credentials/${NGINX_UNIT}.service`;

/** The credential that holds the one certificate a TLS route trusts: its id and where nginx reads it. */
export function backendTrustFile(route: Pick<HttpRoute, "segment" | "service">): { id: string; path: string } {
  const id = `backend-tls-${route.segment}-${route.service}.pem`;
  return { id, path: `${NGINX_CREDENTIALS_DIR}/${id}` };
}

/**
 * A TLS backend is verified: its certificate must chain to the one certificate this route
 * trusts (a CA of the lab, or the backend's own, pinned) and carry the name the model gives,
 * else nginx answers 502 and sends no request. On the DMZ an address proves nothing, so this
 * is what tells the backend from a host that answers for the firewall's address.
 */
function backendVerification(route: HttpRoute): NginxNode[] {
  const tls = route.upstream.tls;
  if (!tls) return [];
  const trusted = tls.kind === "ca" ? `be issued by the CA ${tls.ca} (dmz.backendCas)` : "be the self-signed one pinned in the model";
  return [
    c(`TLS to the backend, verified: its certificate must ${trusted}`),
    c(`and carry the name ${tls.name} (also sent for SNI); any other certificate gets 502.`),
    d("proxy_ssl_verify", "on"),
    d("proxy_ssl_trusted_certificate", backendTrustFile(route).path),
    d("proxy_ssl_verify_depth", String(VERIFY_DEPTH[tls.kind])),
    d("proxy_ssl_name", tls.name),
    d("proxy_ssl_server_name", "on"),
  ];
}

/** One HTTPS server for one published name. */
function httpServer(route: HttpRoute, listen: string): NginxDirective {
  const scheme = route.upstream.tls ? "https" : "http";
  const auth: NginxNode[] =
    route.auth.kind === "basic"
      ? [
          c("The proxy asks for the password; the htpasswd file is placed on the host out of band."),
          d("auth_basic", route.auth.realm),
          d("auth_basic_user_file", htpasswdPath(route.service)),
        ]
      : [];
  const upstreamTls = backendVerification(route);
  const authNote =
    route.auth.kind === "app"
      ? `app auth: ${route.auth.note}`
      : route.auth.kind === "basic"
        ? `basic auth, realm ${route.auth.realm}`
        : "no auth";
  return b(
    "server",
    [],
    [
      c(`${route.segment}/${route.service}, ${route.exposure} exposure, ${authNote}`),
      ...untilNote(route.until),
      d("listen", `${listen}:443`, "ssl"),
      d("server_name", route.fqdn),
      c("Browsers that saw this name once refuse plain HTTP to it for a year, on every answer (always), errors included."),
      d("add_header", "Strict-Transport-Security", `max-age=${HSTS_MAX_AGE_SECONDS}`, "always"),
      c(`Request bodies up to ${route.maxBodyMiB} MiB (maxBodyMiB); a larger one gets 413 here, before it reaches the disk.`),
      d("client_max_body_size", `${route.maxBodyMiB}m`),
      ...accessList(route.allow, route.exposure),
      ...auth,
      b(
        "location",
        ["/"],
        [d("proxy_pass", `${scheme}://${route.upstream.address}:${route.upstream.port}`), ...upstreamTls, ...websocketTimeouts(route)],
      ),
    ],
  );
}

/** A WebSocket service's sockets stay open while idle for an hour; every other upstream answers within the http block's timeouts. */
function websocketTimeouts(route: HttpRoute): NginxNode[] {
  if (!route.websockets) return [];
  return [
    c("WebSockets (websockets: true): an idle socket stays open for an hour."),
    d("proxy_read_timeout", WEBSOCKET_IDLE),
    d("proxy_send_timeout", WEBSOCKET_IDLE),
  ];
}

/**
 * Upgrade and Connection go upstream only for names whose service declares websockets. A
 * map on the server name keeps every proxy_set_header at the http level (see
 * stripAuthorization); an empty Upgrade is not sent at all.
 */
function websocketUpgrade(http: readonly HttpRoute[]): NginxNode[] {
  const names = http.filter((r) => r.websockets).map((r) => r.fqdn);
  if (names.length === 0) return [c("No service declares websockets: no Upgrade header goes upstream.")];
  return [
    c("WebSocket upgrades, only for the services that declare websockets."),
    b("map", ["$server_name", "$ws_upgrade"], [d("default", ""), ...names.map((n) => d(n, "$http_upgrade"))]),
    b("map", ["$ws_upgrade", "$ws_connection"], [d("default", "upgrade"), d('""', "close")]),
    d("proxy_set_header", "Upgrade", "$ws_upgrade"),
    d("proxy_set_header", "Connection", "$ws_connection"),
  ];
}

/** One stream server for one TCP or UDP service. */
function streamServer(route: StreamRoute, listen: string): NginxDirective {
  return b(
    "server",
    [],
    [
      c(`${route.segment}/${route.service}, ${route.exposure} exposure`),
      ...untilNote(route.until),
      d("listen", `${listen}:${route.port}`, ...(route.proto === "udp" ? ["udp"] : [])),
      ...accessList(route.allow, route.exposure),
      d("proxy_pass", `${route.upstream.address}:${route.upstream.port}`),
    ],
  );
}

/**
 * Basic-auth passwords belong to the proxy, not to the backend (which may be an untrusted
 * sandbox host): routes the proxy guards with basic auth send no Authorization header
 * upstream. A map on the server name keeps every proxy_set_header at the http level, where
 * one server-level proxy_set_header would silently drop all the inherited ones.
 */
function stripAuthorization(http: readonly HttpRoute[]): NginxNode[] {
  const guarded = http.filter((r) => r.auth.kind === "basic").map((r) => r.fqdn);
  if (guarded.length === 0) return [];
  return [
    c("Passwords of the proxy's basic auth stay at the proxy: those routes send no Authorization upstream."),
    b("map", ["$server_name", "$upstream_authorization"], [d("default", "$http_authorization"), ...guarded.map((n) => d(n, ""))]),
    d("proxy_set_header", "Authorization", "$upstream_authorization"),
  ];
}

/**
 * The answer for a Host the proxy does not know: 421 with an empty body, so a probe can tell
 * "unknown name" from any real page, and nothing about the lab leaks.
 */
function unknownHostBody(): NginxNode[] {
  return [
    d("error_page", "421", "=421", "@unknown"),
    b("location", ["/"], [d("return", "421")]),
    b("location", ["@unknown"], [d("return", "200", "")]),
  ];
}

/** Where nginx shows its connection counters to the local nginx exporter, and nowhere else. */
export const NGINX_STATUS = { listen: "127.0.0.1:8080", path: "/stub_status" } as const;

/**
 * The address upstream connections leave from: the infra host's tunnel address, the only source
 * a router's tunnel accepts and translates for (its DMZ address only in a lab without the tunnel).
 */
function upstreamSource(plan: DmzPlan): string {
  return plan.tunnel?.address ?? plan.proxy.listen;
}

/** The http block's settings: logs, temp paths, TLS, and what the proxy sends upstream. */
function httpSettings(plan: DmzPlan, http: readonly HttpRoute[]): NginxNode[] {
  const { tls } = plan.proxy;
  return [
    d("default_type", "application/octet-stream"),
    d("server_tokens", "off"),
    c("Access log to the journal through /dev/log, which rotates it; no log file grows on the host."),
    d("access_log", "syslog:server=unix:/dev/log,nohostname,tag=nginx"),
    c("Temporary files under the unit's StateDirectory, never the compiled-in defaults."),
    d("client_body_temp_path", `${NGINX_STATE_DIR}/client_body`),
    d("proxy_temp_path", `${NGINX_STATE_DIR}/proxy`),
    d("fastcgi_temp_path", `${NGINX_STATE_DIR}/fastcgi`),
    d("uwsgi_temp_path", `${NGINX_STATE_DIR}/uwsgi`),
    d("scgi_temp_path", `${NGINX_STATE_DIR}/scgi`),
    c("Each published name sets its own body limit (maxBodyMiB); any other request gets nginx's 1 MiB."),
    d("client_max_body_size", "1m"),
    ...clientLimits(),
    blank,
    c(
      tls.kind === "acme"
        ? `One wildcard certificate for the domain, issued and renewed on this host by ACME (DNS-01, ${tls.dnsProvider}).`
        : `One certificate for the domain, placed by hand; it expires on ${tls.expires} and nothing renews it.`,
    ),
    d("ssl_certificate", tls.certificate),
    d("ssl_certificate_key", tls.key),
    d("ssl_protocols", "TLSv1.2", "TLSv1.3"),
    d("ssl_prefer_server_ciphers", "off"),
    d("ssl_session_cache", "shared:SSL:10m"),
    d("ssl_session_timeout", "1d"),
    d("ssl_session_tickets", "off"),
    blank,
    c(
      plan.tunnel
        ? "Upstream connections leave from the tunnel address, into the tunnel: the segment firewalls DNAT only traffic from it."
        : "Upstream connections leave from the proxy address: the segment firewalls DNAT only traffic from it.",
    ),
    d("proxy_bind", upstreamSource(plan)),
    d("proxy_http_version", "1.1"),
    d("proxy_set_header", "Host", "$host"),
    c("The proxy is the first hop the lab trusts: it overwrites X-Forwarded-For instead of appending a client's claim."),
    d("proxy_set_header", "X-Forwarded-For", "$remote_addr"),
    d("proxy_set_header", "X-Real-IP", "$remote_addr"),
    d("proxy_set_header", "X-Forwarded-Proto", "$scheme"),
    d("proxy_set_header", "X-Forwarded-Host", "$host"),
    ...stripAuthorization(http),
    ...websocketUpgrade(http),
    c("A backend that accepts no connection in 10 s, or is silent for a minute, is given up on."),
    d("proxy_connect_timeout", "10s"),
    d("proxy_read_timeout", "60s"),
    d("proxy_send_timeout", "60s"),
  ];
}

/**
 * What one client may hold: a few connections and little time. Slow clients are cut off
 * (the header within 10 s, each body read and each write within 30 s), idle keep-alive
 * connections close after 30 s, and one address holds at most PER_CLIENT_CONNECTIONS.
 */
function clientLimits(): NginxNode[] {
  return [
    c("Slow or idle clients are cut off, so they cannot hold the workers."),
    d("client_header_timeout", "10s"),
    d("client_body_timeout", "30s"),
    d("send_timeout", "30s"),
    d("keepalive_timeout", "30s"),
    d("reset_timedout_connection", "on"),
    c(`At most ${PER_CLIENT_CONNECTIONS} connections at once per client address, across every name; more get 429.`),
    d("limit_conn_zone", "$binary_remote_addr", `zone=${CLIENT_ZONE.http}:10m`),
    d("limit_conn", CLIENT_ZONE.http, String(PER_CLIENT_CONNECTIONS)),
    d("limit_conn_status", "429"),
  ];
}

/** The http block's servers: plain HTTP redirects, the unknown-Host answers, one TLS server per route, the status page. */
function httpServers(listen: string, http: readonly HttpRoute[]): NginxNode[] {
  const names = http.map((r) => r.fqdn);
  return [
    c("Plain HTTP: known names are sent to HTTPS; nothing is served in clear text."),
    ...(names.length > 0
      ? [b("server", [], [d("listen", `${listen}:80`), d("server_name", ...names), d("return", "301", "https://$host$request_uri")])]
      : []),
    b("server", [], [d("listen", `${listen}:80`, "default_server"), d("server_name", "_"), ...unknownHostBody()]),
    blank,
    c("HTTPS for a Host the proxy does not know."),
    b("server", [], [d("listen", `${listen}:443`, "ssl", "default_server"), d("server_name", "_"), ...unknownHostBody()]),
    ...http.flatMap((r): NginxNode[] => [blank, httpServer(r, listen)]),
    blank,
    c("Counters for the nginx exporter on this host; loopback only, so nothing outside can read them."),
    b(
      "server",
      [],
      [
        d("listen", NGINX_STATUS.listen),
        b("location", ["=", NGINX_STATUS.path], [d("stub_status")]),
        b("location", ["/"], [d("return", "404")]),
      ],
    ),
  ];
}

/** The whole nginx.conf of the DMZ proxy (checked with `nginx -t`). */
export function renderNginx(plan: DmzPlan): string {
  const { listen } = plan.proxy;
  // planDmz lists routes in this order already; sorting once here keeps the file independent of
  // the order of any plan it is given (the determinism tests render a shuffled one).
  const http = [...plan.proxy.http].sort((x, y) => compareText(x.fqdn, y.fqdn));
  const streams = [...plan.proxy.streams].sort(comparePorts);
  const httpBlock: NginxNode[] = [...httpSettings(plan, http), blank, ...httpServers(listen, http)];

  const root: NginxNode[] = [
    c("systemd supervises nginx in the foreground as the nginx user (the unit grants CAP_NET_BIND_SERVICE)."),
    d("daemon", "off"),
    c("systemd tracks the main process itself and nothing reads the pid file, but nginx -t writes it, so it"),
    c("lives in the state directory, which exists wherever the file is checked or run."),
    d("pid", `${NGINX_STATE_DIR}/nginx.pid`),
    c("Errors go to the journal."),
    d("error_log", "stderr", "warn"),
    d("worker_processes", "auto"),
    blank,
    b("events", [], [d("worker_connections", "1024")]),
    blank,
    b("http", [], httpBlock),
  ];
  if (streams.length > 0) {
    root.push(
      blank,
      b(
        "stream",
        [],
        [
          c(`TCP and UDP services: passed through unchanged, from the ${plan.tunnel ? "tunnel" : "proxy"} address (see proxy_bind above).`),
          d("proxy_bind", upstreamSource(plan)),
          c(`At most ${PER_CLIENT_STREAMS} connections (UDP: sessions) at once per client address.`),
          d("limit_conn_zone", "$binary_remote_addr", `zone=${CLIENT_ZONE.stream}:10m`),
          d("limit_conn", CLIENT_ZONE.stream, String(PER_CLIENT_STREAMS)),
          ...streams.flatMap((r): NginxNode[] => [blank, streamServer(r, listen)]),
        ],
      ),
    );
  }
  return `${generatedHeader("#", `nginx.conf of the DMZ reverse proxy (${listen})`, "render/nginx.ts")}\n${printNginx(root)}\n`;
}
