/**
 * The steps of a Talos cluster's version roll as scripts: one per node, in the planner's waves
 * (model/talos/waves.ts), then one `talosctl upgrade-k8s`. Each script is the step's facts
 * (which node, which versions, how to reach the cluster through the jump host) followed by the
 * fixed bash of render/scripts/talos-roll.sh. No secret is ever a fact: the talosconfig and
 * kubeconfig reach a script only through its environment (TALOS_ROLL_SECRET_ENV).
 */
import type { RollMember, UpgradePlan } from "../model/talos/waves";
import { renderScript, type ShellFact } from "./apply-common";
import type { RenderedFile } from "./files";
import { generatedHeader } from "./header";

/** Where a roll's scripts go in the plan's files. */
export const TALOS_ROLL_DIR = "talos-roll";

/** The environment variables that carry the secrets: the component sets them, as secrets. */
export const TALOS_ROLL_SECRET_ENV = { talosconfig: "HOMELAB_TALOSCONFIG", kubeconfig: "HOMELAB_KUBECONFIG" } as const;

/**
 * The local port the step's SSH SOCKS tunnel listens on. The steps run one after another
 * (a wave's steps side by side use one port each: the step's index is added).
 */
export const DEFAULT_SOCKS_PORT = 41080;

/** How long each phase of a step may take, as talosctl and kubectl durations. */
export interface RollTimeouts {
  /** kubectl drain: evictions a budget refuses are retried until then. @default "10m" */
  readonly drain?: string;
  /** talosctl upgrade, including the reboot. @default "30m" (talosctl's own default) */
  readonly upgrade?: string;
  /** Each wait for the node to be Ready and the cluster healthy. @default "15m" */
  readonly health?: string;
}

/** Everything a roll's scripts need besides the secrets. */
export interface TalosRollSpec {
  /** The segment, for headers and messages. */
  readonly segment: string;
  readonly clusterName: string;
  readonly plan: UpgradePlan;
  /** The Talos version to roll to, `v1.13.1`. */
  readonly talosVersion: string;
  /** The Kubernetes version to roll to, with or without a leading `v`. */
  readonly kubernetesVersion: string;
  /** The installer image of the cluster's schematic at talosVersion, `factory.talos.dev/installer/<schematic id>:v1.13.1`. */
  readonly installerImage: string;
  /** The SSH entry into the segment (the jump host, at the router's WAN address): the tunnel's far end. */
  readonly jump: { readonly host: string; readonly port?: number; readonly user: string; readonly hostKey: string };
  /** @default DEFAULT_SOCKS_PORT */
  readonly socksPort?: number;
  readonly timeouts?: RollTimeouts;
}

/** One step of the roll. */
export interface RollStep {
  /** Stable id from model ids: `node-<host>` or `kubernetes`. */
  readonly id: string;
  readonly kind: "node" | "kubernetes";
  /** The planner's wave it belongs to (`kubernetes` for the last step). */
  readonly wave: string;
  /** Ids of the steps it waits for: every step of the wave before. */
  readonly after: readonly string[];
  /** What it rolls to: the step re-runs when these change. */
  readonly targets: readonly string[];
  /** The script, at `talos-roll/<id>.sh`. */
  readonly file: RenderedFile;
}

const addresses = (ms: readonly RollMember[]) => ms.map((m) => ({ value: m.address, comment: m.host }));

/** The roll's steps in order: every node by wave, then Kubernetes. */
export function renderRollSteps(spec: TalosRollSpec): RollStep[] {
  const k8s = spec.kubernetesVersion.replace(/^v/, "");
  const image = spec.installerImage;
  // The image's tag is the version the step checks the node against: they must agree.
  if (!image.endsWith(`:${spec.talosVersion}`)) throw new Error(`bug: installer image ${image} is not tagged ${spec.talosVersion}`);
  const cps = spec.plan.waves.filter((w) => w.kind === "control-plane").flatMap((w) => w.members);
  const workers = spec.plan.waves.filter((w) => w.kind === "workers").flatMap((w) => w.members);
  const t = { drain: "10m", upgrade: "30m", health: "15m", ...spec.timeouts };
  const base = spec.socksPort ?? DEFAULT_SOCKS_PORT;
  const common = (stepId: string, endpoints: readonly RollMember[], port: number): ShellFact[] => [
    { name: "STEP_ID", value: `${spec.clusterName}/${stepId}`, comment: `Cluster ${spec.clusterName} of ${spec.segment}, step ${stepId}.` },
    { name: "CONTROL_PLANES", value: addresses(cps) },
    { name: "WORKERS", value: addresses(workers) },
    {
      name: "ENDPOINTS",
      value: addresses(endpoints),
      comment: "The Talos API endpoints this step talks through: control planes it does not take down.",
    },
    { name: "TALOS_VERSION", value: spec.talosVersion },
    { name: "INSTALLER_IMAGE", value: image },
    { name: "KUBERNETES_VERSION", value: k8s },
    { name: "JUMP_HOST", value: spec.jump.host, comment: "The SSH entry into the segment (its jump host), with its pinned host key." },
    { name: "JUMP_PORT", value: spec.jump.port ?? 22 },
    { name: "JUMP_USER", value: spec.jump.user },
    { name: "JUMP_HOST_KEY", value: spec.jump.hostKey },
    { name: "SOCKS_PORT", value: port },
    { name: "DRAIN_TIMEOUT", value: t.drain },
    { name: "UPGRADE_TIMEOUT", value: t.upgrade },
    { name: "HEALTH_TIMEOUT", value: t.health },
  ];
  const script = (stepId: string, facts: ShellFact[]): RenderedFile => ({
    path: `${TALOS_ROLL_DIR}/${stepId}.sh`,
    content: renderScript(
      generatedHeader("#", `talos-roll step ${stepId} of ${spec.clusterName}`, "render/talos-roll.ts"),
      facts,
      "talos-roll",
    ),
    checker: "sh",
  });

  const steps: RollStep[] = [];
  let before: string[] = [];
  for (const wave of spec.plan.waves) {
    const ids = wave.members.map((m, i) => {
      const id = `node-${m.host}`;
      // A control plane's step talks through the others; it never asks the node it reboots.
      const endpoints = cps.filter((c) => c.host !== m.host);
      const facts: ShellFact[] = [
        { name: "STEP", value: "node" },
        ...common(id, endpoints, base + i),
        { name: "NODE_NAME", value: m.host, comment: "The node: its Kubernetes name (its host name), address and role." },
        { name: "NODE_ADDRESS", value: m.address },
        { name: "NODE_ROLE", value: wave.kind === "control-plane" ? "control plane" : "worker" },
      ];
      steps.push({ id, kind: "node", wave: wave.id, after: before, targets: [spec.talosVersion, image], file: script(id, facts) });
      return id;
    });
    before = ids;
  }
  steps.push({
    id: "kubernetes",
    kind: "kubernetes",
    wave: "kubernetes",
    after: before,
    targets: [k8s],
    file: script("kubernetes", [{ name: "STEP", value: "kubernetes" }, ...common("kubernetes", cps, base)]),
  });
  return steps;
}
