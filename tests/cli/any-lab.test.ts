// Proves: labs shaped unlike the reference lab (5 Talos control planes on 3 nodes, a Synology NAS, a VLAN segment, a single Proxmox node) pass the real `check` and `plan` CLIs, with what makes them different visible in the plan's files, and a Debian physical jump host is refused clearly at its own paths; does not prove the rendered files run (tests/tools, tests/twin).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runCliAsync } from "../support/cli";
import { copyLab } from "../support/lab";
import type { Run } from "../support/proc";
import { LAB_VLAN, debianPhysicalJump, fiveControlPlanes, singleNode, synologyNas, vlanSegment } from "../support/variants";
import type { LabFiles } from "../support/lab";

const VARIANTS: Record<string, (f: LabFiles) => void> = { fiveControlPlanes, synologyNas, vlanSegment, singleNode, debianPhysicalJump };

interface Ran {
  readonly check: Run;
  readonly plan?: Run;
  readonly out: string;
}
const ran: Record<string, Ran> = {};

beforeAll(async () => {
  // One at a time: two cores, and each plan runs every stack under mocks.
  for (const [name, edit] of Object.entries(VARIANTS)) {
    const dir = copyLab(edit);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), `homelab-anylab-${name}-`));
    const check = await runCliAsync(["check", "--dir", dir]);
    const plan = check.code === 0 ? await runCliAsync(["plan", "--dir", dir, "--out", out]) : undefined;
    ran[name] = { check, ...(plan ? { plan } : {}), out };
  }
}, 300_000);

afterAll(() => {
  for (const r of Object.values(ran)) fs.rmSync(r.out, { recursive: true, force: true });
});

const file = (name: string, rel: string) => fs.readFileSync(path.join(ran[name]!.out, rel), "utf8");

test.each(["fiveControlPlanes", "synologyNas", "vlanSegment", "singleNode"])("%s: check and plan exit 0", (name) => {
  const r = ran[name]!;
  expect(r.check).toMatchObject({ code: 0 });
  expect(r.check.stdout).toMatch(/^ok: /);
  expect(r.plan).toMatchObject({ code: 0 });
  expect(r.plan!.stdout).toMatch(/wrote \d+ files under /);
});

test("five control planes on three nodes: all five in the plan", () => {
  const plan = JSON.parse(file("fiveControlPlanes", "cluster/plan.json")) as { hosts: { id: string }[] };
  expect(plan.hosts.map((h) => h.id)).toEqual(expect.arrayContaining(["cp-1", "cp-2", "cp-3", "cp-4", "cp-5"]));
});

test("a Synology NAS: the plan says synology and its web UI on 5001, and the proxy reaches it there", () => {
  const plan = JSON.parse(file("synologyNas", "internal/plan.json")) as { hosts: { id: string; os: string; listens: unknown[] }[] };
  expect(plan.hosts.find((h) => h.id === "diskstation")).toMatchObject({ os: "synology", listens: [{ port: 5001, proto: "tcp" }] });
  expect(file("synologyNas", "internal/router/nftables.conf")).toContain('10.10.0.5 . tcp . 5001 comment "publish:internal/nas",');
});

test("a VLAN segment: its router's network config creates the sub-interface, and the ruleset and DHCP name it", () => {
  const net = file("vlanSegment", `${LAB_VLAN.segment}/router/interfaces`);
  expect(net).toContain(
    `auto ${LAB_VLAN.iface}\niface ${LAB_VLAN.iface} inet static\n    address 10.30.0.1/24\n    vlan-raw-device ${LAB_VLAN.parent}\n`,
  );
  expect(file("vlanSegment", `${LAB_VLAN.segment}/router/nftables.conf`)).toContain(`"${LAB_VLAN.iface}"`);
  expect(file("vlanSegment", `${LAB_VLAN.segment}/router/dnsmasq.conf`)).toContain(`\ninterface=${LAB_VLAN.iface}\n`);
  const plan = JSON.parse(file("vlanSegment", `${LAB_VLAN.segment}/plan.json`)) as { router: { lan: unknown } };
  expect(plan.router.lan).toMatchObject({ iface: LAB_VLAN.iface, vlan: { parent: LAB_VLAN.parent, id: LAB_VLAN.id } });
});

test("a single node: one warning line from check and from plan, no N-1 problem", () => {
  const r = ran.singleNode!;
  const warn = (run: Run) => run.stderr.split("\n").filter((l) => l.startsWith("warning: "));
  expect(warn(r.check)).toEqual([
    expect.stringMatching(/^warning: homelab\.yaml hardware\.proxmox\.nodes: the lab has one Proxmox node \(solo\): no VM can fail over/),
  ]);
  expect(warn(r.plan!)).toEqual(warn(r.check));
  expect(r.check.stdout).toContain("on 1 node (one node: no failover)");
});

test("a Debian physical jump host is refused at its os and its vm, saying it would be rendered as a NixOS VM", () => {
  const r = ran.debianPhysicalJump!;
  expect(r.check.code).toBe(1);
  expect(r.check.stderr).toMatch(
    /\n {2}Pulumi\.internal\.yaml: homelab:segment\.hosts\.jump\.os = "debian" \(line \d+\)\n {4}the jump host internal\/jump has os debian, but jump hosts are rendered and deployed as NixOS only/,
  );
  expect(r.check.stderr).toMatch(
    /\n {2}Pulumi\.internal\.yaml: homelab:segment\.hosts\.jump\.vm = \(missing\)( \(line \d+\))?\n {4}the jump host internal\/jump is a physical box/,
  );
});
