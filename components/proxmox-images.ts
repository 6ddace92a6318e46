/**
 * The image files one stack downloads onto the cluster's nodes (`download.File`), each verified
 * by its checksum. `overwrite: false`: a file is fetched when its resource is created (or its URL
 * or checksum changes), never again because the server reports another size, so a moved
 * upstream file cannot swap what a VM boots from behind the plan's back.
 */
import * as px from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import type { ImageFile } from "../model/compute/machine";

/** Type token of the component. */
export const PROXMOX_IMAGES_TYPE = "homelab:proxmox:Images";

/** Seconds a node may take to download one image. */
const DOWNLOAD_TIMEOUT_SECONDS = 1800;

/** Arguments of ProxmoxImages. */
export interface ProxmoxImagesArgs {
  readonly files: readonly ImageFile[];
}

/** The key of one file: `<image>@<node>`. */
export function imageKey(image: string, node: string): string {
  return `${image}@${node}`;
}

/** Every image file of a stack. */
export class ProxmoxImages extends pulumi.ComponentResource {
  /** The Proxmox volume id of each file (`local:iso/lab-nixos-25-05.iso`), by imageKey(image, node). */
  public readonly volumes: Readonly<Record<string, pulumi.Output<string>>>;
  /** The resources, to depend on. */
  public readonly files: readonly px.download.File[];

  constructor(name: string, args: ProxmoxImagesArgs, opts?: pulumi.ComponentResourceOptions) {
    super(PROXMOX_IMAGES_TYPE, name, {}, opts);
    const volumes: Record<string, pulumi.Output<string>> = {};
    const files: px.download.File[] = [];
    for (const f of args.files) {
      const file = new px.download.File(
        `${name}-${f.image}-${f.node}`,
        {
          nodeName: f.node,
          datastoreId: f.datastore,
          contentType: f.contentType,
          fileName: f.fileName,
          url: f.url,
          checksum: f.checksum,
          checksumAlgorithm: f.checksumAlgorithm,
          overwrite: false,
          overwriteUnmanaged: false,
          uploadTimeout: DOWNLOAD_TIMEOUT_SECONDS,
        },
        { parent: this },
      );
      volumes[imageKey(f.image, f.node)] = file.id;
      files.push(file);
    }
    this.volumes = volumes;
    this.files = files;
    this.registerOutputs({ volumes });
  }
}
