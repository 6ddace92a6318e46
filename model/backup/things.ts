/**
 * The lab's stateful things, derived from the model: what a rebuild from code would lose, so
 * the backup ledger must say how each is backed up. Never listed by hand:
 *
 * - every VM with state of its own: `vm.stateful`, or by default its role (statefulByRole);
 * - a data host's MariaDB (`mariadb`), its registry's storage (`registry`), every NFS export
 *   some storage entry mounts from it (`nfs:<path>`) and every Samba share (`smb:<share>`);
 * - a Talos cluster's etcd (`etcd`).
 *
 * The routers' and NixOS hosts' configurations are not among them: they are rendered from the
 * lab's repository (`backups.code` in homelab.yaml), which is their backup.
 */
import { type Lab, own, type Segment, segmentList } from "../lab";
import { resolveTarget } from "../network/flows";
import type { HostRole } from "../network/schema";

/** Roles whose VMs keep state of their own unless `vm.stateful` says otherwise. */
const STATEFUL_ROLES: ReadonlySet<HostRole> = new Set<HostRole>([
  "server",
  "database",
  "nas",
  "hypervisor",
  "monitoring",
  "vdi",
  "agent",
  "game-server",
]);

/** Whether a VM of this role keeps state by default: not a jump host, a mirror (a cache), a Talos node (etcd is the cluster's state) or a vip. */
export function statefulByRole(role: HostRole): boolean {
  return STATEFUL_ROLES.has(role);
}

/** What kind of stateful thing. */
export type ThingKind = "vm" | "mariadb" | "registry" | "nfs" | "smb" | "etcd";

/** One stateful thing of a segment. */
export interface StatefulThing {
  /** Its id in the segment's ledger: `vm:<host>`, `mariadb`, `registry`, `nfs:<path>`, `smb:<share>`, `etcd`. */
  readonly id: string;
  readonly kind: ThingKind;
  readonly segment: string;
  /** The host that holds it (the VM itself, the data host; a Talos cluster's first control plane's segment has none). */
  readonly host?: string;
  /** What it is, for messages and docs: `MariaDB databases gitea on internal/data`. */
  readonly what: string;
  /** Why it counts as stateful, for a VM: `role database` or `vm.stateful: true`. */
  readonly why: string;
}

/** The ledger id of a VM. */
export function vmThing(host: string): string {
  return `vm:${host}`;
}

/** The NFS exports some storage entry of the lab mounts from `seg`'s data host, sorted, once each. */
function nfsExports(lab: Lab, seg: Segment): string[] {
  const dh = seg.dataHost;
  if (!dh) return [];
  const paths = new Set<string>();
  for (const from of segmentList(lab)) {
    for (const st of Object.values(from.storage)) {
      if (st.protocol !== "nfs") continue;
      const to = resolveTarget(lab, st.server);
      if (to?.zone === seg.name && to.host === dh.host) paths.add(st.export);
    }
  }
  return [...paths].sort();
}

/** Every stateful thing of a segment, in a fixed order: VMs by host id, then the data host's things, then etcd. */
export function statefulThings(lab: Lab, seg: Segment): StatefulThing[] {
  const out: StatefulThing[] = [];
  for (const id of Object.keys(seg.hosts).sort()) {
    const h = seg.hosts[id]!;
    if (!h.vm) continue;
    const stateful = h.vm.stateful ?? statefulByRole(h.role);
    if (!stateful) continue;
    out.push({
      id: vmThing(id),
      kind: "vm",
      segment: seg.name,
      host: id,
      what: `the VM ${seg.name}/${id} (${h.description})`,
      why: h.vm.stateful === undefined ? `role ${h.role}` : "vm.stateful: true",
    });
  }
  const dh = seg.dataHost;
  if (dh && own(seg.hosts, dh.host)) {
    const on = `${seg.name}/${dh.host}`;
    const base = { segment: seg.name, host: dh.host, why: "served by the data host" };
    if (dh.mariadb)
      out.push({
        ...base,
        id: "mariadb",
        kind: "mariadb",
        what: `MariaDB databases ${[...new Set(dh.mariadb.databases)].sort().join(", ")} on ${on}`,
      });
    if (dh.registry) out.push({ ...base, id: "registry", kind: "registry", what: `the container registry's images on ${on}` });
    for (const path of nfsExports(lab, seg)) out.push({ ...base, id: `nfs:${path}`, kind: "nfs", what: `the NFS export ${path} on ${on}` });
    for (const share of Object.keys(dh.samba?.shares ?? {}).sort())
      out.push({ ...base, id: `smb:${share}`, kind: "smb", what: `the Samba share ${share} (${dh.samba!.shares[share]!.path}) on ${on}` });
  }
  if (seg.talos)
    out.push({
      id: "etcd",
      kind: "etcd",
      segment: seg.name,
      what: `etcd of the Talos cluster ${seg.talos.clusterName} (every Kubernetes object)`,
      why: "the cluster's state",
    });
  return out;
}
