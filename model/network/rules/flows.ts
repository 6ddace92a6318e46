/**
 * Network rules about what crosses routers: explicit flow targets and sources, storage
 * servers and consumers, and the stated reasons an untrusted segment owes.
 *
 * A flow whose target lies in its own segment is a mistake: no router sees that traffic.
 * Storage must be served by one host of a segment, never a whole segment or the DMZ.
 */
import { DMZ_STACK, type Lab, own, showPort } from "../../lab";
import { type Problem, problem } from "../../problems";
import { eg, list, type PathPart, type Rule, sp } from "../../rule";
import { didYouMean, suggest } from "../../suggest";
import { DATA_PORTS } from "../../data/ports";
import { type Endpoint, resolveTarget, STORAGE_PORTS } from "../flows";

export const flowsTargets: Rule = {
  id: "flows.targets",
  description:
    "Every explicit flow's `to` resolves (dmz, dmz/<name>, <segment>, <segment>/<host>) to somewhere outside its own segment (traffic inside a segment never crosses a router), and each `from` names a host of the segment.",
  check(ix) {
    const { lab } = ix;
    const out: Problem[] = [];
    for (const seg of ix.segments) {
      const ids = ix.hostIds(seg.name);
      for (const [id, f] of Object.entries(seg.flows)) {
        const to = resolveTarget(lab, f.to);
        const where = { file: seg.file, path: sp("flows", id, "to") };
        if (!to) {
          const targets = ix.targets;
          out.push(
            problem(
              where,
              f.to,
              `flow ${id}'s target "${f.to}" names nothing in the lab (a target is dmz, dmz/<infra|dns|ntp|proxy|router>, <segment> or <segment>/<host>; segments: ${list(Object.keys(lab.segments))})${didYouMean(f.to, targets)}`,
              suggest(f.to, targets) ? `set to: ${suggest(f.to, targets)}` : "name an existing segment or host",
            ),
          );
        } else if (to.zone === seg.name) {
          out.push(
            problem(
              where,
              f.to,
              `flow ${id} goes from ${seg.name} to ${f.to}, inside ${seg.name} itself; that traffic never crosses the router, so the flow allows nothing`,
              `remove the flow, or point it at another segment or the DMZ`,
            ),
          );
        }
        (f.from ?? []).forEach((src, i) => {
          if (ids.includes(src)) return;
          out.push(
            problem(
              { file: seg.file, path: sp("flows", id, "from", i) },
              src,
              `flow ${id}'s source "${src}" is not a host of ${seg.name}${didYouMean(src, ids)} (hosts: ${list(ids)})`,
              `name a host of ${seg.name}, or leave out from to allow the whole segment`,
            ),
          );
        });
      }
    }
    return out;
  },
};

/** The endpoint a storage `server` names, when it is one host of a segment (not a whole segment, not the DMZ). */
export function storageServer(lab: Lab, server: string): Endpoint | undefined {
  const to = resolveTarget(lab, server);
  return to?.host !== undefined && to.zone !== DMZ_STACK ? to : undefined;
}

/** A plausible server for a broken `server` value: the did-you-mean, the named segment's data host, or a host of it that listens on the protocol's port. */
export function storageExample(lab: Lab, server: string, protocol: "nfs" | "smb", servers: readonly string[]): string | undefined {
  const hint = suggest(server, servers);
  if (hint) return hint;
  const seg = own(lab.segments, server.split("/")[0] ?? "");
  if (!seg) return undefined;
  // The segment's data host serves NFS and SMB; otherwise a host that listens on the protocol's port.
  if (seg.dataHost) return `${seg.name}/${seg.dataHost.host}`;
  const port = showPort(STORAGE_PORTS[protocol]);
  const host = Object.entries(seg.hosts).find(([, h]) => h.listens.includes(port));
  return host ? `${seg.name}/${host[0]}` : undefined;
}

export const storageTargets: Rule = {
  id: "storage.targets",
  description:
    "Every storage mount's server is one host of a segment (<segment>/<host>, not a whole segment or the DMZ), and each consumer is a host of the mounting segment.",
  check(ix) {
    const { lab } = ix;
    const out: Problem[] = [];
    // Did-you-mean candidates, only for a server that needs one.
    const servers = () => ix.targets.filter((t) => storageServer(lab, t));
    for (const seg of ix.segments) {
      const ids = ix.hostIds(seg.name);
      for (const [id, st] of Object.entries(seg.storage)) {
        if (!storageServer(lab, st.server)) {
          const candidates = servers();
          const example = storageExample(lab, st.server, st.protocol, candidates);
          out.push(
            problem(
              { file: seg.file, path: sp("storage", id, "server") },
              st.server,
              `storage ${id}'s server "${st.server}" is not a host of a segment (a server is <segment>/<host>, the one machine that exports the ${st.protocol.toUpperCase()} share)${didYouMean(st.server, candidates)}`,
              `name the host that serves ${st.export}${eg(example)}`,
            ),
          );
        }
        st.consumers.forEach((c, i) => {
          if (ids.includes(c)) return;
          out.push(
            problem(
              { file: seg.file, path: sp("storage", id, "consumers", i) },
              c,
              `storage ${id}'s consumer "${c}" is not a host of ${seg.name}${didYouMean(c, ids)} (hosts: ${list(ids)})`,
              `name a host of ${seg.name}; a segment mounts storage for its own hosts only`,
            ),
          );
        });
      }
    }
    return out;
  },
};

export const untrustedReasons: Rule = {
  id: "untrusted.reasons",
  description:
    "An untrusted segment opens nothing into another segment or the DMZ without a stated reason: explicit flows always carry one (the schema requires it), and a storage mount from an untrusted segment needs `reason` when its server is in another segment.",
  check(ix) {
    const { lab } = ix;
    const out: Problem[] = [];
    for (const seg of ix.segments) {
      if (seg.trust !== "untrusted") continue;
      for (const [id, st] of Object.entries(seg.storage)) {
        const server = storageServer(lab, st.server);
        if (!server || server.zone === seg.name || st.reason !== undefined) continue;
        const port = showPort(STORAGE_PORTS[st.protocol]);
        out.push(
          problem(
            { file: seg.file, path: sp("storage", id, "reason") },
            undefined,
            `${seg.name} is untrusted, and mounting ${st.protocol.toUpperCase()} ${st.export} from ${st.server} opens ${port} from ${list(st.consumers)} into ${server.zone}; an untrusted segment needs a stated reason for every opening`,
            `add reason: <why ${seg.name} must mount ${st.export}> (at least 10 characters), or serve the data from inside ${seg.name}`,
          ),
        );
      }
    }
    return out;
  },
};

export const segmentsIsolated: Rule = {
  id: "segments.isolated",
  description:
    "An isolated segment (isolated: true) opens no flow into another segment: no explicit flow, storage mount, MariaDB login or registry client of its hosts ends in another segment's network. Its hosts use other segments' services by name through the proxy only (a lab-exposed service lists it in usedBy), so nothing it runs can connect to another network's hosts.",
  after: ["flows.targets", "storage.targets"],
  check(ix) {
    const { lab } = ix;
    const out: Problem[] = [];
    const isolated = ix.segments.filter((s) => s.isolated);
    const proxied = (seg: { name: string }) =>
      `publish what ${seg.name} needs as a lab-exposed service with usedBy: [${seg.name}], which its hosts reach by name through the proxy, or set isolated: false`;
    for (const seg of isolated) {
      for (const [id, f] of Object.entries(seg.flows)) {
        const to = resolveTarget(lab, f.to);
        if (!to || to.zone === seg.name || !own(lab.segments, to.zone)) continue;
        out.push(
          problem(
            { file: seg.file, path: sp("flows", id, "to") },
            f.to,
            `${seg.name} is isolated, and flow ${id} goes to ${f.to}, into ${to.zone}: an isolated segment opens no flow into another segment`,
            `remove the flow; ${proxied(seg)}`,
          ),
        );
      }
      for (const [id, st] of Object.entries(seg.storage)) {
        const server = storageServer(lab, st.server);
        if (!server || server.zone === seg.name) continue;
        out.push(
          problem(
            { file: seg.file, path: sp("storage", id, "server") },
            st.server,
            `${seg.name} is isolated, and storage ${id} mounts ${st.protocol.toUpperCase()} ${st.export} from ${st.server}, which opens ${showPort(STORAGE_PORTS[st.protocol])} into ${server.zone}: an isolated segment opens no flow into another segment`,
            `serve the data from inside ${seg.name}, or set isolated: false`,
          ),
        );
      }
    }
    if (isolated.length === 0) return out;
    // A data host elsewhere that lets a host of an isolated segment log in or push opens its port to it.
    for (const seg of ix.segments) {
      const dh = seg.dataHost;
      if (!dh) continue;
      const sources: { path: PathPart[]; text: string; what: string; port: number }[] = [
        ...Object.entries(dh.mariadb?.users ?? {}).flatMap(([user, u]) =>
          u.from.map((text, i) => ({
            path: ["dataHost", "mariadb", "users", user, "from", i],
            text,
            what: `MariaDB user ${user}`,
            port: DATA_PORTS.mariadb,
          })),
        ),
        ...(dh.registry?.clients ?? []).map((text, i) => ({
          path: ["dataHost", "registry", "clients", i],
          text,
          what: "the registry",
          port: dh.registry!.port,
        })),
      ];
      for (const s of sources) {
        const from = resolveTarget(lab, s.text);
        const src = from && from.zone !== seg.name ? isolated.find((i) => i.name === from.zone) : undefined;
        if (!src) continue;
        out.push(
          problem(
            { file: seg.file, path: sp(...s.path) },
            s.text,
            `${s.what} on ${seg.name}/${dh.host} takes ${s.text} as a source, in the isolated ${src.name}: that opens ${s.port}/tcp into ${seg.name}; an isolated segment opens no flow into another segment`,
            `remove ${s.text}, or set isolated: false in ${src.file}`,
          ),
        );
      }
    }
    return out;
  },
};
