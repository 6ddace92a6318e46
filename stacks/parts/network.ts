/** The network parts of a segment: its jump host (the SSH entry) and its router. */
import { NixosHost } from "../../components/nixos-host";
import type { SshTarget } from "../../components/release";
import { Router } from "../../components/router";
import { filesUnder } from "../../render/files";
import { JUMP_DIR, jumpLabFacts, renderJumpFiles } from "../../render/jump";
import { ROUTER_DIR, renderSegmentFiles } from "../../render/segment";
import { OUTPUTS } from "../contracts";
import { need, type SegmentPart } from "./part";
import type { SecretFile } from "../../components/release";
import { CONFIG_KEYS } from "../../model/lab";
import { ConfigError } from "../../model/problems";
import { tunnelEnd } from "../../model/network/tunnel";
import { TUNNEL_KEY_FILE } from "../../render/wireguard";
import type { StackContext } from "../context";
import { secretFileOf, wireguardKeyProblem } from "../secrets";

/**
 * The segment's jump host, a NixOS host. Admins and Pulumi reach it at the router's WAN
 * address; the router forwards port 22 to it from the admin sources only.
 */
export const jumpHost: SegmentPart = {
  id: "jump-host",
  applies: ({ segment }) => segment.hosts[segment.jumpHost] !== undefined,
  declare({ lab, segment, plan, access, timeout }, provided) {
    const target: SshTarget = {
      host: segment.router.wanAddress,
      user: lab.ssh.deploy.user,
      hostKey: plan.jumpHost.sshHostKey!,
    };
    const files = filesUnder(renderJumpFiles(plan, access, jumpLabFacts(lab)), JUMP_DIR);
    // A jump host that is a VM of the segment is configured once its VM exists.
    const vm = provided.vms?.[segment.jumpHost];
    const jump = new NixosHost(segment.jumpHost, { files, target, ...timeout }, vm ? { dependsOn: [vm] } : {});
    return { provides: { entry: { target, resource: jump } }, outputs: { [OUTPUTS.jumpRelease]: jump.release } };
  },
};

/** The router's WireGuard private key as a secret file of its release, when it has an end of the tunnel. */
function tunnelSecretFiles(ctx: StackContext, router: string): SecretFile[] {
  if (tunnelEnd(ctx.lab, ctx.stack) === undefined) return [];
  const file = secretFileOf(ctx.dir, ctx.stack, CONFIG_KEYS.wireguardKey, TUNNEL_KEY_FILE);
  // loadContext refused a stack without it already; this keeps the read total.
  if (!file) throw new ConfigError([wireguardKeyProblem(ctx.stack, router)], "cannot run this stack");
  return [file];
}

/** The segment's router: every segment has one. Its sshd accepts only the jump host, so Pulumi goes through it. */
export const router: SegmentPart = {
  id: "router",
  applies: () => true,
  declare({ ctx, lab, segment, plan, access, timeout }, provided) {
    const entry = need(provided.entry, "router", "jump-host");
    const box = new Router(
      segment.router.name,
      {
        files: filesUnder(renderSegmentFiles(plan, access), ROUTER_DIR),
        secretFiles: tunnelSecretFiles(ctx, segment.router.name),
        target: {
          host: segment.router.lanAddress,
          user: lab.ssh.deploy.user,
          hostKey: segment.router.sshHostKey,
          proxy: entry.target,
        },
        ...timeout,
      },
      { dependsOn: [entry.resource] },
    );
    return { outputs: { [OUTPUTS.routerRelease]: box.release } };
  },
};
