/**
 * A segment's Talos cluster as the component declares it: who is a control plane and who a
 * worker, each node's static address, link and install disk, the API VIP and endpoint, the DMZ's
 * DNS and NTP servers, the versions, and the one schematic every node boots and installs (its
 * content-addressed id pinned in the installer image). Pure: render/talos-patches.ts turns each
 * node into its configuration patch; components/talos-cluster.ts declares it.
 */
import type { Machine } from "../compute/machine";
import { type Lab, type Segment } from "../lab";
import { installerImage, renderSchematic, schematicId } from "./schematic";

/** The port of the Kubernetes API on the VIP and every control plane. */
export const KUBERNETES_API_PORT = 6443;
/** The port of the Talos API (apid) on every node. */
export const TALOS_API_PORT = 50000;

/** A node's machine type, in the provider's words. */
export type TalosMachineType = "controlplane" | "worker";

/** One Talos node. */
export interface TalosNode {
  /** The host id in the segment, also its host name and the suffix of its Pulumi resources. */
  readonly host: string;
  readonly type: TalosMachineType;
  readonly address: string;
  /** The segment's prefix length: the node's address is `address/prefix`. */
  readonly prefix: number;
  /** The segment router's LAN address: the default route. */
  readonly gateway: string;
  /**
   * The MAC of the node's cluster link: a VM's bridged NIC gets it from Proxmox; a worker whose NIC
   * is passed through has the NIC's own, which its host's `mac` must be. Talos finds the link by it.
   */
  readonly mac: string;
  /** The Proxmox node its VM runs on; undefined for a physical node. */
  readonly proxmoxNode?: string;
  /** The disk Talos installs to: the VM's root disk (`scsi0` is `/dev/sda`); undefined keeps Talos's default. */
  readonly installDisk?: string;
  /** Kubernetes node labels, sorted by key. */
  readonly labels: Readonly<Record<string, string>>;
}

/** A segment's Talos cluster, planned. */
export interface TalosClusterPlan {
  readonly segment: string;
  readonly clusterName: string;
  readonly vip: string;
  /** `https://<vip>:6443`: the cluster endpoint in every machine configuration and the kubeconfig. */
  readonly endpoint: string;
  /** The Talos version installed, `v1.13.0`; also the machine-configuration contract. */
  readonly talosVersion: string;
  /** The Kubernetes version, without a leading `v` (`1.35.0`), as the provider takes it. */
  readonly kubernetesVersion: string;
  readonly schematic: {
    /** The content-addressed id: the nodes' ISO URL names it, and so does the installer image. */
    readonly id: string;
    readonly officialExtensions: readonly string[];
    /** The schematic as the factory hashes it. */
    readonly yaml: string;
  };
  /** `factory.talos.dev/installer/<schematic id>:<talos version>`. */
  readonly installerImage: string;
  /** The DMZ's DNS server, the only resolver the segment's flows allow. */
  readonly nameservers: readonly string[];
  /** The DMZ's NTP server. */
  readonly timeServers: readonly string[];
  /** Control planes in the model's order: the first is the one bootstrapped. */
  readonly controlPlanes: readonly TalosNode[];
  readonly workers: readonly TalosNode[];
}

/** SCSI slot `scsiN` as Linux names it: scsi0 is /dev/sda. */
function scsiDevice(slot: string): string | undefined {
  const m = /^scsi(\d+)$/.exec(slot);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n < 26 ? `/dev/sd${String.fromCharCode(97 + n)}` : undefined;
}

/** Plan the segment's Talos cluster; undefined when it has none. The lab must be valid. */
export function planTalosCluster(lab: Lab, seg: Segment, machines: readonly Machine[]): TalosClusterPlan | undefined {
  const t = seg.talos;
  if (!t) return undefined;
  const vmOf = new Map(machines.filter((m) => m.stack === seg.name).map((m) => [m.host, m]));
  const node = (host: string, type: TalosMachineType): TalosNode => {
    const h = seg.hosts[host]!;
    const vm = vmOf.get(host);
    const disk = vm ? scsiDevice(vm.disks[0]!.interface) : undefined;
    return {
      host,
      type,
      address: h.address,
      prefix: seg.subnet.prefix,
      gateway: seg.router.lanAddress,
      mac: h.mac!.toLowerCase(),
      ...(vm ? { proxmoxNode: vm.node } : {}),
      ...(disk ? { installDisk: disk } : {}),
      // The hypervisor is the failure domain: spreading a workload over zones spreads it over Proxmox nodes.
      labels: {
        "topology.kubernetes.io/region": lab.hardware.proxmox.cluster,
        "topology.kubernetes.io/zone": vm ? vm.node : host,
      },
    };
  };
  const id = schematicId(t.schematic);
  return {
    segment: seg.name,
    clusterName: t.clusterName,
    vip: t.vip,
    endpoint: `https://${t.vip}:${KUBERNETES_API_PORT}`,
    talosVersion: t.talosVersion,
    kubernetesVersion: t.kubernetesVersion.replace(/^v/, ""),
    schematic: { id, officialExtensions: [...t.schematic.officialExtensions], yaml: renderSchematic(t.schematic) },
    installerImage: installerImage(id, t.talosVersion),
    nameservers: [lab.dmz.dns],
    timeServers: [lab.dmz.ntp],
    controlPlanes: t.controlPlanes.map((h) => node(h, "controlplane")),
    workers: t.workers.map((h) => node(h, "worker")),
  };
}

/** Every node, control planes first. */
export function talosNodes(plan: TalosClusterPlan): TalosNode[] {
  return [...plan.controlPlanes, ...plan.workers];
}
