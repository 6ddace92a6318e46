/**
 * What each Proxmox VM is made of, decided from the model alone: firmware and machine type,
 * CPU type, memory and ballooning, disks on their datastores, NICs with their MACs, passed-
 * through devices by PCI mapping name, boot media, cloud-init, the guest agent, start order
 * and tags. The Proxmox VM component (components/proxmox-vm.ts) only turns this into
 * provider inputs; the stacks declare it; tests read it.
 *
 * The PCI mapping name is a contract with the stack that owns the lab-wide mappings: a VM's
 * `hostpci` entry names the mapping `pciMappingName(node, device)`, and the owner declares a
 * `hardware.mapping.Pci` of exactly that name for the device.
 */
import { DMZ_STACK, LAB_FILE, type Lab, own } from "../lab";
import { joinPath, problem, type Problem } from "../problems";
import type { HostRole } from "../network/schema";
import { compareText } from "../order";
import { urlFile } from "./rules/machines";
import type { HaPlan, PlacedVm } from "./placement";

/**
 * The cluster-wide name of the PCI hardware mapping of one node's device, e.g. `pve1-gpu0`:
 * what a VM's hostpci entry names (never the raw PCI address, which needs root@pam with a password).
 */
export function pciMappingName(node: string, device: string): string {
  return `${node}-${device}`;
}

/** One disk of a VM, on its controller slot. */
export interface MachineDisk {
  /** The model's disk id (`root`, `data`). */
  readonly id: string;
  /** `scsi0`, `scsi1`, ...: `root` first, then the others by id. */
  readonly interface: string;
  readonly datastore: string;
  readonly sizeGiB: number;
  /** The disk image it is created from (kind disk), for the root disk only. */
  readonly importFrom?: string;
}

/** One bridged NIC. */
export interface MachineNic {
  readonly bridge: string;
  readonly vlan?: number;
  readonly mac: string;
}

/** One passed-through PCI device, by its mapping. */
export interface MachinePci {
  /** `hostpci0`, ...: passthrough NICs first (in NIC order), then vm.passthrough in order. */
  readonly device: string;
  /** The node's device id in the model (`gpu0`, `nic0`). */
  readonly id: string;
  /** The cluster mapping's name: pciMappingName(node, id). */
  readonly mapping: string;
  readonly kind: string;
}

/** A VM as Proxmox gets it. */
export interface Machine {
  /** The planner's VM name, also the Proxmox VM name: `<segment>-<host>`, or `infra`. */
  readonly name: string;
  /** The stack that declares it: its segment, or `dmz` for the infra host. */
  readonly stack: string;
  /** The host id within the stack (`mirror-1`, `infra`): its Pulumi resource names derive from it. */
  readonly host: string;
  readonly vmId: number;
  readonly node: string;
  readonly description: string;
  /** Sorted and without repeats (Proxmox sorts them, so any other order diffs forever): the segment and the role. */
  readonly tags: readonly string[];
  readonly cores: number;
  /**
   * `host` for a pinned VM (it never leaves its node, so it may use every CPU feature);
   * `x86-64-v2-AES` for an HA VM, which must live-migrate between the cluster's mixed Intel and AMD nodes.
   */
  readonly cpuType: "host" | "x86-64-v2-AES";
  readonly memoryMiB: number;
  /** The balloon floor; 0 = no ballooning. */
  readonly balloonMiB: number;
  /** Always q35: PCIe passthrough needs it, and a new VM has no reason for the older i440fx. */
  readonly machine: "q35";
  /** OVMF (UEFI) where a device is passed through, the image boots with UEFI, or the guest is Talos; then the VM has an EFI disk. */
  readonly bios: "ovmf" | "seabios";
  /**
   * The disk controller: always VirtIO SCSI, Proxmox's default, said explicitly because Talos hangs
   * at bootstrap on "VirtIO SCSI single" (siderolabs/talos#11173), so it must never drift there.
   */
  readonly scsiHardware: "virtio-scsi-pci";
  /** The datastore of the EFI disk (the root disk's), with OVMF. */
  readonly efiDatastore?: string;
  readonly disks: readonly MachineDisk[];
  readonly nics: readonly MachineNic[];
  readonly pci: readonly MachinePci[];
  /** The image it is installed from, if any. */
  readonly image?: string;
  /** An ISO image's CD-ROM on ide0 (q35 has ide0 and ide2 only; cloud-init takes ide2); `ejected` once installed. */
  readonly cdrom?: { readonly image: string; readonly ejected: boolean };
  /** Cloud-init (NoCloud) on ide2, when the image reads it: the first NIC by DHCP (its static lease), or the DMZ address. */
  readonly cloudInit?: {
    readonly datastore: string;
    readonly ipv4: { readonly address: "dhcp" } | { readonly address: string; readonly gateway: string };
  };
  /**
   * The Proxmox guest firewall, on every VM of an untrusted segment with a bridged NIC: anti-spoofing,
   * not filtering (the segment's router filters). Each bridged NIC (`net0`, ... in NIC order) has
   * the firewall on, with the MAC filter (only its model MAC leaves it) and the IP filter (only the
   * addresses of its `ipfilter-<nic>` set leave it, in IPv4 and in ARP): the host's model address on
   * the first NIC, nothing on a further one (the model gives it no address). A passed-through NIC
   * bypasses the node's bridge, so it has none.
   */
  readonly guestFirewall?: { readonly nics: readonly { readonly device: string; readonly addresses: readonly string[] }[] };
  /** qemu-guest-agent: only when the image's guest runs it, or Proxmox waits for an agent that never answers. */
  readonly agent: boolean;
  /** The Proxmox OS type: `l26` for the Linux guests the lab deploys; none for a guest installed by hand. */
  readonly osType?: "l26";
  /** Boot order: the root disk, then the CD-ROM while there is one to install from. */
  readonly bootOrder: readonly string[];
  readonly onBoot: true;
  /** Lower starts first (and stops last): DNS and the SSH entry before what depends on them. */
  readonly startupOrder: number;
  readonly ha: boolean;
  /**
   * A node change migrates instead of re-creating: true for an HA VM (HA moves it, and a declared
   * move must never destroy it); false for a pinned VM, whose devices exist on its node only.
   */
  readonly migrate: boolean;
}

/** The start order of each role: the infra host (DNS, NTP, the proxy) first, then the SSH entry and the data the rest needs. */
const START_ORDER: Readonly<Record<HostRole | "infra", number>> = {
  infra: 1,
  jump: 2,
  database: 2,
  nas: 2,
  hypervisor: 2,
  monitoring: 3,
  "k8s-control-plane": 3,
  "k8s-worker": 4,
  mirror: 4,
  server: 5,
  vdi: 5,
  agent: 5,
  "game-server": 5,
  vip: 5,
};

/** What a VM's host says about it. */
function hostFacts(lab: Lab, vm: PlacedVm): { role: HostRole | "infra"; description: string; os: string; mac: string; address: string } {
  if (vm.segment === DMZ_STACK) {
    const infra = lab.dmz.infra;
    return {
      role: "infra",
      description: "DMZ infra host: DNS, NTP and the reverse proxy",
      os: "nixos",
      mac: infra.mac,
      address: infra.address,
    };
  }
  const h = lab.segments[vm.segment]!.hosts[vm.host]!;
  return { role: h.role, description: h.description, os: h.os, mac: h.mac!, address: h.address };
}

/** The VM's disks on their slots: `root` first, then by id. */
function machineDisks(lab: Lab, vm: PlacedVm): MachineDisk[] {
  const spec = vmSpec(lab, vm);
  const image = spec.image !== undefined ? own(lab.hardware.proxmox.images, spec.image) : undefined;
  const ids = Object.keys(spec.disks).sort((a, b) => (a === "root" ? -1 : b === "root" ? 1 : compareText(a, b)));
  return ids.map((id, i) => {
    const d = spec.disks[id]!;
    const importFrom = i === 0 && image?.kind === "disk" ? spec.image : undefined;
    return { id, interface: `scsi${i}`, datastore: d.datastore, sizeGiB: d.sizeGiB, ...(importFrom ? { importFrom } : {}) };
  });
}

/** The model's VM spec of a placed VM. */
function vmSpec(lab: Lab, vm: PlacedVm) {
  return vm.segment === DMZ_STACK ? lab.dmz.infra.vm : lab.segments[vm.segment]!.hosts[vm.host]!.vm!;
}

/** Plan one VM. The lab must be valid (every reference resolves). */
export function planMachine(lab: Lab, vm: PlacedVm): Machine {
  const spec = vmSpec(lab, vm);
  const host = hostFacts(lab, vm);
  const image = spec.image !== undefined ? lab.hardware.proxmox.images[spec.image]! : undefined;
  const disks = machineDisks(lab, vm);
  const root = disks[0]!.datastore;
  const nicDevices = spec.nics.flatMap((n) => ("passthrough" in n ? [n.passthrough] : []));
  const pci = [...nicDevices, ...spec.passthrough].map((id, i): MachinePci => ({
    device: `hostpci${i}`,
    id,
    mapping: pciMappingName(vm.node, id),
    kind: lab.hardware.proxmox.nodes[vm.node]!.pci[id]!.kind,
  }));
  const nics = spec.nics.flatMap((n, i): MachineNic[] =>
    "bridge" in n ? [{ bridge: n.bridge, ...(n.vlan !== undefined ? { vlan: n.vlan } : {}), mac: i === 0 ? host.mac : n.mac! }] : [],
  );
  // Talos's Proxmox guide asks for OVMF with an EFI disk, whatever the ISO could boot.
  const uefi = pci.length > 0 || (image?.uefi ?? false) || host.os === "talos";
  const cdrom = image?.kind === "iso" ? { image: spec.image!, ejected: spec.installed } : undefined;
  const zone = vm.segment === DMZ_STACK ? undefined : lab.segments[vm.segment];
  return {
    name: vm.name,
    stack: vm.segment,
    host: vm.host,
    vmId: vm.vmId,
    node: vm.node,
    description: host.description,
    tags: [...new Set([vm.segment, host.role])].sort(compareText),
    cores: vm.cores,
    cpuType: vm.ha ? "x86-64-v2-AES" : "host",
    memoryMiB: vm.memoryMiB,
    balloonMiB: spec.balloonMiB,
    machine: "q35",
    bios: uefi ? "ovmf" : "seabios",
    ...(uefi ? { efiDatastore: root } : {}),
    scsiHardware: "virtio-scsi-pci",
    disks,
    nics,
    pci,
    ...(spec.image !== undefined ? { image: spec.image } : {}),
    ...(cdrom ? { cdrom } : {}),
    ...(image?.cloudInit
      ? {
          cloudInit: {
            datastore: root,
            // A segment's router leases the host its address by MAC; the DMZ's DHCP is the ISP's, so the address is set.
            ipv4: zone ? { address: "dhcp" as const } : { address: `${host.address}/${lab.dmz.subnet.prefix}`, gateway: lab.dmz.gateway },
          },
        }
      : {}),
    ...(zone?.trust === "untrusted" && nics.length > 0
      ? { guestFirewall: { nics: nics.map((_, i) => ({ device: `net${i}`, addresses: i === 0 ? [host.address] : [] })) } }
      : {}),
    agent: image?.guestAgent ?? false,
    ...(host.os === "none" ? {} : { osType: "l26" as const }),
    bootOrder: cdrom && !cdrom.ejected ? [disks[0]!.interface, "ide0"] : [disks[0]!.interface],
    onBoot: true,
    startupOrder: START_ORDER[host.role],
    ha: vm.ha,
    migrate: vm.ha,
  };
}

/** Every VM of the lab as Proxmox gets it, in VM-id order. */
export function planMachines(lab: Lab, vms: readonly PlacedVm[]): Machine[] {
  return vms.map((vm) => planMachine(lab, vm));
}

/** One image file a stack downloads onto one node. */
export interface ImageFile {
  readonly image: string;
  readonly node: string;
  readonly datastore: string;
  /** `iso` for a CD-ROM image, `import` for a disk image. */
  readonly contentType: "iso" | "import";
  /**
   * `<stack>-<image>.<ext>`: each stack owns the files it downloads, so two stacks that use one
   * image on one node never fight over a file.
   */
  readonly fileName: string;
  readonly url: string;
  readonly checksum: string;
  readonly checksumAlgorithm: string;
}

/**
 * The image files one stack downloads: each image onto the node of each VM that uses it, and an
 * attached ISO of an HA VM onto its failover node too (`ha`: the placement's HA plans), the one
 * other node its strict HA rule lets it restart on, which could not start it without the file.
 * Sorted by image, then node.
 */
export function planImageFiles(lab: Lab, machines: readonly Machine[], stack: string, ha: readonly HaPlan[]): ImageFile[] {
  const wanted = new Map<string, ImageFile>();
  const { images, imageDatastore } = lab.hardware.proxmox;
  const failover = new Map(ha.flatMap((h) => (h.to !== undefined ? [[h.vm, h.to] as const] : [])));
  for (const m of machines) {
    if (m.stack !== stack || m.image === undefined) continue;
    const image = images[m.image]!;
    const attached = m.cdrom !== undefined && !m.cdrom.ejected;
    const to = failover.get(m.name);
    const nodes = m.ha && attached && to !== undefined ? [m.node, to] : [m.node];
    for (const node of nodes) {
      const key = `${m.image}/${node}`;
      if (wanted.has(key)) continue;
      wanted.set(key, {
        image: m.image,
        node,
        datastore: imageDatastore,
        contentType: image.kind === "iso" ? "iso" : "import",
        fileName: `${stack}-${m.image}.${urlFile(image.url).ext}`,
        url: image.url,
        checksum: image.checksum,
        checksumAlgorithm: image.checksumAlgorithm,
      });
    }
  }
  return [...wanted.values()].sort((a, b) => compareText(a.image, b.image) || compareText(a.node, b.node));
}

/** The Proxmox volume id of a downloaded file: what a CD-ROM's `fileId` or a disk's `importFrom` names. */
export function imageVolumeId(f: Pick<ImageFile, "datastore" | "contentType" | "fileName">): string {
  return `${f.datastore}:${f.contentType}/${f.fileName}`;
}

/**
 * What `check` and `plan` say about HA VMs that still have an ISO attached, one line per image:
 * Proxmox refuses to live-migrate a VM with an ISO of node-local storage in its CD-ROM ("can't
 * migrate local cdrom"), so such a VM stays on its node for maintenance until it is `installed`.
 * A restart elsewhere after a node failure still works: the stack put the ISO on its failover node,
 * the one other node it may start on. Nothing to say for a one-node lab, where nothing migrates.
 */
export function installMediaWarnings(lab: Lab, machines: readonly Machine[]): Problem[] {
  if (Object.keys(lab.hardware.proxmox.nodes).length < 2) return [];
  const byImage = new Map<string, string[]>();
  for (const m of machines) {
    if (!m.ha || m.cdrom === undefined || m.cdrom.ejected) continue;
    byImage.set(m.cdrom.image, [...(byImage.get(m.cdrom.image) ?? []), m.name]);
  }
  return [...byImage]
    .sort(([a], [b]) => compareText(a, b))
    .map(([image, vms]) =>
      problem(
        { file: LAB_FILE, path: joinPath("hardware.proxmox.images", image) },
        vms,
        `the ISO ${image} is still attached to ${vms.length} HA VM${vms.length === 1 ? "" : "s"} (${[...vms].sort(compareText).join(", ")}): Proxmox does not live-migrate a VM with an ISO of node-local storage attached, so until installed they move only by a restart`,
        "once a guest is installed on its disk, add installed: true to its vm (the CD-ROM is then emptied)",
      ),
    );
}
