/**
 * The lab-wide Proxmox objects, declared once, by the stack that owns them
 * (hardware.proxmox.owner): a PCI hardware mapping for every device of the inventory, which a
 * VM's hostpci names instead of a raw PCI address (a raw address needs root@pam with a
 * password; a mapping works with an API token), on Proxmox VE 8 the HA groups the HA
 * resources of every stack join, and the datacenter firewall's switch when a guest needs it. Everything is planned by model/compute/lab-objects.ts.
 *
 * The provider comes in through `opts.providers`.
 */
import * as px from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import type { ProxmoxContract } from "../model/contracts";
import { type LabObjectsPlan, proxmoxContract } from "../model/compute/lab-objects";

/** Type token of the component. */
export const PROXMOX_LAB_TYPE = "homelab:proxmox:LabObjects";

/** Arguments of the lab-wide objects. */
export interface ProxmoxLabObjectsArgs {
  /** The objects as the model plans them. */
  readonly plan: LabObjectsPlan;
}

/** The PCI mappings and HA groups of the whole cluster. */
export class ProxmoxLabObjects extends pulumi.ComponentResource {
  /** Each PCI hardware mapping by its name (`pve1-gpu0`). */
  public readonly mappings: Readonly<Record<string, px.hardware.mapping.Pci>>;
  /** Each HA group by its name (Proxmox VE 8 only). */
  public readonly haGroups: Readonly<Record<string, px.Hagroup>>;
  /** The cluster-wide firewall switch, when a VM has the guest firewall (LabObjectsPlan.clusterFirewall). */
  public readonly firewall?: px.cluster.FirewallLegacy;
  /**
   * The contract other stacks read: known once every mapping and group exists, so a stack
   * exports it only when what it names is there.
   */
  public readonly contract: pulumi.Output<ProxmoxContract>;

  constructor(name: string, args: ProxmoxLabObjectsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(PROXMOX_LAB_TYPE, name, {}, opts);
    const { plan } = args;
    const mappings: Record<string, px.hardware.mapping.Pci> = {};
    for (const m of plan.mappings) {
      mappings[m.name] = new px.hardware.mapping.Pci(
        `${name}-pci-${m.name}`,
        {
          name: m.name,
          comment: m.description,
          // One entry: the device sits on one node. Without iommuGroup and subsystemId Proxmox keeps the mapping incomplete.
          maps: [{ node: m.node, id: m.vendorDevice, path: m.path, iommuGroup: m.iommuGroup, subsystemId: m.subsystemId }],
        },
        { parent: this },
      );
    }
    const haGroups: Record<string, px.Hagroup> = {};
    for (const g of plan.haGroups) {
      haGroups[g.name] = new px.Hagroup(
        `${name}-hagroup-${g.name}`,
        {
          group: g.name,
          nodes: { ...g.nodes },
          // Only its two nodes may run its VMs: the failover node is the one that holds their replicas.
          restricted: true,
          noFailback: false,
          comment: `HA VMs at home on ${Object.keys(g.nodes)[0]!} that fail over to ${Object.keys(g.nodes)[1]!}`,
        },
        { parent: this },
      );
    }
    // The datacenter's switch for every guest firewall (the sandbox VMs' anti-spoofing). Every
    // policy ACCEPT: it filters no node and no guest by itself; ebtables carries the MAC and ARP filters.
    this.firewall = plan.clusterFirewall
      ? new px.cluster.FirewallLegacy(
          `${name}-firewall`,
          { enabled: true, ebtables: true, inputPolicy: "ACCEPT", outputPolicy: "ACCEPT", forwardPolicy: "ACCEPT" },
          { parent: this },
        )
      : undefined;
    this.mappings = mappings;
    this.haGroups = haGroups;
    const ids = [...Object.values(mappings), ...Object.values(haGroups), ...(this.firewall ? [this.firewall] : [])].map((r) => r.id);
    const contract = proxmoxContract(plan);
    this.contract = pulumi.all(ids).apply(() => contract);
    this.registerOutputs({ contract: this.contract });
  }
}
