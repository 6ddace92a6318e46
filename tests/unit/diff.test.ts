// Proves the plain-word statements of `plan --diff` for each kind of change, on changed copies of the reference lab (a flow opened or closed, a VM moved, a service added, a host renumbered), the resources and rendered files a flow change touches (exact unified-diff lines, the release id swap told once, secrets never shown), and that the unified diff is one `git apply` applies (no fuzz); it does not prove the git plumbing or the CLI (tests/cli/diff.test.ts).
import fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { planStacks } from "../../cli/plan";
import { requireLab } from "../../model/check";
import { diffInputs, diffPlans, isEmptyDiff, snapshotOfLab, wordSwap, type LabSnapshot, type PlanDiff } from "../../model/diff";
import { unifiedDiff } from "../../model/diff-text";
import { copyLab, referenceLab, REPO, segOf, type LabFiles } from "../support/lab";
import { run } from "../support/proc";

/** The model's part of the diff between the reference lab and a changed copy (no stack planned). */
function modelDiff(edit: (f: LabFiles) => void): PlanDiff {
  return diffPlans(snapshotOfLab(referenceLab(), []), snapshotOfLab(requireLab(copyLab(edit)), []));
}

// The reference sandbox is isolated (rule segments.isolated); a flow out of it needs that off.
const openDb = (f: LabFiles) => {
  Object.assign(segOf(f, "sandbox"), { isolated: false });
  segOf(f, "sandbox").flows = {
    db: { from: ["agent"], to: "internal/data", ports: ["3306/tcp"], reason: "The agent keeps its task state in MariaDB" },
  };
};

describe("statements of the model's changes", () => {
  test("a flow opened: one sentence, nothing else", () => {
    expect(modelDiff(openDb)).toEqual({
      flows: ["new allow sandbox/agent → internal/data 3306/tcp: The agent keeps its task state in MariaDB"],
      placement: [],
      hosts: [],
      dns: [],
      routes: [],
      stacks: [],
    });
  });

  test("a flow closed, and another widened", () => {
    const d = modelDiff((f) => {
      delete segOf(f, "internal").flows["scrape-sandbox"];
      segOf(f, "internal").flows["scrape-lab"].ports = ["9100/tcp", "9115/tcp"];
    });
    expect(d.flows).toEqual([
      "new allow internal/monitor → lab 9115/tcp: Prometheus scrapes node exporters in the lab segment",
      "removed allow internal/monitor → sandbox 9100/tcp: Prometheus scrapes node exporters in the sandbox segment",
    ]);
  });

  test("a VM moved", () => {
    const d = modelDiff((f) => (segOf(f, "internal").hosts.monitor.vm.node = "pve3"));
    expect(d.placement).toEqual(["vm internal-monitor moves pve2 → pve3"]);
    expect([...d.flows, ...d.hosts, ...d.dns, ...d.routes]).toEqual([]);
  });

  test("a VM's failover node and replication interval changed", () => {
    const d = modelDiff((f) => Object.assign(segOf(f, "internal").hosts.monitor.vm, { failover: "pve1", replicationMinutes: 60 }));
    expect(d.placement).toEqual([
      "vm internal-monitor now fails over to pve1 (was pve4): its replica is copied there in full",
      "vm internal-monitor is replicated every 1 hour (was every 15 minutes)",
    ]);
    expect([...d.flows, ...d.hosts, ...d.dns, ...d.routes]).toEqual([]);
  });

  test("a VM resized and a new one", () => {
    const d = modelDiff((f) => {
      segOf(f, "lab").hosts["mirror-2"].vm.memoryMiB = 6144;
      segOf(f, "lab").hosts.build = {
        role: "server",
        description: "CI runner for personal projects",
        address: "10.30.0.40",
        mac: "52:54:00:30:00:28",
        os: "none",
        vm: {
          node: "pve4",
          vmId: 3040,
          cores: 2,
          memoryMiB: 4096,
          disks: { root: { datastore: "local-zfs", sizeGiB: 50 } },
          nics: [{ bridge: "lab" }],
          ha: false,
        },
      };
      // A server keeps state: the ledger must say how it is backed up.
      segOf(f, "lab").backups["vm:build"] = { kind: "vzdump", target: "nas", schedule: "daily 02:30", retention: "14d" };
    });
    expect(d.placement).toEqual([
      "new vm lab-build on pve4: 2 vCPU, 4 GiB memory, 50 GiB disk, pinned",
      "vm lab-mirror-2 resized: 4 GiB → 6 GiB memory",
    ]);
    expect(d.hosts).toEqual(["new host lab/build 10.30.0.40 (server, none)"]);
    expect(d.dns).toEqual(["new DNS name build.lab.lab.example.net → 10.30.0.40 (host)"]);
  });

  test("a service added: its flow, DNS name and proxy route", () => {
    const d = modelDiff((f) => {
      segOf(f, "lab").services.builds = {
        kind: "http",
        description: "Build logs",
        backend: { host: "mirror-2", port: 8080 },
        auth: { kind: "app", note: "build log accounts" },
        exposure: "lab",
      };
    });
    expect(d).toEqual({
      flows: [
        "new allow dmz/proxy (tunnel) → lab/mirror-2 8080/tcp (DNAT at lab-fw 10.255.0.13:8080/tcp): builds.lab.example.net is published through lab-fw",
      ],
      placement: [],
      hosts: [],
      dns: ["new DNS name builds.lab.example.net → 192.168.1.80 (published service, at the proxy)"],
      routes: ["new proxy route https://builds.lab.example.net/ → lab/builds via 10.255.0.13:8080 (lab exposure, auth by the application)"],
      stacks: [],
    });
  });

  test("a stream published to the internet opens the proxy's port to the internet and every segment", () => {
    const d = modelDiff((f) => {
      segOf(f, "sandbox").services.terraria = {
        kind: "tcp",
        description: "Terraria",
        port: 7777,
        backend: { host: "games", port: 7777 },
        auth: { kind: "app", note: "server password" },
        exposure: "internet",
      };
    });
    expect(d.routes).toEqual(["new proxy stream 192.168.1.80:7777/tcp → sandbox/terraria via 10.255.0.14:7777 (internet exposure)"]);
    expect(d.flows).toEqual([
      "new allow internet → dmz/proxy 7777/tcp: internet clients reach internet-exposed services through the ISP edge and the reverse proxy",
      "new allow cluster → dmz/proxy 7777/tcp: cluster uses the lab's published services by name through the proxy",
      "new allow internal → dmz/proxy 7777/tcp: internal uses the lab's published services by name through the proxy",
      "new allow lab → dmz/proxy 7777/tcp: lab uses the lab's published services by name through the proxy",
      "new allow sandbox → dmz/proxy 7777/tcp: sandbox uses the lab's published services by name through the proxy",
      "new allow dmz/proxy (tunnel) → sandbox/games 7777/tcp (DNAT at sandbox-fw 10.255.0.14:7777/tcp): 7777/tcp is published through sandbox-fw",
    ]);
  });

  test("a host renumbered: its address, its DNS name and the addresses of its flows", () => {
    const d = modelDiff((f) => (segOf(f, "lab").hosts["mirror-2"].address = "10.30.0.33"));
    expect(d.hosts).toEqual(["host lab/mirror-2 moves from 10.30.0.32 to 10.30.0.33"]);
    expect(d.dns).toEqual(["DNS name mirror-2.lab.lab.example.net now → 10.30.0.33 (was 10.30.0.32)"]);
    expect(d.flows).toEqual([
      "allow lab/mirror-2 → internal/data 5000/tcp: addresses now 10.30.0.33/32 → 10.10.0.10/32 (were 10.30.0.32/32 → 10.10.0.10/32)",
    ]);
  });

  test("nothing changed: an empty diff", () => {
    const same = snapshotOfLab(referenceLab(), []);
    expect(isEmptyDiff(diffPlans(same, same))).toBe(true);
  });
});

describe("resources and rendered files of a flow opened, planned under mocks", () => {
  let before: LabSnapshot;
  let after: LabSnapshot;
  let diff: PlanDiff;
  beforeAll(async () => {
    const dir = copyLab(openDb);
    const plan = async (d: string) => snapshotOfLab(requireLab(d), (await planStacks({ dir: d, stacks: [] })).stacks);
    before = await plan(REPO);
    after = await plan(dir);
    diff = diffPlans(before, after);
  });

  test("only the two firewalls' stacks change, and only their rendered rules (and the data host's own firewall)", () => {
    expect(diff.stacks.map((s) => s.stack)).toEqual(["internal", "sandbox"]);
    expect(diff.stacks.map((s) => s.files.map((f) => `${f.path} ${f.change} +${f.added} -${f.removed}`))).toEqual([
      // plan.json: the new flow and its one rule; the data host's firewall: the rule and its reason
      ["data/host.nft changed +2 -0", "plan.json changed +34 -0", "router/nftables.conf changed +1 -0"],
      ["plan.json changed +34 -0", "router/nftables.conf changed +1 -0"],
    ]);
  });

  test("the rendered file's unified diff adds exactly the new rule", () => {
    const nft = diff.stacks.find((s) => s.stack === "sandbox")!.files.find((f) => f.path === "router/nftables.conf")!;
    expect(nft.diff).toMatch(/^--- a\/sandbox\/router\/nftables\.conf\n\+\+\+ b\/sandbox\/router\/nftables\.conf\n@@ -\d+,6 \+\d+,7 @@\n/);
    expect(nft.diff.split("\n").filter((l) => /^[+-][^+-]/.test(l))).toEqual([
      '+\t\t\t10.40.0.10 . 10.10.0.10 . tcp . 3306 comment "flow:sandbox/db/agent",',
    ]);
    const inbound = diff.stacks.find((s) => s.stack === "internal")!.files.find((f) => f.path === "router/nftables.conf")!;
    expect(inbound.diff).toContain('\n+\t\t\t10.40.0.10 . 10.10.0.10 . tcp . 3306 comment "flow:sandbox/db/agent",\n');
  });

  test("the router's release: every resource changes, the new release id told once, the ruleset's content by digest", () => {
    const s = diff.stacks.find((x) => x.stack === "sandbox")!;
    expect(s.added).toEqual([]);
    expect(s.removed).toEqual([]);
    expect(s.changed.map((c) => c.name)).toEqual([
      "sandbox-fw-release-apply-confirm",
      "sandbox-fw-release-upload-apply.sh",
      "sandbox-fw-release-upload-authorized-keys.d-alice",
      "sandbox-fw-release-upload-authorized-keys.d-bob",
      "sandbox-fw-release-upload-authorized-keys.d-deploy",
      "sandbox-fw-release-upload-dnsmasq.conf",
      "sandbox-fw-release-upload-homelab-router.service",
      "sandbox-fw-release-upload-homelab-routes",
      "sandbox-fw-release-upload-homelab-wireguard.service",
      "sandbox-fw-release-upload-interfaces",
      "sandbox-fw-release-upload-nftables.conf",
      "sandbox-fw-release-upload-secret-wireguard.key",
      "sandbox-fw-release-upload-sshd-config",
      "sandbox-fw-release-upload-wg-homelab.conf",
    ]);
    expect(s.commonSwap).toMatchObject({
      from: expect.stringMatching(/^[0-9a-f]{16}$/),
      to: expect.stringMatching(/^[0-9a-f]{16}$/),
      count: 28,
    });
    const nft = s.changed.find((c) => c.name === "sandbox-fw-release-upload-nftables.conf")!;
    expect(nft.inputs.map((i) => i.path)).toEqual(["remotePath", "source", "triggers[0]"]);
    expect(nft.inputs[1]).toMatchObject({
      before: expect.stringMatching(/^text \d+ bytes, sha256 [0-9a-f]{12}$/),
      after: expect.stringMatching(/^text \d+ bytes, sha256 [0-9a-f]{12}$/),
    });
    // The SSH connection (with the deploy key) is secret: redacted on both sides, so never a change.
    expect(JSON.stringify(diff)).not.toMatch(/connection|PRIVATE KEY/);
    // The jump host's release did not change.
    expect(s.changed.some((c) => c.name.startsWith("jump-"))).toBe(false);
  });

  test("a secret input that changes is shown as [secret] on both sides", () => {
    const r = (key: string) => ({
      type: "t",
      name: "n",
      inputs: { connection: { privateKey: key, host: "10.0.0.1" }, create: "x" },
      secretInputs: ["connection"],
    });
    expect(diffInputs(r("KEY-A"), r("KEY-B"))).toEqual([{ path: "connection.privateKey", before: "[secret]", after: "[secret]" }]);
  });
});

describe("the unified diff", () => {
  test("the format diff -u prints, with counts of one left out and a missing final newline marked", () => {
    expect(unifiedDiff("a\nb\nc\n", "a\nB\nc\n", { from: "a/f", to: "b/f" }).diff).toBe(
      "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n",
    );
    expect(unifiedDiff("", "x\n", { from: "/dev/null", to: "b/f" }).diff).toBe("--- /dev/null\n+++ b/f\n@@ -0,0 +1 @@\n+x\n");
    expect(unifiedDiff("x", "x\n", { from: "a/f", to: "b/f" }).diff).toBe(
      "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-x\n\\ No newline at end of file\n+x\n",
    );
    expect(unifiedDiff("same\n", "same\n", { from: "a", to: "b" }).diff).toBe("");
    expect(unifiedDiff("a\nb\n", "b\nc\nd\n", { from: "a/f", to: "b/f" })).toMatchObject({ added: 2, removed: 1 });
  });

  test("wordSwap finds one word swapped everywhere, and nothing else", () => {
    expect(wordSwap("/up/0393/apply.sh apply 0393", "/up/fe93/apply.sh apply fe93")).toEqual({ from: "0393", to: "fe93" });
    expect(wordSwap("a 1 b 2", "a 3 b 4")).toBeUndefined();
    expect(wordSwap("abc", "abc def")).toBeUndefined();
  });

  test("git apply turns the old text into the new one with it (random texts)", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-udiff-"));
    const text = fc.array(fc.constantFrom("a", "b", "c", "d", "", "e e"), { maxLength: 30 }).map((lines) => lines.join("\n"));
    const withEnd = fc.tuple(text, fc.boolean()).map(([t, nl]) => (nl && t !== "" ? `${t}\n` : t));
    try {
      const report = fc.check(
        fc.property(withEnd, withEnd, (a, b) => {
          const file = path.join(tmp, "f");
          fs.writeFileSync(file, a);
          const patch = unifiedDiff(a, b, { from: "a/f", to: "b/f" }).diff;
          if (a === b) return patch === "";
          // git apply works outside a repository too, as a strict patch(1).
          const r = run(["git", "apply", "-p1", "-"], { cwd: tmp, input: patch, env: { HOME: tmp } });
          return r.code === 0 && fs.readFileSync(file, "utf8") === b;
        }),
        { numRuns: 60 },
      );
      // On a failure, fast-check's report: the shrunk counterexample (old and new text) and the seed.
      expect(fc.defaultReportMessage(report)).toBeUndefined();
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
