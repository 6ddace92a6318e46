/**
 * Temporary holes (`until:` on a service or an explicit flow): one whose deadline has passed is
 * refused, since its firewall has already closed it and the config would say otherwise; one that
 * closes within a day is a warning (check and plan print it), so nobody is surprised at midnight.
 */
import { type Lab, segmentList } from "../../lab";
import { type Problem, problem } from "../../problems";
import { type Rule, sp } from "../../rule";
import { deadlineOf, type Deadline, spanText, UNTIL_WARNING_SECONDS } from "../until";

/** A temporary hole of the lab: where its `until` is written and what it opens. */
interface TemporaryHole {
  readonly file: string;
  readonly path: string;
  readonly text: string;
  readonly what: string;
  readonly deadline: Deadline;
  /** How to keep it open longer, or close it now, in the words of its kind. */
  readonly remove: string;
}

/** Every service and explicit flow of the lab with a deadline, in file order. */
export function temporaryHoles(lab: Lab): TemporaryHole[] {
  const out: TemporaryHole[] = [];
  for (const seg of segmentList(lab)) {
    for (const [id, s] of Object.entries(seg.services)) {
      const deadline = deadlineOf(s.until);
      if (!deadline) continue;
      const to = s.exposure === "internet" ? "the internet" : "the lab";
      out.push({
        file: seg.file,
        path: sp("services", id, "until"),
        text: s.until!,
        what: `${seg.name} service ${id}, open to ${to}`,
        deadline,
        remove: `remove service ${id} (and its until), or set until to a later date and time`,
      });
    }
    for (const [id, f] of Object.entries(seg.flows)) {
      const deadline = deadlineOf(f.until);
      if (!deadline) continue;
      out.push({
        file: seg.file,
        path: sp("flows", id, "until"),
        text: f.until!,
        what: `${seg.name} flow ${id} to ${f.to} ${f.ports.join(", ")}`,
        deadline,
        remove: `remove flow ${id} (and its until), or set until to a later date and time`,
      });
    }
  }
  return out;
}

export const holesUntil: Rule = {
  id: "holes.until",
  description:
    "A temporary hole's deadline has not passed: its firewall closed it at that second, so a config that still lists it says something untrue; remove it or extend it.",
  check(ix) {
    return temporaryHoles(ix.lab)
      .filter((h) => h.deadline.epoch <= ix.now)
      .map((h): Problem =>
        problem(
          { file: h.file, path: h.path },
          h.text,
          `${h.what}, closed at ${h.deadline.display}, ${spanText(ix.now - h.deadline.epoch)} ago: its firewall no longer lets it through`,
          `remove it or extend it: ${h.remove}`,
        ),
      );
  },
};

/** Holes that close within UNTIL_WARNING_SECONDS of `now` (seconds since the epoch); passed ones are holes.until's. */
export function untilWarnings(lab: Lab, now: number): Problem[] {
  return temporaryHoles(lab)
    .filter((h) => h.deadline.epoch > now && h.deadline.epoch - now <= UNTIL_WARNING_SECONDS)
    .map((h) =>
      problem(
        { file: h.file, path: h.path },
        h.text,
        `${h.what}, closes in ${spanText(h.deadline.epoch - now)} (${h.deadline.display}): its firewall stops it then, whoever runs pulumi up`,
        `to keep it open longer, set until to a later date and time and run pulumi up; to close it now, ${h.remove.replace(/, or set .*$/, "")}`,
      ),
    );
}
