/**
 * What the jump host renderer can honour. A jump host is rendered and deployed as a NixOS
 * Proxmox VM: a configuration.nix with the QEMU guest agent and its address on ens18 (the
 * first virtio NIC), activated by nixos-rebuild under commit-confirm. A jump host declared
 * as anything else would be rendered as that VM without a word, so it is refused here,
 * naming what to change.
 */
import { CONFIG_KEYS, own, segmentList } from "../../lab";
import { joinPath, problem, type Problem } from "../../problems";
import type { Rule } from "../../rule";

export const jumpHostRendering: Rule = {
  id: "ssh.jump-host-kind",
  description:
    "A segment's jump host is a NixOS Proxmox VM whose first NIC is a bridge NIC: that is what its files are rendered for (configuration.nix, ens18, the QEMU guest agent, nixos-rebuild). Another os, a physical box or a passed-through first NIC would be rendered wrongly, so each is refused.",
  check(ix) {
    const lab = ix.lab;
    const out: Problem[] = [];
    for (const seg of segmentList(lab)) {
      const h = own(seg.hosts, seg.jumpHost);
      if (!h || h.role !== "jump") continue; // ssh.jump-hosts
      const at = (...parts: (string | number)[]) => ({
        file: seg.file,
        path: joinPath(CONFIG_KEYS.segment, "hosts", seg.jumpHost, ...parts),
      });
      const label = `${seg.name}/${seg.jumpHost}`;
      if (h.os !== "nixos")
        out.push(
          problem(
            at("os"),
            h.os,
            `the jump host ${label} has os ${h.os}, but jump hosts are rendered and deployed as NixOS only (configuration.nix activated by nixos-rebuild with commit-confirm); a ${h.os} box would get a NixOS config it cannot read`,
            `set os: nixos and install NixOS on it (a jump host holds no state: its whole config is rendered), or keep the ${h.os} box as an ordinary host and make a NixOS VM the jump host`,
          ),
        );
      if (!h.vm) {
        out.push(
          problem(
            at("vm"),
            undefined,
            `the jump host ${label} is a physical box (it has no vm), but jump hosts are rendered as Proxmox VMs: the QEMU guest agent, and the address on ens18, the first virtio NIC; a physical box has neither`,
            `run the jump host as a VM: add vm: { node, vmId, cores: 1, memoryMiB: 1024, disks: { root: { datastore, sizeGiB: 16 } }, nics: [{ bridge: ${seg.name} }] } on a node with a bridge into ${seg.name}`,
          ),
        );
        continue;
      }
      const first = h.vm.nics[0];
      if (first && !("bridge" in first))
        out.push(
          problem(
            at("vm", "nics", 0),
            first,
            `the jump host ${label}'s first NIC is the passed-through device ${first.passthrough}, whose interface name the model does not know; the jump host's address is rendered on ens18, the first virtio NIC`,
            `make its first NIC { bridge: ${seg.name} }`,
          ),
        );
    }
    return out;
  },
};
