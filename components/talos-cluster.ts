/**
 * A Talos Kubernetes cluster on the segment's VMs: the machine secrets (generated once), one
 * machine configuration per machine type, one configuration apply per node with the node's
 * rendered patch (render/talos-patches.ts), the bootstrap of etcd on the first control plane,
 * a health check that waits for it, the admin kubeconfig and the talosconfig.
 *
 * Everything it declares comes from the cluster plan (model/talos/plan.ts); the Talos provider
 * comes in through `opts.providers`. Later parts build on its public fields: an upgrade roll
 * depends on `applies` (one per node, by host id) and gates on `healthy`; a Kubernetes provider
 * reads `kubeconfig`.
 */
import * as pulumi from "@pulumi/pulumi";
import { talosNodes, type TalosClusterPlan, type TalosMachineType, type TalosNode } from "../model/talos/plan";
import * as talos from "../providers/talos";
import { renderTalosPatch } from "../render/talos-patches";

/** Type token of the component. */
export const TALOS_CLUSTER_TYPE = "homelab:talos:Cluster";

/**
 * How long an apply may wait for its node: a fresh VM boots the ISO into maintenance mode first,
 * then installs to disk and reboots, all inside the create.
 */
const APPLY_TIMEOUTS = { create: "20m", update: "20m", delete: "10m" } as const;
/** How long the health check waits for etcd, the API server and every node to be ready. */
const HEALTH_TIMEOUT = "20m";

/** Arguments of a TalosCluster. */
export interface TalosClusterArgs {
  /** The cluster as the model plans it. */
  readonly plan: TalosClusterPlan;
  /**
   * Each node's VM by host id: its apply waits for it (the VM must be up, in maintenance mode,
   * before the first apply can reach it). @default none: the nodes exist already (physical)
   */
  readonly vms?: Readonly<Record<string, pulumi.Resource>>;
}

/** One Talos cluster. */
export class TalosCluster extends pulumi.ComponentResource {
  /** The cluster plan it was declared from: versions, schematic, installer image, endpoint. */
  public readonly plan: TalosClusterPlan;
  /** The nodes, control planes first (the first control plane is the bootstrapped one). */
  public readonly nodes: readonly TalosNode[];
  /** The machine secrets (the cluster's PKI and tokens): protected, created once. */
  public readonly secrets: talos.Secrets;
  /** Each node's configuration apply, by host id: what an upgrade step of that node waits for. */
  public readonly applies: Readonly<Record<string, talos.ConfigurationApply>>;
  /** The one bootstrap, on the first control plane. */
  public readonly bootstrap: talos.Bootstrap;
  /**
   * Resolves once the provider's health check passed after the bootstrap and every apply (etcd,
   * the API server, every node ready). A preview runs no health check: there it follows the
   * bootstrap, unknown for a new cluster. Gate anything that needs a working cluster on it.
   */
  public readonly healthy: pulumi.Output<boolean>;
  /** The admin kubeconfig; secret. Fetched only after the health check passed. */
  public readonly kubeconfig: pulumi.Output<string>;
  /** The same credentials as fields (for a Kubernetes provider); `clientKey` is secret. */
  public readonly kubernetesClientConfiguration: pulumi.Output<talos.KubernetesClientConfiguration>;
  /** The talosctl client configuration, endpoints at the control planes (never the VIP); secret. */
  public readonly talosconfig: pulumi.Output<string>;
  /** The talosctl client credentials: what a `talosctl` command of an upgrade roll authenticates with; secret. */
  public readonly clientConfiguration: pulumi.Output<talos.ClientConfiguration>;

  constructor(name: string, args: TalosClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TALOS_CLUSTER_TYPE, name, {}, opts);
    const { plan } = args;
    this.plan = plan;
    const first = plan.controlPlanes[0];
    if (first === undefined) throw new pulumi.ResourceError(`Talos cluster ${plan.clusterName} has no control plane`, this);
    this.nodes = talosNodes(plan);

    // The PKI lives only in this resource's state: there is nothing outside Pulumi to retain, so
    // retainOnDelete would keep nothing, and a lost or regenerated one orphans every node. protect
    // refuses its deletion and its replacement; ignoreChanges keeps a Talos version bump (an
    // upgrade) from touching secrets that were generated once, for the version the cluster began with.
    this.secrets = new talos.Secrets(
      `${name}-secrets`,
      { talosVersion: plan.talosVersion },
      { parent: this, protect: true, ignoreChanges: ["talosVersion"] },
    );
    this.clientConfiguration = pulumi.secret(this.secrets.clientConfiguration);

    const configs: Record<TalosMachineType, pulumi.Output<{ machineConfiguration: string }>> = {
      controlplane: machineConfiguration(plan, "controlplane", this.secrets, this),
      worker: machineConfiguration(plan, "worker", this.secrets, this),
    };

    const applies: Record<string, talos.ConfigurationApply> = {};
    for (const node of this.nodes) {
      const vm = args.vms?.[node.host];
      applies[node.host] = new talos.ConfigurationApply(
        `${name}-apply-${node.host}`,
        {
          node: node.address,
          clientConfiguration: this.secrets.clientConfiguration,
          machineConfigurationInput: configs[node.type].machineConfiguration,
          configPatches: [renderTalosPatch(plan, node)],
          // A change that needs a reboot is staged for the node's next reboot (an upgrade step
          // reboots one node at a time), so an update never reboots every node at once. A fresh
          // node cannot be asked first, and then the provider applies it in auto mode.
          applyMode: "staged_if_needing_reboot",
          timeouts: { ...APPLY_TIMEOUTS },
        },
        { parent: this, ...(vm ? { dependsOn: [vm] } : {}) },
      );
    }
    this.applies = applies;

    // etcd is bootstrapped exactly once, on one node. The node is ignored once it exists: a
    // reordered list or a renamed first control plane must never bootstrap a second etcd.
    this.bootstrap = new talos.Bootstrap(
      `${name}-bootstrap`,
      { node: first.address, clientConfiguration: this.secrets.clientConfiguration, timeouts: { create: "10m" } },
      { parent: this, dependsOn: [applies[first.host]!], ignoreChanges: ["node", "endpoint"] },
    );

    const controlPlanes = plan.controlPlanes.map((n) => n.address);
    // Only an update runs the health check. A preview would block on a degraded cluster for the whole
    // timeout and then fail, and `pulumi up` previews first: the change that repairs a node could
    // never be applied. In a preview the gate follows the bootstrap (unknown for a new cluster).
    this.healthy = pulumi.runtime.isDryRun()
      ? this.bootstrap.id.apply(() => true)
      : pulumi.unsecret(
          talos
            .getHealthOutput(
              {
                clientConfiguration: this.secrets.clientConfiguration,
                // The control planes themselves, not the VIP: the VIP exists only while etcd does.
                endpoints: controlPlanes,
                controlPlaneNodes: controlPlanes,
                workerNodes: plan.workers.map((n) => n.address),
                timeouts: { read: HEALTH_TIMEOUT },
              },
              { parent: this, dependsOn: [this.bootstrap, ...Object.values(applies)] },
            )
            // The result carries the client credentials' secretness; that the cluster is healthy is no secret.
            .apply(() => true),
        );

    const kubeconfig = new talos.Kubeconfig(
      `${name}-kubeconfig`,
      { node: first.address, clientConfiguration: this.secrets.clientConfiguration, timeouts: { create: "10m", update: "10m" } },
      { parent: this, dependsOn: [this.bootstrap] },
    );
    // Handed out only once the cluster is healthy: a Kubernetes provider built from it waits for a
    // working API server (and, in a preview of a new cluster, sees it unknown).
    const afterHealth = <T>(o: pulumi.Output<T>) => pulumi.secret(pulumi.all([o, this.healthy]).apply(([v]) => v));
    this.kubeconfig = afterHealth(kubeconfig.kubeconfigRaw);
    this.kubernetesClientConfiguration = afterHealth(kubeconfig.kubernetesClientConfiguration);

    this.talosconfig = pulumi.secret(
      talos.getClientConfigurationOutput(
        {
          clusterName: plan.clusterName,
          clientConfiguration: this.secrets.clientConfiguration,
          endpoints: controlPlanes,
          nodes: controlPlanes,
        },
        { parent: this },
      ).talosConfig,
    );

    this.registerOutputs({
      healthy: this.healthy,
      kubeconfig: this.kubeconfig,
      talosconfig: this.talosconfig,
    });
  }
}

/** The provider's machine configuration of one machine type, for the plan's versions; secret. */
function machineConfiguration(
  plan: TalosClusterPlan,
  type: TalosMachineType,
  secrets: talos.Secrets,
  parent: pulumi.Resource,
): pulumi.Output<{ machineConfiguration: string }> {
  return talos.getConfigurationOutput(
    {
      clusterName: plan.clusterName,
      clusterEndpoint: plan.endpoint,
      machineType: type,
      machineSecrets: secrets.machineSecrets,
      talosVersion: plan.talosVersion,
      kubernetesVersion: plan.kubernetesVersion,
      docs: false,
      examples: false,
    },
    { parent },
  );
}
