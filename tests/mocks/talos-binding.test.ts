// Proves the hand-written Talos binding, run under the shared strict recorder, registers the
// provider's exact tokens with the pinned plugin version/URL, carries the schema's outputs
// (machineConfigurationHash, resolvedApplyMode, kubernetesClientConfiguration) and keeps
// secrets secret; it does not prove the real plugin accepts these inputs (no plugin or cluster here).
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { REDACTED, runUnderMocks, valueOf, type MockRun } from "../../cli/mock-runtime";
import * as talos from "../../providers/talos";
import { TALOS_PLUGIN_URL, TALOS_PLUGIN_VERSION, TALOS_TOKENS } from "../../providers/talos";

const opts = new Map<string, { version?: string; pluginDownloadURL?: string; secretOutputs?: readonly string[] }>();

/** A three-resource Talos bootstrap as a later Talos part will declare it. */
function program(): Record<string, unknown> {
  pulumi.runtime.registerStackTransformation((args) => {
    const o = args.opts as pulumi.CustomResourceOptions;
    opts.set(args.name, {
      ...(o.version !== undefined ? { version: o.version } : {}),
      ...(o.pluginDownloadURL !== undefined ? { pluginDownloadURL: o.pluginDownloadURL } : {}),
      ...(o.additionalSecretOutputs !== undefined ? { secretOutputs: o.additionalSecretOutputs } : {}),
    });
    return undefined;
  });
  const secrets = new talos.Secrets("secrets", { talosVersion: "v1.13" });
  const config = talos.getConfigurationOutput({
    clusterName: "homelab",
    clusterEndpoint: "https://10.20.0.10:6443",
    machineType: "controlplane",
    machineSecrets: secrets.machineSecrets,
  });
  const apply = new talos.ConfigurationApply("cp-1", {
    node: "10.20.0.11",
    clientConfiguration: secrets.clientConfiguration,
    machineConfigurationInput: config.machineConfiguration,
    applyMode: "staged_if_needing_reboot",
  });
  const bootstrap = new talos.Bootstrap(
    "bootstrap",
    { node: "10.20.0.11", clientConfiguration: secrets.clientConfiguration },
    { dependsOn: [apply] },
  );
  const kube = new talos.Kubeconfig(
    "kubeconfig",
    { node: "10.20.0.11", endpoint: "10.20.0.10", clientConfiguration: secrets.clientConfiguration, timeouts: { create: "5m" } },
    { dependsOn: [bootstrap] },
  );
  const talosconfig = talos.getClientConfigurationOutput({
    clusterName: "homelab",
    clientConfiguration: secrets.clientConfiguration,
    endpoints: ["10.20.0.11"],
    nodes: ["10.20.0.11"],
  });
  return {
    config,
    machineSecrets: secrets.machineSecrets,
    hash: apply.machineConfigurationHash,
    mode: apply.resolvedApplyMode,
    kubeconfig: kube.kubeconfigRaw,
    client: kube.kubernetesClientConfiguration,
    talosconfig: talosconfig.talosConfig,
  };
}

let run: MockRun;
beforeAll(async () => {
  run = await runUnderMocks({ stack: "cluster", program });
});

test("every Talos resource has its exact token and pins the plugin version and download URL", () => {
  const declared = run.recorder.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
  expect(declared.map((r) => `${r.name} ${r.type}`).sort()).toEqual(
    [
      `bootstrap ${TALOS_TOKENS.bootstrap}`,
      `cp-1 ${TALOS_TOKENS.configurationApply}`,
      `kubeconfig ${TALOS_TOKENS.kubeconfig}`,
      `secrets ${TALOS_TOKENS.secrets}`,
    ].sort(),
  );
  for (const name of ["secrets", "cp-1", "bootstrap", "kubeconfig"]) {
    expect(opts.get(name)).toMatchObject({ version: TALOS_PLUGIN_VERSION, pluginDownloadURL: TALOS_PLUGIN_URL });
  }
  expect([...run.recorder.invokes].sort()).toEqual([TALOS_TOKENS.getClientConfiguration, TALOS_TOKENS.getConfiguration].sort());
});

test("the binding asks the engine to keep the provider's credentials secret", () => {
  expect(opts.get("secrets")?.secretOutputs).toEqual(["machineSecrets", "clientConfiguration"]);
  expect(opts.get("cp-1")?.secretOutputs).toEqual(["machineConfiguration", "machineConfigurationInput"]);
  expect(opts.get("kubeconfig")?.secretOutputs).toEqual(["kubeconfigRaw", "kubernetesClientConfiguration"]);
});

test("the machine configuration and client credentials reach the apply as secret inputs", () => {
  const apply = run.recorder.resources.find((r) => r.name === "cp-1")!;
  expect(apply.secretInputs).toEqual(expect.arrayContaining(["machineConfigurationInput", "clientConfiguration"]));
  expect(apply.inputs.machineConfigurationInput).toBe(REDACTED);
  expect(apply.inputs.applyMode).toBe("staged_if_needing_reboot");
});

test("ConfigurationApply outputs the hash of what it applied, and staged_if_needing_reboot resolves to auto on a fresh node", async () => {
  const applied = run.recorder.rawInputs.get("cp-1")!.machineConfigurationInput;
  expect(typeof applied).toBe("string");
  expect(applied).toContain("type: controlplane");
  expect(run.resolved.hash).toBe(createHash("sha256").update(String(applied)).digest("hex"));
  expect(run.resolved.mode).toBe("auto");
  expect(await pulumi.isSecret(run.outputs.hash!)).toBe(false);
});

test("credentials come back secret: machine secrets, the generated configuration, the kubeconfig and the talosconfig", async () => {
  for (const name of ["config", "machineSecrets", "kubeconfig", "client", "talosconfig"]) {
    expect([name, await pulumi.isSecret(run.outputs[name]!)]).toEqual([name, true]);
    expect([name, run.resolved[name]]).toEqual([name, REDACTED]);
  }
});

test("the kubeconfig points at the endpoint and carries the same credentials as its fields", async () => {
  const raw = (await valueOf(run.outputs.kubeconfig!)) as string;
  const client = (await valueOf(run.outputs.client!)) as talos.KubernetesClientConfiguration;
  expect(client.host).toBe("https://10.20.0.10:6443");
  expect(raw).toContain(`server: ${client.host}\n`);
  expect(raw).toContain(`client-key-data: ${client.clientKey}\n`);
  expect(raw).toContain(`certificate-authority-data: ${client.caCertificate}\n`);
  const talosconfig = (await valueOf(run.outputs.talosconfig!)) as string;
  expect(talosconfig).toMatch(/^context: homelab\n[\s\S]*endpoints: \[10\.20\.0\.11\]/);
});

test("in preview the provider-computed outputs are unknown", async () => {
  const preview = await runUnderMocks({ stack: "cluster", program, preview: true });
  expect(preview.resolved.hash).toBeUndefined();
  expect(preview.resolved.mode).toBeUndefined();
  expect(preview.recorder.resources.map((r) => r.name)).toEqual(expect.arrayContaining(["secrets", "cp-1", "bootstrap", "kubeconfig"]));
});
