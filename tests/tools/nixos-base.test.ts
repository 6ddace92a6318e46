// Proves the base NixOS host's files (the monitor's) pass the real programs that read them (nix-instantiate --parse, sshd -t, nft -c in an empty namespace, bash -n and shellcheck), each checker failing a broken copy, and that its configuration.nix, evaluated lazily with stubs, runs exactly the checked host.nft and sshd_config, with the model's users (keys only), root and mutable users locked and no password login through PAM either; it does not boot NixOS (nothing here can) or run its release (tests/tools/nixos-apply.test.ts runs the script).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { planSshAccess } from "../../model/network/ssh";
import { filesUnder, type RenderedFile } from "../../render/files";
import { jumpLabFacts } from "../../render/jump";
import { renderBaseHostFiles } from "../../render/nixos-base";
import { checkFiles, requireTools } from "../support/checkers";
import { must } from "../support/proc";
import { referenceLab, referencePlan } from "../support/lab";

const lab = referenceLab();
const seg = referencePlan().segments.internal!;
const monitor = seg.hosts.find((h) => h.id === "monitor")!;
const files = filesUnder(renderBaseHostFiles(seg, monitor, planSshAccess(lab), jumpLabFacts(lab)), "monitor");

test("every file of the monitor passes its checker", () => {
  const results = checkFiles(files);
  expect(results.map((r) => r.checker).sort()).toEqual(["nft", "nix", "sh", "sshd"]);
  expect(results.filter((r) => !r.ok)).toEqual([]);
});

const broken = (name: string, edit: (t: string) => string): RenderedFile => {
  const f = files.find((x) => x.path === name)!;
  const content = edit(f.content);
  if (content === f.content) throw new Error(`the edit did not change ${name}`);
  return { ...f, path: `broken/${path.posix.basename(f.path)}`, content };
};

test.each([
  ["nix: an unclosed attribute set", broken("configuration.nix", (t) => t.replace(/}\s*$/, ""))],
  ["sshd: an unknown keyword", broken("sshd_config", (t) => t.replace("PermitRootLogin no", "PermitRootLogin no\nPermitRootLogins no"))],
  ["nft: a rule outside any chain", broken("host.nft", (t) => t.replace("table inet host {", "tcp dport 22 accept\ntable inet host {"))],
])("negative control: %s fails", (_name, f) => {
  const [r] = checkFiles([f]);
  expect(r!.ok).toBe(false);
});

test("configuration.nix, evaluated lazily with stubs, runs the checked files with the model's users and no password anywhere", () => {
  requireTools(["nix"]);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-basenix-"));
  try {
    for (const f of files) fs.writeFileSync(path.join(tmp, f.path), f.content);
    const expr = `
      let
        cfg = import ./configuration.nix {
          config = { };
          lib = { mkForce = content: { _type = "override"; priority = 50; inherit content; }; };
          pkgs = { writeScriptBin = name: text: { inherit name text; }; };
        };
      in builtins.deepSeq (removeAttrs cfg [ "imports" ]) {
        nft = builtins.readFile cfg.networking.nftables.rulesetFile;
        firewall = cfg.networking.firewall.enable;
        sshd = builtins.readFile cfg.environment.etc."ssh/sshd_config".source.content;
        ssh = cfg.services.openssh.settings;
        mutable = cfg.users.mutableUsers;
        root = cfg.users.users.root.hashedPassword;
        users = builtins.mapAttrs (n: u: { keys = u.openssh.authorizedKeys.keys or [ ]; wheel = builtins.elem "wheel" (u.extraGroups or [ ]); }) (removeAttrs cfg.users.users [ "root" ]);
      }`;
    const v = JSON.parse(
      must(["nix-instantiate", "--eval", "--strict", "--json", "--store", "dummy://", "--option", "build-users-group", "", "-E", expr], {
        cwd: tmp,
        env: { HOME: tmp },
        timeout: 30000,
      }),
    ) as Record<string, unknown>;
    const fileOf = (name: string) => files.find((f) => f.path === name)!.content;
    expect(v).toEqual({
      nft: fileOf("host.nft"),
      firewall: false,
      sshd: fileOf("sshd_config"),
      ssh: { UsePAM: true, PasswordAuthentication: false, KbdInteractiveAuthentication: false, PermitRootLogin: "no" },
      mutable: false,
      root: "!",
      users: Object.fromEntries(planSshAccess(lab).users.map((u) => [u.name, { keys: [...u.keys].sort(), wheel: !u.deploy }])),
    });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
