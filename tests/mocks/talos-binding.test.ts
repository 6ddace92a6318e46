// Proves the hand-written Talos binding registers the provider's exact tokens with the
// pinned plugin version/URL and keeps secrets secret; it does not prove the real plugin
// accepts these inputs (no plugin or cluster here).
import * as pulumi from "@pulumi/pulumi";
import { TALOS_PLUGIN_URL, TALOS_PLUGIN_VERSION, TALOS_TOKENS } from "../../providers/talos";

const created: { type: string; name: string; inputs: Record<string, unknown> }[] = [];
const invokes: { token: string; inputs: Record<string, unknown> }[] = [];
const KNOWN = new Set<string>([
  TALOS_TOKENS.secrets,
  TALOS_TOKENS.configurationApply,
  TALOS_TOKENS.bootstrap,
  TALOS_TOKENS.kubeconfig,
  TALOS_TOKENS.provider,
]);

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (a) => {
        if (a.custom !== false && !KNOWN.has(a.type)) throw new Error(`unexpected resource type ${a.type}`);
        created.push({ type: a.type, name: a.name, inputs: a.inputs });
        if (a.type === TALOS_TOKENS.secrets) {
          return {
            id: a.name,
            state: {
              ...a.inputs,
              machineSecrets: { cluster: { id: "c", secret: "s" } },
              clientConfiguration: { caCertificate: "ca", clientCertificate: "cc", clientKey: "ck" },
            },
          };
        }
        if (a.type === TALOS_TOKENS.kubeconfig) return { id: a.name, state: { ...a.inputs, kubeconfigRaw: "apiVersion: v1" } };
        return { id: a.name, state: a.inputs };
      },
      call: (a) => {
        if (a.token !== TALOS_TOKENS.getConfiguration) throw new Error(`unexpected invoke ${a.token}`);
        invokes.push({ token: a.token, inputs: a.inputs });
        return { machineConfiguration: "version: v1alpha1" };
      },
    },
    "homelab",
    "cluster",
  );
});

const opts = new Map<string, { version?: string; pluginDownloadURL?: string }>();
const secretOutputs = new Map<string, readonly string[] | undefined>();

test("every resource and invoke pins the plugin version and download URL", async () => {
  const talos = await import("../../providers/talos");
  await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation((args) => {
      opts.set(args.name, { version: args.opts.version, pluginDownloadURL: args.opts.pluginDownloadURL });
      secretOutputs.set(args.name, (args.opts as pulumi.CustomResourceOptions).additionalSecretOutputs);
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
    });
    new talos.Bootstrap("bootstrap", { node: "10.20.0.11", clientConfiguration: secrets.clientConfiguration }, { dependsOn: [apply] });
    new talos.Kubeconfig("kubeconfig", { node: "10.20.0.11", clientConfiguration: secrets.clientConfiguration });
    // Mocks ignore additionalSecretOutputs (reference section 1), so the engine-side
    // marking is checked on the options below; the invoke result is wrapped in code.
    expect(await pulumi.isSecret(config)).toBe(true);
    return {};
  });
  await pulumi.runtime.disconnect();
  expect(
    created
      .filter((c) => c.type !== "pulumi:pulumi:Stack")
      .map((c) => c.type)
      .sort(),
  ).toEqual([TALOS_TOKENS.bootstrap, TALOS_TOKENS.configurationApply, TALOS_TOKENS.kubeconfig, TALOS_TOKENS.secrets].sort());
  for (const name of ["secrets", "cp-1", "bootstrap", "kubeconfig"]) {
    expect(opts.get(name)).toEqual({ version: TALOS_PLUGIN_VERSION, pluginDownloadURL: TALOS_PLUGIN_URL });
  }
  expect(invokes.map((i) => i.token)).toEqual([TALOS_TOKENS.getConfiguration]);
  expect(secretOutputs.get("secrets")).toEqual(["machineSecrets", "clientConfiguration"]);
  expect(secretOutputs.get("cp-1")).toEqual(["machineConfiguration", "machineConfigurationInput"]);
  expect(secretOutputs.get("kubeconfig")).toEqual(["kubeconfigRaw"]);
  // The machine configuration reaches the apply as a secret input.
  const applied = created.find((c) => c.name === "cp-1")!;
  expect(JSON.stringify(applied.inputs.machineConfigurationInput)).toContain("1b47061264138c4ac30d75fd1eb44270");
});
