/**
 * A Talos cluster's version roll: one local command per step of render/talos-roll.ts, each
 * waiting for the steps before it, so a version change goes through the nodes wave by wave and
 * a failure stops the roll where it is. The talosctl and kubectl in the scripts run on the
 * machine that runs `pulumi up` and reach the cluster through the segment's jump host.
 *
 * Why it re-runs what it must and only that:
 * - a step's triggers are its target versions (Talos and the installer image for a node,
 *   Kubernetes for the last step), so a version change in config replaces every step of that
 *   kind, and the engine runs them in dependency order;
 * - a step that failed is not recorded as done, and the steps after it never started, so the
 *   next `pulumi up` runs exactly those again; the steps that finished have nothing to change;
 * - every script reads what the cluster runs before it touches anything, so running a step
 *   again (a resumed roll, a rotated kubeconfig, the first deploy of a cluster already at its
 *   versions) upgrades nothing that is already at its target.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { TALOS_ROLL_SECRET_ENV, type RollStep } from "../render/talos-roll";

/** Type token of the component. */
export const TALOS_ROLL_TYPE = "homelab:talos:Roll";

/** Arguments of a TalosRoll. */
export interface TalosRollArgs {
  /** The steps in order (render/talos-roll.ts renderRollSteps); plain data, known in preview. */
  readonly steps: readonly RollStep[];
  /** The cluster's talosconfig. Made secret here whatever it arrives as. */
  readonly talosconfig: pulumi.Input<string>;
  /** The cluster's kubeconfig. Made secret here whatever it arrives as. */
  readonly kubeconfig: pulumi.Input<string>;
  /**
   * What the first steps wait for: the cluster's health check, so a roll never starts on a
   * cluster that is not up. @default none
   */
  readonly after?: readonly pulumi.Resource[];
}

/** The roll: drain, upgrade, wait and uncordon per node in the planner's waves, then upgrade-k8s. */
export class TalosRoll extends pulumi.ComponentResource {
  /** Each step's command by step id. */
  public readonly steps: Readonly<Record<string, command.local.Command>>;
  /** Known once the last step (Kubernetes) has run: a consumer of it waits for the whole roll. */
  public readonly done: pulumi.Output<string>;

  constructor(name: string, args: TalosRollArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TALOS_ROLL_TYPE, name, {}, opts);
    const last = args.steps.at(-1);
    if (last?.kind !== "kubernetes") throw new pulumi.ResourceError(`roll ${name} must end with its Kubernetes step`, this);
    // The secrets enter as environment only: never the command text, never a trigger.
    const environment = {
      [TALOS_ROLL_SECRET_ENV.talosconfig]: pulumi.secret(args.talosconfig),
      [TALOS_ROLL_SECRET_ENV.kubeconfig]: pulumi.secret(args.kubeconfig),
    };
    const steps: Record<string, command.local.Command> = {};
    for (const step of args.steps) {
      const waits = step.after.map((id) => {
        const before = steps[id];
        if (!before) throw new pulumi.ResourceError(`roll ${name}: step ${step.id} waits for ${id}, which is not before it`, this);
        return before;
      });
      steps[step.id] = new command.local.Command(
        `${name}-${step.id}`,
        {
          create: step.file.content,
          interpreter: ["/bin/bash", "-c"],
          environment,
          triggers: [...step.targets],
          logging: "stdoutAndStderr",
        },
        { parent: this, dependsOn: waits.length > 0 ? waits : [...(args.after ?? [])], additionalSecretOutputs: ["environment"] },
      );
    }
    this.steps = steps;
    this.done = steps[last.id]!.stdout.apply(() => last.targets.join(" "));
    this.registerOutputs({ done: this.done });
  }
}
