// Proves the model's Proxmox VMs: each machine rule's exact message and fix, the schema's image and
// endpoint values, what planMachine decides (firmware, CPU type, disks, NICs, PCI mappings, boot media,
// cloud-init, agent, the guest firewall of untrusted segments' VMs, tags, start order, migrate), which image files each stack downloads, and the
// warning for HA VMs whose ISO is still attached; it does not prove the provider inputs (tests/mocks).
import { pciMappingName, planImageFiles, planMachine, installMediaWarnings, type Machine } from "../../model/compute/machine";
import { planLabObjects } from "../../model/compute/lab-objects";
import { labVms, planPlacement } from "../../model/compute/placement";
import type { Lab } from "../../model/lab";
import { formatProblems, type Problem } from "../../model/problems";
import { validateLab } from "../../model/validate";
import { parseFiles, referenceFiles, referenceLab, segOf, type LabFiles } from "../support/lab";
import { LAB_VLAN, singleNode, vlanSegment } from "../support/variants";

const labFile = (f: LabFiles) => f["homelab.yaml"];

function labWith(edit: (f: LabFiles) => void): Lab {
  const files = referenceFiles();
  edit(files);
  const parsed = parseFiles(files);
  if (!parsed.lab) throw new Error(`the edit broke the schema:\n${formatProblems(parsed.problems)}`);
  return parsed.lab;
}

/** The machines of a lab, by planner name. */
function machinesOf(lab: Lab): Map<string, Machine> {
  return new Map(labVms(lab).map((vm) => [vm.name, planMachine(lab, vm)]));
}

interface RuleCase {
  readonly name: string;
  readonly edit: (f: LabFiles) => void;
  /** The one problem the edit causes, exactly. */
  readonly problem: Omit<Problem, "line"> & { readonly rule: string };
}

const RULE_CASES: readonly RuleCase[] = [
  {
    name: "a lab with VMs and no API endpoint",
    edit: (f) => delete labFile(f).hardware.proxmox.endpoint,
    problem: {
      rule: "proxmox.endpoint",
      file: "homelab.yaml",
      path: "hardware.proxmox.endpoint",
      message: "is required: the lab has 18 VMs, and every stack declares its VMs through the Proxmox API at this URL",
      fix: "add endpoint: https://<host>:8006 under hardware.proxmox: a node's API, or the name the proxy publishes it under",
    },
  },
  {
    name: "a sha256 digest declared as sha512",
    edit: (f) => (labFile(f).hardware.proxmox.images["nixos-25-05"].checksumAlgorithm = "sha512"),
    problem: {
      rule: "images.files",
      file: "homelab.yaml",
      path: "hardware.proxmox.images.nixos-25-05.checksum",
      value: "bbc9f8c873b203ddb9356d07b31ca69e38f6f110ad5a0eaf4e647177512b2667",
      message: "is 64 hex digits, but a sha512 digest has 128",
      fix: "set checksumAlgorithm: sha256 if this is a sha256 digest, or copy the sha512 digest of the file",
    },
  },
  {
    name: "a cut-off digest",
    edit: (f) => (labFile(f).hardware.proxmox.images["nixos-25-05"].checksum = "abc123"),
    problem: {
      rule: "images.files",
      file: "homelab.yaml",
      path: "hardware.proxmox.images.nixos-25-05.checksum",
      value: "abc123",
      message: "is 6 hex digits, but a sha256 digest has 64",
      fix: "copy the whole sha256 digest of the file from the distribution's checksum list",
    },
  },
  {
    name: "a compressed disk image",
    edit: (f) =>
      (labFile(f).hardware.proxmox.images["debian-12"].url = "https://cloud.debian.org/images/debian-12-genericcloud-amd64.tar.xz"),
    problem: {
      rule: "images.files",
      file: "homelab.yaml",
      path: "hardware.proxmox.images.debian-12.url",
      value: "https://cloud.debian.org/images/debian-12-genericcloud-amd64.tar.xz",
      message:
        "names debian-12-genericcloud-amd64.tar.xz, but an image of kind disk is a .qcow2 or a .raw file (uncompressed: Proxmox imports a disk from the file as it is)",
      fix: "use the distribution's .qcow2 (or .raw) download, or kind: iso for an installer",
    },
  },
  {
    name: "an ISO that is not an .iso",
    edit: (f) => (labFile(f).hardware.proxmox.images["nixos-25-05"].url = "https://example.org/nixos.img"),
    problem: {
      rule: "images.files",
      file: "homelab.yaml",
      path: "hardware.proxmox.images.nixos-25-05.url",
      value: "https://example.org/nixos.img",
      message: "names nixos.img, but an image of kind iso is a .iso file",
      fix: "use the distribution's .iso download, or kind: disk for a .qcow2 or .raw disk image",
    },
  },
  {
    name: "an unknown image",
    edit: (f) => (segOf(f, "sandbox").hosts.games.vm.image = "debian-13"),
    problem: {
      rule: "vms.images",
      file: "Pulumi.sandbox.yaml",
      path: "homelab:segment.hosts.games.vm.image",
      value: "debian-13",
      message:
        'sandbox/games is installed from image "debian-13", which is not in hardware.proxmox.images; did you mean "debian-12"? (images: debian-12, nixos-25-05, talos-v1-13-0)',
      fix: "use one of debian-12, nixos-25-05, talos-v1-13-0, or add debian-13 to hardware.proxmox.images with its url, checksum and checksumAlgorithm",
    },
  },
  {
    name: "a balloon floor as large as the memory",
    edit: (f) => (segOf(f, "sandbox").hosts.games.vm.balloonMiB = 12288),
    problem: {
      rule: "vms.memory",
      file: "Pulumi.sandbox.yaml",
      path: "homelab:segment.hosts.games.vm.balloonMiB",
      value: 12288,
      message: "sandbox/games may balloon down to 12288 MiB, which is not below its memory of 12288 MiB",
      fix: "set balloonMiB below 12288, or to 0 for no ballooning",
    },
  },
  {
    name: "a passthrough VM that balloons",
    edit: (f) => (segOf(f, "lab").hosts.vdi.vm.balloonMiB = 8192),
    problem: {
      rule: "vms.memory",
      file: "Pulumi.lab.yaml",
      path: "homelab:segment.hosts.vdi.vm.balloonMiB",
      value: 8192,
      message: "lab/vdi passes through gpu0, so all its memory is pinned for the device's DMA and cannot balloon",
      fix: "remove balloonMiB (the default 0)",
    },
  },
  {
    name: "a Talos node that balloons",
    edit: (f) => (segOf(f, "cluster").hosts["cp-1"].vm.balloonMiB = 4096),
    problem: {
      rule: "vms.memory",
      file: "Pulumi.cluster.yaml",
      path: "homelab:segment.hosts.cp-1.vm.balloonMiB",
      value: 4096,
      message: "cluster/cp-1 is a Talos node, and Talos expects its memory fixed: ballooning must be off on Talos VMs",
      fix: "remove balloonMiB (the default 0)",
    },
  },
  {
    name: "a VM host without a MAC",
    edit: (f) => delete segOf(f, "sandbox").hosts.games.mac,
    problem: {
      rule: "vms.macs",
      file: "Pulumi.sandbox.yaml",
      path: "homelab:segment.hosts.games.mac",
      message: "sandbox/games is a VM, so it needs a mac: its first NIC gets it, and the router's DHCP gives it 10.40.0.20 by it",
      fix: "add mac: 52:54:00:xx:xx:xx (a locally administered address no other host has)",
    },
  },
  {
    name: "a first NIC with a MAC of its own",
    edit: (f) => (segOf(f, "sandbox").hosts.games.vm.nics[0].mac = "52:54:00:40:00:99"),
    problem: {
      rule: "vms.macs",
      file: "Pulumi.sandbox.yaml",
      path: "homelab:segment.hosts.games.vm.nics[0].mac",
      value: "52:54:00:40:00:99",
      message: "the first NIC of sandbox/games carries its address, so it has the host's mac 52:54:00:40:00:14, not 52:54:00:40:00:99",
      fix: "remove mac from nics[0] (set the host's mac instead)",
    },
  },
  {
    name: "a further NIC without a MAC",
    edit: (f) => segOf(f, "lab").hosts["mirror-1"].vm.nics.push({ bridge: "lab" }),
    problem: {
      rule: "vms.macs",
      file: "Pulumi.lab.yaml",
      path: "homelab:segment.hosts.mirror-1.vm.nics[1].mac",
      message: "NIC 1 of lab/mirror-1 has no mac: the lab gives every NIC its MAC, so a re-created VM keeps its leases and switch entries",
      fix: "add mac: 52:54:00:xx:xx:xx to nics[1] (a locally administered address no other host has)",
    },
  },
  {
    name: "a further NIC with another host's MAC",
    edit: (f) => segOf(f, "lab").hosts["mirror-1"].vm.nics.push({ bridge: "lab", mac: "52:54:00:30:00:20" }),
    problem: {
      rule: "vms.macs",
      file: "Pulumi.lab.yaml",
      path: "homelab:segment.hosts.mirror-1.vm.nics[1].mac",
      value: "52:54:00:30:00:20",
      message:
        "NIC 1 of lab/mirror-1 has MAC 52:54:00:30:00:20, already the MAC of lab/mirror-2 (Pulumi.lab.yaml homelab:segment.hosts.mirror-2.mac); every MAC address must be unique",
      fix: "give NIC 1 its own MAC, such as 52:54:00:xx:xx:xx",
    },
  },
];

describe("machine rules", () => {
  test.each(RULE_CASES)("$problem.rule: $name", ({ edit, problem }) => {
    expect(validateLab(labWith(edit))).toEqual([problem]);
  });

  test("a second NIC with its own MAC is accepted, and planned as declared", () => {
    const lab = labWith((f) => segOf(f, "lab").hosts["mirror-1"].vm.nics.push({ bridge: "lab", mac: "52:54:00:30:01:1f" }));
    expect(validateLab(lab)).toEqual([]);
    expect(machinesOf(lab).get("lab-mirror-1")!.nics).toEqual([
      { bridge: "lab", mac: "52:54:00:30:00:1f" },
      { bridge: "lab", mac: "52:54:00:30:01:1f" },
    ]);
  });

  test("a NIC tagged on a VLAN-aware bridge keeps its tag", () => {
    const lab = labWith(vlanSegment);
    expect(validateLab(lab)).toEqual([]);
    expect(machinesOf(lab).get("lab-mirror-1")!.nics).toEqual([{ bridge: "lab", vlan: LAB_VLAN.id, mac: "52:54:00:30:00:1f" }]);
  });
});

describe("schema values of images and the endpoint", () => {
  const schema = (edit: (f: LabFiles) => void) => {
    const files = referenceFiles();
    edit(files);
    return parseFiles(files).problems.map((p) => [p.path, p.message]);
  };
  test.each([
    [
      "an upper-case digest",
      (f: LabFiles) => (labFile(f).hardware.proxmox.images["nixos-25-05"].checksum = "BBC9F8C8"),
      "hardware.proxmox.images.nixos-25-05.checksum",
      "must be a hex digest in lower case",
    ],
    [
      "a URL with a query string",
      (f: LabFiles) => (labFile(f).hardware.proxmox.images["nixos-25-05"].url = "https://example.org/nixos.iso?x=1"),
      "hardware.proxmox.images.nixos-25-05.url",
      "must be an http(s) URL of a file, such as https://cdimage.debian.org/.../debian-12.iso",
    ],
    [
      "an endpoint over plain http",
      (f: LabFiles) => (labFile(f).hardware.proxmox.endpoint = "http://pve.lab.example.net:8006"),
      "hardware.proxmox.endpoint",
      "must be an https URL of a host, with an optional port, such as https://pve.lab.example.net or https://10.10.0.21:8006",
    ],
  ])("%s", (_name, edit, path, message) => {
    expect(schema(edit)).toEqual([[path, message]]);
  });
});

describe("planMachine", () => {
  const machines = machinesOf(referenceLab());

  test("the PCI mapping name is <node>-<device>: the contract with the owner of the mappings", () => {
    expect(pciMappingName("pve1", "gpu0")).toBe("pve1-gpu0");
    expect(machines.get("lab-vdi")!.pci).toEqual([{ device: "hostpci0", id: "gpu0", mapping: "pve1-gpu0", kind: "gpu" }]);
  });

  test("a passthrough VM is pinned: OVMF with an EFI disk, host CPU, no migration, no HA", () => {
    expect(machines.get("lab-vdi")).toMatchObject({
      machine: "q35",
      bios: "ovmf",
      efiDatastore: "local-zfs",
      cpuType: "host",
      ha: false,
      migrate: false,
      agent: false,
      bootOrder: ["scsi0"],
    });
    // Installed by hand: no image, no CD-ROM, no cloud-init, and no OS type the lab would claim.
    const vdi = machines.get("lab-vdi")!;
    expect([vdi.image, vdi.cdrom, vdi.cloudInit, vdi.osType]).toEqual([undefined, undefined, undefined, undefined]);
  });

  test("an HA VM migrates between the mixed nodes: a common CPU model, migrate on", () => {
    expect(machines.get("lab-mirror-1")).toMatchObject({ ha: true, migrate: true, cpuType: "x86-64-v2-AES", node: "pve4" });
  });

  test("Talos VMs get Talos's Proxmox settings: pinned with CPU host, OVMF with an EFI disk, VirtIO SCSI, no balloon", () => {
    for (const host of ["cp-1", "cp-2", "cp-3", "worker-1", "worker-2", "worker-3"]) {
      const m = machines.get(`cluster-${host}`)!;
      expect([host, m.ha, m.migrate, m.cpuType, m.machine, m.bios, m.efiDatastore, m.scsiHardware, m.balloonMiB]).toEqual([
        host,
        false,
        false,
        "host",
        "q35",
        "ovmf",
        "local-zfs",
        "virtio-scsi-pci",
        0,
      ]);
    }
  });

  test("NICs: bridged ones carry the host's MAC, a passed-through one is a hostpci entry", () => {
    expect(machines.get("cluster-cp-1")!.nics).toEqual([{ bridge: "cluster", mac: "52:54:00:20:00:0b" }]);
    expect(machines.get("cluster-worker-2")).toMatchObject({ nics: [], pci: [{ device: "hostpci0", mapping: "pve2-nic0", kind: "nic" }] });
  });

  test("a GPU and a NIC both passed through: the NIC first, each on its own hostpci slot", () => {
    const lab = labWith((f) => {
      const vdi = segOf(f, "lab").hosts.vdi;
      vdi.vm.nics = [{ passthrough: "nic0" }];
    });
    expect(
      machinesOf(lab)
        .get("lab-vdi")!
        .pci.map((p) => [p.device, p.mapping]),
    ).toEqual([
      ["hostpci0", "pve1-nic0"],
      ["hostpci1", "pve1-gpu0"],
    ]);
  });

  test("disks: root first on scsi0, the rest by id; a disk image is imported into root only", () => {
    expect(machines.get("internal-data")!.disks).toEqual([
      { id: "root", interface: "scsi0", datastore: "local-zfs", sizeGiB: 64 },
      { id: "data", interface: "scsi1", datastore: "local-zfs", sizeGiB: 1000 },
    ]);
    expect(machines.get("sandbox-games")!.disks).toEqual([
      { id: "root", interface: "scsi0", datastore: "local-zfs", sizeGiB: 100, importFrom: "debian-12" },
    ]);
    const lab = labWith(
      (f) =>
        (segOf(f, "sandbox").hosts.games.vm.disks = {
          world: { datastore: "local-zfs", sizeGiB: 50 },
          root: { datastore: "local-zfs", sizeGiB: 20 },
        }),
    );
    expect(
      machinesOf(lab)
        .get("sandbox-games")!
        .disks.map((d) => [d.id, d.interface, d.importFrom]),
    ).toEqual([
      ["root", "scsi0", "debian-12"],
      ["world", "scsi1", undefined],
    ]);
  });

  test("boot media: an ISO on ide0 booted after the disk, emptied once installed; cloud-init by DHCP in a segment", () => {
    expect(machines.get("cluster-cp-3")).toMatchObject({
      cdrom: { image: "talos-v1-13-0", ejected: false },
      bootOrder: ["scsi0", "ide0"],
      cloudInit: { datastore: "local-zfs", ipv4: { address: "dhcp" } },
      agent: true,
    });
    const installed = machinesOf(labWith((f) => (segOf(f, "cluster").hosts["cp-3"].vm.installed = true))).get("cluster-cp-3")!;
    expect(installed).toMatchObject({ cdrom: { image: "talos-v1-13-0", ejected: true }, bootOrder: ["scsi0"] });
  });

  test("the guest firewall: every VM of an untrusted segment with a bridged NIC, its model address on net0, nothing on a further NIC", () => {
    const withFirewall = [...machines.values()].filter((m) => m.guestFirewall !== undefined);
    expect(withFirewall.map((m) => [m.name, m.guestFirewall])).toEqual([
      ["sandbox-jump", { nics: [{ device: "net0", addresses: ["10.40.0.2"] }] }],
      ["sandbox-agent", { nics: [{ device: "net0", addresses: ["10.40.0.10"] }] }],
      ["sandbox-games", { nics: [{ device: "net0", addresses: ["10.40.0.20"] }] }],
    ]);
    const lab = labWith((f) => {
      segOf(f, "sandbox").hosts.games.vm.nics.push({ bridge: "sandbox", mac: "52:54:00:40:01:14" });
      segOf(f, "lab").trust = "untrusted";
    });
    const m = machinesOf(lab);
    expect(m.get("sandbox-games")!.guestFirewall).toEqual({
      nics: [
        { device: "net0", addresses: ["10.40.0.20"] },
        { device: "net1", addresses: [] },
      ],
    });
    expect(m.get("lab-mirror-1")!.guestFirewall).toEqual({ nics: [{ device: "net0", addresses: ["10.30.0.31"] }] });
    // The datacenter switch follows: on while any VM has a guest firewall, off in a lab without an untrusted VM.
    expect(planLabObjects(lab, planPlacement(lab)).clusterFirewall).toBe(true);
    const trusted = labWith((f) => (segOf(f, "sandbox").trust = "trusted"));
    expect([...machinesOf(trusted).values()].filter((x) => x.guestFirewall !== undefined)).toEqual([]);
    expect(planLabObjects(trusted, planPlacement(trusted)).clusterFirewall).toBe(false);
  });

  test("the DMZ has no lab DHCP: a cloud-init image there gets the infra address and the edge gateway", () => {
    const lab = labWith((f) => (labFile(f).dmz.infra.vm.image = "debian-12"));
    expect(machinesOf(lab).get("infra")!.cloudInit).toEqual({
      datastore: "local-zfs",
      ipv4: { address: "192.168.1.10/24", gateway: "192.168.1.1" },
    });
  });

  test("firmware: SeaBIOS for an image that boots without UEFI, OVMF as soon as a device is passed through", () => {
    const lab = labWith((f) => {
      labFile(f).hardware.proxmox.images["debian-12"].uefi = false;
      segOf(f, "cluster").hosts["worker-1"].vm.image = "debian-12";
    });
    const m = machinesOf(lab);
    expect(m.get("sandbox-games")).toMatchObject({ bios: "seabios" });
    expect(m.get("sandbox-games")!.efiDatastore).toBeUndefined();
    expect(m.get("cluster-worker-1")).toMatchObject({ bios: "ovmf", efiDatastore: "local-zfs" });
  });

  test("tags are the segment and the role, sorted; the start order follows the role", () => {
    expect([...machines.values()].map((m) => [m.name, m.tags.join(","), m.startupOrder])).toEqual([
      ["infra", "dmz,infra", 1],
      ["internal-jump", "internal,jump", 2],
      ["internal-data", "database,internal", 2],
      ["internal-monitor", "internal,monitoring", 3],
      ["cluster-jump", "cluster,jump", 2],
      ["cluster-cp-1", "cluster,k8s-control-plane", 3],
      ["cluster-cp-2", "cluster,k8s-control-plane", 3],
      ["cluster-cp-3", "cluster,k8s-control-plane", 3],
      ["cluster-worker-1", "cluster,k8s-worker", 4],
      ["cluster-worker-2", "cluster,k8s-worker", 4],
      ["cluster-worker-3", "cluster,k8s-worker", 4],
      ["lab-jump", "jump,lab", 2],
      ["lab-vdi", "lab,vdi", 5],
      ["lab-mirror-1", "lab,mirror", 4],
      ["lab-mirror-2", "lab,mirror", 4],
      ["sandbox-jump", "jump,sandbox", 2],
      ["sandbox-agent", "agent,sandbox", 5],
      ["sandbox-games", "game-server,sandbox", 5],
    ]);
  });
});

describe("planImageFiles", () => {
  const files = (lab: Lab, stack: string) =>
    planImageFiles(lab, [...machinesOf(lab).values()], stack, planPlacement(lab).ha).map((f) => `${f.fileName} ${f.contentType} ${f.node}`);

  test("each stack downloads its own copy; an attached ISO of an HA VM onto its own node and its failover node", () => {
    const lab = referenceLab();
    // The jump host (NixOS, HA) runs on pve5 and fails over to pve4, nowhere else (its HA rule is
    // strict); the Talos nodes are pinned and need it on their own node only: cp-1..3 on pve1,
    // pve4, pve5, the workers on pve1, pve2, pve3.
    expect(files(lab, "cluster")).toEqual([
      "cluster-nixos-25-05.iso iso pve4",
      "cluster-nixos-25-05.iso iso pve5",
      "cluster-talos-v1-13-0.iso iso pve1",
      "cluster-talos-v1-13-0.iso iso pve2",
      "cluster-talos-v1-13-0.iso iso pve3",
      "cluster-talos-v1-13-0.iso iso pve4",
      "cluster-talos-v1-13-0.iso iso pve5",
    ]);
    // A disk image is read once, at creation, on the VM's node.
    expect(files(lab, "sandbox")).toEqual([
      "sandbox-debian-12.qcow2 import pve4",
      "sandbox-nixos-25-05.iso iso pve1",
      "sandbox-nixos-25-05.iso iso pve4",
      "sandbox-nixos-25-05.iso iso pve5",
    ]);
  });

  test("once every VM of an image is installed, the stack keeps it on the VMs' own nodes only", () => {
    const lab = labWith((f) => {
      for (const h of ["jump", "agent"]) segOf(f, "sandbox").hosts[h].vm.installed = true;
    });
    expect(files(lab, "sandbox")).toEqual([
      "sandbox-debian-12.qcow2 import pve4",
      "sandbox-nixos-25-05.iso iso pve4",
      "sandbox-nixos-25-05.iso iso pve5",
    ]);
  });
});

describe("installMediaWarnings", () => {
  test("one line per image for the HA VMs that still have its ISO attached", () => {
    const lab = referenceLab();
    const warnings = installMediaWarnings(lab, [...machinesOf(lab).values()]);
    expect(warnings.map((w) => [w.path, w.message, w.fix])).toEqual([
      [
        "hardware.proxmox.images.nixos-25-05",
        "the ISO nixos-25-05 is still attached to 10 HA VMs (cluster-jump, infra, internal-data, internal-jump, internal-monitor, lab-jump, lab-mirror-1, lab-mirror-2, sandbox-agent, sandbox-jump): Proxmox does not live-migrate a VM with an ISO of node-local storage attached, so until installed they move only by a restart",
        "once a guest is installed on its disk, add installed: true to its vm (the CD-ROM is then emptied)",
      ],
    ]);
  });

  test("installed VMs, pinned VMs and a one-node lab give none", () => {
    // The Talos nodes are pinned: their attached ISO gives no warning, installed or not.
    const installed = labWith((f) => {
      labFile(f).dmz.infra.vm.installed = true;
      for (const seg of ["internal", "cluster", "lab", "sandbox"])
        for (const h of Object.values<{ vm?: { ha?: boolean; installed?: boolean } }>(segOf(f, seg).hosts))
          if (h.vm && h.vm.ha !== false) h.vm.installed = true;
    });
    expect(installMediaWarnings(installed, [...machinesOf(installed).values()])).toEqual([]);
    const solo = labWith(singleNode);
    expect(installMediaWarnings(solo, [...machinesOf(solo).values()])).toEqual([]);
  });
});
