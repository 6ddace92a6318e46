// Proves: `npm run bootstrap -- lab-fw` makes a new host key, pins its public half in Pulumi.lab.yaml (that one line changed) and writes a root-only script that shellcheck accepts; run as a blank box would run it (a router namespace whose ports have no address, a root directory holding only root's account), it refuses a tunnel key that is not the model's, then brings the WAN and LAN up with the model's addresses, makes the deploy user with its one sudo rule (visudo accepts it), installs the pinned host key as the only one, applies and confirms the first release with the router's own apply.sh (its ruleset live: the jump host reaches the router's SSH port, the WAN does not), and deletes itself; afterwards a normal release goes through apply.sh's commit-confirm. Does not prove apt-get, systemd or a real reboot (HOMELAB_PACKAGES=none, HOMELAB_SERVICES=none), which the twin's reboot covers for apply.sh.
import { spawn, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { requireLab } from "../../model/check";
import { planSshAccess } from "../../model/network/ssh";
import { planLab } from "../../model/plan";
import { DEPLOY_SUDOERS, deploySudoRule } from "../../render/bootstrap";
import { filesUnder } from "../../render/files";
import { renderSegmentFiles, ROUTER_DIR } from "../../render/segment";
import { TUNNEL_KEY_FILE } from "../../render/wireguard";
import { requirePrograms } from "../support/checkers";
import { runCli } from "../support/cli";
import { REPO } from "../support/lab";
import { addNetns, removeNetns } from "../support/netns";
import { must, PATH_ENV, run, waitFor } from "../support/proc";

const PREFIX = `hlbs-${process.pid}-`;
const NS = { router: `${PREFIX}r`, jump: `${PREFIX}j`, wan: `${PREFIX}w` };
const TUNNEL_PRIVATE = must(["wg", "genkey"]).trim();
const TUNNEL_PUBLIC = must(["wg", "pubkey"], { input: `${TUNNEL_PRIVATE}\n` }).trim();

let tmp = "";
let dir = "";
let listener: ChildProcess | undefined;
const inNs = (ns: string, cmd: readonly string[], opts: { env?: Record<string, string>; input?: string } = {}) =>
  run(["ip", "netns", "exec", ns, ...cmd], { ...opts, timeout: 60_000 });
const root = () => path.join(tmp, "root");
const env = () => ({ HOMELAB_ROOT: root(), HOMELAB_SERVICES: "none", HOMELAB_PACKAGES: "none" });

/** A blank box's root: root's own account and the shadow tools' settings, nothing else. */
function blankRoot(): void {
  fs.mkdirSync(path.join(root(), "etc"), { recursive: true });
  for (const f of ["passwd", "group", "shadow", "gshadow"]) {
    const rootLine = fs
      .readFileSync(`/etc/${f}`, "utf8")
      .split("\n")
      .filter((l) => l.startsWith("root:"));
    fs.writeFileSync(path.join(root(), "etc", f), `${rootLine.join("\n")}\n`, { mode: f.includes("shadow") ? 0o600 : 0o644 });
  }
  fs.copyFileSync("/etc/login.defs", path.join(root(), "etc/login.defs"));
}

beforeAll(() => {
  requirePrograms({
    ip: "iproute2",
    nft: "nftables",
    visudo: "sudo",
    useradd: "passwd",
    shellcheck: "shellcheck",
    socat: "socat",
    wg: "wireguard-tools",
  });
  fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), PREFIX));
  // The lab's files byte for byte (as an owner has them), the lab router's tunnel key made here.
  dir = path.join(tmp, "lab");
  fs.mkdirSync(dir);
  for (const f of fs.readdirSync(REPO).filter((n) => /^(homelab|Pulumi(\.[a-z0-9-]+)?)\.yaml$/.test(n)))
    fs.copyFileSync(path.join(REPO, f), path.join(dir, f));
  const labFile = path.join(dir, "Pulumi.lab.yaml");
  const ours = requireLab(dir).segments.lab!.router.tunnel!.publicKey;
  fs.writeFileSync(labFile, fs.readFileSync(labFile, "utf8").replace(ours, TUNNEL_PUBLIC));
});

afterAll(() => {
  listener?.kill("SIGKILL");
  for (const ns of Object.values(NS)) removeNetns(ns);
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe("rebuild lab-fw from a blank box", () => {
  const out = () => path.join(tmp, "out");
  const script = () => path.join(out(), "lab-fw-bootstrap.sh");
  let before = "";

  test("npm run bootstrap pins a new host key in the model, one line changed, and writes a root-only script", () => {
    before = fs.readFileSync(path.join(dir, "Pulumi.lab.yaml"), "utf8");
    const oldKey = requireLab(dir).segments.lab!.router.sshHostKey;
    const r = runCli(["bootstrap", "lab-fw", "--dir", dir, "--out", out()]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("sudo bash lab-fw-bootstrap.sh < wireguard.key");
    const after = fs.readFileSync(path.join(dir, "Pulumi.lab.yaml"), "utf8");
    const changed = after.split("\n").filter((l, i) => l !== before.split("\n")[i]);
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatch(/^\s+sshHostKey: ssh-ed25519 AAAA\S+$/);
    expect(requireLab(dir).segments.lab!.router.sshHostKey).not.toBe(oldKey);
    expect(fs.statSync(script()).mode & 0o777).toBe(0o600);
    const sc = run(["shellcheck", "-s", "bash", script()]);
    expect(sc.stdout).toBe("");
    expect(sc.code).toBe(0);
  });

  test("on the blank box: refuses another tunnel key, then makes it the router and deletes itself", async () => {
    for (const ns of Object.values(NS)) addNetns(ns);
    const lab = requireLab(dir);
    const router = planLab(lab).segments.lab!.router;
    // The box's ports, with no address: what a fresh install has (the installer's DHCP aside).
    must(["ip", "-n", NS.router, "link", "add", router.wan.iface, "type", "veth", "peer", "name", "eth0", "netns", NS.wan]);
    must(["ip", "-n", NS.router, "link", "add", router.lan.iface, "type", "veth", "peer", "name", "eth0", "netns", NS.jump]);
    must(["ip", "-n", NS.jump, "addr", "add", `${router.jumpAddress}/${router.lan.subnet.prefix}`, "dev", "eth0"]);
    must(["ip", "-n", NS.jump, "link", "set", "eth0", "address", router.jumpMac]);
    must(["ip", "-n", NS.wan, "addr", "add", `${router.wan.gateway}/${router.wan.subnet.prefix}`, "dev", "eth0"]);
    for (const ns of [NS.jump, NS.wan]) must(["ip", "-n", ns, "link", "set", "eth0", "up"]);
    blankRoot();

    const wrong = inNs(NS.router, ["bash", script()], { env: env(), input: `${must(["wg", "genkey"]).trim()}\n` });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`is not the private half of router.tunnel.publicKey ${TUNNEL_PUBLIC}`);
    expect(fs.readFileSync(path.join(root(), "etc/passwd"), "utf8")).not.toContain("deploy:");

    const r = inNs(NS.router, ["bash", script()], { env: env(), input: `${TUNNEL_PRIVATE}\n` });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("done. Reboot");
    expect(fs.existsSync(script())).toBe(false);

    // The deploy user, with no password, and its one sudo rule, which visudo accepts.
    expect(fs.readFileSync(path.join(root(), "etc/passwd"), "utf8")).toMatch(/^deploy:x:\d+:\d+::\/home\/deploy:\/bin\/bash$/m);
    expect(fs.readFileSync(path.join(root(), "etc/shadow"), "utf8")).toMatch(/^deploy:!/m);
    const sudoers = path.join(root(), DEPLOY_SUDOERS);
    expect(fs.readFileSync(sudoers, "utf8").trim().split("\n").pop()).toBe(deploySudoRule("deploy"));
    expect(fs.statSync(sudoers).mode & 0o777).toBe(0o440);
    expect(run(["visudo", "-cqf", sudoers]).code).toBe(0);
    // The pinned host key, the only one.
    expect(
      fs
        .readdirSync(path.join(root(), "etc/ssh"))
        .filter((n) => n.startsWith("ssh_host_"))
        .sort(),
    ).toEqual(["ssh_host_ed25519_key", "ssh_host_ed25519_key.pub"]);
    expect(
      must(["ssh-keygen", "-y", "-f", path.join(root(), "etc/ssh/ssh_host_ed25519_key")])
        .split(" ")
        .slice(0, 2)
        .join(" "),
    ).toBe(router.sshHostKey);
    // The interfaces carry the model's addresses, and the ruleset is live.
    expect(inNs(NS.router, ["ip", "-4", "addr", "show", router.wan.iface]).stdout).toContain(`${router.wan.address}/`);
    expect(inNs(NS.router, ["ip", "-4", "addr", "show", router.lan.iface]).stdout).toContain(`${router.lan.address}/`);
    expect(inNs(NS.router, ["nft", "list", "table", "inet", "homelab"]).code).toBe(0);
    expect(fs.existsSync(path.join(root(), "home/deploy/homelab-uploads"))).toBe(true);

    // Only the deploy path reaches the router's sshd port: the jump host does, the WAN does not.
    listener = spawn(
      "ip",
      ["netns", "exec", NS.router, "socat", `TCP-LISTEN:22,bind=${router.lan.address},reuseaddr,fork`, "SYSTEM:echo ok"],
      { stdio: "ignore", env: { PATH: PATH_ENV } },
    );
    await waitFor("the stand-in sshd to listen", 5000, () => inNs(NS.router, ["ss", "-Hltn", "sport = :22"]).stdout.includes(":22"));
    const probe = (ns: string) => inNs(ns, ["socat", "-T2", "-", `TCP:${router.lan.address}:22,connect-timeout=2`]);
    expect(probe(NS.jump).stdout.trim()).toBe("ok");
    must(["ip", "-n", NS.wan, "route", "add", router.lan.subnet.toString(), "via", router.wan.address]);
    expect(probe(NS.wan).stderr).toMatch(/Connection timed out/);
  }, 120_000);

  test("the next release goes through the normal commit-confirm path", () => {
    const lab = requireLab(dir);
    const plan = planLab(lab).segments.lab!;
    const release = path.join(root(), "home/deploy/homelab-uploads/r2");
    for (const f of filesUnder(renderSegmentFiles(plan, planSshAccess(lab)), ROUTER_DIR)) {
      fs.mkdirSync(path.dirname(path.join(release, f.path)), { recursive: true });
      fs.writeFileSync(path.join(release, f.path), f.content, { mode: f.mode ?? 0o644 });
    }
    fs.writeFileSync(path.join(release, TUNNEL_KEY_FILE), `${TUNNEL_PRIVATE}\n`, { mode: 0o600 });
    const apply = inNs(NS.router, ["bash", path.join(release, "apply.sh"), "apply", "r2", "60"], { env: env() });
    expect(apply.code).toBe(0);
    const confirm = inNs(NS.router, ["bash", path.join(release, "apply.sh"), "confirm", "r2"], { env: env() });
    expect(confirm.code).toBe(0);
    expect(inNs(NS.router, ["bash", path.join(release, "apply.sh"), "status"], { env: env() }).stdout).toMatch(/current: r2/);
  }, 120_000);
});
