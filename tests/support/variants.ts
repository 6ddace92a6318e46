/**
 * Labs that are not the reference lab, as edits of its files (for copyLab, parseFiles or the
 * twin): the shapes a household other than the owners writes. Each edit is the whole
 * difference, so a test names exactly what it proves.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { selfSignedCertificate } from "./backend-tls";
import { segOf, type LabFiles } from "./lab";

const labFile = (f: LabFiles) => f["homelab.yaml"];

/** The VLAN the `lab` segment is carried on in VLAN_SEGMENT. */
export const LAB_VLAN = { segment: "lab", box: "rtr3", parent: "enp2s0", id: 30, iface: "enp2s0.30" } as const;

/**
 * The `lab` segment on a VLAN: its router's LAN is the sub-interface enp2s0.30 (VLAN 30
 * tagged on port enp2s0, which the box lists), and mirror-1's NIC is tagged VLAN 30 on the
 * VLAN-aware lab bridge of pve4 and pve1 (its node and its failover node).
 */
export function vlanSegment(f: LabFiles): void {
  Object.assign(labFile(f).hardware.routers[LAB_VLAN.box], {
    lanInterface: LAB_VLAN.iface,
    ports: ["enp1s0", "enp2s0", "enp3s0", "enp4s0"],
  });
  segOf(f, LAB_VLAN.segment).hosts["mirror-1"].vm.nics = [{ bridge: LAB_VLAN.segment, vlan: LAB_VLAN.id }];
  // The nodes with a lab bridge carry the VLAN tagged: mirror-1's own (pve4) and its failover node.
  for (const n of ["pve1", "pve4"]) labFile(f).hardware.proxmox.nodes[n].vlans = { [LAB_VLAN.segment]: [LAB_VLAN.id] };
}

/**
 * Five control planes on the three nodes with a cluster bridge, spread 2/2/1 (pve1: cp-1,
 * cp-4; pve4: cp-2, cp-5; pve5: cp-3), and pve5 with the memory to take them in a failover.
 */
export function fiveControlPlanes(f: LabFiles): void {
  const seg = segOf(f, "cluster");
  const cp1 = seg.hosts["cp-1"];
  for (const [n, node] of [
    [4, "pve1"],
    [5, "pve4"],
  ] as const) {
    seg.hosts[`cp-${n}`] = {
      ...structuredClone(cp1),
      description: `Talos control plane ${n}`,
      address: `10.20.0.1${n}`,
      mac: `52:54:00:20:00:0${(10 + n).toString(16)}`,
      vm: { ...structuredClone(cp1.vm), node, vmId: 2010 + n },
    };
  }
  seg.talos.controlPlanes = ["cp-1", "cp-2", "cp-3", "cp-4", "cp-5"];
  // Room for the two more when a node fails: the reference lab's N-1 headroom is sized for three.
  labFile(f).hardware.proxmox.nodes.pve5.memoryGiB = 96;
}

/** The internal jump host as a physical Debian box (no vm). */
export function debianPhysicalJump(f: LabFiles): void {
  const jump = segOf(f, "internal").hosts.jump;
  jump.os = "debian";
  delete jump.vm;
}

/** The NAS is a Synology DiskStation (web UI on its default HTTPS port, 5001), published like the TrueNAS was. */
export function synologyNas(f: LabFiles): void {
  const hw = labFile(f).hardware;
  const nas = hw.nas.truenas;
  delete hw.nas.truenas;
  hw.nas.diskstation = { ...nas, kind: "synology", description: "Synology DS920+, 4x 8 TB SHR-2" };
  Object.assign(segOf(f, "internal").services.nas, {
    description: "Synology DSM web UI",
    // The NAS's own self-signed certificate, pinned (made here with openssl, its key thrown away).
    backend: { host: "diskstation", port: 5001, tls: { pin: throwawayPin(`diskstation.internal.${labFile(f).domain}`) } },
    auth: { kind: "app", note: "DSM accounts with 2FA" },
  });
}

/** A self-signed certificate for `name`, as PEM; its key is deleted with the scratch directory. */
function throwawayPin(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-pin-"));
  try {
    return fs.readFileSync(selfSignedCertificate(dir, "pin", name).cert, "utf8");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One Proxmox node, `solo`, carries every VM: it has a bridge into every network, the GPU and
 * three NICs for the Talos workers' passthrough. Everything else is the reference lab.
 */
export function singleNode(f: LabFiles): void {
  const hw = labFile(f).hardware;
  const pve1 = hw.proxmox.nodes.pve1;
  hw.proxmox.nodes = {
    solo: {
      ...pve1,
      description: "EPYC 9124 server, 512 GB, 4x 4 TB NVMe",
      cpuCores: 64,
      memoryGiB: 512,
      storage: { "local-zfs": 14000 },
      networks: ["internal", "dmz", "cluster", "lab", "sandbox"],
      pci: {
        gpu0: pve1.pci.gpu0,
        nic0: { ...pve1.pci.nic0, path: "0000:05:00.0", iommuGroup: 18 },
        nic1: { ...pve1.pci.nic0, path: "0000:06:00.0", iommuGroup: 19 },
        nic2: { ...pve1.pci.nic0, path: "0000:07:00.0", iommuGroup: 20 },
      },
    },
  };
  labFile(f).dmz.infra.vm.node = "solo";
  for (const name of ["internal", "cluster", "lab", "sandbox"]) {
    for (const h of Object.values<{ vm?: { node: string } }>(segOf(f, name).hosts)) if (h.vm) h.vm.node = "solo";
  }
  const cluster = segOf(f, "cluster");
  cluster.hosts["worker-2"].vm.nics = [{ passthrough: "nic1" }];
  cluster.hosts["worker-3"].vm.nics = [{ passthrough: "nic2" }];
  segOf(f, "internal").services.pve.backend.host = "solo";
}

/**
 * The sandbox's agent behind the proxy's basic auth alone, as the reference lab had it. check
 * refuses this lab (services.auth-bypass: the game servers and the DHCP pool share the agent's
 * network, with no router between) and will until a segment can declare isolation; the proxy's
 * basic auth is still rendered, so the renderer and nginx tests prove it on this lab.
 */
export function basicAuthAgent(f: LabFiles): void {
  segOf(f, "sandbox").services.agent.auth = { kind: "basic", realm: "agent" };
}
