/**
 * HA that really fails over, for one VM: its HA resource, what binds it to its two nodes (an
 * HA group on Proxmox VE 8, which the owner of the lab-wide objects declares; a strict
 * node-affinity rule on 9, declared here because it lists the resource, which must exist
 * first), and the storage replication of its node-local ZFS disks to its failover node, so
 * the node it restarts on has its disks. Planned by model/compute/lab-objects.ts.
 *
 * The HA resource and the replication name the VM by the model's VM id; `vm` (the VM's
 * resource, when the stack declares it) orders them after it, since Proxmox refuses an HA
 * resource or a replication job for a VM that does not exist.
 */
import * as px from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import type { HaVmPlan } from "../model/compute/lab-objects";

/** Type token of the component. */
export const PROXMOX_HA_TYPE = "homelab:proxmox:Ha";

/** Arguments of one VM's HA. */
export interface ProxmoxHaArgs {
  /** The VM's HA as the model plans it. */
  readonly plan: HaVmPlan;
  /** The VM's own resource, to wait for. @default none: the VM is declared elsewhere, or already exists */
  readonly vm?: pulumi.Resource;
}

/** One HA VM's HA resource, node binding and replication. */
export class ProxmoxHa extends pulumi.ComponentResource {
  public readonly resource: px.Haresource;
  /** Proxmox VE 9: its node-affinity rule. */
  public readonly rule?: px.Harule;
  /** Its replication job, unless every disk is on shared storage. */
  public readonly replication?: px.Replication;

  constructor(name: string, args: ProxmoxHaArgs, opts?: pulumi.ComponentResourceOptions) {
    super(PROXMOX_HA_TYPE, name, {}, opts);
    const { plan } = args;
    // Children do not inherit the component's dependsOn: each names the VM itself.
    const after = args.vm ? [args.vm] : [];
    const where = `${plan.vm}: home ${plan.node}, fails over to ${plan.to}`;
    this.resource = new px.Haresource(
      `${name}-resource`,
      {
        resourceId: plan.resourceId,
        state: "started",
        comment: where,
        ...(plan.affinity.kind === "group" ? { group: plan.affinity.group } : {}),
      },
      { parent: this, dependsOn: after },
    );
    if (plan.affinity.kind === "rule") {
      this.rule = new px.Harule(
        `${name}-rule`,
        {
          rule: plan.affinity.rule,
          type: "node-affinity",
          resources: [plan.resourceId],
          nodes: { ...plan.affinity.nodes },
          // Never on a third node: only the failover node holds its replica.
          strict: true,
          comment: where,
        },
        { parent: this, dependsOn: [this.resource] },
      );
    }
    if (plan.replication) {
      const r = plan.replication;
      this.replication = new px.Replication(
        // The target is in the name: a new failover node is a new job (its id differs too), not an update.
        `${name}-replication-${r.target}`,
        {
          resourceId: r.id,
          target: r.target,
          type: "local",
          schedule: r.schedule,
          comment: `${plan.vm} to ${r.target} every ${r.minutes} min: its recovery point`,
        },
        // A failover (or a failback) makes Proxmox swap the job's direction: the target it then
        // reports is the VM's old node. That is HA working, not drift to undo; the model's target
        // is in the name. Replaced in place (a new job id for the same target), the old job goes first.
        { parent: this, dependsOn: after, ignoreChanges: ["target"], deleteBeforeReplace: true },
      );
    }
    this.registerOutputs({});
  }
}
