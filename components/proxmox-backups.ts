/**
 * The cluster's backup jobs (vzdump), declared once, by the stack that owns the lab-wide
 * Proxmox objects (hardware.proxmox.owner): one `backup.Job` per target, schedule, retention and
 * mode of the backup ledger, naming the VM ids of every stack's VMs it backs up (a job is the
 * cluster's, not a VM's, and Proxmox resolves the ids when it runs). Planned by
 * model/backup/plan.ts; the provider comes in through `opts.providers`.
 */
import * as px from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import type { VzdumpJobPlan } from "../model/backup/plan";

/** Type token of the component. */
export const PROXMOX_BACKUPS_TYPE = "homelab:proxmox:Backups";

/** Arguments of the backup jobs. */
export interface ProxmoxBackupsArgs {
  readonly jobs: readonly VzdumpJobPlan[];
}

/** Every backup job of the ledger. */
export class ProxmoxBackups extends pulumi.ComponentResource {
  /** Each job by its id. */
  public readonly jobs: Readonly<Record<string, px.backup.Job>>;

  constructor(name: string, args: ProxmoxBackupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(PROXMOX_BACKUPS_TYPE, name, {}, opts);
    const jobs: Record<string, px.backup.Job> = {};
    for (const j of args.jobs) {
      jobs[j.id] = new px.backup.Job(
        `${name}-${j.id}`,
        {
          resourceId: j.id,
          enabled: true,
          schedule: j.schedule,
          storage: j.storage,
          vmids: [...j.vmids],
          mode: j.mode,
          compress: "zstd",
          pruneBackups: { ...j.pruneBackups },
          // A node that was down at the scheduled time backs its VMs up as soon as it is back.
          repeatMissed: true,
          notesTemplate: `{{guestname}}: ${j.description}`,
        },
        { parent: this },
      );
    }
    this.jobs = jobs;
    this.registerOutputs({});
  }
}
