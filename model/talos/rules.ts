/** Talos rules: the cluster's control planes, workers and roles. */
import { own, type Segment } from "../lab";
import type { LabIndex } from "../lab-index";
import type { Talos } from "./schema";
import { type Problem, problem } from "../problems";
import { list, type PathPart, type Rule, sp, type Where } from "../rule";
import { didYouMean } from "../suggest";
import { type ControlPlane, physicalDomain, quorumProblems } from "./quorum";

/** A path inside the segment's file. */
function at(seg: Segment): (...parts: PathPart[]) => Where {
  return (...parts) => ({ file: seg.file, path: sp(...parts) });
}

/** The number of control planes: odd and at least 3, for etcd's majority. */
function controlPlaneCount(seg: Segment, t: Talos): Problem[] {
  const w = at(seg);
  const out: Problem[] = [];
  const n = t.controlPlanes.length;
  if (n < 3 || n % 2 === 0) {
    out.push(
      problem(
        w("talos.controlPlanes"),
        t.controlPlanes,
        `${seg.name}'s Talos cluster has ${n} control plane${n === 1 ? "" : "s"}; etcd needs a majority, so use an odd number, at least 3 (3 tolerate 1 failure, 5 tolerate 2)`,
        n < 3 ? `add control planes until there are 3` : `use ${n + 1} control planes (or ${n - 1})`,
      ),
    );
  }
  return out;
}

/** Each listed member: listed once, a host of the segment with the right role and OS; control planes spread for etcd quorum. */
function memberProblems(ix: LabIndex, seg: Segment, t: Talos, listed: Set<string>): Problem[] {
  const w = at(seg);
  const out: Problem[] = [];
  const cps: ControlPlane[] = [];
  for (const [key, role, what] of [
    ["controlPlanes", "k8s-control-plane", "control plane"],
    ["workers", "k8s-worker", "worker"],
  ] as const) {
    t[key].forEach((name, i) => {
      const where = w("talos", key, i);
      if (listed.has(name)) {
        out.push(
          problem(
            where,
            name,
            `${name} is listed more than once in ${seg.name}'s Talos cluster; a node is either one control plane or one worker`,
            `remove the repeated ${name}`,
          ),
        );
        return;
      }
      listed.add(name);
      const h = own(seg.hosts, name);
      if (!h) {
        const candidates = Object.entries(seg.hosts)
          .filter(([, x]) => x.role === role)
          .map(([id]) => id);
        out.push(
          problem(
            where,
            name,
            `${name} is not a host of ${seg.name}${didYouMean(name, Object.keys(seg.hosts))} (its ${role} hosts: ${list(candidates)})`,
            `name a host of ${seg.name} with role ${role}, or add ${name} under hosts`,
          ),
        );
        return;
      }
      if (h.role !== role) {
        out.push(
          problem(
            where,
            name,
            `${seg.name}/${name} has role ${h.role}; a Talos ${what} must have role ${role}`,
            `set hosts.${name}.role to ${role}, or list ${name} where its role belongs`,
          ),
        );
      } else if (h.os !== "talos") {
        out.push(
          problem(
            w("hosts", name, "os"),
            h.os,
            `${seg.name}/${name} is a Talos ${what} but has os ${h.os}`,
            `set hosts.${name}.os to talos`,
          ),
        );
      }
      if (key === "controlPlanes") cps.push({ host: name, domain: h.vm ? h.vm.node : physicalDomain(name) });
    });
  }
  out.push(...quorumProblems(ix, seg, cps));
  return out;
}

/** Hosts with a Kubernetes role that the cluster does not list (or that have no cluster to join). */
function strayK8sHosts(seg: Segment, listed: ReadonlySet<string>): Problem[] {
  const w = at(seg);
  const t = seg.talos;
  const out: Problem[] = [];
  for (const [id, h] of Object.entries(seg.hosts)) {
    if ((h.role !== "k8s-control-plane" && h.role !== "k8s-worker") || listed.has(id)) continue;
    const key = h.role === "k8s-control-plane" ? "controlPlanes" : "workers";
    out.push(
      problem(
        w("hosts", id, "role"),
        h.role,
        t
          ? `${seg.name}/${id} has role ${h.role} but is not in talos.${key}, so it would never join the cluster`
          : `${seg.name}/${id} has role ${h.role} but ${seg.name} has no talos cluster`,
        t ? `add ${id} to talos.${key}, or change its role` : `add a talos section to ${seg.file}, or change the role`,
      ),
    );
  }
  return out;
}

export const talosCluster: Rule = {
  id: "talos.cluster",
  description:
    "A Talos cluster has an odd number (>= 3) of control planes, each a host of its segment with role k8s-control-plane and os talos, spread so that losing any one Proxmox node leaves an etcd majority (floor(n/2)+1 of n) up (model/talos/quorum.ts); each worker a host with role k8s-worker and os talos; no host twice; every k8s-* host belongs to the cluster. The VIP is checked with every other address (addresses.in-network, addresses.unique).",
  check(ix) {
    return ix.segments.flatMap((seg) => {
      const listed = new Set<string>();
      const t = seg.talos;
      const cluster = t ? [...controlPlaneCount(seg, t), ...memberProblems(ix, seg, t, listed)] : [];
      return [...cluster, ...strayK8sHosts(seg, listed)];
    });
  },
};
