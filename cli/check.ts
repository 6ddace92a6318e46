/** `npm run check`: validate a lab and say so in one line, or list every problem. */
import { checkLabDir } from "../model/check";
import { segmentList } from "../model/lab";
import { planLab } from "../model/plan";
import { formatProblems, sortProblems } from "../model/problems";

/** Result of a check: exit code and what to print. */
export interface CheckOutput {
  readonly code: 0 | 1;
  readonly stdout: string;
  readonly stderr: string;
}

/** Check the lab in `dir`. */
export function runCheck(dir: string, json: boolean): CheckOutput {
  const { lab, problems } = checkLabDir(dir);
  if (!lab) {
    const sorted = sortProblems(problems);
    if (json) return { code: 1, stdout: `${JSON.stringify({ ok: false, dir, problems: sorted }, null, 2)}\n`, stderr: "" };
    return { code: 1, stdout: "", stderr: `${formatProblems(sorted)}\n` };
  }
  const plan = planLab(lab);
  const segments = segmentList(lab);
  const hosts = Object.values(plan.segments).reduce((n, s) => n + s.hosts.length, 0);
  const vms = plan.placement.nodes.reduce((n, node) => n + node.vms.length, 0);
  const services = Object.values(plan.segments).reduce((n, s) => n + s.services.length, 0);
  const summary = {
    ok: true,
    dir,
    domain: lab.domain,
    segments: segments.map((s) => s.name),
    hosts,
    vms,
    nodes: plan.placement.nodes.length,
    services,
    flows: plan.flows.length,
  };
  if (json) return { code: 0, stdout: `${JSON.stringify(summary, null, 2)}\n`, stderr: "" };
  return {
    code: 0,
    stdout: `ok: ${lab.domain}: ${segments.length} segments (${summary.segments.join(", ")}), ${hosts} hosts, ${vms} VMs on ${summary.nodes} nodes (N-1 checked), ${services} published services, ${plan.flows.length} flows\n`,
    stderr: "",
  };
}
