// Proves the rendered roll steps behave as the README says, run by real bash against stub ssh, talosctl and kubectl that keep a fake
// cluster's state in files: a node behind its target is checked healthy, cordoned, drained, upgraded to the installer image, waited
// for and uncordoned, in that order; a node at its target is left alone; a node a stopped roll left cordoned at its target is finished;
// a drain a budget refuses stops the step before the upgrade, the node still marked; the Kubernetes step runs upgrade-k8s only when
// something is behind. The secrets reach the clients only as private files (never their environment) and are gone afterwards; the
// clients go through the SSH tunnel's SOCKS port. Does not prove the real talosctl and kubectl accept these flags (none is installed).
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { renderRollSteps, TALOS_ROLL_SECRET_ENV, type RollStep } from "../../render/talos-roll";
import { requirePrograms } from "../support/checkers";
import { PATH_ENV, runAsync, type Run } from "../support/proc";
import { referenceRollSpec } from "../support/talos-roll";

const TALOSCONFIG = "context: homelab\n# test talosconfig 7f3a\n";
const KUBECONFIG = "apiVersion: v1\n# test kubeconfig 9c1d\n";

/** The stub clients: each logs its arguments and reads or changes the fake cluster under $FAKE. */
const STUBS: Record<string, string> = {
  ssh: `#!/bin/bash
# The tunnel: listen on the -D port until killed.
echo "ssh $*" >>"$FAKE/log"
while [[ $# -gt 0 ]]; do case "$1" in -D) port=\${2##*:}; shift 2 ;; *) shift ;; esac; done
exec socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" SYSTEM:true
`,
  talosctl: `#!/bin/bash
source "$FAKE/check-env"
echo "talosctl $*" >>"$FAKE/log"
args=" $* "
case "$args" in
  *" health "*) exit 0 ;;
  *" upgrade-k8s "*) to=\${args##* --to }; echo "\${to%% *}" >"$FAKE/k8s" ;;
  *" upgrade "*)
    node=\${args##* --nodes }; node=\${node%% *}
    image=\${args##* --image }; image=\${image%% *}
    echo "\${image##*:}" >"$FAKE/version-$(cat "$FAKE/name-$node")" ;;
  *) echo "unexpected talosctl $*" >&2; exit 2 ;;
esac
`,
  kubectl: `#!/bin/bash
source "$FAKE/check-env"
echo "kubectl $*" >>"$FAKE/log"
case "$1 $2" in
  "get node")
    case "$5" in
      *osImage*) printf 'Talos (%s)' "$(cat "$FAKE/version-$3")" ;;
      *annotations*) cat "$FAKE/mark-$3" 2>/dev/null || true ;;
    esac ;;
  "get --raw") printf '{\\n  "major": "1",\\n  "gitVersion": "v%s"\\n}\\n' "$(cat "$FAKE/k8s")" ;;
  "get nodes") for n in "$FAKE"/version-*; do echo "v$(cat "$FAKE/k8s")"; done ;;
  "annotate --overwrite") echo "\${5#*=}" >"$FAKE/mark-$4" ;;
  "annotate node") rm -f "$FAKE/mark-$3" ;;
  "drain "*) [[ -e "$FAKE/drain-refused" ]] && { echo "Cannot evict pod as it would violate the pod's disruption budget." >&2; exit 1; }; touch "$FAKE/cordoned-$2" ;;
  "uncordon "*) rm -f "$FAKE/cordoned-$2" ;;
  "wait "*) ;;
  *) echo "unexpected kubectl $*" >&2; exit 2 ;;
esac
`,
};

/** Sourced by the client stubs: what every client process must and must not see. */
const CHECK_ENV = `
if env | grep -q '^HOMELAB_'; then echo "a secret reached $0's environment" >&2; exit 9; fi
[[ "$(cat "$TALOSCONFIG")" == "$(cat "$FAKE/want-talosconfig")" ]] || { echo "TALOSCONFIG is not the secret" >&2; exit 9; }
[[ "$(stat -c %a "$TALOSCONFIG")" == 600 && "$(stat -c %a "$KUBECONFIG")" == 600 ]] || { echo "a secret file is readable by others" >&2; exit 9; }
[[ "$HTTPS_PROXY" == "socks5://127.0.0.1:$WANT_PORT" ]] || { echo "HTTPS_PROXY is '$HTTPS_PROXY'" >&2; exit 9; }
echo "$TALOSCONFIG" >>"$FAKE/secret-files"
`;

let tmp = "";
beforeAll(() => {
  requirePrograms({ bash: "bash", socat: "socat" });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-roll-"));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A free local TCP port. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => {
        resolve(port);
      });
    });
  });
}

interface Fake {
  /** Talos version per node name. */
  readonly versions: Readonly<Record<string, string>>;
  readonly k8s: string;
  /** Nodes a stopped roll left marked. */
  readonly marked?: readonly string[];
  readonly drainRefused?: boolean;
}

let n = 0;
/** Run one step against a fake cluster; returns the run, the client calls (verbs only) and the fake's directory. */
async function runStep(stepId: string, fake: Fake): Promise<{ r: Run; calls: string[]; dir: string }> {
  const dir = path.join(tmp, `run-${n++}`);
  const bin = path.join(dir, "bin");
  const state = path.join(dir, "fake");
  fs.mkdirSync(bin, { recursive: true });
  fs.mkdirSync(state);
  for (const [name, text] of Object.entries(STUBS)) fs.writeFileSync(path.join(bin, name), text, { mode: 0o755 });
  fs.writeFileSync(path.join(state, "check-env"), CHECK_ENV);
  fs.writeFileSync(path.join(state, "want-talosconfig"), TALOSCONFIG);
  fs.writeFileSync(path.join(state, "k8s"), `${fake.k8s}\n`);
  const spec = referenceRollSpec({ socksPort: await freePort() });
  for (const m of spec.plan.waves.flatMap((w) => w.members)) fs.writeFileSync(path.join(state, `name-${m.address}`), m.host);
  for (const [node, v] of Object.entries(fake.versions)) fs.writeFileSync(path.join(state, `version-${node}`), `${v}\n`);
  for (const node of fake.marked ?? []) fs.writeFileSync(path.join(state, `mark-${node}`), spec.talosVersion);
  if (fake.drainRefused) fs.writeFileSync(path.join(state, "drain-refused"), "");
  const step: RollStep = renderRollSteps(spec).find((s) => s.id === stepId)!;
  const script = path.join(dir, "step.sh");
  fs.writeFileSync(script, step.file.content);
  const r = await runAsync(["bash", script], {
    env: {
      PATH: `${bin}:${PATH_ENV}`,
      FAKE: state,
      WANT_PORT: String(spec.socksPort),
      [TALOS_ROLL_SECRET_ENV.talosconfig]: TALOSCONFIG,
      [TALOS_ROLL_SECRET_ENV.kubeconfig]: KUBECONFIG,
    },
    timeout: 30000,
  });
  const log = fs.existsSync(path.join(state, "log")) ? fs.readFileSync(path.join(state, "log"), "utf8") : "";
  const calls = log
    .trim()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const w = l.split(" ");
      if (w[0] === "ssh") return `ssh ${w.at(-1)}`;
      if (w[0] === "talosctl") return `talosctl ${w.slice(3).join(" ")}`;
      return l.replace(/ --timeout=\S+| -o jsonpath=\S+/g, "");
    });
  return { r, calls, dir: state };
}

const CURRENT = {
  "cp-1": "v1.13.0",
  "cp-2": "v1.12.4",
  "cp-3": "v1.12.4",
  "worker-1": "v1.12.4",
  "worker-2": "v1.12.4",
  "worker-3": "v1.12.4",
};
const IMAGE = referenceRollSpec().installerImage;
const report = (r: Run) => `exit ${r.code}\n${r.stdout}${r.stderr}`;

describe("a node step", () => {
  test("behind its target: healthy first, then mark, drain, upgrade through the other control planes, wait, healthy, uncordon, unmark", async () => {
    const { r, calls, dir } = await runStep("node-cp-2", { versions: CURRENT, k8s: "1.35.0" });
    expect(report(r)).toMatch(/^exit 0\n/);
    expect(calls).toEqual([
      "ssh deploy@192.168.1.12",
      "kubectl get node cp-2",
      "kubectl get node cp-2",
      "talosctl --nodes 10.20.0.11 health --control-plane-nodes 10.20.0.11,10.20.0.12,10.20.0.13 --worker-nodes 10.20.0.21,10.20.0.22,10.20.0.23 --wait-timeout 15m",
      "kubectl annotate --overwrite node cp-2 homelab/cordoned-for-upgrade=v1.13.0",
      "kubectl drain cp-2 --ignore-daemonsets --delete-emptydir-data",
      `talosctl --nodes 10.20.0.12 upgrade --image ${IMAGE} --wait --timeout 30m`,
      "kubectl wait --for=condition=Ready node/cp-2",
      "kubectl get node cp-2",
      "kubectl wait --for=condition=Ready node/cp-2",
      "talosctl --nodes 10.20.0.11 health --control-plane-nodes 10.20.0.11,10.20.0.12,10.20.0.13 --worker-nodes 10.20.0.21,10.20.0.22,10.20.0.23 --wait-timeout 15m",
      "kubectl uncordon cp-2",
      "kubectl annotate node cp-2 homelab/cordoned-for-upgrade-",
    ]);
    // talosctl went through cp-1 and cp-3, never the node it rebooted.
    expect(fs.readFileSync(path.join(dir, "log"), "utf8")).toMatch(
      /^talosctl --endpoints 10\.20\.0\.11,10\.20\.0\.13 --nodes 10\.20\.0\.12 upgrade /m,
    );
    expect(fs.readFileSync(path.join(dir, "version-cp-2"), "utf8").trim()).toBe("v1.13.0");
    expect(fs.existsSync(path.join(dir, "cordoned-cp-2")) || fs.existsSync(path.join(dir, "mark-cp-2"))).toBe(false);
  });

  test("at its target: nothing is drained or upgraded", async () => {
    const { r, calls } = await runStep("node-cp-1", { versions: CURRENT, k8s: "1.35.0" });
    expect(report(r)).toContain("cp-1 is at v1.13.0 already; nothing to do");
    expect(calls).toEqual(["ssh deploy@192.168.1.12", "kubectl get node cp-1", "kubectl get node cp-1"]);
  });

  test("at its target but left cordoned by a stopped roll: finished (healthy, uncordoned, unmarked), not upgraded again", async () => {
    const { r, calls } = await runStep("node-worker-1", {
      versions: { ...CURRENT, "worker-1": "v1.13.0" },
      k8s: "1.35.0",
      marked: ["worker-1"],
    });
    expect(report(r)).toMatch(/^exit 0\n/);
    expect(calls.slice(3)).toEqual([
      "kubectl wait --for=condition=Ready node/worker-1",
      "talosctl --nodes 10.20.0.11 health --control-plane-nodes 10.20.0.11,10.20.0.12,10.20.0.13 --worker-nodes 10.20.0.21,10.20.0.22,10.20.0.23 --wait-timeout 15m",
      "kubectl uncordon worker-1",
      "kubectl annotate node worker-1 homelab/cordoned-for-upgrade-",
    ]);
  });

  test("a drain a disruption budget refuses stops the step before the upgrade, the node still marked for the resumed run", async () => {
    const { r, calls, dir } = await runStep("node-worker-2", { versions: CURRENT, k8s: "1.35.0", drainRefused: true });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("disruption budget");
    expect(calls.at(-1)).toBe("kubectl drain worker-2 --ignore-daemonsets --delete-emptydir-data");
    expect(calls.some((c) => / upgrade /.test(c))).toBe(false);
    expect(fs.readFileSync(path.join(dir, "mark-worker-2"), "utf8").trim()).toBe("v1.13.0");
  });
});

describe("the Kubernetes step", () => {
  test("behind: upgrade-k8s once, through the first control plane, then healthy", async () => {
    const { r, calls } = await runStep("kubernetes", { versions: CURRENT, k8s: "1.34.2" });
    expect(report(r)).toContain("Kubernetes 1.35.0 everywhere");
    expect(calls.filter((c) => c.startsWith("talosctl"))).toEqual([
      "talosctl --nodes 10.20.0.11 health --control-plane-nodes 10.20.0.11,10.20.0.12,10.20.0.13 --worker-nodes 10.20.0.21,10.20.0.22,10.20.0.23 --wait-timeout 15m",
      "talosctl --nodes 10.20.0.11 upgrade-k8s --to 1.35.0",
      "talosctl --nodes 10.20.0.11 health --control-plane-nodes 10.20.0.11,10.20.0.12,10.20.0.13 --worker-nodes 10.20.0.21,10.20.0.22,10.20.0.23 --wait-timeout 15m",
    ]);
  });

  test("at its target everywhere: nothing runs", async () => {
    const { r, calls } = await runStep("kubernetes", { versions: CURRENT, k8s: "1.35.0" });
    expect(report(r)).toContain("already; nothing to do");
    expect(calls.filter((c) => c.startsWith("talosctl"))).toEqual([]);
  });
});

describe("the secrets", () => {
  test("reach each client as a private file, never in its environment, and are deleted when the step ends", async () => {
    const { r, dir } = await runStep("node-cp-3", { versions: CURRENT, k8s: "1.35.0" });
    expect(report(r)).toMatch(/^exit 0\n/);
    const files = [...new Set(fs.readFileSync(path.join(dir, "secret-files"), "utf8").trim().split("\n"))];
    expect(files).toHaveLength(1);
    expect(fs.existsSync(files[0]!)).toBe(false);
    expect(fs.existsSync(path.dirname(files[0]!))).toBe(false);
  });

  test("a step without them refuses to start, naming what is missing", async () => {
    const step = renderRollSteps(referenceRollSpec()).find((s) => s.id === "kubernetes")!;
    const script = path.join(tmp, "no-secret.sh");
    fs.writeFileSync(script, step.file.content);
    // Clients that would note being called: none may be.
    const bin = path.join(tmp, "no-secret-bin");
    fs.mkdirSync(bin, { recursive: true });
    const called = path.join(tmp, "no-secret-called");
    for (const name of Object.keys(STUBS)) fs.writeFileSync(path.join(bin, name), `#!/bin/bash\ntouch ${called}\n`, { mode: 0o755 });
    const r = await runAsync(["bash", script], { env: { PATH: `${bin}:${PATH_ENV}` } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("HOMELAB_TALOSCONFIG is empty");
    expect(fs.existsSync(called)).toBe(false);
  });
});
