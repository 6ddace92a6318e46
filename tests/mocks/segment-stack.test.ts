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
import { driverFacts, runStack, TEST_PROXMOX_TOKEN, TEST_WIREGUARD_KEYS } from "../support/mocks";

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
    // Apply and confirm are one command, so a rolled-back release is not left half-recorded.
    const children = resources.filter((r) => r.parent === `${owner}-release`);
    expect(
      children
        .filter((r) => r.type !== "command:remote:CopyToRemote" && !r.name.startsWith(`${owner}-release-upload-secret-`))
        .map((r) => [r.type, r.name]),
    ).toEqual([["command:local:Command", `${owner}-release-apply-confirm`]]);
    const uploads = children.filter((r) => r.type === "command:remote:CopyToRemote");
    expect(uploads.map((u) => u.name)).toContain(`${owner}-release-upload-apply.sh`);
    // The router's release also writes its tunnel's private key from the stack's secret, a command of its own.
    const secrets = children.filter((r) => r.name.startsWith(`${owner}-release-upload-secret-`));
    expect(secrets.map((r) => r.name)).toEqual(owner === "cluster-fw" ? ["cluster-fw-release-upload-secret-wireguard.key"] : []);
    expect(byName(`${owner}-release-apply-confirm`).dependsOn).toEqual([...uploads, ...secrets].map((u) => u.name).sort());
    expect(byName(`${owner}-release-apply-confirm`).inputs).toMatchObject({
      create: 'exec bash -c "$HOMELAB_RELEASE_DRIVER" homelab-release',
      triggers: [expect.stringMatching(/^[0-9a-f]{16}$/)],
      logging: "stdoutAndStderr",
    });
  }
});

test("only known resource types; the only invokes are the Talos cluster's", () => {
  const types = new Set(resources.map((r) => r.type));
  expect([...types].sort()).toEqual([
    "command:local:Command",
    // The router's tunnel key, written from stdin.
    "command:remote:Command",
    "command:remote:CopyToRemote",
    "homelab:deploy:Release",
    "homelab:network:Router",
    "homelab:nixos:Host",
    "homelab:proxmox:Ha",
    "homelab:proxmox:Images",
    "homelab:proxmox:VirtualMachine",
    "homelab:talos:Cluster",
    "homelab:talos:Roll",
    "proxmoxve:download/file:File",
    "proxmoxve:index/haresource:Haresource",
    "proxmoxve:index/harule:Harule",
    "proxmoxve:index/replication:Replication",
    "proxmoxve:index/vmLegacy:VmLegacy",
    "pulumi:providers:proxmoxve",
    "pulumi:providers:talos",
    "pulumi:pulumi:Stack",
    // The workers pass NICs through: the stack reads the owner's PCI mappings first.
    "pulumi:pulumi:StackReference",
    "talos:cluster/kubeconfig:Kubeconfig",
    "talos:machine/bootstrap:Bootstrap",
    "talos:machine/configurationApply:ConfigurationApply",
    "talos:machine/secrets:Secrets",
  ]);
  // Two machine configurations (control plane, worker), the health check and the talosconfig.
  expect([...run.recorder.invokes].sort()).toEqual([
    "talos:client/getConfiguration:getConfiguration",
    "talos:cluster/getHealth:getHealth",
    "talos:machine/getConfiguration:getConfiguration",
    "talos:machine/getConfiguration:getConfiguration",
  ]);
});

test("the router is reached through the jump host, with pinned host keys, and apply/confirm run the release's script", () => {
  const lab = referenceLab();
  const seg = lab.segments.cluster!;
  const router = driverFacts(byName("cluster-fw-release-apply-confirm").inputs);
  const id = router["RELEASE"]!;
  expect(id).toMatch(/^[0-9a-f]{16}$/);
  expect(byName("cluster-fw-release-apply-confirm").inputs.triggers).toEqual([id]);
  expect({ apply: router["APPLY"], confirm: router["CONFIRM"], timeout: router["TIMEOUT"] }).toEqual({
    apply: `sudo -n bash /home/deploy/homelab-uploads/${id}/apply.sh apply ${id} 120`,
    confirm: `sudo -n bash /home/deploy/homelab-uploads/${id}/apply.sh confirm ${id}`,
    timeout: "120",
  });
  // A NixOS host runs the homelab-apply command its configuration installed.
  const jumpFacts = driverFacts(byName("jump-release-apply-confirm").inputs);
  expect(jumpFacts["APPLY"]).toMatch(/^sudo -n homelab-apply apply [0-9a-f]{16} 300$/);
  expect(jumpFacts["CONFIRM"]).toBe(`sudo -n homelab-apply confirm ${jumpFacts["RELEASE"]}`);
  const upload = byName("jump-release-upload-configuration.nix");
  expect(upload.inputs.remotePath).toMatch(/^\/var\/lib\/homelab\/releases\/[0-9a-f]{16}\/configuration\.nix$/);
  const jump = lab.segments.cluster!.hosts.jump!;
  const key = (k: string | undefined) => String(k).split(/\s+/).slice(0, 2).join(" ");
  // Admins and Pulumi reach the jump host at the router's WAN address (DNAT from admin sources).
  expect(run.recorder.rawInputs.get("jump-release-upload-apply.sh")!.connection).toMatchObject({
    host: seg.router.wanAddress,
    user: "deploy",
    hostKey: jump.sshHostKey,
  });
  expect(jumpFacts).toMatchObject({
    BOX_HOST: seg.router.wanAddress,
    BOX_USER: "deploy",
    BOX_HOST_KEY: key(jump.sshHostKey),
    JUMP_HOST: "",
  });
  // The router's sshd only accepts the jump host, so the router is reached through it, by the uploads and both connections.
  expect(run.recorder.rawInputs.get("cluster-fw-release-upload-apply.sh")!.connection).toMatchObject({
    host: seg.router.lanAddress,
    hostKey: seg.router.sshHostKey,
    proxy: { host: seg.router.wanAddress, hostKey: jump.sshHostKey },
  });
  expect(router).toMatchObject({
    BOX_HOST: seg.router.lanAddress,
    BOX_PORT: "22",
    BOX_USER: "deploy",
    BOX_HOST_KEY: key(seg.router.sshHostKey),
    JUMP_HOST: seg.router.wanAddress,
    JUMP_PORT: "22",
    JUMP_USER: "deploy",
    JUMP_HOST_KEY: key(jump.sshHostKey),
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
  const connections = resources
    .filter((x) => x.type.startsWith("command:remote:"))
    .map((r) => run.recorder.rawInputs.get(r.name)!.connection);
  expect(connections.length).toBeGreaterThan(0);
  const credentials = (c: any): string[] =>
    c === undefined
      ? []
      : Object.keys(c)
          .filter((k) => /privateKey|password|agentSocketPath/i.test(k))
          .concat(credentials(c.proxy));
  expect(connections.every((c) => c !== undefined)).toBe(true);
  expect(connections.flatMap(credentials)).toEqual([]);
  // The apply-confirm commands' OpenSSH clients name no identity either: they use the agent too.
  const drivers = resources.filter((x) => x.type === "command:local:Command");
  expect(drivers.length).toBeGreaterThan(0);
  for (const d of drivers) expect(JSON.stringify(d.inputs)).not.toMatch(/IdentityFile|IdentityAgent|-i |PRIVATE KEY/);
  const everything = JSON.stringify({ raw: [...run.recorder.rawInputs.values()], outputs: run.resolved, uploads: run.recorder.uploads });
  expect(everything).not.toMatch(/PRIVATE KEY|ssh-agent\.sock/);
});

describe("the router's WireGuard private key: a secret file of its release, never a rendered one", () => {
  test("uploaded from the stack's secret homelab:wireguardKey on stdin, recorded only as a secret, before apply.sh runs", () => {
    const upload = byName("cluster-fw-release-upload-secret-wireguard.key");
    expect(upload.type).toBe("command:remote:Command");
    expect(upload.inputs["stdin"]).toBe("[secret]");
    expect(run.recorder.rawInputs.get(upload.name)!["stdin"]).toBe(TEST_WIREGUARD_KEYS["cluster"]);
    expect(String(upload.inputs["create"])).toMatch(
      /^umask 077 && mkdir -p \/home\/deploy\/homelab-uploads\/[0-9a-f]{16} && cat >\/home\/deploy\/homelab-uploads\/[0-9a-f]{16}\/wireguard\.key$/,
    );
    expect(byName("cluster-fw-release-apply-confirm").dependsOn).toContain(upload.name);
  });

  test("no recorded input, upload or output holds the key in the clear", () => {
    const key = TEST_WIREGUARD_KEYS["cluster"]!;
    for (const what of [run.recorder.resources, run.recorder.uploads, run.resolved]) expect(JSON.stringify(what)).not.toContain(key);
  });

  test("a segment stack without it stops with the key, the file and the command that sets it", async () => {
    await expect(runStack("cluster", { config: { [TEST_PROXMOX_TOKEN.key]: TEST_PROXMOX_TOKEN.value } })).rejects.toThrow(
      /Pulumi\.cluster\.yaml: homelab:wireguardKey[\s\S]*is not set: it is the private key of cluster-fw's end of the WireGuard tunnel[\s\S]*pulumi config set --secret homelab:wireguardKey -s cluster < wireguard\.key/,
    );
  });
});
