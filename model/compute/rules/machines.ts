/**
 * Compute rules about what each Proxmox VM is made of, beyond where it runs: the cluster's API
 * endpoint, the images VMs are installed from, memory ballooning, and the NICs' MAC addresses.
 * Each is something the VM resource needs and Proxmox would refuse (or silently get wrong) at
 * deploy time.
 */
import { DMZ_STACK, LAB_FILE, type Lab, own } from "../../lab";
import { type LabIndex, type VmRef, vmDevices, vmWhere } from "../../lab-index";
import { joinPath, type Problem, problem } from "../../problems";
import { list, place, type Rule, sp, type Where } from "../../rule";
import { didYouMean } from "../../suggest";
import type { HostOs } from "../../network/schema";
import { getsUserData } from "../cloud-init";
import { CHECKSUM_ALGORITHMS } from "../schema";

/** Where the cluster's facts live. */
const CLUSTER = "hardware.proxmox";

/** Hex digits of each algorithm's digest. */
const DIGEST_HEX: Readonly<Record<(typeof CHECKSUM_ALGORITHMS)[number], number>> = {
  md5: 32,
  sha1: 40,
  sha224: 56,
  sha256: 64,
  sha384: 96,
  sha512: 128,
};

/** The file types each image kind may be: what Proxmox stores under iso/ or import/. */
export const IMAGE_EXTENSIONS = { iso: ["iso"], disk: ["qcow2", "raw"] } as const;

/** The last path segment of a URL's path, and its extension in lower case. */
export function urlFile(url: string): { readonly name: string; readonly ext: string } {
  const name = decodeURIComponent(new URL(url).pathname.split("/").pop() ?? "");
  const dot = name.lastIndexOf(".");
  return { name, ext: dot < 0 ? "" : name.slice(dot + 1).toLowerCase() };
}

/** The host a VM belongs to: its OS and MAC (the DMZ infra host is a NixOS host). */
function vmHost(lab: Lab, ref: VmRef): { readonly os: string; readonly mac?: string; readonly macWhere: Where } {
  if (ref.zone === DMZ_STACK) return { os: "nixos", mac: lab.dmz.infra.mac, macWhere: { file: LAB_FILE, path: "dmz.infra.mac" } };
  const id = ref.label.slice(ref.label.indexOf("/") + 1);
  const host = lab.segments[ref.zone]!.hosts[id]!;
  return { os: host.os, ...(host.mac ? { mac: host.mac } : {}), macWhere: { file: ref.file, path: ref.base.replace(/\.vm$/, ".mac") } };
}

export const proxmoxEndpoint: Rule = {
  id: "proxmox.endpoint",
  description: "A lab with VMs names the URL of the cluster's API (hardware.proxmox.endpoint): the stacks declare every VM through it.",
  check(ix) {
    if (ix.vms.length === 0 || ix.lab.hardware.proxmox.endpoint !== undefined) return [];
    return [
      problem(
        { file: LAB_FILE, path: `${CLUSTER}.endpoint` },
        undefined,
        `is required: the lab has ${ix.vms.length} VMs, and every stack declares its VMs through the Proxmox API at this URL`,
        `add endpoint: https://<host>:8006 under ${CLUSTER}: a node's API, or the name the proxy publishes it under`,
      ),
    ];
  },
};

export const snippetsSsh: Rule = {
  id: "proxmox.snippets-ssh",
  description:
    "A lab whose Debian or Ubuntu VMs get cloud-init user data names hardware.proxmox.sshUser: Proxmox takes a snippet over SSH only (its API uploads ISOs, disk images and templates, not snippets).",
  check(ix) {
    const { lab } = ix;
    if (lab.hardware.proxmox.sshUser !== undefined) return [];
    const vms = ix.vms.filter((r) => {
      const image = r.vm.image !== undefined ? own(lab.hardware.proxmox.images, r.vm.image) : undefined;
      return getsUserData(vmHost(lab, r).os as HostOs, image?.cloudInit ?? false);
    });
    if (vms.length === 0) return [];
    const labels = vms.map((r) => r.label);
    return [
      problem(
        { file: LAB_FILE, path: `${CLUSTER}.sshUser` },
        undefined,
        `is required: ${list(labels)} ${labels.length === 1 ? "gets" : "get"} cloud-init user data (the admins' keys, the hardened sshd), which the stack uploads as a snippet to ${CLUSTER}.snippetDatastore (${lab.hardware.proxmox.snippetDatastore}), and Proxmox takes snippets over SSH only`,
        `add sshUser: <a PAM user with passwordless sudo on every node> under ${CLUSTER} (Pulumi logs in as it with the deploy key from the ssh-agent), and enable the snippets content on ${lab.hardware.proxmox.snippetDatastore}`,
      ),
    ];
  },
};

export const imageFiles: Rule = {
  id: "images.files",
  description:
    "Every image's checksum has the length of its algorithm's digest, and its URL names a file Proxmox can store for its kind: an .iso for kind iso, a .qcow2 or .raw for kind disk (uncompressed: a disk image is imported from the file as it is).",
  check(ix) {
    const out: Problem[] = [];
    for (const [id, image] of Object.entries(ix.lab.hardware.proxmox.images)) {
      const base = joinPath(CLUSTER, "images", id);
      const hex = DIGEST_HEX[image.checksumAlgorithm];
      if (image.checksum.length !== hex) {
        const fits = Object.entries(DIGEST_HEX).find(([, n]) => n === image.checksum.length)?.[0];
        out.push(
          problem(
            { file: LAB_FILE, path: joinPath(base, "checksum") },
            image.checksum,
            `is ${image.checksum.length} hex digits, but a ${image.checksumAlgorithm} digest has ${hex}`,
            fits
              ? `set checksumAlgorithm: ${fits} if this is a ${fits} digest, or copy the ${image.checksumAlgorithm} digest of the file`
              : `copy the whole ${image.checksumAlgorithm} digest of the file from the distribution's checksum list`,
          ),
        );
      }
      const { name, ext } = urlFile(image.url);
      const allowed: readonly string[] = IMAGE_EXTENSIONS[image.kind];
      if (!allowed.includes(ext)) {
        out.push(
          problem(
            { file: LAB_FILE, path: joinPath(base, "url") },
            image.url,
            `names ${name}, but an image of kind ${image.kind} is ${allowed.map((e) => `a .${e}`).join(" or ")} file${image.kind === "disk" ? " (uncompressed: Proxmox imports a disk from the file as it is)" : ""}`,
            image.kind === "disk"
              ? "use the distribution's .qcow2 (or .raw) download, or kind: iso for an installer"
              : "use the distribution's .iso download, or kind: disk for a .qcow2 or .raw disk image",
          ),
        );
      }
    }
    return out;
  },
};

export const vmImages: Rule = {
  id: "vms.images",
  description: "A VM's image is one of hardware.proxmox.images.",
  check(ix) {
    const images = Object.keys(ix.lab.hardware.proxmox.images);
    return ix.vms
      .filter((r) => r.vm.image !== undefined && own(ix.lab.hardware.proxmox.images, r.vm.image) === undefined)
      .map((r) =>
        problem(
          vmWhere(r, "image"),
          r.vm.image,
          `${r.label} is installed from image "${r.vm.image}", which is not in ${CLUSTER}.images${didYouMean(r.vm.image!, images)} (images: ${list(images)})`,
          images.length > 0
            ? `use one of ${list(images)}, or add ${r.vm.image} to ${CLUSTER}.images with its url, checksum and checksumAlgorithm`
            : `add ${r.vm.image} to ${CLUSTER}.images with its url, checksum and checksumAlgorithm`,
        ),
      );
  },
};

export const vmMemory: Rule = {
  id: "vms.memory",
  description:
    "A VM's balloon floor (balloonMiB) lies below its memory, and is 0 for a VM with passthrough (its memory is pinned for the device's DMA) and for a Talos node (Talos does not support memory hotplug or ballooning).",
  check(ix) {
    const out: Problem[] = [];
    for (const ref of ix.vms) {
      const { balloonMiB, memoryMiB } = ref.vm;
      if (balloonMiB === 0) continue;
      const where = vmWhere(ref, "balloonMiB");
      if (balloonMiB >= memoryMiB) {
        out.push(
          problem(
            where,
            balloonMiB,
            `${ref.label} may balloon down to ${balloonMiB} MiB, which is not below its memory of ${memoryMiB} MiB`,
            `set balloonMiB below ${memoryMiB}, or to 0 for no ballooning`,
          ),
        );
        continue;
      }
      const devices = vmDevices(ref);
      if (devices.length > 0) {
        out.push(
          problem(
            where,
            balloonMiB,
            `${ref.label} passes through ${list(devices.map((d) => d.id))}, so all its memory is pinned for the device's DMA and cannot balloon`,
            `remove balloonMiB (the default 0)`,
          ),
        );
      } else if (vmHost(ix.lab, ref).os === "talos") {
        out.push(
          problem(
            where,
            balloonMiB,
            `${ref.label} is a Talos node, and Talos expects its memory fixed: ballooning must be off on Talos VMs`,
            `remove balloonMiB (the default 0)`,
          ),
        );
      }
    }
    return out;
  },
};

/** Every MAC the lab already gives a host or a piece of hardware, with where. */
function knownMacs(ix: LabIndex): Map<string, Where & { readonly label: string }> {
  const macs = new Map<string, Where & { label: string }>();
  const add = (mac: string, w: Where & { label: string }) => {
    if (!macs.has(mac.toLowerCase())) macs.set(mac.toLowerCase(), w);
  };
  add(ix.lab.dmz.infra.mac, { file: LAB_FILE, path: "dmz.infra.mac", label: "dmz/infra" });
  for (const h of ix.hardware) add(h.mac, { file: LAB_FILE, path: `${h.path}.mac`, label: `${h.kind} ${h.id}` });
  for (const seg of ix.segments)
    for (const [id, h] of Object.entries(seg.hosts))
      if (h.mac) add(h.mac, { file: seg.file, path: sp("hosts", id, "mac"), label: `${seg.name}/${id}` });
  return macs;
}

export const vmMacs: Rule = {
  id: "vms.macs",
  description:
    "Every bridged NIC of a VM has a MAC the lab chose: the first NIC has its host's mac (the static DHCP lease), so the host of a VM has one and nics[0] names none of its own; every further bridged NIC names its own, unique in the lab.",
  check(ix) {
    const out: Problem[] = [];
    const macs = knownMacs(ix);
    for (const ref of ix.vms) {
      const host = vmHost(ix.lab, ref);
      const first = ref.vm.nics[0];
      if (host.mac === undefined && first && "bridge" in first) {
        out.push(
          problem(
            host.macWhere,
            undefined,
            `${ref.label} is a VM, so it needs a mac: its first NIC gets it, and the router's DHCP gives it ${ref.address} by it`,
            "add mac: 52:54:00:xx:xx:xx (a locally administered address no other host has)",
          ),
        );
      }
      ref.vm.nics.forEach((n, i) => {
        if (!("bridge" in n)) return;
        const where = vmWhere(ref, "nics", i, "mac");
        if (i === 0) {
          if (n.mac !== undefined && n.mac.toLowerCase() !== host.mac?.toLowerCase()) {
            out.push(
              problem(
                where,
                n.mac,
                `the first NIC of ${ref.label} carries its address, so it has the host's mac${host.mac ? ` ${host.mac}` : ""}, not ${n.mac}`,
                `remove mac from nics[0] (set the host's mac instead)`,
              ),
            );
          }
          return;
        }
        if (n.mac === undefined) {
          out.push(
            problem(
              where,
              undefined,
              `NIC ${i} of ${ref.label} has no mac: the lab gives every NIC its MAC, so a re-created VM keeps its leases and switch entries`,
              `add mac: 52:54:00:xx:xx:xx to nics[${i}] (a locally administered address no other host has)`,
            ),
          );
          return;
        }
        const prev = macs.get(n.mac.toLowerCase());
        if (prev) {
          out.push(
            problem(
              where,
              n.mac,
              `NIC ${i} of ${ref.label} has MAC ${n.mac}, already the MAC of ${prev.label} (${place(prev)}); every MAC address must be unique`,
              `give NIC ${i} its own MAC, such as 52:54:00:xx:xx:xx`,
            ),
          );
        } else macs.set(n.mac.toLowerCase(), { ...where, label: `NIC ${i} of ${ref.label}` });
      });
    }
    return out;
  },
};

/** The rules of this file, in the order they run. */
export const MACHINE_RULES: readonly Rule[] = [proxmoxEndpoint, snippetsSsh, imageFiles, vmImages, vmMemory, vmMacs];
