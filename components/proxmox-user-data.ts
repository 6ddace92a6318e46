/**
 * One VM's cloud-init user data as a Proxmox snippet (`FileLegacy`, content `snippets`) on every
 * node that may start the VM: its own, and an HA VM's failover node, because Proxmox rebuilds the
 * cloud-init drive from the snippet whenever it starts the VM. The VM names the file by its
 * volume id (`initialization.userDataFileId`).
 *
 * Proxmox takes snippets over SSH only, so the provider needs its `ssh` user (rule
 * proxmox.snippets-ssh). The text is rendered by render/cloud-init.ts and holds no secret.
 */
import * as px from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import { SNIPPET_CONTENT, type UserDataPlan } from "../model/compute/cloud-init";

/** Type token of the component. */
export const PROXMOX_USER_DATA_TYPE = "homelab:proxmox:UserData";

/** Arguments of ProxmoxUserData. */
export interface ProxmoxUserDataArgs {
  /** Where the snippet goes and what it is for. */
  readonly plan: UserDataPlan;
  /** The `#cloud-config` text (renderUserData). */
  readonly content: string;
  /** The node the VM is declared on: the file the VM names. */
  readonly node: string;
}

/** A VM's user-data snippet on its nodes. */
export class ProxmoxUserData extends pulumi.ComponentResource {
  /** The volume id of the file on the VM's node (`local:snippets/<file>`): what the VM names. */
  public readonly fileId: pulumi.Output<string>;
  /** Every copy, to depend on: the VM waits for all of them. */
  public readonly files: readonly px.FileLegacy[];

  constructor(name: string, args: ProxmoxUserDataArgs, opts?: pulumi.ComponentResourceOptions) {
    super(PROXMOX_USER_DATA_TYPE, name, {}, opts);
    const { plan } = args;
    if (!plan.nodes.includes(args.node))
      throw new pulumi.ResourceError(`user data of ${plan.vm} is not planned on its node ${args.node}`, this);
    const files = plan.nodes.map(
      (node) =>
        new px.FileLegacy(
          `${name}-${node}`,
          {
            nodeName: node,
            datastoreId: plan.datastore,
            contentType: SNIPPET_CONTENT,
            sourceRaw: { data: args.content, fileName: plan.fileName },
            // The name is the VM's own (`<vm>-user-data.yaml`): a copy found there is replaced, not trusted.
            overwrite: true,
          },
          { parent: this },
        ),
    );
    this.files = files;
    this.fileId = files[plan.nodes.indexOf(args.node)]!.id;
    this.registerOutputs({ fileId: this.fileId });
  }
}
