/**
 * The data host's configuration.nix evaluated lazily with stub module arguments (the pkgs it
 * names are store-path stand-ins), forcing the whole configuration but `imports`: the tools
 * tests read back what the data services and the backups decide, with no nixpkgs.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { must } from "./proc";

/**
 * Write `release` (configuration.nix and its companion files) to a private directory, evaluate
 * `pick`, a Nix attribute set over `cfg` (the configuration) and `s` (its systemd.services),
 * and return it as JSON.
 */
export function evalDataNix(release: readonly { readonly path: string; readonly content: string }[], pick: string): Record<string, any> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-datanix-"));
  try {
    for (const f of release) fs.writeFileSync(path.join(dir, f.path), f.content);
    const expr = `
      let
        stub = name: "/nix/store/00000000000000000000000000000000-\${name}";
        cfg = import ./configuration.nix {
          config = { };
          lib = { mkForce = content: { _type = "override"; priority = 50; inherit content; }; };
          pkgs = { mariadb = stub "mariadb"; samba = stub "samba"; bash = stub "bash"; writeScriptBin = name: text: { inherit name text; }; };
        };
        s = cfg.systemd.services;
      in builtins.deepSeq (removeAttrs cfg [ "imports" ]) ${pick}`;
    return JSON.parse(
      must(["nix-instantiate", "--eval", "--strict", "--json", "--store", "dummy://", "--option", "build-users-group", "", "-E", expr], {
        cwd: dir,
        env: { HOME: dir },
        timeout: 30000,
      }),
    ) as Record<string, any>;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
