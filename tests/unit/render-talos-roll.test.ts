// Proves the roll's step scripts (render/talos-roll.ts) follow the planner's waves (every node's step waits for the wave before, the
// Kubernetes step for the last), carry exactly their facts (versions, installer image, endpoints without the node itself, the pinned
// jump host, which lets the deploy identity reach exactly those APIs) before the one fixed body, match their goldens, render deterministically and never hold a secret. Does not run them
// (tests/tools/talos-roll.test.ts does, against stub clients) nor declare them (tests/mocks/talos-roll.test.ts).
import { jumpLabFacts, renderJumpFiles } from "../../render/jump";
import { loadScriptBody } from "../../render/scripts/load";
import { TALOS_ROLL_SECRET_ENV, renderRollSteps } from "../../render/talos-roll";
import { expectScriptGoldens, staleGoldens } from "../support/golden";
import { referenceLab, referencePlan } from "../support/lab";
import { referenceRollSpec, referenceRollSteps } from "../support/talos-roll";

const steps = referenceRollSteps();
const body = loadScriptBody("talos-roll");

/** A fact's value from a script: `NAME='x'` -> x, `NAME=42` -> 42, `NAME=(...)` -> the quoted items. */
function fact(script: string, name: string): string | string[] {
  const arr = new RegExp(`^${name}=\\(\\n([\\s\\S]*?)^\\)$`, "m").exec(script);
  if (arr) return [...arr[1]!.matchAll(/^ {2}'([^']*)'/gm)].map((m) => m[1]!);
  if (new RegExp(`^${name}=\\(\\)$`, "m").test(script)) return [];
  const m = new RegExp(`^${name}=(?:'([^']*)'|(\\d+))$`, "m").exec(script);
  if (!m) throw new Error(`no fact ${name}`);
  return m[1] ?? m[2]!;
}

describe("the steps follow the waves", () => {
  test("one step per node in wave order, then Kubernetes; each waits for the wave before", () => {
    expect(steps.map((s) => `${s.id} <- ${s.after.join(",") || "(start)"}`)).toEqual([
      "node-cp-1 <- (start)",
      "node-cp-2 <- node-cp-1",
      "node-cp-3 <- node-cp-2",
      "node-worker-1 <- node-cp-3",
      "node-worker-2 <- node-worker-1",
      "node-worker-3 <- node-worker-2",
      "kubernetes <- node-worker-3",
    ]);
  });

  test("a wave of two workers: both wait for the wave before, and the next waits for both", () => {
    const spec = referenceRollSpec();
    const workers = spec.plan.waves.filter((w) => w.kind === "workers").flatMap((w) => w.members);
    const plan = {
      ...spec.plan,
      waves: [
        ...spec.plan.waves.filter((w) => w.kind === "control-plane"),
        { ...spec.plan.waves[3]!, id: "workers-1", members: workers.slice(0, 2) },
        { ...spec.plan.waves[5]!, id: "workers-2", members: workers.slice(2) },
      ],
    };
    const two = renderRollSteps({ ...spec, plan });
    expect(two.map((s) => `${s.id} <- ${s.after.join(",") || "(start)"}`).slice(3)).toEqual([
      "node-worker-1 <- node-cp-3",
      "node-worker-2 <- node-cp-3",
      "node-worker-3 <- node-worker-1,node-worker-2",
      "kubernetes <- node-worker-3",
    ]);
    // Side by side, each tunnel has its own local port.
    expect(two.slice(3, 5).map((s) => fact(s.file.content, "SOCKS_PORT"))).toEqual(["41080", "41081"]);
  });

  test("triggers are the target versions only: Talos and its installer image for a node, Kubernetes for the last step", () => {
    const image = referenceRollSpec().installerImage;
    expect(steps.map((s) => [s.id, s.targets])).toEqual([
      ...["cp-1", "cp-2", "cp-3", "worker-1", "worker-2", "worker-3"].map((h) => [`node-${h}`, ["v1.13.0", image]]),
      ["kubernetes", ["1.35.0"]],
    ]);
  });
});

describe("the facts", () => {
  const byId = Object.fromEntries(steps.map((s) => [s.id, s.file.content]));

  test("a control plane's step talks through the other control planes, never the node it reboots", () => {
    expect(fact(byId["node-cp-2"]!, "ENDPOINTS")).toEqual(["10.20.0.11", "10.20.0.13"]);
    expect(fact(byId["node-cp-2"]!, "NODE_ADDRESS")).toBe("10.20.0.12");
    expect(fact(byId["node-cp-2"]!, "NODE_ROLE")).toBe("control plane");
    expect(fact(byId["node-worker-1"]!, "ENDPOINTS")).toEqual(["10.20.0.11", "10.20.0.12", "10.20.0.13"]);
    expect(fact(byId["node-worker-1"]!, "NODE_ROLE")).toBe("worker");
  });

  test("every step knows the whole cluster, the versions and the pinned jump host", () => {
    for (const script of Object.values(byId)) {
      expect(fact(script, "CONTROL_PLANES")).toEqual(["10.20.0.11", "10.20.0.12", "10.20.0.13"]);
      expect(fact(script, "WORKERS")).toEqual(["10.20.0.21", "10.20.0.22", "10.20.0.23"]);
      expect(fact(script, "TALOS_VERSION")).toBe("v1.13.0");
      expect(fact(script, "INSTALLER_IMAGE")).toBe(referenceRollSpec().installerImage);
      expect(fact(script, "KUBERNETES_VERSION")).toBe("1.35.0");
      expect(fact(script, "JUMP_HOST")).toBe("192.168.1.12");
      expect(fact(script, "JUMP_PORT")).toBe("22");
      expect(fact(script, "JUMP_HOST_KEY")).toMatch(/^ssh-ed25519 AAAA/);
    }
    expect(fact(byId.kubernetes!, "STEP")).toBe("kubernetes");
    expect(byId.kubernetes).not.toMatch(/^NODE_/m);
  });

  test("a new version changes every step's facts and triggers, and nothing else", () => {
    const next = referenceRollSteps({ talosVersion: "v1.13.1", kubernetesVersion: "1.36.1" });
    for (const [a, b] of steps.map((s, i) => [s, next[i]!] as const)) {
      const changed = b.file.content.split("\n").filter((l, i) => l !== a.file.content.split("\n")[i]);
      expect(changed.every((l) => /^(TALOS_VERSION|INSTALLER_IMAGE|KUBERNETES_VERSION)=/.test(l))).toBe(true);
      expect(b.targets).not.toEqual(a.targets);
    }
  });

  test("every upper-case variable the body reads is a fact of the step, its own, or the environment's", () => {
    // Set by the component (the secrets), by bash, or exported by the body for the clients.
    const environment = new Set(["HOMELAB_TALOSCONFIG", "HOMELAB_KUBECONFIG", "BASH_REMATCH"]);
    const assigned = (text: string) => new Set([...text.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!));
    const read = new Set([...body.matchAll(/\$\{?([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!));
    for (const s of steps) {
      const known = new Set([...assigned(s.file.content), ...environment]);
      // The Kubernetes step never reaches step_node, the only reader of the node's facts.
      const unknown = [...read].filter((v) => !known.has(v) && !(s.kind === "kubernetes" && v.startsWith("NODE_")));
      expect([s.id, unknown.sort()]).toEqual([s.id, []]);
    }
  });

  test("an installer image of another version is a bug, refused", () => {
    expect(() => renderRollSteps({ ...referenceRollSpec(), talosVersion: "v1.13.1" })).toThrow(/is not tagged v1.13.1/);
  });

  test("no secret is a fact: the secrets' variables are only read by the body, from the environment", () => {
    for (const s of steps) {
      const facts = s.file.content.slice(0, s.file.content.length - body.length);
      expect(facts).not.toMatch(/HOMELAB_(TALOS|KUBE)CONFIG|BEGIN|client-key|crt:/);
      expect(s.file.content.endsWith(body)).toBe(true);
    }
    expect(body).toContain(`"$${TALOS_ROLL_SECRET_ENV.talosconfig}"`);
    expect(body).toContain(`"$${TALOS_ROLL_SECRET_ENV.kubeconfig}"`);
  });
});

describe("the way in", () => {
  const permitOpen = (segment: string) => {
    const plan = referencePlan();
    const sshd = renderJumpFiles(plan.segments[segment]!, plan.ssh, jumpLabFacts(referenceLab())).find(
      (f) => f.path === "jump/sshd_config",
    )!;
    return /^ {4}PermitOpen (.*)$/m.exec(sshd.content)![1]!.split(" ");
  };

  test("the cluster's jump host lets the deploy identity open the Talos API of every node and the Kubernetes API at the VIP, besides the router", () => {
    const addresses = referenceRollSpec().plan.waves.flatMap((w) => w.members.map((m) => `${m.address}:50000`));
    expect(permitOpen("cluster")).toEqual(["10.20.0.1:22", ...addresses, "10.20.0.10:6443"]);
  });

  test("a segment without a cluster opens no such port", () => {
    expect(permitOpen("lab").some((o) => /:(50000|6443)$/.test(o))).toBe(false);
  });
});

describe("goldens and determinism", () => {
  test.each(steps.map((s) => [s.id, s] as const))("%s is its facts golden, then the one roll body golden", (id, s) => {
    expectScriptGoldens(s.file.content, body, `talos-roll/cluster/${id}.facts.sh`, "scripts/talos-roll.sh");
  });

  test("no stale golden file under tests/golden/talos-roll", () => {
    expect(
      staleGoldens(
        "talos-roll",
        steps.map((s) => `cluster/${s.id}.facts.sh`),
      ),
    ).toEqual([]);
  });

  test("rendering twice gives the same bytes", () => {
    expect(referenceRollSteps()).toEqual(steps);
  });
});
