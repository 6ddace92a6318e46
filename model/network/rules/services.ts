/**
 * Network rules about published services: backends exist, internet exposure has auth,
 * WAN and proxy ports do not collide, public names are unique.
 *
 * A service's backend port need not appear in the backend's `listens`: `listens` feeds
 * docs and the twin, hardware hosts have implied ports, and there is no warning level.
 */
import { own, type Segment, serviceFqdn, serviceProto } from "../../lab";
import type { LabIndex } from "../../lab-index";
import { type Problem, problem } from "../../problems";
import { duplicates, list, place, type Rule, sp, type Where } from "../../rule";
import { didYouMean } from "../../suggest";
import { wanPort } from "../hosts";

/** The first port >= `from` (skipping 22) not in `used`. */
export function freePort(used: ReadonlySet<number>, from: number): number | undefined {
  for (let p = Math.max(1, from); p <= 65535; p++) if (p !== 22 && !used.has(p)) return p;
  return undefined;
}

export const servicesBackends: Rule = {
  id: "services.backends",
  description:
    "Every published service's backend host is a host of its segment (configured hosts and the hardware in it). The backend port need not be in the host's listens (that list is for docs and the twin).",
  check(ix) {
    const out: Problem[] = [];
    for (const seg of ix.segments) {
      const ids = ix.hostIds(seg.name);
      for (const [id, s] of Object.entries(seg.services)) {
        if (ids.includes(s.backend.host)) continue;
        out.push(
          problem(
            { file: seg.file, path: sp("services", id, "backend.host") },
            s.backend.host,
            `service ${id}'s backend "${s.backend.host}" is not a host of ${seg.name}${didYouMean(s.backend.host, ids)} (hosts: ${list(ids)})`,
            `set backend.host to a host of ${seg.name}; a service is published from its own segment only`,
          ),
        );
      }
    }
    return out;
  },
};

export const servicesAuth: Rule = {
  id: "services.auth",
  description: "A service exposed to the internet has authentication (auth kind app or basic), or states in reason why it must be open.",
  check(ix) {
    const out: Problem[] = [];
    for (const seg of ix.segments) {
      for (const [id, s] of Object.entries(seg.services)) {
        if (s.exposure !== "internet" || s.auth.kind !== "none" || s.reason !== undefined) continue;
        out.push(
          problem(
            { file: seg.file, path: sp("services", id, "auth") },
            s.auth,
            `${seg.name} service ${id} is exposed to the internet with auth kind "none": anyone can use it; an internet-exposed service needs auth kind app or basic, or a stated reason`,
            `set auth to { kind: basic, realm: ${id} } or { kind: app, note: <how the app authenticates> }, or add reason: <why it must be open>; or set exposure: lab`,
          ),
        );
      }
    }
    return out;
  },
};

export const servicesUsedBy: Rule = {
  id: "services.used-by",
  description:
    "A service's usedBy names segments of the lab, and only for a lab-exposed service (anyone may use an internet one, no segment an admins one). A service an untrusted segment uses has authentication (auth kind app or basic), or states in reason why it may be open to that segment.",
  check(ix) {
    const { lab } = ix;
    const out: Problem[] = [];
    const names = Object.keys(lab.segments);
    for (const seg of ix.segments) {
      for (const [id, s] of Object.entries(seg.services)) {
        if (s.usedBy === undefined) continue;
        if (s.exposure === "internet") {
          out.push(
            problem(
              { file: seg.file, path: sp("services", id, "usedBy") },
              s.usedBy,
              `${seg.name} service ${id} is exposed to the internet, where anyone may use it; usedBy names the segments that may use a lab-exposed service`,
              "remove usedBy, or set exposure: lab to admit only the segments it lists",
            ),
          );
          continue;
        }
        if (s.exposure === "admins") {
          out.push(
            problem(
              { file: seg.file, path: sp("services", id, "usedBy") },
              s.usedBy,
              `${seg.name} service ${id} is exposed to the admins' workstations only, which no segment's hosts are; usedBy names the segments that may use a lab-exposed service`,
              "remove usedBy, or set exposure: lab to admit the segments it lists besides the admins",
            ),
          );
          continue;
        }
        s.usedBy.forEach((user, i) => {
          if (own(lab.segments, user)) return;
          out.push(
            problem(
              { file: seg.file, path: sp("services", id, "usedBy", i) },
              user,
              `${seg.name} service ${id}'s user "${user}" is not a segment of the lab${didYouMean(user, names)} (segments: ${list(names)})`,
              "name a segment whose hosts use the service through the proxy",
            ),
          );
        });
        const untrusted = [...new Set(s.usedBy)].filter((u) => own(lab.segments, u)?.trust === "untrusted").sort();
        if (untrusted.length === 0 || s.auth.kind !== "none" || s.reason !== undefined) continue;
        out.push(
          problem(
            { file: seg.file, path: sp("services", id, "auth") },
            s.auth,
            `${seg.name} service ${id} has auth kind "none" and is used by the untrusted ${list(untrusted)}: anything there can use it; a service an untrusted segment uses needs auth kind app or basic, or a stated reason`,
            `give it authentication (auth: { kind: app, note: <how the app authenticates> }), or add reason: <why ${list(untrusted)} may use it unauthenticated>, or remove ${list(untrusted)} from usedBy`,
          ),
        );
      }
    }
    return out;
  },
};

/** A stream the proxy listens for, and where it is configured. */
type StreamPort = Where & { key: string; label: string };

/** WAN ports of one router that two services claim for different backends, or that take the jump host's 22/tcp. */
function wanPortClashes(ix: LabIndex, seg: Segment): Problem[] {
  const out: Problem[] = [];
  const addr = new Map(ix.hostsOf(seg.name).map((h) => [h.id, h.address]));
  const used = new Map<string, { id: string; backend: string; where: Where }>();
  // Every WAN port this router forwards, so a suggested port collides with no service, earlier or later.
  const usedPorts = (proto: string) =>
    new Set(
      Object.values(seg.services)
        .filter((x) => serviceProto(x) === proto)
        .map(wanPort),
    );
  for (const id of Object.keys(seg.services).sort()) {
    const s = seg.services[id]!;
    const proto = serviceProto(s);
    const port = wanPort(s);
    const where = { file: seg.file, path: sp("services", id, "wanPort") };
    const whence = s.wanPort === undefined ? ` (wanPort defaults to backend.port)` : "";
    if (port === 22 && proto === "tcp") {
      out.push(
        problem(
          where,
          port,
          `service ${id} would take WAN port 22/tcp on ${seg.router.name}${whence}; that port is the DNAT to ${seg.name}'s jump host, the admins' only way in`,
          `set wanPort to a free port, e.g. ${freePort(usedPorts("tcp"), 2222)}`,
        ),
      );
      continue;
    }
    const backendAddr = addr.get(s.backend.host);
    if (backendAddr === undefined) continue; // services.backends
    const backend = `${backendAddr}:${s.backend.port}`;
    const key = `${port}/${proto}`;
    const prev = used.get(key);
    if (prev && prev.backend !== backend) {
      out.push(
        problem(
          where,
          port,
          `service ${id} needs WAN port ${key} on ${seg.router.name} (${seg.router.wanAddress})${whence} for its backend ${backend}, but ${prev.id} (${place(prev.where)}) already forwards it to ${prev.backend}; services share a WAN port only with the same backend address and port`,
          `set wanPort of ${id} to a free port, e.g. ${freePort(usedPorts(proto), port < 1024 ? 8080 : port + 1)}`,
        ),
      );
    } else if (!prev) used.set(key, { id, backend, where });
  }
  return out;
}

/** The stream ports of one segment's services, and those that take the proxy's HTTP ports. */
function proxyStreams(seg: Segment): { problems: Problem[]; streams: StreamPort[] } {
  const out: Problem[] = [];
  const streams: StreamPort[] = [];
  for (const id of Object.keys(seg.services).sort()) {
    const s = seg.services[id]!;
    if (s.kind === "http") continue;
    const where = { file: seg.file, path: sp("services", id, "port") };
    if (s.kind === "tcp" && (s.port === 80 || s.port === 443)) {
      out.push(
        problem(
          where,
          s.port,
          `${s.kind} service ${id} asks the proxy to listen on ${s.port}/tcp, where it serves HTTP and HTTPS for every http service`,
          `use another port for the stream, or publish it as kind: http`,
        ),
      );
      continue;
    }
    streams.push({ ...where, key: `${s.port}/${s.kind}`, label: `${seg.name} service ${id}` });
  }
  return { problems: out, streams };
}

export const servicesPorts: Rule = {
  id: "services.ports",
  description:
    "On each router, two services share a WAN port and protocol only when they share the backend address and port (one DNAT); WAN port 22/tcp is the jump host's entry; stream (tcp/udp) proxy ports are unique lab-wide per protocol and never 80/443 tcp, which the proxy serves HTTP on.",
  check(ix) {
    const out: Problem[] = [];
    const streams: StreamPort[] = [];
    for (const seg of ix.segments) {
      const mine = proxyStreams(seg);
      out.push(...wanPortClashes(ix, seg), ...mine.problems);
      streams.push(...mine.streams);
    }
    out.push(
      ...duplicates(
        streams,
        (s) => s.key,
        (dup, first) => {
          const [, proto] = dup.key.split("/");
          const usedSet = new Set(streams.filter((s) => s.key.endsWith(`/${proto}`)).map((s) => Number(s.key.split("/")[0])));
          const port = Number(dup.key.split("/")[0]);
          return problem(
            dup,
            port,
            `${dup.label} asks the proxy to listen on ${dup.key}, which ${first.label} (${place(first)}) already uses; the proxy has one listener per port and protocol`,
            `use a free port, e.g. ${freePort(usedSet, port + 1)}`,
          );
        },
      ),
    );
    return out;
  },
};

export const servicesNames: Rule = {
  id: "services.names",
  description:
    "Every HTTP service's public name (<hostname or id>.<domain>) is unique lab-wide and is not a name the DMZ already serves (infra, dns, ntp, proxy, a router's WAN entry).",
  check(ix) {
    const { lab } = ix;
    const reserved = ix.dmzLabels;
    const names: (Where & { fqdn: string; label: string; value: string })[] = [];
    const out: Problem[] = [];
    for (const seg of ix.segments) {
      for (const id of Object.keys(seg.services).sort()) {
        const s = seg.services[id]!;
        if (s.kind !== "http") continue;
        const hostname = s.hostname ?? id;
        const where = { file: seg.file, path: sp("services", id, ...(s.hostname ? ["hostname"] : [])) };
        const clash = reserved.get(hostname);
        if (clash) {
          out.push(
            problem(
              where,
              hostname,
              `service ${id} of ${seg.name} would be ${hostname}.${lab.domain}, which is ${clash.what} (${place(clash)})`,
              `set hostname to another name, e.g. ${hostname}-web`,
            ),
          );
          continue;
        }
        names.push({ ...where, fqdn: serviceFqdn(lab, id, s), label: `${seg.name} service ${id}`, value: hostname });
      }
    }
    out.push(
      ...duplicates(
        names,
        (n) => n.fqdn,
        (dup, first) =>
          problem(
            dup,
            dup.value,
            `${dup.label} is published as ${dup.fqdn}, like ${first.label} (${place(first)}); each HTTP name routes to one service`,
            `set hostname to a distinct name, e.g. ${dup.value}-2`,
          ),
      ),
    );
    return out;
  },
};
