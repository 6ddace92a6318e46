/** The plan diff's sentences about temporary holes (model/network/until.ts), beside the proxy routes'. Pure. */
import type { DmzPlan } from "./network/dmz";
import type { Deadline } from "./network/until";
import { compareText } from "./order";

/**
 * What a change does to the lab's temporary holes, in the owner's words: "opens minecraft to the
 * internet until 2026-12-06 02:00 +01:00", "keeps … open until … (was until …)", "… is now open
 * for good", "… now closes at …". A service keyed by segment and id; one per sentence.
 */
export function diffHoles(before: DmzPlan, after: DmzPlan): string[] {
  type Hole = { readonly name: string; readonly to: string; readonly until?: Deadline };
  const holes = (p: DmzPlan) =>
    new Map<string, Hole>(
      [...p.proxy.http, ...p.proxy.streams].map((r) => [
        `${r.segment}/${r.service}`,
        { name: r.service, to: r.exposure === "internet" ? "the internet" : "the lab", ...(r.until ? { until: r.until } : {}) },
      ]),
    );
  const lines: string[] = [];
  const beforeHoles = holes(before);
  const afterHoles = holes(after);
  for (const key of [...new Set([...beforeHoles.keys(), ...afterHoles.keys()])].sort(compareText)) {
    const was = beforeHoles.get(key);
    const now = afterHoles.get(key);
    if (!now?.until && !was?.until) continue;
    if (now && !was) lines.push(`opens ${now.name} to ${now.to} until ${now.until!.display}`);
    else if (was && !now) lines.push(`closes ${was.name} to ${was.to} now (it was open until ${was.until!.display})`);
    else if (was && now && !now.until) lines.push(`opens ${now.name} to ${now.to} for good (it was open until ${was.until!.display})`);
    else if (was && now && !was.until) lines.push(`${now.name} to ${now.to} now closes at ${now.until!.display} (it was open for good)`);
    else if (was && now && was.until!.epoch !== now.until!.epoch)
      lines.push(`keeps ${now.name} open to ${now.to} until ${now.until!.display} (was until ${was.until!.display})`);
  }
  return lines;
}
