/**
 * What the mock runtime answers in place of each provider: one handler per custom
 * resource type and one per invoke token, each computing the outputs the real provider
 * would return (ids, hashes, generated credentials), deterministically from the resource's
 * name and inputs, so a plan is the same on every run. A type or token missing here is
 * an error in the recorder: nothing pretends to be a provider it was not written for.
 * Output names and shapes follow the provider schemas in /work/shared/reference
 * (providers.md, next-layers.md).
 */
import { createHash } from "crypto";
import { TALOS_TOKENS } from "../providers/talos";

/** Pulumi's wire markers for secrets in mock state. */
export const SIG = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** What a resource handler is given: the logical name and the inputs (secrets still wrapped). */
export interface MockResource {
  readonly name: string;
  readonly inputs: Readonly<Record<string, unknown>>;
}

/** What a provider returns for a created resource: its id and its output-only properties. */
export interface MockCreated {
  /** @default `${name}-id` */
  readonly id?: string;
  /** Output-only properties; the recorder adds the inputs (the engine echoes them). */
  readonly outputs: Readonly<Record<string, unknown>>;
}

/** Computes a created resource's outputs. */
export type ResourceHandler = (r: MockResource) => MockCreated;
/** Computes an invoke's result from its arguments. */
export type InvokeHandler = (args: Readonly<Record<string, unknown>>) => Record<string, unknown>;

/** A value the engine would return as a secret. */
function secret(value: unknown): Record<string, unknown> {
  return { [SIG]: SECRET_SIG, value };
}

/** A value with its secret wrapper removed, for computing from it. */
function plain(value: unknown): unknown {
  if (value !== null && typeof value === "object" && (value as Record<string, unknown>)[SIG] === SECRET_SIG) {
    return plain((value as Record<string, unknown>).value);
  }
  return value;
}

/** A stable hex digest of the parts. */
function digest(...parts: readonly unknown[]): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex");
}

/** A base64 PEM block standing in for a generated certificate or key (Talos stores PEM base64-encoded). */
function pem(kind: "CERTIFICATE" | "ED25519 PRIVATE KEY", ...seed: readonly string[]): string {
  const body = Buffer.from(digest("pem", kind, ...seed), "hex").toString("base64");
  return Buffer.from(`-----BEGIN ${kind}-----\n${body}\n-----END ${kind}-----\n`).toString("base64");
}

/** A Kubernetes-style token, `[a-z0-9]{6}.[a-z0-9]{16}`. */
function token(...seed: readonly string[]): string {
  const h = BigInt(`0x${digest("token", ...seed)}`)
    .toString(36)
    .padStart(22, "0");
  return `${h.slice(0, 6)}.${h.slice(6, 22)}`;
}

/** 32 random-looking bytes, base64. */
function key32(...seed: readonly string[]): string {
  return Buffer.from(digest("key", ...seed), "hex").toString("base64");
}

const text = (v: unknown, what: string): string => {
  const p = plain(v);
  if (typeof p !== "string") throw new Error(`mock provider: ${what} must be a string, got ${JSON.stringify(p)}`);
  return p;
};

// --- Talos (pulumiverse v0.8.1) ----------------------------------------------------------------

/** The machinery version of the provider (terraform-provider-talos v0.11.0 builds Talos 1.13.0). */
const TALOS_DEFAULT_VERSION = "v1.13.0";

/** talos:machine/secrets:Secrets generates the cluster's PKI and tokens. */
const talosSecrets: ResourceHandler = ({ name, inputs }) => {
  const cert = (role: string) => ({ cert: pem("CERTIFICATE", name, role), key: pem("ED25519 PRIVATE KEY", name, role) });
  const os = cert("os");
  return {
    outputs: {
      talosVersion: plain(inputs.talosVersion) ?? TALOS_DEFAULT_VERSION,
      machineSecrets: secret({
        certs: {
          etcd: cert("etcd"),
          k8s: cert("k8s"),
          k8sAggregator: cert("k8s-aggregator"),
          k8sServiceaccount: { key: pem("ED25519 PRIVATE KEY", name, "sa") },
          os,
        },
        cluster: { id: key32(name, "cluster-id"), secret: key32(name, "cluster-secret") },
        secrets: { bootstrapToken: token(name, "bootstrap"), secretboxEncryptionSecret: key32(name, "secretbox") },
        trustdinfo: { token: token(name, "trustd") },
      }),
      clientConfiguration: secret({
        caCertificate: os.cert,
        clientCertificate: pem("CERTIFICATE", name, "admin"),
        clientKey: pem("ED25519 PRIVATE KEY", name, "admin"),
      }),
    },
  };
};

/**
 * talos:machine/configurationApply:ConfigurationApply echoes the configuration it applied
 * and its hash. `staged_if_needing_reboot` resolves to `auto` on a node that cannot be asked
 * first, as every node is here.
 */
const talosConfigurationApply: ResourceHandler = ({ inputs }) => {
  const config = text(inputs.machineConfigurationInput, "machineConfigurationInput");
  const mode = plain(inputs.applyMode) ?? "auto";
  return {
    outputs: {
      endpoint: plain(inputs.endpoint) ?? plain(inputs.node),
      machineConfiguration: secret(config),
      machineConfigurationHash: createHash("sha256").update(config).digest("hex"),
      resolvedApplyMode: mode === "staged_if_needing_reboot" ? "auto" : mode,
    },
  };
};

/** talos:cluster/kubeconfig:Kubeconfig: an admin kubeconfig for the cluster at `endpoint` (default `node`). */
const talosKubeconfig: ResourceHandler = ({ name, inputs }) => {
  const endpoint = text(inputs.endpoint ?? inputs.node, "endpoint or node");
  const host = `https://${endpoint}:6443`;
  const ca = pem("CERTIFICATE", name, "kubernetes-ca");
  const clientCertificate = pem("CERTIFICATE", name, "kubernetes-admin");
  const clientKey = pem("ED25519 PRIVATE KEY", name, "kubernetes-admin");
  const raw = [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `  - name: ${name}`,
    "    cluster:",
    `      server: ${host}`,
    `      certificate-authority-data: ${ca}`,
    "users:",
    `  - name: admin@${name}`,
    "    user:",
    `      client-certificate-data: ${clientCertificate}`,
    `      client-key-data: ${clientKey}`,
    "contexts:",
    `  - name: admin@${name}`,
    "    context:",
    `      cluster: ${name}`,
    `      user: admin@${name}`,
    `current-context: admin@${name}`,
    "",
  ].join("\n");
  return {
    outputs: {
      endpoint,
      certificateRenewalDuration: plain(inputs.certificateRenewalDuration) ?? "720h",
      kubeconfigRaw: secret(raw),
      kubernetesClientConfiguration: { host, caCertificate: ca, clientCertificate, clientKey: secret(clientKey) },
    },
  };
};

/** talos:machine/getConfiguration:getConfiguration: a minimal machine configuration naming what it was asked for. */
const talosGetConfiguration: InvokeHandler = (args) => {
  const clusterName = text(args.clusterName, "clusterName");
  const endpoint = text(args.clusterEndpoint, "clusterEndpoint");
  const type = text(args.machineType, "machineType");
  if (type !== "controlplane" && type !== "worker")
    throw new Error(`mock talos getConfiguration: machineType "${type}" is not controlplane or worker`);
  // As the provider does, the Kubernetes version becomes the component images' tags (kubelet on
  // every node, the API server on control planes); without one, the provider's default applies.
  const k8s = plain(args.kubernetesVersion) as string | undefined;
  const tag = k8s === undefined ? undefined : `v${k8s.replace(/^v/, "")}`;
  const machineConfiguration = [
    "version: v1alpha1",
    "machine:",
    `  type: ${type}`,
    ...(tag ? ["  kubelet:", `    image: ghcr.io/siderolabs/kubelet:${tag}`] : []),
    "cluster:",
    `  clusterName: ${clusterName}`,
    "  controlPlane:",
    `    endpoint: ${endpoint}`,
    ...(tag && type === "controlplane" ? ["  apiServer:", `    image: registry.k8s.io/kube-apiserver:${tag}`] : []),
    "",
  ].join("\n");
  return { ...args, id: clusterName, talosVersion: plain(args.talosVersion) ?? TALOS_DEFAULT_VERSION, machineConfiguration };
};

/** talos:client/getConfiguration:getConfiguration: a talosconfig with one context named after the cluster. */
const talosGetClientConfiguration: InvokeHandler = (args) => {
  const clusterName = text(args.clusterName, "clusterName");
  const list = (v: unknown) => ((plain(v) as unknown[] | undefined) ?? []).map((x) => String(plain(x)));
  const endpoints = list(args.endpoints);
  const nodes = list(args.nodes);
  const talosConfig = [
    `context: ${clusterName}`,
    "contexts:",
    `  ${clusterName}:`,
    `    endpoints: [${endpoints.join(", ")}]`,
    `    nodes: [${nodes.join(", ")}]`,
    "",
  ].join("\n");
  return { ...args, id: clusterName, talosConfig };
};

// --- Proxmox (@muhlba91/pulumi-proxmoxve 8.6.0) -----------------------------------------------

/** Proxmox's own MAC prefix for generated addresses. */
const PROXMOX_OUI = "BC:24:11";

/**
 * proxmoxve:index/vmLegacy:VmLegacy: its id is the VM id. An unset vmId is allocated (here
 * from the name, so plans are stable); MACs are the devices' own or generated; addresses
 * and interface names come from the guest agent, so they are empty without one.
 */
const proxmoxVm: ResourceHandler = ({ name, inputs }) => {
  const vmId = (plain(inputs.vmId) as number | undefined) ?? 100 + (parseInt(digest("vmid", name).slice(0, 8), 16) % 900_000);
  const nics = (plain(inputs.networkDevices) as Record<string, unknown>[] | undefined) ?? [];
  const macAddresses = nics.map((n, i) => {
    const own = plain(n.macAddress);
    if (typeof own === "string") return own.toUpperCase();
    const h = digest("mac", name, i).toUpperCase();
    return `${PROXMOX_OUI}:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}`;
  });
  const agent = plain(inputs.agent) as { enabled?: unknown } | undefined;
  const withAgent = plain(agent?.enabled) === true;
  const ipConfigs =
    (plain((plain(inputs.initialization) as Record<string, unknown> | undefined)?.ipConfigs) as Record<string, unknown>[] | undefined) ??
    [];
  const ipv4 = nics.map((_, i) => {
    const address = plain((plain(ipConfigs[i]?.ipv4) as Record<string, unknown> | undefined)?.address);
    return typeof address === "string" && address !== "dhcp" ? [address.split("/")[0]!] : [];
  });
  return {
    id: String(vmId),
    outputs: {
      vmId,
      macAddresses,
      ipv4Addresses: withAgent ? [["127.0.0.1"], ...ipv4] : [],
      ipv6Addresses: withAgent ? [["::1"], ...nics.map(() => [])] : [],
      networkInterfaceNames: withAgent ? ["lo", ...nics.map((_, i) => `eth${i}`)] : [],
    },
  };
};

/**
 * proxmoxve:download/file:File: its id is the volume id `<datastore>:<content>/<file>`,
 * what a VM's `cdrom.fileId` or `disks[].importFrom` names. `fileName` defaults to the
 * URL's last path segment.
 */
const proxmoxDownload: ResourceHandler = ({ inputs }) => {
  const url = text(inputs.url, "url");
  const fileName = (plain(inputs.fileName) as string | undefined) ?? new URL(url).pathname.split("/").pop()!;
  const id = `${text(inputs.datastoreId, "datastoreId")}:${text(inputs.contentType, "contentType")}/${fileName}`;
  return {
    id,
    outputs: {
      fileName,
      overwrite: plain(inputs.overwrite) ?? true,
      overwriteUnmanaged: plain(inputs.overwriteUnmanaged) ?? false,
      uploadTimeout: plain(inputs.uploadTimeout) ?? 600,
      verify: plain(inputs.verify) ?? true,
      // The download's size is not knowable offline; a stable stand-in.
      size: parseInt(digest("size", url).slice(0, 6), 16),
    },
  };
};

/**
 * proxmoxve:index/fileLegacy:FileLegacy: its id is the volume id `<datastore>:<content>/<file>`,
 * what a VM's `initialization.userDataFileId` names; a raw source's size is its byte length.
 */
const proxmoxFile: ResourceHandler = ({ inputs }) => {
  const raw = plain(inputs.sourceRaw) as Record<string, unknown> | undefined;
  if (raw === undefined) throw new Error("mock proxmox FileLegacy: only a sourceRaw file is modelled");
  const fileName = text(raw.fileName, "sourceRaw.fileName");
  const data = text(raw.data, "sourceRaw.data");
  return {
    id: `${text(inputs.datastoreId, "datastoreId")}:${text(inputs.contentType, "contentType")}/${fileName}`,
    outputs: {
      fileName,
      fileSize: Buffer.byteLength(data),
      fileModificationDate: "1970-01-01T00:00:00Z",
      fileTag: digest("file", data).slice(0, 16),
      overwrite: plain(inputs.overwrite) ?? true,
    },
  };
};

/** proxmoxve:cluster/firewallLegacy:FirewallLegacy: the one datacenter firewall, id `cluster`. */
const proxmoxClusterFirewall: ResourceHandler = ({ inputs }) => ({
  id: "cluster",
  outputs: {
    enabled: plain(inputs.enabled) ?? false,
    ebtables: plain(inputs.ebtables) ?? true,
    inputPolicy: plain(inputs.inputPolicy) ?? "DROP",
    outputPolicy: plain(inputs.outputPolicy) ?? "ACCEPT",
    forwardPolicy: plain(inputs.forwardPolicy) ?? "ACCEPT",
  },
});

/** A guest's firewall object: its id names the guest (`vm/<node>/<vmid>`), as the provider imports it. */
const guestScope = (inputs: MockResource["inputs"], kind: string): string => {
  const vmId = plain(inputs.vmId);
  if (typeof vmId !== "number") throw new Error(`mock proxmox ${kind}: vmId must be a number, got ${JSON.stringify(vmId)}`);
  return `vm/${text(inputs.nodeName, "nodeName")}/${vmId}`;
};

/** proxmoxve:firewall/optionsLegacy:OptionsLegacy: one per guest; Proxmox's defaults where an input is absent. */
const proxmoxFirewallOptions: ResourceHandler = ({ inputs }) => ({
  id: `${guestScope(inputs, "OptionsLegacy")}/options`,
  outputs: {
    enabled: plain(inputs.enabled) ?? false,
    dhcp: plain(inputs.dhcp) ?? false,
    ipfilter: plain(inputs.ipfilter) ?? false,
    macfilter: plain(inputs.macfilter) ?? true,
    ndp: plain(inputs.ndp) ?? true,
    radv: plain(inputs.radv) ?? false,
    inputPolicy: plain(inputs.inputPolicy) ?? "DROP",
    outputPolicy: plain(inputs.outputPolicy) ?? "ACCEPT",
  },
});

/** proxmoxve:firewall/ipsetLegacy:IpsetLegacy: a guest's set, id `vm/<node>/<vmid>/<name>` (its import id). */
const proxmoxIpset: ResourceHandler = ({ inputs }) => ({
  id: `${guestScope(inputs, "IpsetLegacy")}/${text(inputs.name, "name")}`,
  outputs: {},
});

/** proxmoxve:hardware/mapping/pci:Pci: imported and named by its name, which a VM's hostpci names. */
const proxmoxPci: ResourceHandler = ({ inputs }) => ({
  id: text(inputs.name, "name"),
  outputs: { mediatedDevices: plain(inputs.mediatedDevices) ?? false },
});

/** proxmoxve:index/hagroup:Hagroup: its id is the group's name. */
const proxmoxHagroup: ResourceHandler = ({ inputs }) => ({
  id: text(inputs.group, "group"),
  outputs: { noFailback: plain(inputs.noFailback) ?? false, restricted: plain(inputs.restricted) ?? false },
});

/** proxmoxve:index/haresource:Haresource: its id is the resource id (`vm:123`); the type comes from it. */
const proxmoxHaresource: ResourceHandler = ({ inputs }) => {
  const id = text(inputs.resourceId, "resourceId");
  if (!/^(vm|ct):\d+$/.test(id)) throw new Error(`mock proxmox Haresource: resourceId "${id}" is not vm:<id> or ct:<id>`);
  return { id, outputs: { state: plain(inputs.state) ?? "started", type: plain(inputs.type) ?? id.split(":")[0] } };
};

/** proxmoxve:index/harule:Harule: its id is the rule's name. */
const proxmoxHarule: ResourceHandler = ({ inputs }) => {
  const type = text(inputs.type, "type");
  if (type !== "node-affinity" && type !== "resource-affinity")
    throw new Error(`mock proxmox Harule: type "${type}" is not node-affinity or resource-affinity`);
  return { id: text(inputs.rule, "rule"), outputs: { disable: plain(inputs.disable) ?? false, strict: plain(inputs.strict) ?? false } };
};

/**
 * proxmoxve:index/replication:Replication: its id is the job id `<guest>-<jobnum>`, which it
 * splits into its outputs. The source node is Proxmox's to report, unknown here.
 */
const proxmoxReplication: ResourceHandler = ({ inputs }) => {
  const id = text(inputs.resourceId, "resourceId");
  const m = /^(\d+)-(\d+)$/.exec(id);
  if (!m) throw new Error(`mock proxmox Replication: resourceId "${id}" is not <guest>-<jobnum>`);
  return {
    id,
    outputs: {
      guest: Number(m[1]),
      jobnum: Number(m[2]),
      schedule: plain(inputs.schedule) ?? "*/15",
      disable: plain(inputs.disable) ?? false,
    },
  };
};

/**
 * proxmoxve:backup/job:Job: a cluster backup job, its id the job id (resourceId). vmids must be
 * strings, as the provider types them: a number would be a bug in the program.
 */
const proxmoxBackupJob: ResourceHandler = ({ inputs }) => {
  const id = text(inputs.resourceId, "resourceId");
  const vmids = plain(inputs.vmids);
  if (vmids !== undefined && (!Array.isArray(vmids) || vmids.some((v) => typeof v !== "string" || !/^\d+$/.test(v))))
    throw new Error(`mock proxmox backup Job ${id}: vmids ${JSON.stringify(vmids)} is not a list of VM ids as strings`);
  return { id, outputs: { enabled: plain(inputs.enabled) ?? true, all: plain(inputs.all) ?? false } };
};

// --- the registry -------------------------------------------------------------------------------

const none: ResourceHandler = () => ({ outputs: {} });

/** Every custom resource type the program may declare, with what its provider returns. */
export const RESOURCE_HANDLERS: Readonly<Record<string, ResourceHandler>> = {
  // @pulumi/command 1.2.1: a command's output is what it printed; the mock's commands print "ok".
  "command:remote:Command": () => ({ outputs: { stdout: "ok\n", stderr: "" } }),
  "command:remote:CopyToRemote": none,
  "command:local:Command": () => ({ outputs: { stdout: "ok\n", stderr: "" } }),
  [TALOS_TOKENS.provider]: none,
  [TALOS_TOKENS.secrets]: talosSecrets,
  [TALOS_TOKENS.configurationApply]: talosConfigurationApply,
  [TALOS_TOKENS.bootstrap]: none,
  [TALOS_TOKENS.kubeconfig]: talosKubeconfig,
  "pulumi:providers:proxmoxve": none,
  "proxmoxve:index/vmLegacy:VmLegacy": proxmoxVm,
  "proxmoxve:download/file:File": proxmoxDownload,
  "proxmoxve:index/fileLegacy:FileLegacy": proxmoxFile,
  "proxmoxve:cluster/firewallLegacy:FirewallLegacy": proxmoxClusterFirewall,
  "proxmoxve:firewall/optionsLegacy:OptionsLegacy": proxmoxFirewallOptions,
  "proxmoxve:firewall/ipsetLegacy:IpsetLegacy": proxmoxIpset,
  "proxmoxve:hardware/mapping/pci:Pci": proxmoxPci,
  "proxmoxve:index/hagroup:Hagroup": proxmoxHagroup,
  "proxmoxve:index/haresource:Haresource": proxmoxHaresource,
  "proxmoxve:index/harule:Harule": proxmoxHarule,
  "proxmoxve:index/replication:Replication": proxmoxReplication,
  "proxmoxve:backup/job:Job": proxmoxBackupJob,
};

/** Every invoke token the program may call, with what its provider returns. */
export const INVOKE_HANDLERS: Readonly<Record<string, InvokeHandler>> = {
  [TALOS_TOKENS.getConfiguration]: talosGetConfiguration,
  [TALOS_TOKENS.getClientConfiguration]: talosGetClientConfiguration,
  // The health check returns nothing but its inputs; it matters for what waits on it.
  [TALOS_TOKENS.getHealth]: (args) => ({ ...args, id: "health" }),
};
