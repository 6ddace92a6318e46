/**
 * The program of every segment stack (internal, cluster, lab, sandbox, and any segment
 * added later): the segment's jump host and router, and the contract the DMZ reads.
 */
import { NixosHost } from "../components/nixos-host";
import type { SshTarget } from "../components/release";
import { Router } from "../components/router";
import { publishSegment } from "../model/network/dmz";
import { planFlows } from "../model/network/flows";
import { planSshAccess } from "../model/network/ssh";
import { planSegment } from "../model/plan";
import { docsOfSegment } from "../render/docs-contract";
import { filesUnder } from "../render/files";
import { JUMP_DIR, jumpLabFacts, renderJumpFiles } from "../render/jump";
import { ROUTER_DIR, renderSegmentFiles } from "../render/segment";
import type { StackContext } from "./context";
import { OUTPUTS, segmentContract } from "./contracts";

/** Declare one segment's resources and return its stack outputs. */
export function segmentStack(ctx: StackContext): Record<string, unknown> {
  const { lab } = ctx;
  const seg = lab.segments[ctx.stack]!;
  // Plan the lab's flows once: the router, the contract and the docs all read them.
  const flows = planFlows(lab);
  const plan = planSegment(lab, seg, flows);
  const access = planSshAccess(lab);
  const user = lab.ssh.deploy.user;
  const timeout = ctx.confirmTimeoutSeconds !== undefined ? { confirmTimeoutSeconds: ctx.confirmTimeoutSeconds } : {};

  // Admins and Pulumi reach the jump host at the router's WAN address; the router
  // forwards port 22 to it from the admin sources only.
  const jumpTarget: SshTarget = { host: seg.router.wanAddress, user, privateKey: ctx.deployKey, hostKey: plan.jumpHost.sshHostKey! };
  const jumpFiles = filesUnder(renderJumpFiles(plan, access, jumpLabFacts(lab)), JUMP_DIR);
  const jump = new NixosHost(seg.jumpHost, { files: jumpFiles, target: jumpTarget, ...timeout });

  // The router's sshd accepts only the jump host, so Pulumi goes through it.
  const routerFiles = filesUnder(renderSegmentFiles(plan, access), ROUTER_DIR);
  const router = new Router(
    seg.router.name,
    {
      files: routerFiles,
      target: { host: seg.router.lanAddress, user, privateKey: ctx.deployKey, hostKey: seg.router.sshHostKey, proxy: jumpTarget },
      ...timeout,
    },
    { dependsOn: [jump] },
  );

  return {
    [OUTPUTS.contract]: segmentContract(publishSegment(lab, seg.name, flows)),
    [OUTPUTS.routerRelease]: router.release,
    [OUTPUTS.jumpRelease]: jump.release,
    // Plain data from the model, never a secret: `npm run docs` renders the pages from it.
    [OUTPUTS.docs]: docsOfSegment(lab, seg.name, plan),
  };
}
