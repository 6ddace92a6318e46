// Proves: bench/generate.ts writes lab directories that the real `check` CLI accepts at three sizes (every segment kind; 10 x 200; 50 x 2,000) and the real `plan` CLI plans, that a seed gives the same files byte for byte and another seed other files, and that a generated lab holds every kind of host, OS, service, auth, share and flow; does not prove anything about speed (bench/plan-scale.ts).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { generateLab, writeLab } from "../../bench/generate";
import { requireLab } from "../../model/check";
import { planLab } from "../../model/plan";
import { runCliAsync } from "../support/cli";

const SIZES = [
  { segments: 5, vms: 31 },
  { segments: 10, vms: 200 },
  { segments: 50, vms: 2000 },
] as const;

const dirs: string[] = [];
const dirOf = (segments: number, vms: number, seed = 1): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `homelab-gen-${segments}x${vms}-`));
  dirs.push(dir);
  writeLab(generateLab({ segments, vms, seed }), dir);
  return dir;
};

afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

test.each(SIZES)("check accepts a generated lab of $segments segments and $vms VMs", async ({ segments, vms }) => {
  const r = await runCliAsync(["check", "--dir", dirOf(segments, vms)]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(new RegExp(`^ok: lab\\.example\\.net: ${segments} segments .*, ${vms} VMs on \\d+ nodes \\(N-1 checked\\)`));
});

test("plan plans a generated lab with every kind of segment", async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-gen-plan-"));
  dirs.push(out);
  const r = await runCliAsync(["plan", "--dir", dirOf(5, 31), "--out", out]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/wrote \d+ files under /);
  expect(fs.readdirSync(out).sort()).toEqual(["apps-1", "cluster-1", "core-1", "dmz", "lab-1", "sandbox-1"]);
});

test("a seed gives the same lab byte for byte; another seed another lab", () => {
  const a = generateLab({ segments: 10, vms: 200, seed: 7 });
  expect(generateLab({ segments: 10, vms: 200, seed: 7 })).toEqual(a);
  const b = generateLab({ segments: 10, vms: 200, seed: 8 });
  expect(Object.keys(b.stacks)).toEqual(Object.keys(a.stacks));
  expect(b.homelab).not.toEqual(a.homelab);
  expect(Object.keys(a.stacks).filter((s) => a.stacks[s] !== b.stacks[s]).length).toBeGreaterThan(5);
});

test("a generated lab holds every kind of host, OS, service, auth, share and flow", () => {
  const lab = requireLab(dirOf(10, 200));
  const plan = planLab(lab);
  const hosts = Object.values(plan.segments).flatMap((s) => s.hosts);
  const services = Object.values(plan.segments).flatMap((s) => s.services);
  const segments = Object.values(lab.segments);
  expect(new Set(hosts.map((h) => h.role))).toEqual(
    new Set([
      "jump",
      "server",
      "database",
      "nas",
      "hypervisor",
      "monitoring",
      "k8s-control-plane",
      "k8s-worker",
      "vdi",
      "mirror",
      "agent",
      "game-server",
      "vip",
      "switch",
    ]),
  );
  expect(new Set(hosts.map((h) => h.os))).toEqual(new Set(["nixos", "talos", "debian", "truenas", "synology", "proxmox", "none"]));
  expect(new Set(hosts.map((h) => h.source))).toEqual(new Set(["vm", "node", "nas", "switch", "vip", "physical"]));
  for (const want of ["http/app/lab", "http/app/internet", "http/none/lab", "tcp/app/internet", "udp/app/internet"])
    expect(services.map((s) => `${s.kind}/${s.auth.kind}/${s.exposure}`)).toContain(want);
  expect(new Set(plan.flows.map((f) => f.kind))).toEqual(
    new Set(["publish", "expose", "proxy", "dns", "ntp", "storage", "ssh", "explicit"]),
  );
  const storage = segments.flatMap((s) => Object.values(s.storage));
  expect(new Set(storage.map((s) => s.protocol))).toEqual(new Set(["nfs", "smb"]));
  expect(storage.some((s) => s.reason !== undefined)).toBe(true);
  expect(new Set(segments.map((s) => s.trust))).toEqual(new Set(["trusted", "untrusted"]));
  expect(segments.filter((s) => s.talos).length).toBe(2);
  expect(segments.some((s) => s.egress)).toBe(true);
  expect(plan.vms.some((v) => v.passthrough.length > 0 && v.nics[0]?.kind === "passthrough")).toBe(true);
  expect(plan.vms.some((v) => v.passthrough.includes("gpu0"))).toBe(true);
  expect(plan.vms.some((v) => v.nics.some((n) => n.kind === "bridge" && n.vlan !== undefined))).toBe(true);
  expect(Object.values(lab.hardware.routers).some((r) => r.lanInterface.includes("."))).toBe(true);
  expect(new Set(Object.values(lab.hardware.nas).map((n) => n.kind))).toEqual(new Set(["truenas", "synology"]));
});

test("a lab too small for its segments is refused with the least it needs", () => {
  expect(() => generateLab({ segments: 10, vms: 20 })).toThrow(
    "vms must be an integer of at least 3 per segment plus the infra host (31), not 20",
  );
});
