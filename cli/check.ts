/** `npm run check`: validate a lab and say so in one line, or list every problem. */
import { checkLabDir } from "../model/check";
import { segmentList } from "../model/lab";
import { planLab } from "../model/plan";
import { count, formatProblems, sortProblems, type Problem } from "../model/problems";

/** One line per warning: `warning: <file> <path>: <message>; <fix>`. */
export function formatWarnings(warnings: readonly Problem[]): string {
  return warnings.map((w) => `warning: ${w.file} ${w.path}: ${w.message}; ${w.fix}\n`).join("");
}

/** Result of a check: exit code and what to print. */
export interface CheckOutput {
  readonly code: 0 | 1;
  readonly stdout: string;
  readonly stderr: string;
}

/** The `--json` answer for an invalid lab, the same from check and plan: `{ ok: false, dir, problems }` (secrets not shown). */
export function problemsJson(dir: string, problems: readonly Problem[]): string {
  return `${JSON.stringify({ ok: false, dir, problems: sortProblems(problems) }, null, 2)}\n`;
}

/** Check the lab in `dir`. */
export function runCheck(dir: string, json: boolean): CheckOutput {
  const { lab, problems, warnings } = checkLabDir(dir);
  if (!lab) {
    if (json) return { code: 1, stdout: problemsJson(dir, problems), stderr: "" };
    return { code: 1, stdout: "", stderr: `${formatProblems(problems)}\n` };
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
    warnings,
  };
  if (json) return { code: 0, stdout: `${JSON.stringify(summary, null, 2)}\n`, stderr: "" };
  const failover = summary.nodes > 1 ? "N-1 checked" : "one node: no failover";
  return {
    code: 0,
    stdout: `ok: ${lab.domain}: ${count(segments.length, "segment")} (${summary.segments.join(", ")}), ${count(hosts, "host")}, ${count(vms, "VM")} on ${count(summary.nodes, "node")} (${failover}), ${count(services, "published service")}, ${count(plan.flows.length, "flow")}\n`,
    stderr: formatWarnings(warnings),
  };
}
