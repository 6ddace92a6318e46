/**
 * The segment's Talos upgrade roll (components/talos-roll.ts): after the cluster's applies and
 * its bootstrap, and only once its health check has passed (the kubeconfig and talosconfig it
 * runs with are handed out after it), one local command per node in the planner's waves
 * (model/talos/waves.ts), then `talosctl upgrade-k8s`. The versions come from the same cluster
 * plan the machine configurations are generated from, so the two never disagree.
 */
import { TalosRoll } from "../../components/talos-roll";
import { ConfigError } from "../../model/problems";
import { planUpgrade, rollInput } from "../../model/talos/waves";
import { renderRollSteps } from "../../render/talos-roll";
import { need, type SegmentPart } from "./part";

/** The roll: the part applies wherever the Talos cluster does. */
export const talosRoll: SegmentPart = {
  id: "talos-roll",
  applies: ({ planned, segment }) => planned.talos[segment.name] !== undefined,
  declare({ planned, segment }, provided) {
    const cluster = need(provided.talos, "talos-roll", "talos");
    const entry = need(provided.entry, "talos-roll", "jump-host");
    const plan = planned.talos[segment.name]!;
    const waves = planUpgrade(rollInput(segment, segment.talos!));
    // The stack validated the lab before any part ran (rule talos.upgrade): this is a bug if it happens.
    if ("problems" in waves) throw new ConfigError(waves.problems);
    const steps = renderRollSteps({
      segment: segment.name,
      clusterName: plan.clusterName,
      plan: waves.plan,
      talosVersion: plan.talosVersion,
      kubernetesVersion: plan.kubernetesVersion,
      installerImage: plan.installerImage,
      jump: {
        host: entry.target.host,
        ...(entry.target.port !== undefined ? { port: entry.target.port } : {}),
        user: entry.target.user,
        hostKey: entry.target.hostKey,
      },
    });
    new TalosRoll(`${plan.clusterName}-roll`, {
      steps,
      talosconfig: cluster.talosconfig,
      kubeconfig: cluster.kubeconfig,
      // The jump host first: the steps tunnel through it, and its sshd opens the APIs they reach.
      after: [entry.resource, cluster.bootstrap, ...Object.values(cluster.applies)],
    });
    return {};
  },
};
