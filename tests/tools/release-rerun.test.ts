// Proves a release the box rolled back is applied again by the next `pulumi up` of the same program, with no --replace: the Release component's resources, recorded under mocks, are run by an emulation of the engine's create/update/replace decisions for @pulumi/command (tests/support/engine.ts, the documented semantics: it is not the engine), their commands for real: OpenSSH from a deployer's namespace through a real jump sshd (the router's DNAT from an admin source) to a real sshd on the router, the router's real apply.sh and ruleset. The first up meets an outage of the deployer's new SSH connections right after the apply (injected by the test's protocol, from a flag file, so the program is the same in every run), the box rolls back, and the up fails saying what happened and what to do; the next up applies and confirms the same release; an up after that runs nothing. Does not prove the engine itself (no Pulumi CLI here), sudo, or the NixOS script (nixos-apply.test.ts).
import { spawn, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ASSET_SIG, runUnderMocks, type MockRun } from "../../cli/mock-runtime";
import { SIG } from "../../cli/mock-providers";
import { Release, type ReleaseProtocol, type SecretFile, type SshTarget } from "../../components/release";
import { planSshAccess } from "../../model/network/ssh";
import { APPLY_EXIT } from "../../render/apply-common";
import { filesUnder, type RenderedFile } from "../../render/files";
import { renderSegmentFiles, ROUTER_DIR } from "../../render/segment";
import { EmulatedStack, type Exec, type UpResult } from "../support/engine";
import { requirePrograms, requireTools } from "../support/checkers";
import { parseFiles, referenceFiles, segOf } from "../support/lab";
import { planLab } from "../../model/plan";
import { TUNNEL_KEY_FILE } from "../../render/wireguard";
import { addNetns, removeNetns } from "../support/netns";
import { must, PATH_ENV, run, runAsync, waitFor } from "../support/proc";

/** Unique per run; everything made here carries it. */
const PREFIX = `hlrr-${process.pid}-`;
const NS = { router: `${PREFIX}r`, jump: `${PREFIX}j`, deployer: `${PREFIX}d` };
/** Seconds the box waits for the confirm: two SSH handshakes through the jump host must fit, on a loaded machine too. */
const TIMEOUT = 5;

/**
 * The router's tunnel key pair, made here: the lab copy gets its public half, and each release its
 * private half as wireguard.key (apply.sh refuses a key that is not the model's), the way the
 * Router component hands the stack's secret to the Release: as a secret file.
 */
const TUNNEL_PRIVATE = must(["wg", "genkey"]).trim();
const labFiles = referenceFiles();
segOf(labFiles, "internal").router.tunnel.publicKey = must(["wg", "pubkey"], { input: `${TUNNEL_PRIVATE}\n` }).trim();
const lab = parseFiles(labFiles).lab!;
const segPlan = planLab(lab).segments["internal"]!;
const router = segPlan.router;
const planned = filesUnder(renderSegmentFiles(segPlan, planSshAccess(lab)), ROUTER_DIR);
const tunnelKey: SecretFile = { path: TUNNEL_KEY_FILE, content: `${TUNNEL_PRIVATE}\n`, fingerprint: "test-tunnel-key" };
/** The release the ups deploy: the plan's router files with one more counter, so it differs from the box's first one. */
const MARKER = "release_rerun_marker";
const files: RenderedFile[] = planned.map((f) =>
  f.path === "nftables.conf"
    ? { ...f, content: f.content.replace("table inet homelab {\n", `table inet homelab {\n\tcounter ${MARKER} {\n\t}\n`) }
    : f,
);
/** The deployer's address: an admin source, so the router forwards its SSH to the jump host. */
const deployerAddress = lab.ssh.adminSources[0]!.firstHost;

let tmp = "";
const daemons: ChildProcess[] = [];
const hostKeys: Record<"router" | "jump", string> = { router: "", jump: "" };
const t = (...p: string[]) => path.join(tmp, ...p);
const rootDir = () => t("root");
const boxEnv = () => `HOMELAB_ROOT=${rootDir()} HOMELAB_SERVICES=none`;
const inNs = (ns: string, cmd: readonly string[], env: Record<string, string> = {}) => run(["ip", "netns", "exec", ns, ...cmd], { env });

/**
 * The test's protocol: the router's own apply.sh from the upload, with the test's root. After a
 * successful apply, if the flag file exists, the deployer's namespace drops every new SSH
 * connection (the outage); the command text is the same in every run.
 */
const protocol = (): ReleaseProtocol => ({
  uploadDir: (_user, release) => t("uploads", release),
  apply: (dir, release, timeout) =>
    `env ${boxEnv()} bash ${dir}/apply.sh apply ${release} ${timeout} && { [ ! -e ${t("outage-armed")} ] || ip netns exec ${NS.deployer} nft -f ${t("outage.nft")}; }`,
  confirm: (dir, release) => `env ${boxEnv()} bash ${dir}/apply.sh confirm ${release}`,
});

const target = (): SshTarget => ({
  host: router.lan.address,
  user: "root",
  hostKey: hostKeys.router,
  // Pulumi reaches the router through its jump host, at the router's WAN address (DNAT from admin sources).
  proxy: { host: router.wan.address, user: "root", hostKey: hostKeys.jump },
});

/** The program of every up: one Release of the router, as the Router component declares it. */
function program(): Promise<MockRun> {
  return runUnderMocks({
    stack: "internal",
    program: () => {
      const r = new Release("box", {
        files,
        secretFiles: [tunnelKey],
        target: target(),
        protocol: protocol(),
        confirmTimeoutSeconds: TIMEOUT,
      });
      return { release: r.release };
    },
  });
}

/** An OpenSSH client configuration for a remote command's connection, as the command provider would dial it. */
function providerSsh(conn: Record<string, unknown>): string[] {
  const dir = fs.mkdtempSync(t("provider-"));
  const proxy = conn["proxy"] as Record<string, unknown> | undefined;
  const hosts = [["homelab-box", conn], ...(proxy ? [["homelab-jump", proxy] as const] : [])] as const;
  fs.writeFileSync(path.join(dir, "known_hosts"), hosts.map(([alias, c]) => `${alias} ${String(c["hostKey"])}\n`).join(""));
  const lines = hosts.flatMap(([alias, c]) => [
    `Host ${alias}`,
    `  HostName ${String(c["host"])}`,
    `  Port ${typeof c["port"] === "number" ? c["port"] : 22}`,
    `  User ${String(c["user"])}`,
    `  HostKeyAlias ${alias}`,
    ...(alias === "homelab-box" && proxy ? [`  ProxyCommand ssh -F ${path.join(dir, "config")} -W [%h]:%p homelab-jump`] : []),
  ]);
  lines.push(
    "Host *",
    "  BatchMode yes",
    "  StrictHostKeyChecking yes",
    `  UserKnownHostsFile ${path.join(dir, "known_hosts")}`,
    "  ConnectTimeout 5",
  );
  fs.writeFileSync(path.join(dir, "config"), `${lines.join("\n")}\n`);
  return ["ssh", "-F", path.join(dir, "config"), "homelab-box"];
}

/** The deployer's environment: the agent holding the deploy key, a home with no keys of its own. */
const deployerEnv = () => ({ HOME: t("home"), SSH_AUTH_SOCK: t("agent.sock") });

/** How each command really runs: from the deployer's namespace, remote ones over SSH (one new connection each). */
const exec: Exec = async (type, inputs, command) => {
  const inDeployer = (argv: readonly string[], input = "", env: Record<string, string> = {}) =>
    runAsync(["ip", "netns", "exec", NS.deployer, ...argv], { input, env: { ...deployerEnv(), ...env }, timeout: 60000 });
  if (type === "command:local:Command") {
    return inDeployer(["/bin/sh", "-c", command], "", (inputs["environment"] as Record<string, string> | undefined) ?? {});
  }
  const ssh = providerSsh(inputs["connection"] as Record<string, unknown>);
  if (type === "command:remote:CopyToRemote") {
    const source = inputs["source"] as Record<string, unknown>;
    if (source[SIG] !== ASSET_SIG || typeof source["text"] !== "string")
      throw new Error(`upload without a text asset: ${JSON.stringify(inputs)}`);
    const dest = String(inputs["remotePath"]);
    return inDeployer([...ssh, `mkdir -p ${path.dirname(dest)} && cat >${dest}`], source["text"]);
  }
  return inDeployer([...ssh, command], typeof inputs["stdin"] === "string" ? inputs["stdin"] : "");
};

const applyShLocal = (id: string, ...args: string[]) =>
  inNs(NS.router, ["env", ...boxEnv().split(" "), "bash", t("releases", id, "apply.sh"), ...args]);
const status = () => applyShLocal("pristine", "status").stdout;
/** The live ruleset without counters, so traffic does not make two listings differ. */
const liveRuleset = () => inNs(NS.router, ["nft", "-s", "list", "ruleset"]).stdout;
const show = (r: UpResult) => r.executed.map((e) => `${e.step} ${e.resource}: exit ${e.code}\n${e.stdout}${e.stderr}`).join("\n");

function sshd(ns: string, name: "router" | "jump", address: string, forwarding: boolean): void {
  must(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", t(`${name}_host_key`)]);
  hostKeys[name] = fs.readFileSync(t(`${name}_host_key.pub`), "utf8").trim();
  fs.writeFileSync(
    t(`${name}_sshd_config`),
    [
      `ListenAddress ${address}`,
      `HostKey ${t(`${name}_host_key`)}`,
      `PidFile ${t(`${name}_sshd.pid`)}`,
      `AuthorizedKeysFile ${t("authorized_keys")}`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      `AllowTcpForwarding ${forwarding ? "local" : "no"}`,
      "X11Forwarding no",
      "PrintMotd no",
      "",
    ].join("\n"),
  );
  daemons.push(
    spawn("ip", ["netns", "exec", ns, "/usr/sbin/sshd", "-D", "-e", "-f", t(`${name}_sshd_config`)], {
      stdio: "ignore",
      env: { PATH: PATH_ENV },
    }),
  );
}

beforeAll(async () => {
  requireTools(["nft", "dnsmasq", "sshd", "sh", "authorized-keys", "wireguard"]);
  requirePrograms({
    ip: "iproute2",
    ssh: "openssh-client",
    "ssh-agent": "openssh-client",
    "ssh-add": "openssh-client",
    flock: "util-linux",
    setsid: "util-linux",
  });
  if (process.getuid?.() !== 0) throw new Error("release-rerun tests create network namespaces and must run as root");
  fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), PREFIX));
  fs.mkdirSync(t("home"), { mode: 0o700 });

  for (const ns of Object.values(NS)) addNetns(ns);
  must(["ip", "-n", NS.router, "link", "add", router.wan.iface, "type", "veth", "peer", "name", "eth0", "netns", NS.deployer]);
  must(["ip", "-n", NS.router, "link", "add", router.lan.iface, "type", "veth", "peer", "name", "eth0", "netns", NS.jump]);
  must(["ip", "-n", NS.router, "addr", "add", `${router.wan.address}/${router.wan.subnet.prefix}`, "dev", router.wan.iface]);
  must(["ip", "-n", NS.router, "addr", "add", `${router.lan.address}/${router.lan.subnet.prefix}`, "dev", router.lan.iface]);
  must(["ip", "-n", NS.deployer, "addr", "add", `${deployerAddress}/${router.wan.subnet.prefix}`, "dev", "eth0"]);
  must(["ip", "-n", NS.jump, "addr", "add", `${router.jumpAddress}/${router.lan.subnet.prefix}`, "dev", "eth0"]);
  // The router admits SSH from its jump host's address only with the jump host's MAC.
  must(["ip", "-n", NS.jump, "link", "set", "eth0", "address", router.jumpMac]);
  for (const [ns, dev] of [
    [NS.router, router.wan.iface],
    [NS.router, router.lan.iface],
    [NS.jump, "eth0"],
    [NS.deployer, "eth0"],
  ] as const)
    must(["ip", "-n", ns, "link", "set", dev, "up"]);
  must(["ip", "-n", NS.jump, "route", "add", "default", "via", router.lan.address]);

  // The deploy key lives only in an agent, as on the deploying machine.
  must(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", t("deploy_key")]);
  fs.copyFileSync(t("deploy_key.pub"), t("authorized_keys"));
  daemons.push(spawn("ssh-agent", ["-D", "-a", t("agent.sock")], { stdio: "ignore", env: { PATH: PATH_ENV } }));
  await waitFor("the ssh-agent", 3000, () => fs.existsSync(t("agent.sock")));
  must(["ssh-add", "-q", t("deploy_key")], { env: deployerEnv() });
  fs.rmSync(t("deploy_key"));
  sshd(NS.router, "router", router.lan.address, false);
  sshd(NS.jump, "jump", router.jumpAddress, true);
  await waitFor("both sshd to listen", 5000, () =>
    [NS.router, NS.jump].every((ns) => inNs(ns, ["ss", "-Hltn", "sport = :22"]).stdout.includes(":22")),
  );

  // The box's first release, placed by hand as on a new router: the plan's own files, confirmed.
  for (const f of [...planned, { path: TUNNEL_KEY_FILE, content: tunnelKey.content as string, mode: 0o600 }]) {
    const p = t("releases", "pristine", f.path);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, f.content, { mode: f.mode ?? 0o644 });
  }
  for (const step of [
    ["apply", "pristine", "60"],
    ["confirm", "pristine"],
  ]) {
    const r = applyShLocal("pristine", ...step);
    if (r.code !== 0) throw new Error(`placing the first release failed: ${r.stdout}${r.stderr}`);
  }
  // The outage: the deployer's namespace drops its own new SSH connections.
  fs.writeFileSync(
    t("outage.nft"),
    "table inet outage {\n\tchain out {\n\t\ttype filter hook output priority 0; policy accept;\n\t\ttcp dport 22 ct state new drop\n\t}\n}\n",
  );
}, 60000);

afterAll(() => {
  for (const d of daemons) if (d.pid) d.kill("SIGKILL");
  for (const ns of Object.values(NS)) removeNetns(ns);
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe("a rolled-back release, then the next pulumi up", () => {
  const stack = new EmulatedStack();
  let release = "";

  test("the first up: the deployer loses SSH right after the apply, the box rolls back, the up fails saying what happened and what to do", async () => {
    const before = liveRuleset();
    const prog = await program();
    release = String(prog.resolved["release"]);
    expect(release).toMatch(/^[0-9a-f]{16}$/);
    fs.writeFileSync(t("outage-armed"), "");
    // The outage ends once the box has rolled back, as a flapping path would; the up is still confirming.
    // (The bound covers the uploads first: one SSH connection each, through the jump host.)
    const up = stack.up(prog, exec);
    let st = "";
    let result: UpResult;
    try {
      await waitFor("the box's rollback", 90000, () => new RegExp(`^rolled-back: ${release} `, "m").test((st = status())), {
        every: 100,
        detail: () => st,
      });
    } finally {
      fs.rmSync(t("outage-armed"), { force: true });
      run(["ip", "netns", "exec", NS.deployer, "nft", "delete", "table", "inet", "outage"]);
      // The up ends before anything else runs, whatever happened above.
      result = await up;
    }

    expect(st).toMatch(new RegExp(`^rolled-back: ${release} \\(not-confirmed, `, "m"));
    expect(liveRuleset()).toBe(before);
    expect(result.ok).toBe(false);
    const out = `${result.failed!.stdout}${result.failed!.stderr}`;
    // What happened, with the box's own time and reason, and what to do.
    expect(out).toMatch(
      new RegExp(
        `release ${release} was rolled back at \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ \\(not-confirmed\\) before this confirm`,
      ),
    );
    expect(out).toMatch(/what happened: the box rolled the release back before it was confirmed/);
    expect(out).toMatch(
      /what to do: .*run pulumi up again\. Nothing was recorded for this release, so the next pulumi up applies it again; no --replace is needed/,
    );
  }, 150000);

  test("the next up, with the same program, applies the release again and the box confirms it", async () => {
    const prog = await program();
    expect(String(prog.resolved["release"])).toBe(release);
    const result = await stack.up(prog, exec);
    expect({ ok: result.ok, out: result.ok ? "" : show(result) }).toEqual({ ok: true, out: "" });
    // The box ran an apply and a confirm of this release again, over two connections.
    const applied = result.executed.map((e) => `${e.stdout}${e.stderr}`).join("\n");
    expect(applied).toMatch(new RegExp(`applied release ${release}: ruleset loaded`));
    expect(applied).toMatch(new RegExp(`confirmed release ${release}; the watchdog is disarmed`));
    expect(status()).toMatch(new RegExp(`^current: ${release} \\(confirmed .*\\)\\npending: none\\n`));
    expect(liveRuleset()).toContain(`counter ${MARKER}`);
    // Confirmed: nothing more is left to roll back, and the box calls it current (not its older rollback).
    await new Promise((r) => setTimeout(r, TIMEOUT * 1000 + 1000));
    expect(liveRuleset()).toContain(`counter ${MARKER}`);
    expect(applyShLocal("pristine", "confirm", release).code).toBe(APPLY_EXIT.ok);
  }, 150000);

  test("an up after that runs nothing: a confirmed release is not applied again", async () => {
    const result = await stack.up(await program(), exec);
    expect(result.ok).toBe(true);
    expect(result.executed).toEqual([]);
    expect(Object.values(result.steps).every((s) => s === "same")).toBe(true);
  }, 60000);
});
