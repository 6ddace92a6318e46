// Proves every rendered router/segment file of the reference lab passes the real program that reads it (nft -c, dnsmasq --test, sshd -t, ssh -G, bash -n + shellcheck, ssh-keygen -l), that each checker rejects a broken file, and that ssh resolves every alias as intended; it does not load anything into a live kernel or run a daemon.
import fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Cidr } from "../../model/net";
import type { FlowRule } from "../../model/network/router";
import { planSshAccess, SSH_OS } from "../../model/network/ssh";
import type { Checker, RenderedFile } from "../../render/files";
import { renderRouterNftables } from "../../render/nftables";
import { renderSegmentFiles } from "../../render/segment";
import { checkFiles, requireTools, sshG, type CheckResult } from "../support/checkers";
import { NFT_SYNTAX_ERROR } from "../support/fixtures";
import { referenceLab, referencePlan } from "../support/lab";

const lab = referenceLab();
const plan = referencePlan();
const access = planSshAccess(lab);
const SEGMENTS = Object.keys(plan.segments).sort();
const filesOf = (seg: string) => renderSegmentFiles(plan.segments[seg]!, access);
const CHECKERS: Checker[] = ["nft", "dnsmasq", "sshd", "ssh-client", "sh", "authorized-keys", "systemd", "ifupdown", "wireguard"];

/** One failed check, readable in a jest diff. */
const failures = (results: readonly CheckResult[]) => results.filter((r) => !r.ok).map((r) => `${r.file} (${r.command}):\n${r.output}`);

beforeAll(() => {
  requireTools(CHECKERS);
});

describe("every rendered file passes its real checker", () => {
  test.each(SEGMENTS)("%s", (seg) => {
    const files = filesOf(seg);
    expect(new Set(files.map((f) => f.checker))).toEqual(new Set(CHECKERS));
    const results = checkFiles(files);
    expect(results).toHaveLength(files.length);
    expect(failures(results)).toEqual([]);
  });
});

/** A broken variant of a real file, per checker: each must FAIL, or the positive test above proves nothing. */
const internal = Object.fromEntries(filesOf("internal").map((f) => [f.path, f]));
const broken: [string, RenderedFile][] = [
  [
    "nft: a syntax error",
    { ...internal["router/nftables.conf"]!, content: `${internal["router/nftables.conf"]!.content}${NFT_SYNTAX_ERROR}` },
  ],
  // Why the renderer never uses iif/oif: they need the interface to exist at load time.
  [
    "nft: iif on an interface the namespace lacks",
    {
      ...internal["router/nftables.conf"]!,
      content: internal["router/nftables.conf"]!.content.replace('iifname "lo" accept', 'iif "enp2s0" accept'),
    },
  ],
  [
    // Why the renderer splits overlapping rules into separate sets: the kernel refuses this one.
    "nft: a concatenated interval set with a wide element before a narrow one inside it",
    {
      path: "router/nftables.conf",
      checker: "nft",
      content:
        "table inet t {\n\tset s {\n\t\ttype ipv4_addr . ipv4_addr . inet_proto . inet_service\n\t\tflags interval\n\t\telements = {\n\t\t\t10.20.0.0/24 . 10.10.0.0/24 . tcp . 80,\n\t\t\t10.20.0.21 . 10.10.0.10 . tcp . 80,\n\t\t}\n\t}\n}\n",
    },
  ],
  [
    "dnsmasq: an unknown option",
    { ...internal["router/dnsmasq.conf"]!, content: `${internal["router/dnsmasq.conf"]!.content}dhcp-rnage=10.10.0.100,10.10.0.199\n` },
  ],
  [
    "dnsmasq: a misspelt DHCP option name",
    {
      ...internal["router/dnsmasq.conf"]!,
      content: internal["router/dnsmasq.conf"]!.content.replace("option:ntp-server", "option:ntp-servr"),
    },
  ],
  [
    "sshd: an unknown directive",
    { ...internal["router/sshd_config"]!, content: `${internal["router/sshd_config"]!.content}PasswordAuthenticaton yes\n` },
  ],
  ["ssh-client: an unknown option", { ...internal["ssh_config"]!, content: `${internal["ssh_config"]!.content}Host x\n\tProxyJumpp y\n` }],
  ["sh: a bash syntax error", { ...internal["router/apply.sh"]!, content: `${internal["router/apply.sh"]!.content}if true; then\n` }],
  [
    "sh: an unquoted expansion shellcheck flags",
    { ...internal["router/apply.sh"]!, content: `${internal["router/apply.sh"]!.content}rm -rf $STATE/x\n` },
  ],
  [
    "ifupdown: an unknown address method",
    { ...internal["router/interfaces"]!, content: internal["router/interfaces"]!.content.replace("inet static", "inet statik") },
  ],
  [
    "systemd: the first ExecStart program does not exist (verify checks only the first)",
    {
      ...internal["router/homelab-router.service"]!,
      content: internal["router/homelab-router.service"]!.content.replace("ExecStart=/usr/sbin/sysctl ", "ExecStart=/usr/sbin/sysctll "),
    },
  ],
  [
    "systemd: a misspelt ExecStart leaves a service with nothing to run",
    {
      ...internal["router/homelab-router.service"]!,
      content: internal["router/homelab-router.service"]!.content.replace(/^ExecStart=/gm, "ExecStrat="),
    },
  ],
  [
    "ifupdown: an unknown address method in the routes' stanza",
    { ...internal["router/homelab-routes"]!, content: internal["router/homelab-routes"]!.content.replace("inet manual", "inet manaul") },
  ],
  [
    "wireguard: a peer public key that is not 32 bytes of base64 (wg setconf refuses it)",
    {
      ...internal["router/wg-homelab.conf"]!,
      content: internal["router/wg-homelab.conf"]!.content.replace(/^PublicKey = .*$/m, "PublicKey = bm90LWEta2V5"),
    },
  ],
  [
    "wireguard: a misspelt key (wg setconf refuses it)",
    { ...internal["router/wg-homelab.conf"]!, content: internal["router/wg-homelab.conf"]!.content.replace("AllowedIPs", "AllowedIP") },
  ],
  [
    "wireguard: an allowed IP that is not an address (wg setconf refuses it)",
    {
      ...internal["router/wg-homelab.conf"]!,
      content: internal["router/wg-homelab.conf"]!.content.replace(/^AllowedIPs = .*$/m, "AllowedIPs = 10.255.0.300/32"),
    },
  ],
  [
    "wireguard: a misspelt section name",
    {
      ...internal["router/wg-homelab.conf"]!,
      content: internal["router/wg-homelab.conf"]!.content.replace("[Interface]", "[Interfaec]"),
    },
  ],
  ["authorized-keys: a garbage key line", { ...internal["router/authorized_keys.d/alice"]!, content: "ssh-ed25519 not-base64!! alice\n" }],
  [
    "authorized-keys: a garbage known_hosts line",
    { ...internal["known_hosts"]!, content: "jump.internal.lab.example.net ssh-ed25519 AAAA@@\n" },
  ],
];

describe("negative controls: each checker rejects a broken file", () => {
  test.each(broken)("%s", (_name, file) => {
    const [result] = checkFiles([file]);
    expect(result!.ok).toBe(false);
  });

  test("every checker family the segment uses has a negative control", () => {
    expect(new Set(broken.map(([, f]) => f.checker))).toEqual(new Set(CHECKERS));
  });
});

describe("ssh resolves each alias to the intended address and hop", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-sshg-"));
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test.each(SEGMENTS)("%s", (seg) => {
    const s = plan.segments[seg]!;
    const seg0 = lab.segments[seg]!;
    const config = path.join(dir, `${seg}.ssh_config`);
    fs.writeFileSync(config, filesOf(seg).find((f) => f.path === "ssh_config")!.content);
    const jumpAlias = `${seg0.jumpHost}.${seg}`;
    const expected: [string, string, string][] = [
      [jumpAlias, seg0.router.wanAddress, "none"],
      [`${seg0.router.name}.${seg}.${lab.domain}`, seg0.router.lanAddress, jumpAlias],
      ...s.hosts
        .filter((h) => SSH_OS.has(h.os) && h.id !== seg0.jumpHost)
        .flatMap((h): [string, string, string][] => [
          [`${h.id}.${seg}`, h.address, jumpAlias],
          [h.fqdn, h.address, jumpAlias],
        ]),
    ];
    for (const [alias, hostname, proxy] of expected) {
      const g = sshG(config, alias);
      expect({
        alias,
        hostname: g.hostname,
        proxyjump: g.proxyjump ?? "none",
        strict: g.stricthostkeychecking,
        password: g.passwordauthentication,
        identitiesonly: g.identitiesonly,
      }).toEqual({
        alias,
        hostname,
        proxyjump: proxy,
        strict: "true",
        password: "no",
        identitiesonly: "yes",
      });
    }
    // A name outside the segment gets none of it.
    expect(sshG(config, "unrelated.example.org").stricthostkeychecking).not.toBe("true");
  });
});

describe("property: rulesets with overlapping flows still load", () => {
  const froms = ["10.10.0.0/24", "10.10.0.0/25", "10.10.0.30/32", "10.10.0.2/32"].map((c) => Cidr.of(c));
  const tos = ["192.168.1.0/24", "192.168.1.80/32", "10.20.0.0/24", "10.20.0.21/32", "10.20.0.0/23"].map((c) => Cidr.of(c));
  const arbRule = fc.record({
    from: fc.constantFrom(...froms),
    to: fc.constantFrom(...tos),
    proto: fc.constantFrom("tcp" as const, "udp" as const),
    port: fc.constantFrom(53, 80),
    flow: fc.constantFrom("flow:a/x", "flow:b/y"),
  }) as fc.Arbitrary<FlowRule>;

  test("nft -c accepts the ruleset for any list of (often nested) rules", () => {
    const base = plan.segments["internal"]!.router;
    fc.assert(
      fc.property(fc.array(arbRule, { minLength: 1, maxLength: 20 }), fc.array(arbRule, { maxLength: 10 }), (outbound, inbound) => {
        const [result] = checkFiles([
          { path: "nftables.conf", content: renderRouterNftables({ ...base, outbound, inbound }), checker: "nft" },
        ]);
        expect(failures([result!])).toEqual([]);
      }),
      { numRuns: 25 },
    );
  });
});
