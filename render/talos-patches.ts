/**
 * Each Talos node's machine-configuration patch: one strategic-merge patch of several YAML
 * documents (Talos 1.12+ multi-document configuration), rendered from the cluster plan alone.
 *
 * - the v1alpha1 part: the install disk and the installer image of the cluster's one schematic,
 *   the node labels, and 127.0.0.1 among the certificate names (an admin reaches the Talos and
 *   Kubernetes APIs through an SSH tunnel from the jump host, which arrives at 127.0.0.1);
 * - HostnameConfig: the host id as its name, automatic names off;
 * - LinkAliasConfig + LinkConfig: the link with the node's MAC, named `lan0`, with its static
 *   address and the segment router as the default route (a passed-through NIC has a name Talos
 *   picks, so the link is found by MAC, never by name);
 * - Layer2VIPConfig (control planes only): the API VIP on that link;
 * - ResolverConfig and TimeSyncConfig: the DMZ's DNS and NTP servers, the only ones the
 *   segment's flows let through.
 * No secret is ever in a patch: the machine secrets reach the configuration through the provider.
 */
import { stringify } from "yaml";
import { talosNodes, type TalosClusterPlan, type TalosNode } from "../model/talos/plan";
import type { TextFile } from "./files";
import { generatedHeader } from "./header";

/** The name the node's cluster link gets (an alias: never a kernel name such as eth0 or ens18). */
export const TALOS_LINK = "lan0";

/** Talos's API version of every multi-document configuration document. */
const DOC_VERSION = "v1alpha1";

type Doc = Readonly<Record<string, unknown>>;

/** The documents of one node's patch, in the order they are printed. */
export function talosPatchDocuments(plan: TalosClusterPlan, node: TalosNode): Doc[] {
  const controlPlane = node.type === "controlplane";
  const machine: Doc = {
    install: { ...(node.installDisk !== undefined ? { disk: node.installDisk } : {}), image: plan.installerImage },
    nodeLabels: { ...node.labels },
    certSANs: ["127.0.0.1"],
  };
  const v1alpha1: Doc = controlPlane ? { machine, cluster: { apiServer: { certSANs: ["127.0.0.1"] } } } : { machine };
  return [
    v1alpha1,
    { apiVersion: DOC_VERSION, kind: "HostnameConfig", hostname: node.host, auto: "off" },
    {
      apiVersion: DOC_VERSION,
      kind: "LinkAliasConfig",
      name: TALOS_LINK,
      selector: { match: `mac(link.permanent_addr) == "${node.mac}"` },
    },
    {
      apiVersion: DOC_VERSION,
      kind: "LinkConfig",
      name: TALOS_LINK,
      addresses: [{ address: `${node.address}/${node.prefix}` }],
      routes: [{ gateway: node.gateway }],
    },
    ...(controlPlane ? [{ apiVersion: DOC_VERSION, kind: "Layer2VIPConfig", name: plan.vip, link: TALOS_LINK }] : []),
    { apiVersion: DOC_VERSION, kind: "ResolverConfig", nameservers: plan.nameservers.map((address) => ({ address })) },
    { apiVersion: DOC_VERSION, kind: "TimeSyncConfig", ntp: { servers: [...plan.timeServers] } },
  ];
}

/** One node's patch as YAML text: a header, then its documents separated by `---`. */
export function renderTalosPatch(plan: TalosClusterPlan, node: TalosNode): string {
  const header = generatedHeader(
    "#",
    `Talos configuration patch of ${node.host} (${plan.clusterName} in ${plan.segment})`,
    "render/talos-patches.ts",
  );
  return (
    header +
    talosPatchDocuments(plan, node)
      .map((d) => stringify(d, { lineWidth: 0 }))
      .join("---\n")
  );
}

/** The cluster's rendered files, as the plan writes them: each node's patch and the schematic. */
export function renderTalosFiles(plan: TalosClusterPlan): TextFile[] {
  return [
    ...talosNodes(plan).map((n) => ({ path: `talos/${n.host}.patch.yaml`, content: renderTalosPatch(plan, n) })),
    { path: "talos/schematic.yaml", content: plan.schematic.yaml },
  ];
}
