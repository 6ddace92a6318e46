/**
 * A small typed binding for the pulumiverse Talos provider, whose npm SDK
 * (`@pulumiverse/talos`) this registry does not serve. Tokens, input and output names
 * are the provider's own (schema of pulumiverse/pulumi-talos v0.8.1); every resource and
 * invoke pins the plugin version and download URL, so a real `pulumi up` fetches the real
 * plugin. Swap to the package when it is available: the names are the same.
 */
import * as pulumi from "@pulumi/pulumi";

/** The provider plugin version this binding was written against. */
export const TALOS_PLUGIN_VERSION = "0.8.1";
/** Where the Pulumi CLI downloads the plugin from. */
export const TALOS_PLUGIN_URL = "github://api.github.com/pulumiverse";

const PLUGIN = { version: TALOS_PLUGIN_VERSION, pluginDownloadURL: TALOS_PLUGIN_URL } as const;

/** Resource and invoke tokens. */
export const TALOS_TOKENS = {
  provider: "pulumi:providers:talos",
  secrets: "talos:machine/secrets:Secrets",
  configurationApply: "talos:machine/configurationApply:ConfigurationApply",
  bootstrap: "talos:machine/bootstrap:Bootstrap",
  kubeconfig: "talos:cluster/kubeconfig:Kubeconfig",
  getConfiguration: "talos:machine/getConfiguration:getConfiguration",
  getClientConfiguration: "talos:client/getConfiguration:getConfiguration",
  getHealth: "talos:cluster/getHealth:getHealth",
} as const;

/** Credentials of a talosctl client. `clientKey` is secret. */
export interface ClientConfiguration {
  readonly caCertificate: string;
  readonly clientCertificate: string;
  readonly clientKey: string;
}

interface CertKey {
  readonly cert: string;
  readonly key: string;
}

/** The cluster's PKI and tokens. Every key, secret and token is secret. */
export interface MachineSecrets {
  readonly certs: {
    readonly etcd: CertKey;
    readonly k8s: CertKey;
    readonly k8sAggregator: CertKey;
    readonly k8sServiceaccount: { readonly key: string };
    readonly os: CertKey;
  };
  readonly cluster: { readonly id: string; readonly secret: string };
  readonly secrets: {
    readonly bootstrapToken: string;
    readonly secretboxEncryptionSecret: string;
    readonly aescbcEncryptionSecret?: string;
  };
  readonly trustdinfo: { readonly token: string };
}

/** The Talos provider. Its only setting is the image factory URL. */
export class Provider extends pulumi.ProviderResource {
  constructor(name: string, args: { readonly imageFactoryUrl?: pulumi.Input<string> } = {}, opts: pulumi.ResourceOptions = {}) {
    super("talos", name, { imageFactoryUrl: args.imageFactoryUrl }, { ...PLUGIN, ...opts });
  }
}

/** Arguments of Secrets. */
export interface SecretsArgs {
  /** The machine-config contract version, e.g. "v1.13". @default the provider's */
  readonly talosVersion?: pulumi.Input<string>;
}

/** The cluster's machine secrets. The SDK marks nothing secret, so this binding does. */
export class Secrets extends pulumi.CustomResource {
  declare readonly machineSecrets: pulumi.Output<MachineSecrets>;
  declare readonly clientConfiguration: pulumi.Output<ClientConfiguration>;
  declare readonly talosVersion: pulumi.Output<string>;

  constructor(name: string, args: SecretsArgs = {}, opts: pulumi.CustomResourceOptions = {}) {
    super(
      TALOS_TOKENS.secrets,
      name,
      { talosVersion: args.talosVersion, machineSecrets: undefined, clientConfiguration: undefined },
      { ...PLUGIN, ...opts, additionalSecretOutputs: ["machineSecrets", "clientConfiguration", ...(opts.additionalSecretOutputs ?? [])] },
    );
  }
}

/** How ConfigurationApply applies a configuration (the provider's validator, v0.8.1). */
export type ApplyMode = "auto" | "reboot" | "no_reboot" | "staged" | "staged_if_needing_reboot";

/** Arguments of ConfigurationApply. */
export interface ConfigurationApplyArgs {
  /** The node's address. */
  readonly node: pulumi.Input<string>;
  /** @default node */
  readonly endpoint?: pulumi.Input<string>;
  readonly clientConfiguration: pulumi.Input<ClientConfiguration>;
  /** The machine configuration (from getConfiguration); secret. */
  readonly machineConfigurationInput: pulumi.Input<string>;
  /** YAML patches applied on top. */
  readonly configPatches?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * `staged_if_needing_reboot` dry-runs the apply and stages it only when it would reboot;
   * it resolves to `auto` when the node cannot be asked (a fresh VM). The provider has no
   * `try` mode.
   * @default "auto"
   */
  readonly applyMode?: pulumi.Input<ApplyMode>;
  /** Reset the node when the resource is destroyed. Does nothing without `reset`. */
  readonly onDestroy?: pulumi.Input<{ readonly reset?: boolean; readonly graceful?: boolean; readonly reboot?: boolean }>;
  readonly timeouts?: pulumi.Input<{ readonly create?: string; readonly update?: string; readonly delete?: string }>;
}

/** Applies a machine configuration to one node. */
export class ConfigurationApply extends pulumi.CustomResource {
  /** The configuration as applied; secret. */
  declare readonly machineConfiguration: pulumi.Output<string>;
  /** A hash of the applied configuration: changes exactly when the node's configuration does. */
  declare readonly machineConfigurationHash: pulumi.Output<string>;
  /** The mode the provider chose (what `staged_if_needing_reboot` resolved to). */
  declare readonly resolvedApplyMode: pulumi.Output<ApplyMode>;

  constructor(name: string, args: ConfigurationApplyArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(
      TALOS_TOKENS.configurationApply,
      name,
      {
        ...args,
        machineConfigurationInput: pulumi.secret(args.machineConfigurationInput),
        machineConfiguration: undefined,
        machineConfigurationHash: undefined,
        resolvedApplyMode: undefined,
      },
      {
        ...PLUGIN,
        ...opts,
        additionalSecretOutputs: ["machineConfiguration", "machineConfigurationInput", ...(opts.additionalSecretOutputs ?? [])],
      },
    );
  }
}

/** Bootstraps etcd on one control-plane node. Depend on its ConfigurationApply. */
export class Bootstrap extends pulumi.CustomResource {
  constructor(
    name: string,
    args: {
      readonly node: pulumi.Input<string>;
      readonly endpoint?: pulumi.Input<string>;
      readonly clientConfiguration: pulumi.Input<ClientConfiguration>;
      readonly timeouts?: pulumi.Input<{ readonly create?: string }>;
    },
    opts: pulumi.CustomResourceOptions = {},
  ) {
    super(TALOS_TOKENS.bootstrap, name, { ...args }, { ...PLUGIN, ...opts });
  }
}

/** How a Kubernetes client reaches the cluster: `clientKey` is secret. */
export interface KubernetesClientConfiguration {
  /** The API server, `https://<endpoint>:6443`. */
  readonly host: string;
  readonly caCertificate: string;
  readonly clientCertificate: string;
  readonly clientKey: string;
}

/** Arguments of Kubeconfig. */
export interface KubeconfigArgs {
  readonly node: pulumi.Input<string>;
  /** @default node */
  readonly endpoint?: pulumi.Input<string>;
  readonly clientConfiguration: pulumi.Input<ClientConfiguration>;
  /** Renew the client certificate when it expires within this long. @default "720h" */
  readonly certificateRenewalDuration?: pulumi.Input<string>;
  /** The provider has only create and update timeouts here. */
  readonly timeouts?: pulumi.Input<{ readonly create?: string; readonly update?: string }>;
}

/** The cluster's admin kubeconfig, kept in state and always secret. */
export class Kubeconfig extends pulumi.CustomResource {
  /** The kubeconfig file's text. */
  declare readonly kubeconfigRaw: pulumi.Output<string>;
  /** The same credentials as fields, for a Kubernetes provider's settings. */
  declare readonly kubernetesClientConfiguration: pulumi.Output<KubernetesClientConfiguration>;

  constructor(name: string, args: KubeconfigArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(
      TALOS_TOKENS.kubeconfig,
      name,
      { ...args, kubeconfigRaw: undefined, kubernetesClientConfiguration: undefined },
      {
        ...PLUGIN,
        ...opts,
        additionalSecretOutputs: ["kubeconfigRaw", "kubernetesClientConfiguration", ...(opts.additionalSecretOutputs ?? [])],
      },
    );
  }
}

/** Arguments of getConfiguration. */
export interface GetConfigurationArgs {
  readonly clusterName: pulumi.Input<string>;
  /** `https://<vip>:6443`. */
  readonly clusterEndpoint: pulumi.Input<string>;
  readonly machineType: pulumi.Input<"controlplane" | "worker">;
  readonly machineSecrets: pulumi.Input<MachineSecrets>;
  readonly configPatches?: pulumi.Input<pulumi.Input<string>[]>;
  readonly kubernetesVersion?: pulumi.Input<string>;
  readonly talosVersion?: pulumi.Input<string>;
  readonly docs?: pulumi.Input<boolean>;
  readonly examples?: pulumi.Input<boolean>;
}

/** A node's machine configuration, generated by the provider. The result is secret. */
export function getConfigurationOutput(
  args: GetConfigurationArgs,
  opts: pulumi.InvokeOutputOptions = {},
): pulumi.Output<{ machineConfiguration: string }> {
  const result = pulumi.runtime.invokeOutput<{ machineConfiguration: string }>(
    TALOS_TOKENS.getConfiguration,
    { ...args },
    { ...PLUGIN, ...opts },
  );
  return pulumi.secret(result);
}

/** Arguments of getClientConfiguration. */
export interface GetClientConfigurationArgs {
  readonly clusterName: pulumi.Input<string>;
  readonly clientConfiguration: pulumi.Input<ClientConfiguration>;
  /** Control-plane addresses talosctl talks to. */
  readonly endpoints?: pulumi.Input<pulumi.Input<string>[]>;
  /** Default target nodes. */
  readonly nodes?: pulumi.Input<pulumi.Input<string>[]>;
}

/** A talosctl client configuration (talosconfig) for admins. The result is secret. */
export function getClientConfigurationOutput(
  args: GetClientConfigurationArgs,
  opts: pulumi.InvokeOutputOptions = {},
): pulumi.Output<{ talosConfig: string }> {
  const result = pulumi.runtime.invokeOutput<{ talosConfig: string }>(
    TALOS_TOKENS.getClientConfiguration,
    { ...args },
    { ...PLUGIN, ...opts },
  );
  return pulumi.secret(result);
}

/** Waits until the cluster is healthy; gate upgrades on it with `dependsOn`. */
export function getHealthOutput(
  args: {
    readonly clientConfiguration: pulumi.Input<ClientConfiguration>;
    readonly endpoints: pulumi.Input<pulumi.Input<string>[]>;
    readonly controlPlaneNodes: pulumi.Input<pulumi.Input<string>[]>;
    readonly workerNodes?: pulumi.Input<pulumi.Input<string>[]>;
    readonly skipKubernetesChecks?: pulumi.Input<boolean>;
    readonly timeouts?: pulumi.Input<{ readonly read?: string }>;
  },
  opts: pulumi.InvokeOutputOptions = {},
): pulumi.Output<Record<string, unknown>> {
  return pulumi.runtime.invokeOutput<Record<string, unknown>>(TALOS_TOKENS.getHealth, { ...args }, { ...PLUGIN, ...opts });
}
