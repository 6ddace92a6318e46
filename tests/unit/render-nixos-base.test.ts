// Proves the base NixOS host (today the monitor): which hosts get it (NixOS VMs of a base role, never the jump host or the data host), its files byte for byte (goldens), that its firewall admits exactly the flows that end at it (SSH from the jump host, Grafana from the proxy: not Prometheus's 9090, which no flow opens), its sshd the jump host only with every setting of the lab's policy, its users keys-only with root locked, and that the jump host opens its port 22 to the deploy identity; it does not run the checkers (tests/tools does) or declare the release (tests/mocks does).
import { planSshAccess } from "../../model/network/ssh";
import { applyScriptBody } from "../../render/apply-common";
import { filesUnder } from "../../render/files";
import { jumpLabFacts, renderJumpFiles } from "../../render/jump";
import { baseNixosHosts, renderBaseHostFiles } from "../../render/nixos-base";
import { expectGolden, expectScriptGoldens, staleGoldens } from "../support/golden";
import { referenceLab, referencePlan } from "../support/lab";

const lab = referenceLab();
const access = planSshAccess(lab);
const seg = referencePlan().segments.internal!;
const monitor = seg.hosts.find((h) => h.id === "monitor")!;
const files = filesUnder(renderBaseHostFiles(seg, monitor, access, jumpLabFacts(lab)), "monitor");
const fileOf = (name: string) => files.find((f) => f.path === name)!.content;

test("the monitor is the lab's one base host: NixOS VMs of a base role, not the jump host or the data host", () => {
  const plan = referencePlan();
  expect(Object.values(plan.segments).flatMap((s) => baseNixosHosts(s).map((h) => `${s.name}/${h.id}`))).toEqual(["internal/monitor"]);
});

test("goldens (UPDATE_GOLDEN=1 rewrites them; review the diff)", () => {
  expect(files.map((f) => `${f.path} ${f.checker}`)).toEqual(["apply.sh sh", "configuration.nix nix", "host.nft nft", "sshd_config sshd"]);
  for (const f of files.filter((x) => x.path !== "apply.sh")) expectGolden(`nixos/internal/monitor/${f.path}`, f.content);
  expectScriptGoldens(
    fileOf("apply.sh"),
    applyScriptBody("nixos-apply"),
    "nixos/internal/monitor/apply.facts.sh",
    "scripts/nixos-apply.sh",
  );
  expect(staleGoldens("nixos/internal/monitor", ["apply.facts.sh", "configuration.nix", "host.nft", "sshd_config"])).toEqual([]);
});

test("its firewall admits exactly the flows that end at it: SSH from the jump host, Grafana from the proxy", () => {
  const accepts = fileOf("host.nft")
    .split("\n")
    .filter((l) => / accept$/.test(l) && l.includes("saddr"))
    .map((l) => l.trim());
  expect(accepts).toEqual([
    "ip saddr 10.10.0.2 ip daddr 10.10.0.30 tcp dport 22 accept",
    // The proxy's upstream connections come through the tunnel, from the infra host's tunnel address.
    "ip saddr 10.255.0.1 ip daddr 10.10.0.30 tcp dport 3000 accept",
  ]);
  expect(fileOf("host.nft")).toMatch(/policy drop;/);
});

test("sshd admits the model's users from the jump host only, keys only, no root", () => {
  const sshd = fileOf("sshd_config");
  expect(sshd).toMatch(/^ListenAddress 10\.10\.0\.30$/m);
  expect(/^AllowUsers (.*)$/m.exec(sshd)![1]!.split(" ").sort()).toEqual(access.users.map((u) => `${u.name}@10.10.0.2/32`).sort());
  for (const line of ["PasswordAuthentication no", "KbdInteractiveAuthentication no", "PermitRootLogin no", "DisableForwarding yes"])
    expect(sshd.split("\n")).toContain(line);
});

test("configuration.nix: its address, the tested files, users with keys only and root locked, no service of its own", () => {
  const nix = fileOf("configuration.nix");
  for (const s of [
    'networking.hostName = "monitor";',
    'address = "10.10.0.30";',
    "networking.nftables.rulesetFile = ./host.nft;",
    'environment.etc."ssh/sshd_config".source = lib.mkForce ./sshd_config;',
    "users.mutableUsers = false;",
    'users.users.root.hashedPassword = "!";',
  ])
    expect(nix).toContain(s);
  expect(nix).not.toMatch(/services\.(prometheus\.enable|grafana|mysql|samba)/);
});

test("the jump host opens the monitor's port 22 to the deploy identity, after the router's and the data host's", () => {
  const jump = renderJumpFiles(seg, access, jumpLabFacts(lab)).find((f) => f.path === "jump/sshd_config")!.content;
  expect(jump).toContain("    PermitOpen 10.10.0.1:22 10.10.0.10:22 10.10.0.30:22\n");
});
