// Proves the DMZ infra host's rendered apply.sh (the NixOS commit-confirm protocol) with stand-ins for nixos-rebuild, switch-to-configuration and nix-env in a scratch root: apply activates without changing the boot default, confirm makes exactly that system permanent, no confirm (or a lost watchdog) rolls back system and files, a watchdog whose lock is held waits for it rather than giving up, a release that fails to build or activate changes nothing, and bad release ids are refused; does not prove the NixOS units, a real nixos-rebuild or the SSH transport of the Release component.
import { spawn } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { planDmz, publishAll } from "../../model/network/dmz";
import { planSshAccess } from "../../model/network/ssh";
import { APPLY_EXIT } from "../../render/apply-common";
import { renderDmzFiles } from "../../render/dmz";
import { filesUnder } from "../../render/files";
import { requirePrograms } from "../support/checkers";
import { referenceLab } from "../support/lab";
import { PATH_ENV, run, sleep, waitFor } from "../support/proc";

const lab = referenceLab();
/** The infra host's release, as the Release component uploads it. */
const infra = filesUnder(renderDmzFiles(planDmz(lab, publishAll(lab)), planSshAccess(lab)), "infra");

describe("apply.sh: commit-confirm with stand-ins for NixOS", () => {
  let root = "";
  let env: NodeJS.ProcessEnv = {};
  let script = "";
  const link = (p: string) => path.basename(fs.realpathSync(path.join(root, p)));
  const apply = (...args: string[]) => run([script, ...args], { env });
  const upload = (id: string, extra: string) => {
    const dir = path.join(root, "var/lib/homelab/releases", id);
    fs.mkdirSync(dir, { recursive: true });
    for (const f of infra) fs.writeFileSync(path.join(dir, f.path), f.content);
    fs.appendFileSync(path.join(dir, "configuration.nix"), `# ${extra}\n`);
  };
  const watchdogPid = () => path.join(root, "var/lib/homelab/apply/watchdog-pid");
  const watchdogLog = () => {
    const log = path.join(root, "var/lib/homelab/apply/watchdog.log");
    return fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "(no watchdog log)";
  };
  const systemOf = (id: string) => {
    const sum = createHash("sha256")
      .update(fs.readFileSync(path.join(root, "var/lib/homelab/releases", id, "configuration.nix")))
      .digest("hex");
    return `system-${sum.slice(0, 12)}`;
  };

  beforeAll(() => {
    requirePrograms({ bash: "bash", flock: "util-linux", setsid: "util-linux", sha256sum: "coreutils" });
    root = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-nixos-apply-"));
    const standIns = path.join(root, "stand-ins");
    fs.mkdirSync(standIns, { recursive: true });
    // A NixOS system's switch-to-configuration: records the action; test/switch make it the running system.
    fs.writeFileSync(
      path.join(standIns, "switch-to-configuration"),
      `#!/bin/sh\nset -e\nself="$(cd "$(dirname "$0")/.." && pwd)"\necho "$1 $(basename "$self")" >>"$HOMELAB_ROOT/actions.log"\ncase "$1" in test|switch) ln -sfn "$self" "$HOMELAB_ROOT/run/current-system" ;; esac\n`,
      { mode: 0o755 },
    );
    // nixos-rebuild build: "builds" a system named after the configuration's hash, linked as ./result.
    fs.writeFileSync(
      path.join(standIns, "nixos-rebuild"),
      `#!/bin/sh\nset -e\n[ "$1" = build ] || exit 2\nconfig="\${3#nixos-config=}"\nif grep -q BROKEN "$config"; then echo "error: evaluation aborted" >&2; exit 1; fi\n` +
        `dir="$HOMELAB_ROOT/nix/store/system-$(sha256sum "$config" | cut -c1-12)"\nmkdir -p "$dir/bin"\ncp "$HOMELAB_ROOT/stand-ins/switch-to-configuration" "$dir/bin/"\nln -sfn "$dir" result\n`,
      { mode: 0o755 },
    );
    fs.writeFileSync(
      path.join(standIns, "nix-env"),
      `#!/bin/sh\nset -e\n[ "$1" = -p ] && [ "$3" = --set ] || exit 2\nln -sfn "$4" "$2"\n`,
      { mode: 0o755 },
    );
    const initial = path.join(root, "nix/store/system-initial");
    fs.mkdirSync(path.join(initial, "bin"), { recursive: true });
    fs.copyFileSync(path.join(standIns, "switch-to-configuration"), path.join(initial, "bin/switch-to-configuration"));
    fs.mkdirSync(path.join(root, "nix/var/nix/profiles"), { recursive: true });
    fs.mkdirSync(path.join(root, "run"), { recursive: true });
    fs.symlinkSync(initial, path.join(root, "nix/var/nix/profiles/system"));
    fs.symlinkSync(initial, path.join(root, "run/current-system"));
    fs.mkdirSync(path.join(root, "etc/nixos/homelab"), { recursive: true });
    fs.writeFileSync(path.join(root, "etc/nixos/homelab/configuration.nix"), "# the installed configuration\n");
    script = path.join(root, "homelab-apply");
    fs.writeFileSync(script, infra.find((f) => f.path === "apply.sh")!.content, { mode: 0o755 });
    env = { PATH: `${standIns}:${PATH_ENV}`, HOMELAB_ROOT: root };
  });

  afterAll(() => {
    // A watchdog still waiting (a failed test) is this test's own: end it, by its recorded pid.
    const pidFile = root && watchdogPid();
    if (pidFile && fs.existsSync(pidFile)) {
      const pid = fs.readFileSync(pidFile, "utf8").trim();
      if (pid && fs.existsSync(`/proc/${pid}/cmdline`) && fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("watchdog"))
        run(["kill", pid]);
    }
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  test("apply activates without changing the boot default; confirm makes exactly that system permanent", () => {
    upload("r1", "first");
    const r = apply("apply", "r1", "60");
    expect(r.stderr).toMatch(/release r1 is active; confirm it within 60s/);
    expect(r.code).toBe(0);
    expect(link("run/current-system")).toBe(systemOf("r1"));
    expect(link("nix/var/nix/profiles/system")).toBe("system-initial");
    expect(apply("status").stdout).toMatch(/^pending: +r1 \(rolls back at .* watchdog armed\)$/m);

    const c = apply("confirm", "r1");
    expect(c.stderr + c.stdout).toMatch(/release r1 confirmed/);
    expect(c.code).toBe(0);
    expect(link("nix/var/nix/profiles/system")).toBe(systemOf("r1"));
    expect(fs.readFileSync(path.join(root, "actions.log"), "utf8")).toMatch(new RegExp(`^boot ${systemOf("r1")}$`, "m"));
    expect(apply("status").stdout).toMatch(/^pending: +none$/m);
    expect(apply("confirm", "r1").code).toBe(0);
  });

  test("without a confirm the watchdog re-activates the previous generation and restores its files", async () => {
    upload("r2", "second");
    const before = fs.readFileSync(path.join(root, "etc/nixos/homelab/configuration.nix"), "utf8");
    expect(apply("apply", "r2", "1").code).toBe(0);
    expect(link("run/current-system")).toBe(systemOf("r2"));
    await waitFor("the watchdog's rollback", 6000, () => fs.existsSync(path.join(root, "var/lib/homelab/apply/result-r2")), {
      detail: () => watchdogLog(),
    });
    expect(link("run/current-system")).toBe(systemOf("r1"));
    expect(link("nix/var/nix/profiles/system")).toBe(systemOf("r1"));
    expect(fs.readFileSync(path.join(root, "etc/nixos/homelab/configuration.nix"), "utf8")).toBe(before);
    const c = apply("confirm", "r2");
    expect(c.code).toBe(APPLY_EXIT.notPending);
    expect(c.stderr).toMatch(/release r2 was rolled back and is not running \(rolled-back .* not confirmed within 1s\)/);
  });

  test("the watchdog never gives up on a held lock: it waits past its deadline, then rolls back once the lock is free", async () => {
    upload("r2w", "lock held");
    expect(apply("apply", "r2w", "1").code).toBe(0);
    // Something else holds the lock across the deadline, for seconds after it.
    const holder = spawn("flock", [path.join(root, "var/lib/homelab/apply/lock"), "sleep", "4"], { stdio: "ignore" });
    try {
      await sleep(2500);
      // Past the deadline, still waiting: the release runs, nothing is recorded yet, the watchdog lives.
      expect(link("run/current-system")).toBe(systemOf("r2w"));
      expect(fs.existsSync(path.join(root, "var/lib/homelab/apply/result-r2w"))).toBe(false);
      const pid = fs.readFileSync(watchdogPid(), "utf8").trim();
      expect(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8")).toContain("watchdog");
      await waitFor(
        "the watchdog's rollback once the lock is free",
        8000,
        () => fs.existsSync(path.join(root, "var/lib/homelab/apply/result-r2w")),
        {
          detail: () => watchdogLog(),
        },
      );
      expect(link("run/current-system")).toBe(systemOf("r1"));
      expect(fs.readFileSync(path.join(root, "var/lib/homelab/apply/result-r2w"), "utf8")).toMatch(
        /^rolled-back .* not confirmed within 1s$/m,
      );
    } finally {
      holder.kill();
    }
  }, 20000);

  test("a release that fails to build changes nothing", () => {
    const before = fs.readFileSync(path.join(root, "etc/nixos/homelab/configuration.nix"), "utf8");
    const actions = fs.readFileSync(path.join(root, "actions.log"), "utf8");
    upload("r3", "BROKEN");
    const r = apply("apply", "r3", "60");
    expect(r.code).toBe(APPLY_EXIT.install);
    expect(r.stderr).toMatch(/release r3 failed to build; nothing was activated/);
    expect(link("run/current-system")).toBe(systemOf("r1"));
    expect(fs.readFileSync(path.join(root, "etc/nixos/homelab/configuration.nix"), "utf8")).toBe(before);
    expect(fs.readFileSync(path.join(root, "actions.log"), "utf8")).toBe(actions);
    expect(apply("status").stdout).toMatch(/^pending: +none$/m);
    expect(apply("confirm", "r3").code).toBe(APPLY_EXIT.notPending);
  });

  test("a release that fails to activate is rolled back at once", () => {
    upload("r3b", "activation fails");
    const sys = path.join(root, "nix/store", systemOf("r3b"));
    // Pre-build the system with an activation that fails halfway, after switching.
    fs.mkdirSync(path.join(sys, "bin"), { recursive: true });
    fs.writeFileSync(
      path.join(sys, "bin/switch-to-configuration"),
      `#!/bin/sh\nln -sfn "${sys}" "$HOMELAB_ROOT/run/current-system"\necho "$1 broken" >>"$HOMELAB_ROOT/actions.log"\nexit 1\n`,
      { mode: 0o755 },
    );
    const standIns = path.join(root, "stand-ins");
    const rebuild = fs.readFileSync(path.join(standIns, "nixos-rebuild"), "utf8");
    fs.writeFileSync(
      path.join(standIns, "nixos-rebuild"),
      rebuild.replace(
        'cp "$HOMELAB_ROOT/stand-ins/switch-to-configuration" "$dir/bin/"',
        '[ -e "$dir/bin/switch-to-configuration" ] || cp "$HOMELAB_ROOT/stand-ins/switch-to-configuration" "$dir/bin/"',
      ),
    );
    const r = apply("apply", "r3b", "60");
    fs.writeFileSync(path.join(standIns, "nixos-rebuild"), rebuild);
    expect(r.code).toBe(APPLY_EXIT.install);
    expect(r.stderr).toMatch(/release r3b failed to activate and was rolled back/);
    expect(link("run/current-system")).toBe(systemOf("r1"));
    expect(apply("status").stdout).toMatch(/^pending: +none$/m);
  });

  test("a new apply supersedes a pending one; a lost watchdog (reboot) counts as a rollback", () => {
    upload("r4", "fourth");
    upload("r5", "fifth");
    expect(apply("apply", "r4", "60").code).toBe(0);
    const second = apply("apply", "r5", "60");
    expect(second.stderr).toMatch(/release r4 is still pending; rolling it back first/);
    expect(second.code).toBe(0);
    expect(link("run/current-system")).toBe(systemOf("r5"));
    const superseded = apply("confirm", "r4");
    expect(superseded.code).toBe(APPLY_EXIT.notPending);
    expect(superseded.stderr).toMatch(/superseded by release r5/);
    // Simulate a reboot: the watchdog is gone (the host would boot the boot default, r1).
    const pid = fs.readFileSync(watchdogPid(), "utf8").trim();
    run(["kill", "-KILL", pid]);
    const c = apply("confirm", "r5");
    expect(c.code).toBe(APPLY_EXIT.notPending);
    expect(c.stderr).toMatch(/its watchdog is gone/);
    expect(link("run/current-system")).toBe(systemOf("r1"));
    expect(link("nix/var/nix/profiles/system")).toBe(systemOf("r1"));
  });

  test("release ids cannot escape the releases directory; a missing release is refused", () => {
    const r = apply("apply", "../../etc", "60");
    expect(r.code).toBe(APPLY_EXIT.usage);
    expect(r.stderr).toMatch(/a release id is 1-64 letters/);
    const missing = apply("apply", "never-uploaded", "60");
    expect(missing.code).toBe(APPLY_EXIT.check);
    expect(missing.stderr).toMatch(/release never-uploaded is not uploaded/);
  });
});
