/** Network rules about references between files: router boxes, hardware segments, the DMZ's segment list. */
import { CONFIG_KEYS, DMZ_STACK, LAB_FILE, own, type Segment } from "../../lab";
import { PROXMOX } from "../../lab-index";
import { joinPath, type Problem, problem } from "../../problems";
import { list, type Rule, sp } from "../../rule";
import { didYouMean } from "../../suggest";

export const refsRouters: Rule = {
  id: "refs.routers",
  description:
    "Each segment's router.hardware names a box in hardware.routers, and no two segments share a box (isolation is by separate hardware).",
  check(ix) {
    const { lab } = ix;
    const out: Problem[] = [];
    const boxes = Object.keys(lab.hardware.routers);
    const owner = new Map<string, Segment>();
    for (const seg of ix.segments) {
      const box = seg.router.hardware;
      const where = { file: seg.file, path: sp("router.hardware") };
      if (!own(lab.hardware.routers, box)) {
        out.push(
          problem(
            where,
            box,
            `router box "${box}" is not in hardware.routers${didYouMean(box, boxes)} (boxes: ${list(boxes)})`,
            `name a box of hardware.routers, or add ${box} there`,
          ),
        );
        continue;
      }
      const prev = owner.get(box);
      if (prev) {
        const spare = boxes.filter((b) => !ix.segments.some((s) => s.router.hardware === b));
        out.push(
          problem(
            where,
            box,
            `router box ${box} already serves ${prev.name} (${prev.file}); each segment has its own router hardware`,
            spare.length > 0 ? `use a spare box: ${list(spare)}` : `add a box to hardware.routers for ${seg.name}`,
          ),
        );
      } else owner.set(box, seg);
    }
    return out;
  },
};

export const refsHardwareSegments: Rule = {
  id: "refs.hardware-segments",
  description: "Every hardware `segment` and every Proxmox node `networks` entry names an existing segment stack or dmz.",
  check(ix) {
    const { lab } = ix;
    const known = [...Object.keys(lab.segments), DMZ_STACK];
    const out: Problem[] = [];
    for (const h of ix.hardware) {
      if (known.includes(h.segment)) continue;
      out.push(
        problem(
          { file: LAB_FILE, path: `${h.path}.segment` },
          h.segment,
          `${h.kind} ${h.id} is in segment "${h.segment}", which does not exist${didYouMean(h.segment, known)} (segments: ${list(known)})`,
          `name an existing segment or dmz, or add Pulumi.${h.segment}.yaml`,
        ),
      );
    }
    for (const [id, n] of Object.entries(lab.hardware.proxmox.nodes)) {
      n.networks.forEach((net, i) => {
        if (known.includes(net)) return;
        out.push(
          problem(
            { file: LAB_FILE, path: joinPath(PROXMOX, id, "networks", i) },
            net,
            `node ${id} has a bridge into "${net}", which is no network of the lab${didYouMean(net, known)} (networks: ${list(known)})`,
            `name an existing segment or dmz`,
          ),
        );
      });
    }
    return out;
  },
};

export const refsDmzSegments: Rule = {
  id: "refs.dmz-segments",
  description:
    "The DMZ stack exists; its segments list names existing segment stacks, each once; and every segment stack is in it (otherwise its services are never published and its names never resolve).",
  check(ix) {
    const { lab } = ix;
    const file = "Pulumi.dmz.yaml";
    const key = CONFIG_KEYS.dmz;
    const known = Object.keys(lab.segments).sort();
    if (!lab.dmzStack) {
      return [
        problem(
          { file, path: key },
          undefined,
          `the lab has no DMZ stack config; the DMZ runs DNS, NTP and the reverse proxy every segment relies on`,
          `create ${file} with ${key}: { segments: [${known.join(", ")}], stackPrefix: organization/homelab }`,
        ),
      ];
    }
    const out: Problem[] = [];
    const listed = lab.dmzStack.segments;
    listed.forEach((name, i) => {
      const where = { file, path: joinPath(key, "segments", i) };
      if (!own(lab.segments, name)) {
        out.push(
          problem(
            where,
            name,
            `"${name}" is not a segment stack${didYouMean(name, known)} (segment stacks: ${list(known)})`,
            `name one of ${list(known)}, or add Pulumi.${name}.yaml`,
          ),
        );
      } else if (listed.indexOf(name) !== i) {
        out.push(problem(where, name, `${name} is listed twice in the DMZ's segments`, `remove the repeated ${name}`));
      }
    });
    const missing = known.filter((name) => !listed.includes(name));
    if (missing.length > 0) {
      const one = missing.length === 1;
      out.push(
        problem(
          { file, path: joinPath(key, "segments") },
          listed,
          `segment stack${one ? "" : "s"} ${list(missing)} ${one ? "is" : "are"} not in the DMZ's segments, so ${one ? "its" : "their"} services are never published and ${one ? "its" : "their"} hosts get no DNS names`,
          `add ${one ? "it" : "them"} to homelab:dmz.segments: [${[...new Set(listed.filter((n) => own(lab.segments, n))), ...missing].join(", ")}]`,
        ),
      );
    }
    return out;
  },
};
