/**
 * Network rules about a segment's egress allowlist: it narrows the internet, so it needs the
 * internet, and every destination it names must be the internet (not the lab, the edge
 * router or a non-public range, which no allowlist may open).
 */
import { segmentList, type Lab, type Segment } from "../../lab";
import type { Cidr } from "../../net";
import { type Problem, problem } from "../../problems";
import { list, type Rule, sp } from "../../rule";
import { nonPublicRange, parseEgressTarget } from "../egress";

/** Why `to` is not the internet for `seg`, or undefined when it is. */
function notInternet(lab: Lab, seg: Segment, to: Cidr): { message: string; fix: string } | undefined {
  // The DMZ holds the ISP edge router (the addresses rule keeps dmz.gateway inside it).
  const labNet = [
    { net: lab.dmz.subnet, name: "the DMZ" },
    ...segmentList(lab).map((s) => ({ net: s.subnet, name: `segment ${s.name}` })),
  ].find((n) => n.net.overlaps(to));
  if (labNet)
    return {
      message: `${to.toString()} lies in ${labNet.name} (${labNet.net.toString()}), a lab network: egress only narrows the internet, and lab traffic is decided by flows`,
      fix: `remove it from egress.allow and add a flow from ${seg.name} to the host it should reach, with its port and reason`,
    };
  const range = nonPublicRange(to);
  if (range)
    return {
      message: `${to.toString()} overlaps ${range.cidr.toString()} (${range.what}), which is never the internet`,
      fix: "list public addresses only; to reach a private network, route it into the lab and write a flow",
    };
  return undefined;
}

export const egressAllowlist: Rule = {
  id: "egress.allowlist",
  description:
    "A segment's egress allowlist needs internet: true (it narrows the internet), and every destination in it is on the internet: outside the lab's networks, not the ISP edge router, and outside every non-public range (RFC 1918, CGNAT, link-local, multicast, ...).",
  // A lab network named in an allowlist is only reported against networks that do not overlap.
  after: ["subnets.disjoint"],
  check(ix) {
    const { lab } = ix;
    const out: Problem[] = [];
    for (const seg of ix.segments) {
      if (!seg.egress) continue;
      if (!seg.internet) {
        out.push(
          problem(
            { file: seg.file, path: sp("egress") },
            undefined,
            `${seg.name} has internet: false, so its egress allowlist (${list(seg.egress.allow)}) would open nothing: egress narrows the internet, it does not grant it`,
            "remove egress to keep the segment off the internet, or set internet: true to allow exactly these destinations",
          ),
        );
        continue;
      }
      seg.egress.allow.forEach((text, i) => {
        const target = parseEgressTarget(text);
        const why = target && notInternet(lab, seg, target.to);
        if (why) out.push(problem({ file: seg.file, path: sp("egress", "allow", i) }, text, why.message, why.fix));
      });
    }
    return out;
  },
};
