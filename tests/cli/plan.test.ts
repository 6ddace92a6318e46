// Proves `npm run plan` end to end on the reference lab: every stack runs under mocks, the
// DMZ reads the segments' exported contracts, the files written are exactly what the
// resources upload (and what the renderers produce), --json redacts secrets, and user
// mistakes exit 1 without a stack trace. It does not run the files (tools/twin do).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { formatPlacement } from "../../cli/placement-table";
import { formatTree, OFFLINE_ENV, planStacks, writePlan, type PlanResult } from "../../cli/plan";
import { planPlacement } from "../../model/compute/placement";
import { planDmz, publishAll } from "../../model/network/dmz";
import { planSshAccess } from "../../model/network/ssh";
import { renderDmzFiles } from "../../render/dmz";
import { jumpLabFacts, renderJumpFiles } from "../../render/jump";
import { renderSegmentFiles } from "../../render/segment";
import { TUNNEL_KEY_FILE } from "../../render/wireguard";
import { CONFIG_KEYS, DMZ_STACK } from "../../model/lab";
import { secretFingerprint } from "../../stacks/secrets";
import { runCli } from "../support/cli";
import { copyLab, parseFiles, referenceFiles, referenceLab, referencePlan, REPO } from "../support/lab";

let result: PlanResult;
let out: string;
beforeAll(async () => {
  result = await planStacks({ dir: REPO, stacks: [] });
  out = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-plan-"));
  writePlan(result, out);
});
afterAll(() => {
  fs.rmSync(out, { recursive: true, force: true });
});

const stack = (s: string) => result.stacks.find((x) => x.stack === s)!;

test("segments first, then the DMZ; every stack declares resources", () => {
  expect(result.stacks.map((s) => s.stack)).toEqual(["cluster", "internal", "lab", "sandbox", "dmz"]);
  for (const s of result.stacks) expect(s.resources.filter((r) => r.type !== "pulumi:pulumi:Stack").length).toBeGreaterThan(8);
});

test("the files written are what the resources upload, byte for byte what the renderers produce", () => {
  const lab = referenceLab();
  const plan = referencePlan();
  const access = planSshAccess(lab);
  const facts = jumpLabFacts(lab);
  for (const seg of Object.keys(plan.segments)) {
    const expected = [...renderSegmentFiles(plan.segments[seg]!, access), ...renderJumpFiles(plan.segments[seg]!, access, facts)];
    for (const f of expected) expect(fs.readFileSync(path.join(out, seg, f.path), "utf8")).toBe(f.content);
    expect(JSON.parse(fs.readFileSync(path.join(out, seg, "plan.json"), "utf8")).router.name).toBe(lab.segments[seg]!.router.name);
  }
  // The infra host's configuration names its tunnel key's fingerprint, as the DMZ stack computed it.
  const versions = { [TUNNEL_KEY_FILE]: secretFingerprint(REPO, DMZ_STACK, CONFIG_KEYS.wireguardKey) };
  for (const f of renderDmzFiles(planDmz(lab, publishAll(lab)), access, versions))
    expect(fs.readFileSync(path.join(out, "dmz", f.path), "utf8")).toBe(f.content);
});

test("the tree names every component under its parent", () => {
  const tree = formatTree(stack("lab"));
  expect(tree).toMatch(/^lab: \d+ resources \(/);
  expect(tree).toMatch(/├─ homelab:nixos:Host jump\n│ {2}└─ homelab:deploy:Release jump-release\n/);
  expect(tree).toMatch(/└─ homelab:network:Router lab-fw\n {3}└─ homelab:deploy:Release lab-fw-release\n/);
});

test("the tree shows every VM of the lab as a VmLegacy with its id, its node and its PCI mappings", () => {
  const lines = result.stacks.flatMap((s) => formatTree(s).split("\n")).filter((l) => l.includes(" proxmoxve:index/vmLegacy:VmLegacy "));
  const shown = lines.map((l): [number, string, string | undefined] => {
    const m = /:VmLegacy \S+ \(vm (\d+) on (\w+)(?:, pci ([^)]+))?\)$/.exec(l);
    if (!m) throw new Error(`not a VM line: ${l}`);
    return [Number(m[1]), m[2]!, m[3]];
  });
  expect(shown.sort((a, b) => a[0] - b[0])).toEqual(
    referencePlan().machines.map((m) => [m.vmId, m.node, m.pci.length > 0 ? m.pci.map((p) => p.mapping).join(", ") : undefined]),
  );
  expect(formatTree(stack("lab"))).toMatch(
    /\n├─ homelab:proxmox:VirtualMachine vdi-vm\n│ {2}└─ proxmoxve:index\/vmLegacy:VmLegacy vdi-vm-qemu \(vm 3020 on pve1, pci pve1-gpu0\)\n/,
  );
  expect(formatTree(stack("lab"))).toContain("proxmoxve:download/file:File images-nixos-25-05-pve4 (lab-nixos-25-05.iso on pve4)");
});

test("the offline plan gives each stack with VMs a stand-in API token, recorded only as a secret", () => {
  for (const s of result.stacks) {
    const provider = s.resources.find((r) => r.type === "pulumi:providers:proxmoxve")!;
    expect(provider).toMatchObject({ name: "proxmox", inputs: { apiToken: "[secret]", endpoint: "https://pve.lab.example.net" } });
  }
  expect(JSON.stringify(result.stacks.map((s) => s.resources))).not.toContain("offline-plan-stand-in");
});

test("the plan reads no deploy key: no connection carries a key, a password or the agent's socket", () => {
  const text = JSON.stringify(result.stacks.map((s) => ({ resources: s.resources, outputs: s.outputs })));
  expect(text).not.toMatch(/"(privateKey|password|agentSocketPath)"|PRIVATE KEY/);
  expect(text).not.toContain(OFFLINE_ENV.SSH_AUTH_SOCK);
  const uploads = stack("internal").resources.filter((r) => r.type === "command:remote:CopyToRemote");
  for (const u of uploads) expect(u.secretInputs).toContain("connection");
});

test("the placement table: per node, load now and while each node is down; where each VM goes", () => {
  const text = formatPlacement(result.placement);
  const lines = text.split("\n");
  expect(lines[0]).toBe('placement: memory and vCPUs per Proxmox node, now and while one node is down ("!" over a limit)');
  expect(lines[1]).toMatch(/^ {2}node {2}now {2,}pve1 down {2,}pve2 down {2,}pve3 down {2,}pve4 down {2,}pve5 down$/);
  // pve1 takes the most when pve4 fails: pve4's HA VMs that restart there (the planner's failover)
  expect(lines[2]).toMatch(
    /^ {2}pve1 {2}68\/120 GiB 22\/128 vCPU {2,}\(down\) {2,}68\/120 GiB 22\/128 vCPU {2,}68\/120 GiB 22\/128 vCPU {2,}117\/120 GiB 37\/128 vCPU {2,}68\/120 GiB 22\/128 vCPU$/,
  );
  expect(lines).toContain("when its node fails:");
  expect(text).toMatch(/\n {2}infra {13}pve5 {2}restarts on pve4, replicated every 15 minutes\n/);
  expect(text).toMatch(/\n {2}lab-vdi {11}pve1 {2}pinned: down until pve1 returns\n/);
  // every VM once
  expect(lines.filter((l) => / (restarts on|pinned:|HA, but)/.test(l))).toHaveLength(18);
});

test("the placement table marks a node over its limits with !", () => {
  const files = referenceFiles();
  files["homelab.yaml"].hardware.proxmox.nodes.pve5.memoryGiB = 16;
  const text = formatPlacement(planPlacement(parseFiles(files).lab!));
  expect(text).toMatch(/\n {2}pve5 {2}14\/8 GiB 8\/24 vCPU ! /);
});

test("plan --json on the CLI: machine-readable, secrets redacted, files listed", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-plan-cli-"));
  const r = runCli(["plan", "--json", "--stack", "sandbox", "--out", dir]);
  expect(r.code).toBe(0);
  const json = JSON.parse(r.stdout);
  expect(json.stacks.map((s: { stack: string }) => s.stack)).toEqual(["sandbox"]);
  const find = (name: string) => json.stacks[0].resources.find((x: { name: string }) => x.name === name);
  expect(find("sandbox-fw-release-apply-confirm")).toMatchObject({ type: "command:local:Command", parent: "sandbox-fw-release" });
  expect(find("sandbox-fw-release-upload-apply.sh")).toMatchObject({
    type: "command:remote:CopyToRemote",
    parent: "sandbox-fw-release",
    inputs: { connection: "[secret]" },
  });
  expect(json.stacks[0].files).toContain("router/nftables.conf");
  expect(json.placement.nodes.map((n: { node: string }) => n.node)).toEqual(["pve1", "pve2", "pve3", "pve4", "pve5"]);
  expect(json.placement.nodes[0].after.pve1).toBe("down");
  expect(json.placement.vms).toContainEqual({ vm: "infra", node: "pve5", fate: { kind: "restarts", to: "pve4" }, replicationMinutes: 15 });
  expect(fs.existsSync(path.join(dir, "sandbox", "router", "nftables.conf"))).toBe(true);
  fs.rmSync(dir, { recursive: true, force: true });
}, 60000);

test("user mistakes exit 1 with a clear message and no stack trace", () => {
  const unknown = runCli(["plan", "--stack", "staging"]);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toMatch(/unknown stack "staging"; the known stacks are cluster, internal, lab, sandbox, dmz/);
  const bad = copyLab((f) => (f["homelab.yaml"].dmz.proxy = "192.168.1.10"));
  const invalid = runCli(["plan", "--dir", bad, "--out", path.join(bad, "out")]);
  expect(invalid.code).toBe(1);
  expect(invalid.stderr).toMatch(/homelab\.yaml: dmz\.proxy = "192\.168\.1\.10"/);
  for (const r of [unknown, invalid]) expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(fs.existsSync(path.join(bad, "out"))).toBe(false);
}, 60000);

test("plan --json on an invalid lab: exit 1 and the same JSON problems on stdout as check --json", () => {
  const bad = copyLab((f) => (f["homelab.yaml"].dmz.proxy = "192.168.1.10"));
  const plan = runCli(["plan", "--json", "--dir", bad, "--out", path.join(bad, "out")]);
  const check = runCli(["check", "--json", "--dir", bad]);
  expect(plan.code).toBe(1);
  expect(plan.stderr).toBe("");
  expect(JSON.parse(plan.stdout)).toEqual(JSON.parse(check.stdout));
  expect(JSON.parse(plan.stdout)).toMatchObject({
    ok: false,
    problems: [expect.objectContaining({ file: "homelab.yaml", path: "dmz.proxy" })],
  });
}, 60000);
