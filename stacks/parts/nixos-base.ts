/**
 * The segment's base NixOS hosts (render/nixos-base.ts: today the monitor): the hardened sshd,
 * host firewall, users and commit-confirm of every lab NixOS host, without services of their
 * own yet, each deployed as a confirmed release through the jump host, once its VM exists.
 */
import { NixosHost } from "../../components/nixos-host";
import { filesUnder } from "../../render/files";
import { jumpLabFacts } from "../../render/jump";
import { baseNixosHosts, renderBaseHostFiles } from "../../render/nixos-base";
import { need, type SegmentPart } from "./part";

/** Every base NixOS host of the segment: after the jump host, which opens their port 22 to the deploy identity. */
export const nixosBaseHosts: SegmentPart = {
  id: "nixos-base-hosts",
  applies: ({ plan }) => baseNixosHosts(plan).length > 0,
  declare({ lab, segment, plan, access, timeout }, provided) {
    const entry = need(provided.entry, "nixos-base-hosts", "jump-host");
    for (const h of baseNixosHosts(plan)) {
      const vm = provided.vms?.[h.id];
      new NixosHost(
        h.id,
        {
          files: filesUnder(renderBaseHostFiles(plan, h, access, jumpLabFacts(lab)), h.id),
          target: { host: h.address, user: lab.ssh.deploy.user, hostKey: segment.hosts[h.id]!.sshHostKey!, proxy: entry.target },
          ...timeout,
        },
        { dependsOn: [entry.resource, ...(vm ? [vm] : [])] },
      );
    }
    return {};
  },
};
