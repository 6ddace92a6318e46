/**
 * The segment's Talos Kubernetes cluster, on the VMs the compute part declared: the Talos
 * provider, the TalosCluster component, and its outputs (the kubeconfig and talosconfig as
 * secrets, the node list in plain). Later parts (the upgrade roll, the Kubernetes platform)
 * take the component from `provided.talos`.
 */
import * as pulumi from "@pulumi/pulumi";
import { TalosCluster } from "../../components/talos-cluster";
import * as talos from "../../providers/talos";
import { OUTPUTS } from "../contracts";
import type { SegmentPart } from "./part";

/** The Talos cluster: the part applies when the segment's model has a `talos` section. */
export const talosCluster: SegmentPart = {
  id: "talos",
  applies: ({ planned, segment }) => planned.talos[segment.name] !== undefined,
  declare({ planned, segment }, provided) {
    const plan = planned.talos[segment.name]!;
    const provider = new talos.Provider("talos");
    const cluster = new TalosCluster(plan.clusterName, { plan, ...(provided.vms ? { vms: provided.vms } : {}) }, { providers: [provider] });
    return {
      provides: { talos: cluster },
      outputs: {
        [OUTPUTS.talos]: {
          clusterName: plan.clusterName,
          endpoint: plan.endpoint,
          talosVersion: plan.talosVersion,
          kubernetesVersion: plan.kubernetesVersion,
          schematic: plan.schematic.id,
          installerImage: plan.installerImage,
          nodes: cluster.nodes.map((n) => ({ host: n.host, type: n.type, address: n.address })),
        },
        [OUTPUTS.kubeconfig]: pulumi.secret(cluster.kubeconfig),
        [OUTPUTS.talosconfig]: pulumi.secret(cluster.talosconfig),
      },
    };
  },
};
