// Proves every box of the reference lab agrees that the lab is IPv4 only: each rendered nftables ruleset (routers, the infra host, the jump hosts) drops IPv6 in its input and forward chains before anything but loopback could accept it, every NixOS configuration turns IPv6 off, and every router's apply.sh turns IPv6 forwarding and addresses off; it does not load a ruleset (tests/tools) or send IPv6 (the twin does).
import { planDmz, publishAll } from "../../model/network/dmz";
import { planSshAccess } from "../../model/network/ssh";
import { renderDmzFiles } from "../../render/dmz";
import type { RenderedFile } from "../../render/files";
import { jumpLabFacts, renderJumpFiles } from "../../render/jump";
import { ROUTER_SYSCTLS } from "../../render/router-apply";
import { renderSegmentFiles } from "../../render/segment";
import { referenceLab, referencePlan } from "../support/lab";

const lab = referenceLab();
const plan = referencePlan();
const access = planSshAccess(lab);

/** Every file of every stack, named `<stack>/<path>`. */
const files: RenderedFile[] = [
  ...Object.values(plan.segments).flatMap((seg) =>
    [...renderSegmentFiles(seg, access), ...renderJumpFiles(seg, access, jumpLabFacts(lab))].map((f) => ({
      ...f,
      path: `${seg.name}/${f.path}`,
    })),
  ),
  ...renderDmzFiles(planDmz(lab, publishAll(lab)), access).map((f) => ({ ...f, path: `dmz/${f.path}` })),
];
const byChecker = (c: RenderedFile["checker"]) => files.filter((f) => f.checker === c);
const routerApplies = files.filter((f) => f.path.endsWith("/router/apply.sh"));

/**
 * The input and forward chains of a ruleset where an IPv6 packet is not dropped before any
 * rule could accept or divert it (loopback aside), each as `<chain>: <why>`. Read from the
 * text, independently of the renderer's tree.
 */
function ipv6Gaps(text: string): string[] {
  const gaps: string[] = [];
  const chains = [...text.matchAll(/^\s*chain (\S+) \{\n([\s\S]*?)^\s*\}/gm)];
  for (const [, name, body] of chains) {
    const lines = body!
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#"));
    const hook = /^type filter hook (input|forward) priority filter; policy (\w+);$/.exec(lines[0] ?? "");
    if (!hook) continue;
    if (hook[2] !== "drop") gaps.push(`${name}: policy ${hook[2]}`);
    const dropAt = lines.findIndex((l) => /^meta nfproto ipv6 (counter( name "[a-z0-9_]+")? )?drop$/.test(l));
    if (dropAt < 0) {
      gaps.push(`${name}: no IPv6 drop`);
      continue;
    }
    const before = lines.slice(1, dropAt).filter((l) => l !== 'iifname "lo" accept');
    if (before.some((l) => /\b(accept|jump|goto)\b/.test(l))) gaps.push(`${name}: ${before.join("; ")} before the IPv6 drop`);
  }
  return gaps;
}

describe("nftables: every box drops IPv6 in input and forward", () => {
  test("the lab renders a ruleset for every router, the infra host and every jump host", () => {
    const segments = Object.keys(plan.segments).sort();
    expect(
      byChecker("nft")
        .map((f) => f.path)
        .sort(),
    ).toEqual(["dmz/infra/host.nft", ...segments.flatMap((s) => [`${s}/jump/host.nft`, `${s}/router/nftables.conf`])].sort());
  });

  test.each(byChecker("nft").map((f) => [f.path, f.content] as const))("%s: input and forward drop IPv6 first", (_path, text) => {
    expect(ipv6Gaps(text)).toEqual([]);
    expect(text.match(/^\s*type filter hook (input|forward) /gm)).toHaveLength(2);
  });

  test("negative controls: a missing drop, one after an accept, and an accepting policy are each found", () => {
    const text = files.find((f) => f.path === "sandbox/router/nftables.conf")!.content;
    const ipv6Line = /^\s*meta nfproto ipv6 .*$/gm;
    expect(ipv6Gaps(text.replace(ipv6Line, ""))).toEqual(["input: no IPv6 drop", "forward: no IPv6 drop"]);
    // The forward drop moved below the established/related accept: an IPv6 reply would pass.
    const late = text.replace(
      /^(\s*)(meta nfproto ipv6 counter name "drop_forward_ipv6" drop)\n(\s*ct state established,related accept)$/m,
      "$1$3\n$1$2",
    );
    expect(late).not.toBe(text);
    expect(ipv6Gaps(late)).toEqual([expect.stringMatching(/^forward: ct state established,related accept before the IPv6 drop$/)]);
    const host = files.find((f) => f.path === "dmz/infra/host.nft")!.content;
    expect(ipv6Gaps(host.replace("hook input priority filter; policy drop;", "hook input priority filter; policy accept;"))).toEqual([
      "input: policy accept",
    ]);
  });
});

describe("the boxes themselves: IPv6 off", () => {
  test.each(byChecker("nix").map((f) => [f.path, f.content] as const))("%s: networking.enableIPv6 = false", (_path, text) => {
    expect(text.match(/^\s*networking\.enableIPv6 = (\w+);$/gm)?.map((l) => l.trim())).toEqual(["networking.enableIPv6 = false;"]);
  });

  test("every router has an apply.sh, and every NixOS host a configuration", () => {
    expect(routerApplies.map((f) => f.path.split("/")[0]).sort()).toEqual(Object.keys(plan.segments).sort());
    expect(byChecker("nix").length).toBe(Object.keys(plan.segments).length + 1);
  });

  test.each(routerApplies.map((f) => [f.path, f.content] as const))(
    "%s: sets IPv6 forwarding and addresses off, and IPv4 forwarding on last",
    (_path, text) => {
      const sysctls = /^SYSCTLS=\(\n([\s\S]*?)\n\)$/m
        .exec(text)![1]!
        .split("\n")
        .map((l) => /^\s*'([^']*)'/.exec(l)![1]);
      expect(sysctls).toEqual([
        "net.ipv6.conf.all.forwarding=0",
        "net.ipv6.conf.all.disable_ipv6=1",
        "net.ipv6.conf.default.disable_ipv6=1",
        "net.ipv4.ip_forward=1",
      ]);
      expect(sysctls).toEqual(ROUTER_SYSCTLS.map((s) => `${s.key}=${s.value}`));
    },
  );
});
