// Proves the TalosRoll component, run under the shared strict recorder, declares one local command per step in one chain in the planner's
// order (control planes, then workers, then Kubernetes), the first waiting for what the roll is given to wait for; that each runs its
// rendered script with bash and re-runs on its target versions only; and that the talosconfig and kubeconfig are secret inputs
// (environment only, never the command text or a trigger), even when handed in as plain strings. Also in preview, with the secrets unknown.
// In the cluster stack: the roll waits for the jump host, every configuration apply and the bootstrap, and the machine configurations
// carry the Kubernetes version its last step rolls to, from the same config value. Does not run the scripts (tests/tools/talos-roll.test.ts) nor prove the engine's resume (README, Upgrades, says why it holds).
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { REDACTED, runUnderMocks, type MockRun, type RecordedResource } from "../../cli/mock-runtime";
import { TALOS_ROLL_TYPE, TalosRoll } from "../../components/talos-roll";
import { TALOS_ROLL_SECRET_ENV } from "../../render/talos-roll";
import { copyLab, segOf } from "../support/lab";
import { runStack } from "../support/mocks";
import { referenceRollSteps } from "../support/talos-roll";

const TALOSCONFIG = "context: homelab\n# test talosconfig 3e9b\n";
const KUBECONFIG = "apiVersion: v1\n# test kubeconfig 71ac\n";
const steps = referenceRollSteps();

/** A roll after a stand-in for the cluster's health check; the secrets as given. */
async function run(opts: { preview?: boolean; plain?: boolean } = {}): Promise<MockRun> {
  return runUnderMocks({
    stack: "cluster",
    preview: opts.preview ?? false,
    program: () => {
      const health = new command.local.Command("cluster-health", { create: "true" });
      // In preview the secrets come from resources that do not exist yet: unknown.
      const unknown = (v: string) => (opts.preview ? health.stdout.apply(() => v) : v);
      const roll = new TalosRoll(
        "homelab-roll",
        {
          steps,
          talosconfig: opts.plain ? TALOSCONFIG : pulumi.secret(unknown(TALOSCONFIG)),
          kubeconfig: opts.plain ? KUBECONFIG : pulumi.secret(unknown(KUBECONFIG)),
          after: [health],
        },
        {},
      );
      return { done: roll.done };
    },
  });
}

const commandsOf = (r: MockRun): RecordedResource[] =>
  r.recorder.withParents().filter((x) => x.type === "command:local:Command" && x.parent === "homelab-roll");

describe.each([
  ["up", false],
  ["preview", true],
])("%s", (_mode, preview) => {
  let r: MockRun;
  beforeAll(async () => {
    r = await run({ preview });
  });

  test("one component with one command per step, in one chain: control planes, workers, Kubernetes", () => {
    expect(
      r.recorder
        .withParents()
        .filter((x) => x.type === TALOS_ROLL_TYPE)
        .map((x) => x.name),
    ).toEqual(["homelab-roll"]);
    expect(commandsOf(r).map((c) => `${c.name} <- ${(c.dependsOn ?? []).join(",")}`)).toEqual([
      "homelab-roll-node-cp-1 <- cluster-health",
      "homelab-roll-node-cp-2 <- homelab-roll-node-cp-1",
      "homelab-roll-node-cp-3 <- homelab-roll-node-cp-2",
      "homelab-roll-node-worker-1 <- homelab-roll-node-cp-3",
      "homelab-roll-node-worker-2 <- homelab-roll-node-worker-1",
      "homelab-roll-node-worker-3 <- homelab-roll-node-worker-2",
      "homelab-roll-kubernetes <- homelab-roll-node-worker-3",
    ]);
  });

  test("each runs its rendered script with bash, triggered by its target versions", () => {
    for (const [c, s] of commandsOf(r).map((c, i) => [c, steps[i]!] as const)) {
      expect(c.inputs.create).toBe(s.file.content);
      expect(c.inputs.interpreter).toEqual(["/bin/bash", "-c"]);
      expect(c.inputs.triggers).toEqual(s.targets);
    }
  });

  test("the talosconfig and kubeconfig are secret inputs, in the environment only", () => {
    for (const c of commandsOf(r)) {
      // Up: the whole environment is one secret. Preview: it is unknown (from resources not yet created), so nothing is shown.
      expect(c.secretInputs).toEqual(preview ? [] : ["environment"]);
      const unknown = { __pulumiUnknown: true };
      expect(c.inputs.environment).toEqual(
        preview ? { [TALOS_ROLL_SECRET_ENV.talosconfig]: unknown, [TALOS_ROLL_SECRET_ENV.kubeconfig]: unknown } : REDACTED,
      );
      expect(JSON.stringify(c.inputs)).not.toMatch(/test (talos|kube)config/);
    }
  });
});

test("secrets handed in as plain strings are made secret by the component", async () => {
  const r = await run({ plain: true });
  for (const c of commandsOf(r)) {
    expect(c.inputs.environment).toBe(REDACTED);
    // The values are there, for the script, behind the secret marker.
    expect(r.recorder.rawInputs.get(c.name)!.environment).toEqual({
      [TALOS_ROLL_SECRET_ENV.talosconfig]: TALOSCONFIG,
      [TALOS_ROLL_SECRET_ENV.kubeconfig]: KUBECONFIG,
    });
  }
});

test("a roll that does not end with its Kubernetes step is a bug, refused", async () => {
  await expect(
    runUnderMocks({
      stack: "cluster",
      program: () => {
        new TalosRoll("bad", { steps: steps.slice(0, -1), talosconfig: "x", kubeconfig: "y" });
        return {};
      },
    }),
  ).rejects.toThrow(/roll bad must end with its Kubernetes step/);
});

describe("in the cluster stack", () => {
  /** The value of a fact in a step's script. */
  const fact = (script: unknown, name: string) => new RegExp(`^${name}='([^']*)'$`, "m").exec(String(script))?.[1];

  test.each([
    ["up", false],
    ["preview", true],
  ])(
    "%s: after the jump host, every apply and the bootstrap, one chain of the cluster's nodes, then Kubernetes",
    async (_mode, preview) => {
      const r = await runStack("cluster", { preview });
      const cmds = commandsOf(r);
      expect(cmds.map((c) => c.name)).toEqual(steps.map((s) => `homelab-roll-${s.id}`));
      expect(cmds[0]!.dependsOn).toEqual([
        "homelab-apply-cp-1",
        "homelab-apply-cp-2",
        "homelab-apply-cp-3",
        "homelab-apply-worker-1",
        "homelab-apply-worker-2",
        "homelab-apply-worker-3",
        "homelab-bootstrap",
        "jump",
      ]);
      expect(cmds.slice(1).map((c) => c.dependsOn)).toEqual(cmds.slice(0, -1).map((c) => [c.name]));
      for (const c of cmds) expect(c.secretInputs).toEqual(preview ? [] : ["environment"]);
    },
  );

  test("a new Kubernetes version reaches the machine configurations and the roll's last step alike", async () => {
    const dir = copyLab((f) => (segOf(f, "cluster").talos.kubernetesVersion = "1.36.1"));
    const r = await runStack("cluster", { dir });
    const k8s = r.recorder.withParents().find((x) => x.name === "homelab-roll-kubernetes")!;
    expect(fact(k8s.inputs.create, "KUBERNETES_VERSION")).toBe("1.36.1");
    expect(k8s.inputs.triggers).toEqual(["1.36.1"]);
    const applies = r.recorder.withParents().filter((x) => x.type === "talos:machine/configurationApply:ConfigurationApply");
    expect(applies).toHaveLength(6);
    for (const a of applies) {
      const config = String(r.recorder.rawInputs.get(a.name)!.machineConfigurationInput);
      const apiServer = /kube-apiserver:(v[\d.]+)/.exec(config)?.[1];
      expect([a.name, /kubelet:(v[\d.]+)/.exec(config)?.[1], apiServer]).toEqual([
        a.name,
        "v1.36.1",
        a.name.includes("cp-") ? "v1.36.1" : undefined,
      ]);
    }
  });
});
