// Proves the base NixOS host's files (the monitor's) pass the real programs that read them (nix-instantiate --parse, sshd -t, nft -c in an empty namespace, bash -n and shellcheck), each checker failing a broken copy; it does not boot NixOS (nothing here can) or run its release (tests/tools/nixos-apply.test.ts runs the script).
import * as path from "path";
import { planSshAccess } from "../../model/network/ssh";
import { filesUnder, type RenderedFile } from "../../render/files";
import { jumpLabFacts } from "../../render/jump";
import { renderBaseHostFiles } from "../../render/nixos-base";
import { checkFiles } from "../support/checkers";
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
