// Proves the cloud-init user data of Debian and Ubuntu VMs: which VMs get it (Debian or Ubuntu from an image that reads cloud-init, no other OS), where its snippet goes (the VM's node and an HA VM's failover node), the rendered text byte for byte (golden) and read back (only the admins, locked passwords, no default user, root and passwords off, the lab's sshd renderer as a drop-in, keys where that sshd looks), that it is deterministic and holds nothing secret, and rule proxmox.snippets-ssh's exact message; it does not run cloud-init or sshd (tests/tools does) or prove the upload (tests/mocks does).
import { parse } from "yaml";
import { planUserData, snippetVolumeId, type UserDataPlan } from "../../model/compute/cloud-init";
import { planMachines } from "../../model/compute/machine";
import { planPlacement } from "../../model/compute/placement";
import type { Lab } from "../../model/lab";
import { formatProblems } from "../../model/problems";
import { validateLab } from "../../model/validate";
import { renderUserData, renderUserDataSshd, SSHD_DROP_IN, userDataAccess } from "../../render/cloud-init";
import { renderSshdConfig } from "../../render/sshd";
import { expectGolden } from "../support/golden";
import { parseFiles, referenceFiles, referencePlan, segOf, type LabFiles } from "../support/lab";

function labWith(edit: (f: LabFiles) => void): Lab {
  const files = referenceFiles();
  edit(files);
  const parsed = parseFiles(files);
  if (!parsed.lab) throw new Error(`the edit broke the schema:\n${formatProblems(parsed.problems)}`);
  return parsed.lab;
}

function userDataOf(lab: Lab): UserDataPlan[] {
  const placement = planPlacement(lab);
  const vms = placement.nodes.flatMap((n) => n.vms).sort((a, b) => a.vmId - b.vmId);
  return planUserData(lab, planMachines(lab, vms), placement.ha);
}

const reference = referencePlan().userData;
const games = reference.find((u) => u.vm === "sandbox-games")!;

describe("which VMs get user data", () => {
  test("in the reference lab: the one Debian VM, on its node and its failover node", () => {
    expect(reference.map((u) => ({ ...u, allowFrom: u.allowFrom.map(String), admins: u.admins.map((a) => a.name) }))).toEqual([
      {
        vm: "sandbox-games",
        stack: "sandbox",
        host: "games",
        os: "debian",
        fqdn: "games.sandbox.lab.example.net",
        description: "Friends' game servers - Minecraft and Valheim",
        admins: ["alice", "bob"],
        allowFrom: ["10.40.0.2/32"],
        fileName: "sandbox-games-user-data.yaml",
        datastore: "local",
        nodes: ["pve1", "pve4"],
      },
    ]);
    expect(snippetVolumeId(games)).toBe("local:snippets/sandbox-games-user-data.yaml");
  });

  test("Talos and NixOS VMs from images that read cloud-init get none (Talos reads its machine config, NixOS its configuration.nix)", () => {
    const machines = referencePlan().machines;
    expect(machines.filter((m) => m.cloudInit !== undefined && m.name !== "sandbox-games").length).toBeGreaterThan(0);
    expect(reference.map((u) => u.vm)).toEqual(["sandbox-games"]);
  });

  test("an Ubuntu VM gets it; a Debian VM installed by hand (no image) does not; a pinned VM only on its node", () => {
    const lab = labWith((f) => {
      segOf(f, "sandbox").hosts.games.os = "ubuntu";
      const agent = segOf(f, "sandbox").hosts.agent;
      agent.os = "debian";
      delete agent.vm.image;
      segOf(f, "lab").hosts["mirror-1"].os = "ubuntu";
      segOf(f, "lab").hosts["mirror-1"].vm.image = "debian-12";
      segOf(f, "lab").hosts["mirror-1"].vm.ha = false;
    });
    expect(userDataOf(lab).map((u) => [u.vm, u.os, u.nodes])).toEqual([
      ["lab-mirror-1", "ubuntu", ["pve4"]],
      ["sandbox-games", "ubuntu", ["pve1", "pve4"]],
    ]);
  });
});

describe("the rendered user data", () => {
  const text = renderUserData(games);
  const doc = parse(text) as Record<string, any>;

  test("golden (UPDATE_GOLDEN=1 rewrites it; review the diff)", () => {
    expectGolden(`cloud-init/${games.fileName}`, text);
  });

  test("starts with #cloud-config, and has exactly the keys the lab sets", () => {
    expect(text.split("\n")[0]).toBe("#cloud-config");
    // cloud-init 22.4's schema check does not refuse unknown top-level keys: this list is the check.
    expect(Object.keys(doc)).toEqual([
      "hostname",
      "fqdn",
      "manage_etc_hosts",
      "users",
      "disable_root",
      "ssh_pwauth",
      "ssh_deletekeys",
      "ssh_genkeytypes",
      "write_files",
    ]);
    expect(doc).toMatchObject({ hostname: "games", fqdn: "games.sandbox.lab.example.net", disable_root: true, ssh_pwauth: false });
  });

  test("the only accounts are the model's admins: no default user, every password locked, sudo without one", () => {
    expect(doc.users).toEqual([
      {
        name: "alice",
        gecos: "Alice Example",
        groups: ["sudo"],
        shell: "/bin/bash",
        lock_passwd: true,
        sudo: "ALL=(ALL) NOPASSWD:ALL",
      },
      { name: "bob", gecos: "Bob Example", groups: ["sudo"], shell: "/bin/bash", lock_passwd: true, sudo: "ALL=(ALL) NOPASSWD:ALL" },
    ]);
    expect(text).not.toMatch(/^\s*-\s*default\s*$/m);
  });

  test("sshd is the lab's renderer as a drop-in: every setting of the routers' policy but the sftp subsystem the distribution defines", () => {
    const dropIn = doc.write_files.find((f: { path: string }) => f.path === SSHD_DROP_IN);
    expect(dropIn).toEqual({ path: SSHD_DROP_IN, owner: "root:root", permissions: "0644", content: renderUserDataSshd(games) });
    const whole = renderSshdConfig(
      { role: `${games.fqdn} (debian VM)`, listen: [], allowFrom: games.allowFrom, forwarding: { kind: "none" } },
      userDataAccess(games),
    );
    const body = (s: string) => s.split("\n").slice(1);
    expect(body(dropIn.content)).toEqual(body(whole).filter((l) => l !== "Subsystem sftp internal-sftp"));
    expect(dropIn.content.split("\n")[0]).toBe("# sshd_config drop-in for games.sandbox.lab.example.net (debian VM)");
    for (const line of [
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin no",
      "AuthenticationMethods publickey",
      "AllowUsers alice@10.40.0.2/32 bob@10.40.0.2/32",
      "AuthorizedKeysFile /etc/ssh/authorized_keys.d/%u",
      "DisableForwarding yes",
    ])
      expect(dropIn.content.split("\n")).toContain(line);
  });

  test("each admin's keys, and only theirs, are where the drop-in's AuthorizedKeysFile looks", () => {
    const keyFiles = doc.write_files.filter((f: { path: string }) => f.path !== SSHD_DROP_IN);
    expect(keyFiles.map((f: { path: string }) => f.path)).toEqual(["/etc/ssh/authorized_keys.d/alice", "/etc/ssh/authorized_keys.d/bob"]);
    const keysOf = (i: number) => (keyFiles[i].content as string).split("\n").filter((l) => l !== "" && !l.startsWith("#"));
    const lab = labWith(() => undefined);
    expect(keysOf(0)).toEqual([...lab.admins.alice!.keys].sort());
    expect(keysOf(1)).toEqual([...lab.admins.bob!.keys].sort());
    // The deploy identity deploys nothing to these VMs: it has no account and no key here.
    expect(text).not.toContain(lab.ssh.deploy.key.split(" ")[1]);
    expect(text).not.toMatch(/\bdeploy\b/);
  });

  test("holds no secret and no password setting of any kind", () => {
    expect(text).not.toMatch(/PRIVATE KEY|\b(passwd|password|hashed_passwd|plain_text_passwd|chpasswd|ssh_keys):/i);
  });

  test("is deterministic: the same bytes whatever order the model lists admins and keys in", () => {
    const shuffled: UserDataPlan = { ...games, admins: [...games.admins].reverse().map((a) => ({ ...a, keys: [...a.keys].reverse() })) };
    const lab = labWith((f) => {
      const admins = f["homelab.yaml"].admins;
      f["homelab.yaml"].admins = Object.fromEntries(Object.entries(admins).reverse());
      for (const a of Object.values<{ keys: string[] }>(f["homelab.yaml"].admins)) a.keys.reverse();
    });
    expect(renderUserData(userDataOf(lab).find((u) => u.vm === games.vm)!)).toBe(text);
    expect(renderUserData(games)).toBe(text);
    // The plan sorts; the renderer keeps the order it is given (the plan is its only caller).
    expect(renderUserData(shuffled)).not.toBe(text);
  });
});

describe("rule proxmox.snippets-ssh", () => {
  test("a lab whose Debian VM gets user data names the SSH user the snippet is uploaded as", () => {
    const lab = labWith((f) => delete f["homelab.yaml"].hardware.proxmox.sshUser);
    expect(validateLab(lab)).toEqual([
      {
        rule: "proxmox.snippets-ssh",
        file: "homelab.yaml",
        path: "hardware.proxmox.sshUser",
        message:
          "is required: sandbox/games gets cloud-init user data (the admins' keys, the hardened sshd), which the stack uploads as a snippet to hardware.proxmox.snippetDatastore (local), and Proxmox takes snippets over SSH only",
        fix: "add sshUser: <a PAM user with passwordless sudo on every node> under hardware.proxmox (Pulumi logs in as it with the deploy key from the ssh-agent), and enable the snippets content on local",
      },
    ]);
  });

  test("a lab without such a VM needs no SSH user", () => {
    const lab = labWith((f) => {
      delete f["homelab.yaml"].hardware.proxmox.sshUser;
      segOf(f, "sandbox").hosts.games.os = "nixos";
    });
    expect(validateLab(lab)).toEqual([]);
  });
});
