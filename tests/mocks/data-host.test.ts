// Proves the internal stack declares its data host (and its monitor, a base NixOS host) as a confirmed NixOS release behind the jump host (reached through it, after it), uploads each password and the htpasswd from its config secret on stdin as a secret input into the release directory, never anywhere in the clear (no input, upload, output or rendered file holds one), and stops with every missing secret named; does not run NixOS, MariaDB or Samba (tools and twin do).
import type { MockRun, RecordedResource } from "../../cli/mock-runtime";
import { OUTPUTS } from "../../stacks/contracts";
import { planSshAccess } from "../../model/network/ssh";
import { filesUnder } from "../../render/files";
import { jumpLabFacts } from "../../render/jump";
import { renderBaseHostFiles } from "../../render/nixos-base";
import { referenceLab, referencePlan } from "../support/lab";
import { driverFacts, runStack, TEST_DATA_SECRETS, TEST_PROXMOX_TOKEN, TEST_WIREGUARD_KEY, TEST_WIREGUARD_KEYS } from "../support/mocks";

let run: MockRun;
let resources: RecordedResource[];
const byName = (n: string) => {
  const r = resources.find((x) => x.name === n);
  if (!r) throw new Error(`no resource ${n}; have ${resources.map((x) => x.name).join(", ")}`);
  return r;
};

beforeAll(async () => {
  run = await runStack("internal");
  resources = run.recorder.withParents();
});

const SECRET_FILES = {
  "mariadb-gitea.password": "homelab:mariadbGitea",
  "registry.htpasswd": "homelab:registryHtpasswd",
  "samba-k8s.password": "homelab:sambaK8s",
} as const;

test("a NixOS host with a confirmed release, after the jump host, reached through it with pinned host keys", () => {
  const lab = referenceLab();
  const seg = lab.segments.internal!;
  expect(byName("data").type).toBe("homelab:nixos:Host");
  // After its VM too, which the compute part declares first.
  expect(byName("data").dependsOn).toEqual(["data-vm", "jump"]);
  expect(byName("data-release").dependsOn).toEqual(["data-vm", "jump"]);
  expect(byName("data-release")).toMatchObject({ type: "homelab:deploy:Release", parent: "data" });
  expect(run.recorder.rawInputs.get("data-release-upload-apply.sh")!.connection).toMatchObject({
    host: seg.hosts.data!.address,
    user: lab.ssh.deploy.user,
    hostKey: seg.hosts.data!.sshHostKey,
    proxy: { host: seg.router.wanAddress, hostKey: seg.hosts.jump!.sshHostKey },
  });
  const key = (k: string | undefined) => String(k).split(/\s+/).slice(0, 2).join(" ");
  expect(driverFacts(byName("data-release-apply-confirm").inputs)).toMatchObject({
    BOX_HOST: seg.hosts.data!.address,
    BOX_USER: lab.ssh.deploy.user,
    BOX_HOST_KEY: key(seg.hosts.data!.sshHostKey),
    JUMP_HOST: seg.router.wanAddress,
    JUMP_HOST_KEY: key(seg.hosts.jump!.sshHostKey),
    APPLY: expect.stringMatching(/^sudo -n homelab-apply apply [0-9a-f]{16} 300$/),
  });
  expect(run.resolved[OUTPUTS.dataRelease]).toMatch(/^[0-9a-f]{16}$/);
  const uploads = resources.filter((r) => r.parent === "data-release" && r.type === "command:remote:CopyToRemote").map((r) => r.name);
  expect(uploads.sort()).toEqual(
    [
      "apply.sh",
      "backup-freshness.sh",
      "configuration.nix",
      "exports",
      "host.nft",
      "mariadb-users.sh",
      "samba-users.sh",
      "sshd-config",
    ].map((f) => `data-release-upload-${f}`),
  );
});

test("the monitor, a base NixOS host, is a confirmed release too: after its VM and the jump host, its rendered files and no secret", () => {
  const lab = referenceLab();
  const seg = lab.segments.internal!;
  expect(byName("monitor").type).toBe("homelab:nixos:Host");
  expect(byName("monitor").dependsOn).toEqual(["jump", "monitor-vm"]);
  expect(run.recorder.rawInputs.get("monitor-release-upload-apply.sh")!.connection).toMatchObject({
    host: seg.hosts.monitor!.address,
    user: lab.ssh.deploy.user,
    hostKey: seg.hosts.monitor!.sshHostKey,
    proxy: { host: seg.router.wanAddress, hostKey: seg.hosts.jump!.sshHostKey },
  });
  const key = (k: string | undefined) => String(k).split(/\s+/).slice(0, 2).join(" ");
  expect(driverFacts(byName("monitor-release-apply-confirm").inputs)).toMatchObject({
    BOX_HOST: seg.hosts.monitor!.address,
    BOX_USER: lab.ssh.deploy.user,
    BOX_HOST_KEY: key(seg.hosts.monitor!.sshHostKey),
    JUMP_HOST: seg.router.wanAddress,
    JUMP_HOST_KEY: key(seg.hosts.jump!.sshHostKey),
  });
  const plan = referencePlan().segments.internal!;
  const rendered = filesUnder(
    renderBaseHostFiles(
      plan,
      plan.hosts.find((h) => h.id === "monitor")!,
      planSshAccess(lab),
      jumpLabFacts(lab),
    ),
    "monitor",
  );
  const uploads = run.recorder.uploads.filter((u) => u.resource.startsWith("monitor-release-upload-"));
  expect(uploads.map((u) => u.resource).sort()).toEqual(
    ["apply.sh", "configuration.nix", "host.nft", "sshd-config"].map((f) => `monitor-release-upload-${f}`),
  );
  for (const f of rendered) {
    const u = uploads.find((x) => x.resource === `monitor-release-upload-${f.path.replace("_", "-")}`)!;
    expect(u.content).toBe(f.content);
  }
  expect(resources.filter((r) => r.parent === "monitor-release" && r.name.includes("secret"))).toEqual([]);
});

describe("the secrets: uploaded from config on stdin, as secret inputs, into the release directory", () => {
  test.each(Object.entries(SECRET_FILES))("%s from %s", (file, key) => {
    const upload = byName(`data-release-upload-secret-${file}`);
    expect(upload.type).toBe("command:remote:Command");
    expect(upload.secretInputs).toContain("stdin");
    expect(upload.inputs["stdin"]).toBe("[secret]");
    expect(run.recorder.rawInputs.get(upload.name)!["stdin"]).toBe(TEST_DATA_SECRETS[key]);
    expect(String(upload.inputs["create"])).toMatch(
      new RegExp(
        `^umask 077 && mkdir -p /var/lib/homelab/releases/[0-9a-f]{16} && cat >/var/lib/homelab/releases/[0-9a-f]{16}/${file.replace(/\./g, "\\.")}$`,
      ),
    );
    expect(run.recorder.dependsOn.get("data-release-apply-confirm")).toContain(upload.name);
  });

  test("no recorded input, upload, rendered file or output holds a secret in the clear", () => {
    const everything = JSON.stringify({ resources: run.recorder.resources, uploads: run.recorder.uploads, outputs: run.resolved });
    for (const value of Object.values(TEST_DATA_SECRETS)) {
      // The whole value, and its distinctive part (in case a renderer escaped or split it).
      expect(everything).not.toContain(value);
      expect(everything).not.toContain(value.slice(0, 12));
    }
    const raw = [...run.recorder.rawInputs.entries()].filter(([name]) => !name.startsWith("data-release-upload-secret-"));
    for (const value of Object.values(TEST_DATA_SECRETS)) expect(JSON.stringify(raw)).not.toContain(value.slice(0, 12));
  });

  test("the configuration names where each secret lands, never what it holds", () => {
    const nix = run.recorder.uploads.find((u) => u.resource === "data-release-upload-configuration.nix")!.content;
    expect(nix).toContain('"htpasswd:/etc/nixos/homelab/registry.htpasswd"');
    const users = run.recorder.uploads.find((u) => u.resource === "data-release-upload-mariadb-users.sh")!.content;
    expect(users).toContain("PASSWORD_DIR='/etc/nixos/homelab'");
  });
});

test("a stack without its secrets stops naming each one, with the command that sets it", async () => {
  await expect(
    runStack("internal", {
      config: {
        [TEST_PROXMOX_TOKEN.key]: TEST_PROXMOX_TOKEN.value,
        [TEST_WIREGUARD_KEY]: TEST_WIREGUARD_KEYS["internal"]!,
        "homelab:sambaK8s": "only-this-one",
      },
    }),
  ).rejects.toThrow(
    /cannot run this stack: 2 problems[\s\S]*homelab:mariadbGitea[\s\S]*is not set: it is the password of MariaDB user gitea on data\.internal\.lab\.example\.net[\s\S]*pulumi config set --secret homelab:mariadbGitea -s internal[\s\S]*homelab:registryHtpasswd[\s\S]*htpasswd -nB/,
  );
});

test("a preview (unknown values) declares the same resources", async () => {
  const preview = await runStack("internal", { preview: true });
  expect(
    preview.recorder.resources
      .map((r) => r.name)
      .filter((n) => n.startsWith("data"))
      .sort(),
  ).toEqual(
    resources
      .map((r) => r.name)
      .filter((n) => n.startsWith("data"))
      .sort(),
  );
});
