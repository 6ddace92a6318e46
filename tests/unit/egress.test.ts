// Proves what "the internet" is for a segment: egress allowlist entries parse or are refused with a fix, the rule refuses allowlists that open the lab, the edge router or non-public ranges (or need internet: false), the planner keeps the widest of nested entries, and the router ruleset drops the edge router before any flow and non-public ranges before the internet verdict for untrusted segments only, and allows only the allowlist when there is one; it does not load the ruleset (tests/tools and the twin do).
import { egressTargetVerdict, NON_PUBLIC_RANGES, parseEgressTarget, planEgress } from "../../model/network/egress";
import type { Lab } from "../../model/lab";
import { planLab } from "../../model/plan";
import { formatProblems } from "../../model/problems";
import { validateLab } from "../../model/validate";
import { renderRouterNftables } from "../../render/nftables";
import { parseFiles, referenceFiles, referencePlan, segOf, type LabFiles } from "../support/lab";

function labWith(edit: (f: LabFiles) => void): Lab {
  const files = referenceFiles();
  edit(files);
  const parsed = parseFiles(files);
  if (!parsed.lab) throw new Error(`the edit broke the schema:\n${formatProblems(parsed.problems)}`);
  return parsed.lab;
}
const egressProblems = (edit: (f: LabFiles) => void) =>
  validateLab(labWith(edit))
    .filter((p) => p.rule === "egress.allowlist")
    .map((p) => ({ path: p.path, message: p.message }));
const sandboxEgress = (allow: string[]) => (f: LabFiles) => {
  segOf(f, "sandbox").egress = { allow, reason: "The agent may reach its package mirror only" };
};
/** Lines of one chain of a rendered ruleset, comments and blank lines left out. */
function chainOf(text: string, name: string): string[] {
  const body = new RegExp(`^\\tchain ${name} \\{\\n([\\s\\S]*?)^\\t\\}`, "m").exec(text)![1]!;
  return body
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
}

describe("egress.allow entries", () => {
  test.each([
    ["203.0.113.10", { to: "203.0.113.10/32" }],
    ["203.0.113.0/24", { to: "203.0.113.0/24" }],
    ["203.0.113.10:443/tcp", { to: "203.0.113.10/32", port: { proto: "tcp", port: 443 } }],
    ["198.51.100.0/25:53/udp", { to: "198.51.100.0/25", port: { proto: "udp", port: 53 } }],
  ])("%s parses", (text, want) => {
    const t = parseEgressTarget(text)!;
    expect({ to: t.to.toString(), ...(t.port ? { port: t.port } : {}) }).toEqual(want);
    expect(egressTargetVerdict(text)).toBeUndefined();
  });

  test.each([
    ["mirror.example.org:443/tcp", /host names are not accepted/, /such as "203\.0\.113\.10:443\/tcp"/],
    ["203.0.113.10:443", /optionally with one port/, /address with a port/],
    ["203.0.113.10:70000/tcp", /optionally with one port/, /address with a port/],
    ["203.0.113.7/24", /203\.0\.113\.7\/24/, /203\.0\.113\.0\/24/],
    ["300.1.1.1", /IPv4 address or network/, /such as/],
  ])("%s is refused, with a fix", (text, message, fix) => {
    const v = egressTargetVerdict(text)!;
    expect(parseEgressTarget(text)).toBeUndefined();
    expect(v.message).toMatch(message);
    expect(v.fix).toMatch(fix);
  });
});

describe("rule egress.allowlist", () => {
  const at = (i: number) => `homelab:segment.egress.allow[${i}]`;
  test("a public allowlist passes", () => {
    expect(egressProblems(sandboxEgress(["203.0.113.10:80/tcp", "198.51.100.0/24"]))).toEqual([]);
  });

  test("lab networks, the edge router and non-public ranges are refused, each with why", () => {
    const got = egressProblems(
      sandboxEgress(["10.30.0.5:80/tcp", "192.168.1.1", "172.16.0.10", "100.64.0.0/10", "224.0.0.1", "203.0.113.10"]),
    );
    expect(got.map((p) => p.path)).toEqual([at(0), at(1), at(2), at(3), at(4)]);
    expect(got[0]!.message).toMatch(/^10\.30\.0\.5\/32 lies in segment lab \(10\.30\.0\.0\/24\), a lab network/);
    // The edge router sits in the DMZ, a lab network (the addresses rule keeps dmz.gateway there).
    expect(got[1]!.message).toMatch(/^192\.168\.1\.1\/32 lies in the DMZ \(192\.168\.1\.0\/24\), a lab network/);
    expect(got[2]!.message).toBe("172.16.0.10/32 overlaps 172.16.0.0/12 (private (RFC 1918)), which is never the internet");
    expect(got[3]!.message).toMatch(/carrier-grade NAT/);
    expect(got[4]!.message).toMatch(/multicast/);
  });

  test("egress with internet: false is refused: it would open nothing", () => {
    const got = egressProblems((f) => {
      sandboxEgress(["203.0.113.10"])(f);
      segOf(f, "sandbox").internet = false;
    });
    expect(got).toEqual([
      { path: "homelab:segment.egress", message: expect.stringMatching(/has internet: false, so its egress allowlist/) },
    ]);
  });
});

describe("planEgress", () => {
  test("nested entries keep the widest; a port inside an all-ports network is dropped; sorted", () => {
    const e = planEgress(true, {
      allow: [
        "203.0.113.10:443/tcp",
        "198.51.100.7",
        "203.0.113.0/24:443/tcp",
        "198.51.100.0/24",
        "198.51.100.9:80/tcp",
        "192.0.2.1:53/udp",
      ],
      reason: "test",
    });
    expect(e.kind).toBe("allowlist");
    if (e.kind !== "allowlist") return;
    expect(e.hosts.map(String)).toEqual(["198.51.100.0/24"]);
    expect(e.ports.map((p) => `${p.to.toString()} ${p.proto}/${p.port}`)).toEqual(["192.0.2.1/32 udp/53", "203.0.113.0/24 tcp/443"]);
  });

  test("internet: false wins; no egress is the whole internet", () => {
    expect(planEgress(false, { allow: ["203.0.113.10"], reason: "test" })).toEqual({ kind: "none" });
    expect(planEgress(true, undefined)).toEqual({ kind: "internet" });
  });
});

describe("the router ruleset: what the internet is", () => {
  const plan = referencePlan();

  test("an untrusted segment drops the edge router before any flow, and non-public ranges after the lab's networks", () => {
    const r = plan.segments["sandbox"]!.router;
    const text = renderRouterNftables(r);
    const l2w = chainOf(text, "lan_to_wan");
    expect(l2w[1]).toBe('ip daddr @edge_router counter name "drop_edge" drop');
    expect(l2w.slice(-2)).toEqual([
      'ip daddr @non_public counter name "drop_non_public" drop',
      'accept comment "the internet, masqueraded"',
    ]);
    expect(l2w.indexOf('ip daddr @lab_nets counter name "drop_outbound_lab" drop')).toBe(l2w.length - 3);
    const nonPublic = /\tset non_public \{[\s\S]*?elements = \{\n([\s\S]*?)\n\t\t\}/.exec(text)![1]!;
    expect(nonPublic.split("\n").map((l) => l.trim().split(" ")[0])).toEqual(NON_PUBLIC_RANGES.map((x) => x.cidr.toString()));
    for (const needed of ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "224.0.0.0/4"])
      expect(nonPublic).toContain(`${needed} comment`);
    expect(/\tset edge_router \{[\s\S]*?elements = \{\n\t+([^\n]*)\n/.exec(text)![1]).toBe(`${labWith(() => undefined).dmz.gateway},`);
  });

  test.each(["internal", "cluster", "lab"])("%s is trusted: no guard, the whole internet", (seg) => {
    const text = renderRouterNftables(plan.segments[seg]!.router);
    expect(text).not.toMatch(/edge_router|non_public|drop_edge|egress_/);
    expect(chainOf(text, "lan_to_wan").at(-1)).toBe('accept comment "the internet, masqueraded"');
  });

  test("an allowlist: only its networks and ports, then a counted drop; masqueraded", () => {
    const lab = labWith(sandboxEgress(["203.0.113.10:80/tcp", "198.51.100.0/24"]));
    expect(validateLab(lab)).toEqual([]);
    const text = renderRouterNftables(planLab(lab).segments["sandbox"]!.router);
    expect(chainOf(text, "lan_to_wan").slice(-4)).toEqual([
      'ip daddr @non_public counter name "drop_non_public" drop',
      'ip daddr @egress_hosts accept comment "egress allowlist: The agent may reach its package mirror only"',
      'ip daddr . meta l4proto . th dport @egress_ports accept comment "egress allowlist, by port"',
      'counter name "drop_egress" drop',
    ]);
    expect(text).toMatch(/\tset egress_hosts \{[\s\S]*?elements = \{\n\t+198\.51\.100\.0\/24,\n/);
    expect(text).toMatch(/\tset egress_ports \{[\s\S]*?elements = \{\n\t+203\.0\.113\.10 \. tcp \. 80,\n/);
    expect(text).toMatch(/^\tcounter drop_egress \{$/m);
    expect(chainOf(text, "postrouting")).toContain('oifname "enp1s0" ip daddr != @lab_nets masquerade');
  });
});
