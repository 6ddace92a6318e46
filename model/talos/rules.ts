/** Talos rules: the cluster's control planes, workers and roles. */
import { LAB_FILE, own, type Segment } from "../lab";
import type { LabIndex } from "../lab-index";
import type { Talos } from "./schema";
import { joinPath, type Problem, problem } from "../problems";
import { list, type PathPart, type Rule, sp, type Where } from "../rule";
import { didYouMean } from "../suggest";
import { type ControlPlane, physicalDomain, quorumProblems } from "./quorum";
import { factoryImage, IMAGE_FACTORY, installerImage, schematicId } from "./schematic";
import { upgradeProblems } from "./waves";

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

/** The oldest Talos whose machine configuration has the documents the node patches use (HostnameConfig, LinkConfig, ...). */
const MIN_TALOS = [1, 12] as const;

function versionAtLeast(version: string, min: readonly [number, number]): boolean {
  const [major, minor] = version.replace(/^v/, "").split(".").map(Number) as [number, number];
  return major > min[0] || (major === min[0] && minor >= min[1]);
}

/** Each Talos VM: pinned, booted from the factory ISO of the cluster's schematic, with the guest agent only where the schematic has it. */
function talosVmProblems(ix: LabIndex, seg: Segment, t: Talos): Problem[] {
  const w = at(seg);
  const out: Problem[] = [];
  if (!versionAtLeast(t.talosVersion, MIN_TALOS)) {
    out.push(
      problem(
        w("talos.talosVersion"),
        t.talosVersion,
        `${seg.name}'s Talos cluster runs ${t.talosVersion}, but the node patches use the multi-document network configuration (HostnameConfig, LinkConfig, Layer2VIPConfig, ResolverConfig, TimeSyncConfig) that Talos has from v${MIN_TALOS.join(".")}.0`,
        `use Talos v${MIN_TALOS.join(".")}.0 or later`,
      ),
    );
  }
  const id = schematicId(t.schematic);
  const agent = t.schematic.officialExtensions.includes(QEMU_GUEST_AGENT);
  const images = new Map<string, string[]>();
  for (const name of [...t.controlPlanes, ...t.workers]) {
    const vm = own(seg.hosts, name)?.vm;
    if (!vm) continue;
    if (vm.ha) {
      out.push(
        problem(
          w("hosts", name, "vm.ha"),
          true,
          `${seg.name}/${name} is a Talos node, and Talos nodes are pinned: they run with CPU type host, which cannot live-migrate between the cluster's different CPUs, and an etcd member restarted elsewhere from a replica would have lost what it acknowledged; etcd's quorum and Kubernetes carry the cluster through a node's loss instead. ha defaults to true, so a Talos VM must say ha: false explicitly`,
          `add ha: false to hosts.${name}.vm`,
        ),
      );
    }
    if (vm.image !== undefined) images.set(vm.image, [...(images.get(vm.image) ?? []), `${seg.name}/${name}`]);
  }
  for (const [imageId, users] of images) {
    const image = own(ix.lab.hardware.proxmox.images, imageId);
    if (!image) continue; // vms.images names the unknown image
    const factory = factoryImage(image.url);
    if (image.kind !== "iso" || !factory || factory.id !== id) {
      out.push(
        problem(
          { file: LAB_FILE, path: joinPath("hardware.proxmox.images", imageId, "url") },
          image.url,
          `${list(users)} boot${users.length === 1 ? "s" : ""} ${imageId}, which is not an Image Factory ISO of ${seg.name}'s schematic ${id} (talos.schematic): a node must boot the schematic its installer image ${installerImage(id, t.talosVersion)} installs, or its extensions differ between the ISO and the installed system`,
          `use kind: iso and url: https://${IMAGE_FACTORY}/image/${id}/${t.talosVersion}/nocloud-amd64.iso (with its checksum), or change talos.schematic to the ISO's`,
        ),
      );
    }
    if (image.guestAgent && !agent) {
      out.push(
        problem(
          { file: LAB_FILE, path: joinPath("hardware.proxmox.images", imageId, "guestAgent") },
          true,
          `image ${imageId} of ${list(users)} says it runs the guest agent, but ${seg.name}'s schematic has no ${QEMU_GUEST_AGENT}: Proxmox would wait for an agent that never answers`,
          `add ${QEMU_GUEST_AGENT} to talos.schematic.officialExtensions (and boot the new schematic's ISO), or remove guestAgent`,
        ),
      );
    }
  }
  return out;
}

/** The extension that runs the QEMU guest agent on Talos. */
export const QEMU_GUEST_AGENT = "siderolabs/qemu-guest-agent";

export const talosNodes: Rule = {
  id: "talos.nodes",
  description: `A Talos cluster's version is v${MIN_TALOS.join(".")}.0 or later (the node patches use its multi-document network configuration); each Talos VM says ha: false (pinned: CPU type host, and etcd members are not restored from replicas), boots an Image Factory ISO of the cluster's schematic (its id in the URL, model/talos/schematic.ts), and says guestAgent only when the schematic has ${QEMU_GUEST_AGENT}.`,
  check(ix) {
    return ix.segments.flatMap((seg) => (seg.talos ? talosVmProblems(ix, seg, seg.talos) : []));
  },
};

export const talosUpgrade: Rule = {
  id: "talos.upgrade",
  description:
    "A version change can roll through the Talos cluster without downtime (model/talos/waves.ts): one control plane down still leaves an etcd majority; each disruption budget sets exactly one of maxUnavailable and minAvailable, lets at least one and not every replica be down, and counts no more replicas than there are workers (one per worker); upgrade.workersAtOnce leaves a worker up.",
  after: ["talos.cluster"],
  check(ix) {
    return ix.segments.flatMap((seg) => (seg.talos ? [...upgradeProblems(seg, seg.talos)] : []));
  },
};
