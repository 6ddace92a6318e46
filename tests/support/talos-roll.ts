/** The reference cluster's roll, rendered for tests: its waves and a fixed installer image. */
import { formatProblems } from "../../model/problems";
import { planUpgrade, rollInput } from "../../model/talos/waves";
import { renderRollSteps, type RollStep, type TalosRollSpec } from "../../render/talos-roll";
import { referenceLab } from "./lab";

/** A schematic id for tests: the qemu-guest-agent schematic of the Proxmox guide. */
export const TEST_SCHEMATIC = "ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515";

/** The roll spec of the reference lab's cluster, with `edit` applied. */
export function referenceRollSpec(edit: Partial<TalosRollSpec> = {}): TalosRollSpec {
  const lab = referenceLab();
  const seg = lab.segments.cluster!;
  const t = seg.talos!;
  const r = planUpgrade(rollInput(seg, t));
  if ("problems" in r) throw new Error(formatProblems(r.problems));
  const talosVersion = edit.talosVersion ?? t.talosVersion;
  return {
    segment: seg.name,
    clusterName: t.clusterName,
    plan: r.plan,
    talosVersion,
    kubernetesVersion: t.kubernetesVersion,
    installerImage: `factory.talos.dev/installer/${TEST_SCHEMATIC}:${talosVersion}`,
    jump: { host: seg.router.wanAddress, user: lab.ssh.deploy.user, hostKey: seg.hosts[seg.jumpHost]!.sshHostKey! },
    ...edit,
  };
}

/** The reference cluster's steps. */
export function referenceRollSteps(edit: Partial<TalosRollSpec> = {}): RollStep[] {
  return renderRollSteps(referenceRollSpec(edit));
}
