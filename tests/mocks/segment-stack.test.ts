// Proves what a segment stack declares under mocks (types, names, parents, ordering, key
// inputs, contract and docs contract, secrecy of the deploy key); it does not prove the commands work on a
// box (tests/tools and tests/twin run the scripts for real).
import { isSecret } from "@pulumi/pulumi";
import type { MockRun, RecordedResource } from "../../cli/mock-runtime";
import { publishSegment } from "../../model/network/dmz";
import { planLab } from "../../model/plan";
import { docsOfSegment } from "../../pages/contract-segment";
import { OUTPUTS, readDocsContract, segmentContract } from "../../stacks/contracts";
import { referenceLab } from "../support/lab";
import { runStack } from "../support/mocks";

let run: MockRun;
let resources: RecordedResource[];
const byName = (n: string) => {
  const r = resources.find((x) => x.name === n);
  if (!r) throw new Error(`no resource ${n}; have ${resources.map((x) => x.name).join(", ")}`);
  return r;
};

beforeAll(async () => {
  run = await runStack("cluster");
  resources = run.recorder.withParents();
});

test("declares the jump host and the router as confirmed releases, router after jump", () => {
  expect(byName("jump").type).toBe("homelab:nixos:Host");
  expect(byName("cluster-fw").type).toBe("homelab:network:Router");
  expect(byName("jump-release")).toMatchObject({ type: "homelab:deploy:Release", parent: "jump" });
  expect(byName("cluster-fw-release")).toMatchObject({ type: "homelab:deploy:Release", parent: "cluster-fw" });
  expect(byName("cluster-fw").dependsOn).toEqual(["jump"]);
  for (const owner of ["jump", "cluster-fw"]) {
    expect(byName(`${owner}-release-apply`)).toMatchObject({ type: "command:remote:Command", parent: `${owner}-release` });
    expect(byName(`${owner}-release-confirm`)).toMatchObject({
      type: "command:remote:Command",
      parent: `${owner}-release`,
      dependsOn: [`${owner}-release-apply`],
    });
    const uploads = resources.filter((r) => r.parent === `${owner}-release` && r.type === "command:remote:CopyToRemote");
    expect(uploads.map((u) => u.name)).toContain(`${owner}-release-upload-apply.sh`);
    expect(byName(`${owner}-release-apply`).dependsOn).toEqual(uploads.map((u) => u.name).sort());
  }
});

test("only known resource types, no invokes", () => {
  const types = new Set(resources.map((r) => r.type));
  expect([...types].sort()).toEqual([
    "command:remote:Command",
    "command:remote:CopyToRemote",
    "homelab:deploy:Release",
    "homelab:network:Router",
    "homelab:nixos:Host",
    "homelab:proxmox:Ha",
    "homelab:proxmox:Images",
    "homelab:proxmox:VirtualMachine",
    "proxmoxve:download/file:File",
    "proxmoxve:index/haresource:Haresource",
    "proxmoxve:index/harule:Harule",
    "proxmoxve:index/replication:Replication",
    "proxmoxve:index/vmLegacy:VmLegacy",
    "pulumi:providers:proxmoxve",
    "pulumi:pulumi:Stack",
    // The workers pass NICs through: the stack reads the owner's PCI mappings first.
    "pulumi:pulumi:StackReference",
  ]);
  expect(run.recorder.invokes).toEqual([]);
});

test("the router is reached through the jump host, with pinned host keys, and apply/confirm run the release's script", () => {
  const lab = referenceLab();
  const seg = lab.segments.cluster!;
  const apply = byName("cluster-fw-release-apply");
  // The SDK secret-wraps the whole connection; the recorder notes the path and redacts it.
  expect(apply.secretInputs).toContain("connection");
  expect(apply.inputs.create).toMatch(/^sudo -n bash \/home\/deploy\/homelab-uploads\/([0-9a-f]{16})\/apply\.sh apply \1 120$/);
  expect(byName("cluster-fw-release-confirm").inputs.create).toMatch(
    /^sudo -n bash \/home\/deploy\/homelab-uploads\/([0-9a-f]{16})\/apply\.sh confirm \1$/,
  );
  // A NixOS host runs the homelab-apply command its configuration installed.
  expect(byName("jump-release-apply").inputs.create).toMatch(/^sudo -n homelab-apply apply [0-9a-f]{16} 300$/);
  expect(byName("jump-release-confirm").inputs.create).toMatch(/^sudo -n homelab-apply confirm [0-9a-f]{16}$/);
  const upload = byName("jump-release-upload-configuration.nix");
  expect(upload.inputs.remotePath).toMatch(/^\/var\/lib\/homelab\/releases\/[0-9a-f]{16}\/configuration\.nix$/);
  const jump = lab.segments.cluster!.hosts.jump!;
  // Admins and Pulumi reach the jump host at the router's WAN address (DNAT from admin sources).
  expect(run.recorder.rawInputs.get("jump-release-apply")!.connection).toMatchObject({
    host: seg.router.wanAddress,
    user: "deploy",
    hostKey: jump.sshHostKey,
  });
  // The router's sshd only accepts the jump host, so the router is reached through it.
  expect(run.recorder.rawInputs.get("cluster-fw-release-confirm")!.connection).toMatchObject({
    host: seg.router.lanAddress,
    hostKey: seg.router.sshHostKey,
    proxy: { host: seg.router.wanAddress, hostKey: jump.sshHostKey },
  });
});

test("the contract is the model's published segment", () => {
  expect(run.resolved[OUTPUTS.contract]).toEqual(JSON.parse(JSON.stringify(segmentContract(publishSegment(referenceLab(), "cluster")))));
  expect(run.resolved[OUTPUTS.routerRelease]).toMatch(/^[0-9a-f]{16}$/);
});

test("the docs contract is the model's, plain data the live reader accepts, with no secret in it", async () => {
  const docs = run.resolved[OUTPUTS.docs];
  expect(docs).toEqual(JSON.parse(JSON.stringify(docsOfSegment(referenceLab(), planLab(referenceLab()), "cluster"))));
  expect(await isSecretOutput(OUTPUTS.docs)).toBe(false);
  expect(readDocsContract({ kind: "segment", name: "cluster" }, "organization/homelab/cluster", docs)).toEqual({ ok: true, value: docs });
  expect(JSON.stringify(docs)).not.toMatch(/TEST-SENTINEL-8c1f|PRIVATE KEY|\[secret\]/);
});

function isSecretOutput(name: string): Promise<boolean> {
  return isSecret(run.outputs[name]!);
}

test("no input holds a key or a password: every SSH connection, and its jump, authenticates with the deployer's ssh-agent", () => {
  const connections = resources.filter((x) => x.type.startsWith("command:")).map((r) => run.recorder.rawInputs.get(r.name)!.connection);
  expect(connections.length).toBeGreaterThan(0);
  const credentials = (c: any): string[] =>
    c === undefined
      ? []
      : Object.keys(c)
          .filter((k) => /privateKey|password|agentSocketPath/i.test(k))
          .concat(credentials(c.proxy));
  expect(connections.every((c) => c !== undefined)).toBe(true);
  expect(connections.flatMap(credentials)).toEqual([]);
  const everything = JSON.stringify({ raw: [...run.recorder.rawInputs.values()], outputs: run.resolved, uploads: run.recorder.uploads });
  expect(everything).not.toMatch(/PRIVATE KEY|ssh-agent\.sock/);
});
