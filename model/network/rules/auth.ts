/**
 * Network rules about authentication the proxy cannot enforce. Basic auth is an nginx
 * feature of HTTP servers only: a stream has none, a realm of `off` turns it off, and a
 * realm with `$` is read as variables. And basic auth exists only at the proxy, so a
 * backend is open to every path that does not pass the proxy: the other boxes of its own
 * network (no router between them) and any flow straight to it.
 */
import { type PortSpec, type Segment, serviceProto, showPort } from "../../lab";
import { count, type Problem, problem } from "../../problems";
import type { LabIndex } from "../../lab-index";
import { type Rule, sp } from "../../rule";
import { type Flow, planFlows } from "../flows";
import { findHostAddress } from "../hosts";

/** Why nginx would not enforce this basic auth, or undefined when it would. */
function unenforced(kind: "http" | "tcp" | "udp", realm: string): { message: string; fix: string; field: string } | undefined {
  if (kind !== "http") {
    return {
      field: "auth",
      message: `nginx's stream module has no basic auth: the proxy would pass every ${kind} connection through unauthenticated`,
      fix: `let the application authenticate and write auth: { kind: app, note: <how it authenticates> }, or publish it as kind: http if it speaks HTTP`,
    };
  }
  if (realm === "off") {
    return {
      field: "auth.realm",
      message: `nginx reads "auth_basic off" as "no authentication": a realm of off turns basic auth off`,
      fix: `set realm to another name, e.g. the service id`,
    };
  }
  if (realm.includes("$")) {
    return {
      field: "auth.realm",
      message: `nginx expands "$" in a realm as a variable, so the realm is not the text written (and an empty expansion reads as no realm)`,
      fix: `set realm to a name without "$", e.g. ${realm.replace(/\$/g, "") || "the service id"}`,
    };
  }
  return undefined;
}

export const servicesAuthEnforced: Rule = {
  id: "services.auth-enforced",
  description:
    'Basic auth is asked for only where nginx enforces it: on HTTP services (the stream module has none), with a realm other than "off" (which disables it) and without "$" (a variable).',
  check(ix) {
    const out: Problem[] = [];
    for (const seg of ix.segments) {
      for (const id of Object.keys(seg.services).sort()) {
        const s = seg.services[id]!;
        if (s.auth.kind !== "basic") continue;
        const why = unenforced(s.kind, s.auth.realm);
        if (!why) continue;
        const value = why.field === "auth" ? s.auth : s.auth.realm;
        out.push(
          problem(
            { file: seg.file, path: sp("services", id, why.field) },
            value,
            `${seg.name} service ${id} asks for basic auth, but ${why.message}`,
            why.fix,
          ),
        );
      }
    }
    return out;
  },
};

/**
 * Where a planned flow is configured, from its id (`flow:<segment>/<id>[/<source>]`,
 * `storage:<segment>/<id>/<consumer>`, `publish:<segment>/<id>`, a data host's database and registry
 * clients); the id itself otherwise.
 */
function flowOrigin(flow: Flow, segments: readonly Segment[]): string {
  const [, rest = ""] = flow.id.split(":");
  const [segName, id, user] = rest.split("/");
  const seg = segments.find((s) => s.name === segName);
  if (!seg || id === undefined) return flow.id;
  // A data host's clients are configured on the data host: `database:<segment>/<host>/<user>/...`, `registry:<segment>/<host>/...`.
  if (flow.kind === "database" && user !== undefined) return `${seg.file} ${sp("dataHost", "mariadb", "users", user, "from")}`;
  if (flow.kind === "registry") return `${seg.file} ${sp("dataHost", "registry", "clients")}`;
  const key = flow.kind === "explicit" ? "flows" : flow.kind === "storage" ? "storage" : flow.kind === "publish" ? "services" : undefined;
  if (key === undefined) return flow.id;
  return `${seg.file} ${sp(key, id)}`;
}

/** The flows by where they are configured, each with its sources: `<place> from a, b`. */
function describeFlows(flows: readonly Flow[], segments: readonly Segment[]): string {
  const byOrigin = new Map<string, string[]>();
  for (const f of flows) {
    const origin = flowOrigin(f, segments);
    byOrigin.set(origin, [...(byOrigin.get(origin) ?? []), f.from.label]);
  }
  return [...byOrigin].map(([origin, from]) => `${origin} from ${from.join(", ")}`).join("; ");
}

/** The flows other than the service's own publish flow that reach `address` on `port`. */
function bypasses(flows: readonly Flow[], own: string, address: string, port: PortSpec): Flow[] {
  return flows.filter(
    (f) =>
      f.id !== own && f.to.cidrs.some((c) => c.contains(address)) && f.ports.some((p) => p.port === port.port && p.proto === port.proto),
  );
}

/** Hosts named one by one before the rest are counted. */
const PEERS_NAMED = 10;

/** Every other box on `seg`'s network, which reaches `backend` with no router between: hosts (in address order), then the DHCP pool. */
function segmentPeers(ix: LabIndex, seg: Segment, backend: string): string[] {
  const hosts = ix.hostsOf(seg.name).filter((h) => h.id !== backend);
  const rest = hosts.length - PEERS_NAMED;
  return [
    ...hosts.slice(0, PEERS_NAMED).map((h) => `${seg.name}/${h.id} (${h.address})`),
    ...(rest > 0 ? [count(rest, "other host")] : []),
    `any device that takes a lease from its DHCP pool ${seg.dhcp.start}-${seg.dhcp.end}`,
  ];
}

/** `a`, `a and b`, `a, b and c`. */
function andList(items: readonly string[]): string {
  return items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]!}`;
}

export const servicesAuthBypass: Rule = {
  id: "services.auth-bypass",
  description:
    "A service is not protected by the proxy's basic auth alone: basic auth exists only at the proxy, and every other box on the backend's own network (its hosts, and any device that takes a DHCP lease) reaches the backend directly without passing any router, as does any flow straight to the backend's port (an explicit flow, storage, another service's DNAT). Nothing the lab models isolates boxes inside a segment (a per-VM firewall), so such a backend must authenticate itself (auth kind app).",
  after: ["services.backends", "flows.targets", "storage.targets", "ssh.jump-hosts"],
  check(ix) {
    const flows = planFlows(ix.lab);
    const out: Problem[] = [];
    for (const seg of ix.segments) {
      for (const id of Object.keys(seg.services).sort()) {
        const s = seg.services[id]!;
        if (s.auth.kind !== "basic") continue;
        const port: PortSpec = { port: s.backend.port, proto: serviceProto(s) };
        const backend = `${seg.name}/${s.backend.host} ${showPort(port)}`;
        const direct = bypasses(flows, `publish:${seg.name}/${id}`, findHostAddress(ix.lab, seg, s.backend.host), port);
        const byFlows = direct.length === 0 ? "" : `; and flows reach it past the proxy: ${describeFlows(direct, ix.segments)}`;
        out.push(
          problem(
            { file: seg.file, path: sp("services", id, "auth") },
            s.auth,
            `${seg.name} service ${id} relies on the proxy's basic auth, but basic auth exists only at the proxy: its backend ${backend} is reached with no password by every other box on the ${seg.name} network, which needs no router to reach it: ${andList(segmentPeers(ix, seg, s.backend.host))}${byFlows}. Nothing the lab models isolates boxes inside a segment (a per-VM firewall)`,
            `make the backend authenticate every client itself (its own login, htpasswd or token auth) and write auth: { kind: app, note: <how it authenticates> }`,
          ),
        );
      }
    }
    return out;
  },
};
