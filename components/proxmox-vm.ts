/**
 * A Proxmox VM, on `VmLegacy`: the only class of @muhlba91/pulumi-proxmoxve 8.6.0 with disks,
 * NICs, hostpci, q35, cloud-init and the guest agent. Everything it declares is decided by the
 * model (model/compute/machine.ts); the component turns that plan into provider inputs.
 *
 * The provider comes in through `opts.providers` (the stack builds it from its config); a
 * `dependsOn` in `opts` holds the VM itself back too (the PCI mappings it names, say).
 */
import * as px from "@muhlba91/pulumi-proxmoxve";
import type * as inputs from "@muhlba91/pulumi-proxmoxve/types/input";
import * as pulumi from "@pulumi/pulumi";
import type { Machine } from "../model/compute/machine";

/** Type token of the component. */
export const PROXMOX_VM_TYPE = "homelab:proxmox:VirtualMachine";

/** Seconds Proxmox may take to create a VM (a disk import copies the whole image). */
const CREATE_TIMEOUT_SECONDS = 1800;

/** Arguments of a ProxmoxVm. */
export interface ProxmoxVmArgs {
  /** The VM as the model plans it. */
  readonly machine: Machine;
  /**
   * The volume id of each image the VM uses, on its node, by image id (`local:iso/lab-nixos-25-05.iso`):
   * what its CD-ROM or root disk names. Required for the VM's `image`.
   */
  readonly images?: Readonly<Record<string, pulumi.Input<string>>>;
  /**
   * A cloud-init user-data snippet for an image that reads cloud-init (`local:snippets/<file>.yaml`).
   * @default none: Proxmox's generated user data (no user, no keys)
   */
  readonly userDataFileId?: pulumi.Input<string>;
}

/** One VM on the cluster. */
export class ProxmoxVm extends pulumi.ComponentResource {
  /** The VM resource, to depend on. */
  public readonly vm: px.VmLegacy;
  /** The Proxmox VM id. */
  public readonly vmId: pulumi.Output<number>;
  /** The HA resource id of the VM, `vm:<id>`: what a Haresource or an HA rule names. */
  public readonly resourceId: pulumi.Output<string>;
  /** The node it was declared on (HA may have moved it since: that is no drift, see `ignoreChanges`). */
  public readonly node: pulumi.Output<string>;
  /** The MAC of each bridged NIC, in order. */
  public readonly macAddresses: pulumi.Output<string[]>;

  /** The guest firewall's options, on an untrusted segment's VM. */
  public readonly firewall?: px.firewall.OptionsLegacy;

  constructor(name: string, args: ProxmoxVmArgs, opts?: pulumi.ComponentResourceOptions) {
    super(PROXMOX_VM_TYPE, name, {}, opts);
    const m = args.machine;
    const volume = (image: string): pulumi.Input<string> => {
      const id = args.images?.[image];
      if (id === undefined)
        throw new pulumi.ResourceError(`VM ${m.name} is installed from image ${image}, but no file of it was given`, this);
      return id;
    };
    this.vm = new px.VmLegacy(
      `${name}-qemu`,
      {
        nodeName: m.node,
        vmId: m.vmId,
        name: m.name,
        description: m.description,
        tags: [...m.tags],
        ...machineInputs(m),
        disks: m.disks.map((d): inputs.VmLegacyDisk => ({
          interface: d.interface,
          datastoreId: d.datastore,
          size: d.sizeGiB,
          fileFormat: "raw",
          discard: "on",
          ssd: true,
          ...(d.importFrom !== undefined ? { importFrom: volume(d.importFrom) } : {}),
        })),
        ...(m.cdrom ? { cdrom: { interface: "ide0", fileId: m.cdrom.ejected ? "none" : volume(m.cdrom.image) } } : {}),
        ...(m.cloudInit
          ? {
              initialization: {
                interface: "ide2",
                datastoreId: m.cloudInit.datastore,
                ipConfigs: [{ ipv4: { ...m.cloudInit.ipv4 } }],
                ...(args.userDataFileId !== undefined ? { userDataFileId: args.userDataFileId } : {}),
              },
            }
          : {}),
      },
      {
        parent: this,
        ...(opts?.dependsOn !== undefined ? { dependsOn: opts.dependsOn } : {}),
        // HA moves an HA VM between nodes on its own (a failure, a maintenance): the node it is found on
        // is then not drift to undo. A declared node change of an HA VM goes to the HA rules, which
        // prefer its node; a pinned VM's node is always the declared one.
        ...(m.ha ? { ignoreChanges: ["nodeName"] } : {}),
      },
    );
    if (m.guestFirewall) {
      // One set per NIC, holding what may leave it; the options turn the filters on once the sets exist
      // (with the IP filter on and no set, Proxmox lets no IPv4 address out at all).
      const sets = m.guestFirewall.nics.map(
        (nic) =>
          new px.firewall.IpsetLegacy(
            `${name}-ipfilter-${nic.device}`,
            {
              nodeName: m.node,
              vmId: this.vm.vmId,
              name: `ipfilter-${nic.device}`,
              comment: `what may leave ${nic.device} of ${m.name}: its model address only`,
              cidrs: nic.addresses.map((a) => ({ name: a, comment: `${m.name} in the model` })),
            },
            { parent: this },
          ),
      );
      this.firewall = new px.firewall.OptionsLegacy(
        `${name}-firewall`,
        { nodeName: m.node, vmId: this.vm.vmId, ...guestFirewallOptions() },
        { parent: this, dependsOn: sets },
      );
    }
    this.vmId = this.vm.vmId;
    this.resourceId = pulumi.interpolate`vm:${this.vm.vmId}`;
    this.node = this.vm.nodeName;
    this.macAddresses = this.vm.macAddresses;
    this.registerOutputs({ vmId: this.vmId, resourceId: this.resourceId, node: this.node, macAddresses: this.macAddresses });
  }
}

/** The guest firewall of an untrusted segment's VM: anti-spoofing only (policies ACCEPT; its router filters). */
function guestFirewallOptions(): Omit<px.firewall.OptionsLegacyArgs, "nodeName" | "vmId"> {
  return {
    enabled: true,
    // Only the NIC's model MAC, and only the addresses of its ipfilter set (IPv4 and ARP), leave the VM.
    macfilter: true,
    ipfilter: true,
    // Its address comes by DHCP (a static lease): the request leaves before it has one.
    dhcp: true,
    // The lab is IPv4 only: no neighbour discovery or router advertisements from a guest.
    ndp: false,
    radv: false,
    inputPolicy: "ACCEPT",
    outputPolicy: "ACCEPT",
  };
}

/** The inputs that follow from the plan alone: firmware, CPU, memory, NICs, devices, power. */
function machineInputs(m: Machine): Partial<px.VmLegacyArgs> {
  return {
    machine: m.machine,
    bios: m.bios,
    ...(m.efiDatastore !== undefined
      ? { efiDisk: { datastoreId: m.efiDatastore, type: "4m", fileFormat: "raw", preEnrolledKeys: false } }
      : {}),
    ...(m.osType !== undefined ? { operatingSystem: { type: m.osType } } : {}),
    scsiHardware: m.scsiHardware,
    cpu: { cores: m.cores, sockets: 1, type: m.cpuType },
    memory: { dedicated: m.memoryMiB, floating: m.balloonMiB },
    // A VM whose only NIC is passed through has no virtual one.
    ...(m.nics.length > 0
      ? {
          networkDevices: m.nics.map((n): inputs.VmLegacyNetworkDevice => ({
            bridge: n.bridge,
            model: "virtio",
            // As Proxmox reports it, so the refreshed value never differs.
            macAddress: n.mac.toUpperCase(),
            ...(n.vlan !== undefined ? { vlanId: n.vlan } : {}),
            ...(m.guestFirewall ? { firewall: true } : {}),
          })),
        }
      : {}),
    // By mapping name only: a raw PCI id needs root@pam with a password, which an API token is not.
    ...(m.pci.length > 0
      ? { hostpcis: m.pci.map((p): inputs.VmLegacyHostpci => ({ device: p.device, mapping: p.mapping, pcie: true })) }
      : {}),
    agent: { enabled: m.agent, ...(m.agent ? { trim: true } : {}) },
    bootOrders: [...m.bootOrder],
    onBoot: m.onBoot,
    started: true,
    startup: { order: m.startupOrder },
    migrate: m.migrate,
    timeoutCreate: CREATE_TIMEOUT_SECONDS,
  };
}
