/** Load, parse and validate a lab directory in one step: the entry point for every tool. */
import { installMediaWarnings } from "./compute/machine";
import { labWarnings } from "./compute/single-node";
import { certificateWarnings, dayOf, epochOf, utcNow } from "./network/certificate";
import { untilWarnings } from "./network/rules/until";
import type { Lab } from "./lab";
import { type LabSources, locateProblems, parseLab, readLabSources } from "./load";
import { ConfigError, sortProblems, type Problem } from "./problems";
import { planLab } from "./plan";
import { validateLab } from "./validate";

/**
 * What a valid lab's owner should know without the lab being refused: one node (no failover),
 * a certificate near its expiry, a temporary hole closing within a day, HA VMs that cannot live-migrate while their ISO is attached.
 */
export function labNotices(lab: Lab, moment: string = utcNow()): Problem[] {
  return [
    ...labWarnings(lab),
    ...certificateWarnings(lab, dayOf(moment)),
    ...untilWarnings(lab, epochOf(moment)),
    ...installMediaWarnings(lab, planLab(lab).machines),
  ];
}

/** A lab directory's lab (when valid) and every problem found. */
export interface CheckedLab {
  readonly lab?: Lab;
  readonly problems: readonly Problem[];
  /** What the owner should know about a valid lab, without refusing it (one node: no failover). */
  readonly warnings: readonly Problem[];
}

/**
 * Read and check the lab in `dir`. Schema problems of all files come first; semantic rules
 * run only on a well-formed lab. Each problem carries the line it is written on.
 */
export function checkLabDir(dir: string, today: string = utcNow()): CheckedLab {
  const sources = readLabSources(dir);
  // The same sources (no byte changed) checked on the same day give the same answer: every
  // stack program of an offline plan validates the whole lab, and does so once per process.
  let byDay = checked.get(sources);
  if (!byDay) checked.set(sources, (byDay = new Map<string, CheckedLab>()));
  let result = byDay.get(today);
  if (!result) byDay.set(today, (result = checkSources(sources, today)));
  return result;
}

/** Checked labs by their sources and day. Treat a result as read-only: it is shared. */
const checked = new WeakMap<LabSources, Map<string, CheckedLab>>();

function checkSources(sources: LabSources, today: string): CheckedLab {
  const parsed = parseLab(sources);
  if (!parsed.lab) return { problems: sortProblems(locateProblems(parsed.problems, sources)), warnings: [] };
  const problems = validateLab(parsed.lab, today);
  if (problems.length > 0) return { problems: sortProblems(locateProblems(problems, sources)), warnings: [] };
  return {
    lab: parsed.lab,
    problems: [],
    warnings: sortProblems(locateProblems(labNotices(parsed.lab, today), sources)),
  };
}

/** The valid lab in `dir`, or a ConfigError listing every problem. */
export function requireLab(dir: string): Lab {
  const { lab, problems } = checkLabDir(dir);
  if (!lab) throw new ConfigError(problems);
  return lab;
}
