// Proves: `until:` on a service or explicit flow is read as the instant it names (its timezone required, a day that does not exist refused), check warns within a day of it and refuses it once past, word for word; the routers' plans carry the deadline (a DNAT or rule shared with a hole open for good stays open), the rendered ruleset drops its connections from that second on ahead of the established accept and only where a hole exists, and the plan's diff says in plain words what opens until when. Does not prove that nft loads it or that the kernel closes it (tests/tools/temporary-hole.test.ts).
import { labNotices } from "../../model/check";
import { diffPlans, snapshotOfLab } from "../../model/diff";
import type { Lab } from "../../model/lab";
import { parseUntil } from "../../model/network/until";
import { planLab } from "../../model/plan";
import { formatProblems } from "../../model/problems";
import { validateLab } from "../../model/validate";
import { renderRouterNftables } from "../../render/nftables";
import { docsOfLab } from "../../pages/contract-dmz";
import { renderDocs } from "../../pages/docs";
import { parseFiles, referenceFiles, referenceLab, segOf, type LabFiles } from "../support/lab";

/** The reference lab after `edit`, schema-checked only. */
function labWith(edit: (f: LabFiles) => void): Lab {
  const files = referenceFiles();
  edit(files);
  const parsed = parseFiles(files);
  if (!parsed.lab) throw new Error(formatProblems(parsed.problems));
  return parsed.lab;
}

/** Minecraft open to the internet until the night's end, 02:00 in Berlin's winter time. */
const NIGHT = "2026-12-06T02:00+01:00";
const NIGHT_EPOCH = Date.parse("2026-12-06T01:00:00Z") / 1000;
const openMinecraftUntil = (until: string) => (f: LabFiles) => (segOf(f, "sandbox").services.minecraft.until = until);

describe("until: the instant it names", () => {
  test.each([
    ["2026-12-06T02:00+01:00", NIGHT_EPOCH, "2026-12-06 02:00 +01:00"],
    ["2026-12-06T01:00Z", NIGHT_EPOCH, "2026-12-06 01:00 UTC"],
    ["2026-12-05T20:00:30-05:00", NIGHT_EPOCH + 30, "2026-12-05 20:00:30 -05:00"],
    ["2026-12-06 01:00Z", NIGHT_EPOCH, "2026-12-06 01:00 UTC"],
  ])("%s is %d, shown as %s", (text, epoch, display) => {
    expect(parseUntil(text)).toEqual({ text, epoch, display });
  });

  test.each([
    ["2026-12-06T02:00", "must name its timezone"],
    ["2026-12-06", "must name its timezone"],
    ["tomorrow 2am", "must be a date and time with a timezone"],
    ["2026-02-30T02:00Z", "names no such time: 2026-02-30 02:00 does not exist"],
    ["2026-12-06T24:00Z", "names no such time"],
    ["2026-12-06T02:00+15:00", "has the offset +15:00: no timezone is more than 14 hours from UTC"],
  ])("%s is refused: %s", (text, message) => {
    const parsed = parseUntil(text);
    expect("problem" in parsed && parsed.problem).toContain(message);
  });

  test("the schema refuses a deadline without a timezone at its path, with the form to write", () => {
    const files = referenceFiles();
    segOf(files, "sandbox").services.minecraft.until = "2026-12-06T02:00";
    const { problems } = parseFiles(files);
    expect(problems).toEqual([
      expect.objectContaining({
        file: "Pulumi.sandbox.yaml",
        path: "homelab:segment.services.minecraft.until",
        message: "must name its timezone: without one, the firewall and whoever reads it could each read another hour",
        fix: 'write a date, a time and its timezone, such as "2026-12-06T02:00+01:00" or "2026-12-06T01:00Z"',
      }),
    ]);
  });
});

describe("check: a warning the day before, refused once past", () => {
  const lab = labWith(openMinecraftUntil(NIGHT));

  test("more than a day ahead: neither a problem nor a warning", () => {
    expect(validateLab(lab, "2026-12-04T23:00Z")).toEqual([]);
    expect(labNotices(lab, "2026-12-04T23:00Z").filter((w) => w.path.endsWith(".until"))).toEqual([]);
  });

  test("within a day: a warning with how long it has left, and how to keep it or close it", () => {
    expect(validateLab(lab, "2026-12-05T21:40Z")).toEqual([]);
    expect(labNotices(lab, "2026-12-05T21:40Z").filter((w) => w.path.endsWith(".until"))).toEqual([
      {
        file: "Pulumi.sandbox.yaml",
        path: "homelab:segment.services.minecraft.until",
        value: NIGHT,
        message:
          "sandbox service minecraft, open to the internet, closes in 3 h 20 min (2026-12-06 02:00 +01:00): its firewall stops it then, whoever runs pulumi up",
        fix: "to keep it open longer, set until to a later date and time and run pulumi up; to close it now, remove service minecraft (and its until)",
      },
    ]);
  });

  test("at and after the deadline: refused, remove it or extend it", () => {
    for (const [moment, ago] of [
      ["2026-12-06T01:00Z", "1 min"],
      ["2026-12-06T09:30Z", "8 h 30 min"],
      ["2026-12-20", "13 days"],
    ] as const) {
      expect(validateLab(lab, moment)).toEqual([
        expect.objectContaining({
          rule: "holes.until",
          path: "homelab:segment.services.minecraft.until",
          message: `sandbox service minecraft, open to the internet, closed at 2026-12-06 02:00 +01:00, ${ago} ago: its firewall no longer lets it through`,
          fix: "remove it or extend it: remove service minecraft (and its until), or set until to a later date and time",
        }),
      ]);
    }
  });
});

describe("the routers' plans and rulesets", () => {
  const FAR = "2099-01-01T00:00Z";
  const FAR_EPOCH = Date.parse("2099-01-01T00:00:00Z") / 1000;

  test("a temporary service's DNAT carries its deadline; the reference lab's carry none", () => {
    expect(planLab(referenceLab()).segments.sandbox!.router.dnat.some((d) => d.until)).toBe(false);
    const dnat = planLab(labWith(openMinecraftUntil(FAR))).segments.sandbox!.router.dnat;
    expect(dnat.filter((d) => d.until).map((d) => [d.proto, d.wanPort, d.until!.epoch])).toEqual([["tcp", 25565, FAR_EPOCH]]);
  });

  test("the ruleset drops the hole's connections from its deadline on, ahead of the established accept", () => {
    const lab = labWith(openMinecraftUntil(FAR));
    const router = planLab(lab).segments.sandbox!.router;
    const text = renderRouterNftables(router);
    const close = `meta time >= ${FAR_EPOCH} meta l4proto tcp ct original ip saddr ${router.tunnel!.peer.address} ct original ip daddr ${router.tunnel!.address} ct original proto-dst 25565 counter name "drop_expired" drop comment "publish:sandbox/minecraft closed at 2099-01-01 00:00 UTC"`;
    expect(text).toContain(close);
    expect(text.indexOf(close)).toBeLessThan(text.indexOf("ct state established,related accept", text.indexOf("chain forward")));
    expect(text).toContain('counter drop_expired {\n\t\tcomment "forward: a temporary hole\'s packets from its deadline on (until:)"');
    expect(text).toContain('comment "publish:sandbox/minecraft until 2099-01-01 00:00 UTC" : ');
    // The other routers and the reference sandbox have no hole: no rule, no counter.
    expect(renderRouterNftables(planLab(referenceLab()).segments.sandbox!.router)).not.toContain("drop_expired");
    expect(renderRouterNftables(planLab(lab).segments.lab!.router)).not.toContain("drop_expired");
  });

  test("an explicit flow's rules carry its deadline at both routers; one rule shared with a flow for good stays open", () => {
    // The monitor polls the lab's mirror cache for one night (its own flow, not one the lab derives).
    const night = { from: ["monitor"], to: "lab", ports: ["8443/tcp"], reason: "one night of load tests against the lab", until: FAR };
    const plan = planLab(labWith((f) => (segOf(f, "internal").flows["night-lab"] = night)));
    const out = plan.segments.internal!.router.outbound.filter((r) => r.flow === "flow:internal/night-lab/monitor");
    const into = plan.segments.lab!.router.inbound.filter((r) => r.flow === "flow:internal/night-lab/monitor");
    expect(out.map((r) => r.until?.epoch)).toEqual([FAR_EPOCH]);
    expect(into.map((r) => r.until?.epoch)).toEqual([FAR_EPOCH]);
    expect(renderRouterNftables(plan.segments.lab!.router)).toContain(
      `meta time >= ${FAR_EPOCH} meta l4proto tcp ct original ip saddr 10.10.0.30 ct original ip daddr 10.30.0.0/24 ct original proto-dst 8443`,
    );
    // The same monitor -> lab 8443/tcp for good from a second flow: the rule is open for good.
    const shared = planLab(
      labWith((f) => {
        const { until: _u, ...forGood } = night;
        Object.assign(segOf(f, "internal").flows, { "night-lab": night, "lab-for-good": forGood });
      }),
    );
    const rule = shared.segments.lab!.router.inbound.find((r) => r.port === 8443);
    expect(rule).toBeDefined();
    expect(rule?.until).toBeUndefined();
    expect(renderRouterNftables(shared.segments.lab!.router)).not.toContain("drop_expired");
  });
});

describe("plain words", () => {
  const diff = (edit: (f: LabFiles) => void, before: (f: LabFiles) => void = () => undefined) =>
    diffPlans(snapshotOfLab(labWith(before), []), snapshotOfLab(labWith(edit), [])).routes;

  test("opening, extending, making for good and closing a hole", () => {
    const night = openMinecraftUntil(NIGHT);
    expect(diff(night)).toEqual(["minecraft to the internet now closes at 2026-12-06 02:00 +01:00 (it was open for good)"]);
    expect(
      diff(
        (f) => {
          delete segOf(f, "sandbox").services.minecraft;
          segOf(f, "sandbox").services.mc2 = {
            ...structuredClone(segOf(referenceFiles(), "sandbox").services.minecraft),
            port: 25566,
            until: NIGHT,
          };
        },
        (f) => delete segOf(f, "sandbox").services.minecraft,
      ),
    ).toEqual([
      "new proxy stream 192.168.1.80:25566/tcp → sandbox/mc2 via 10.255.0.14:25565 (internet exposure)",
      "opens mc2 to the internet until 2026-12-06 02:00 +01:00",
    ]);
    expect(diff(openMinecraftUntil("2026-12-06T04:00+01:00"), night)).toEqual([
      "keeps minecraft open to the internet until 2026-12-06 04:00 +01:00 (was until 2026-12-06 02:00 +01:00)",
    ]);
    expect(diff(() => undefined, night)).toEqual(["opens minecraft to the internet for good (it was open until 2026-12-06 02:00 +01:00)"]);
    expect(diff((f) => delete segOf(f, "sandbox").services.minecraft, night)).toEqual([
      "removed proxy stream 192.168.1.80:25565/tcp (was → sandbox/minecraft via 10.255.0.14:25565)",
      "closes minecraft to the internet now (it was open until 2026-12-06 02:00 +01:00)",
    ]);
  });
});

/** The service catalog of a lab, as `npm run docs` writes it offline. */
function servicesPage(lab: Lab): string {
  return renderDocs(docsOfLab(lab, planLab(lab)), { kind: "offline" }).find((f) => f.path === "services.md")!.content;
}

describe("docs", () => {
  test("the service catalog lists every temporary hole with its deadline, and says none for the reference lab", () => {
    expect(servicesPage(referenceLab())).toContain(
      "## Temporary holes\n\nNone: every service and every flow is open until the config removes it.",
    );
    const page = servicesPage(labWith(openMinecraftUntil(NIGHT)));
    expect(page).toContain(
      "| service `minecraft` of sandbox | internet exposure, `192.168.1.80:25565/tcp` | 2026-12-06 02:00 +01:00 | `2026-12-06T02:00+01:00` |",
    );
    expect(page).toContain("| internet, until 2026-12-06 02:00 +01:00 |");
  });
});
