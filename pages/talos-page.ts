/** The Talos Kubernetes page (talos.md): each cluster's nodes, storage and who reaches its APIs. */
import { cell, code, Page, table } from "./markdown";
import type { SegmentDocs } from "../model/contracts";
import { nav, segmentPage, type DocsContext } from "./context";

/** The Talos page: each cluster, its nodes, storage and who reaches its APIs. */
export function renderTalos(ctx: DocsContext): string {
  const from = "talos.md";
  const p = new Page();
  p.heading(1, "Talos Kubernetes");
  p.add(nav(from));
  const clusters = ctx.segments.filter((s) => s.talos);
  if (clusters.length === 0) {
    p.add("No segment declares a Talos cluster.");
    return p.text();
  }
  p.add(
    "Talos nodes run no sshd: they are managed through the Talos API (port 50000) with `talosctl`, and Kubernetes through its API at the VIP.",
  );
  for (const s of clusters) {
    const t = s.talos!;
    p.heading(2, `${t.clusterName} in ${s.name}`);
    p.add(
      table(
        ["", ""],
        [
          ["segment", `[${cell(s.name)}](${segmentPage(s.name)}) ${code(s.subnet)}`],
          ["Kubernetes API", `${code(t.apiEndpoint)} (the VIP, held by the control planes)`],
          ["Talos", code(t.talosVersion)],
          ["Kubernetes", code(t.kubernetesVersion)],
          [
            "etcd",
            `${t.controlPlanes.length} members: tolerates ${Math.floor((t.controlPlanes.length - 1) / 2)} failed control plane${Math.floor((t.controlPlanes.length - 1) / 2) === 1 ? "" : "s"}`,
          ],
        ],
      ),
    );
    const nodeRows = (nodes: typeof t.controlPlanes) =>
      nodes.map((n) => [
        ctx.hostLink(s.name, n.name, from),
        code(n.address),
        n.node ? cell(n.node) : "",
        n.passthrough.length > 0
          ? `pinned, passthrough ${n.passthrough.join(", ")}`
          : n.ha === false
            ? "pinned"
            : n.node
              ? "HA"
              : "physical",
      ]);
    p.heading(3, `Control planes of ${t.clusterName}`);
    p.add(table(["node", "address", "Proxmox node", "placement"], nodeRows(t.controlPlanes)));
    p.heading(3, `Workers of ${t.clusterName}`);
    p.add(table(["node", "address", "Proxmox node", "placement"], nodeRows(t.workers)));
    const storage = ctx.flows.filter((f) => f.kind === "storage" && f.from.zone === s.name);
    p.heading(3, `Storage and reachability of ${t.clusterName}`);
    const api = ctx.flows.filter(
      (f) => f.to.zone === s.name && f.from.zone !== s.name && f.ports.some((x) => x === "50000/tcp" || x === "6443/tcp"),
    );
    p.add(
      [
        storage.length === 0
          ? "No storage mounts."
          : `Storage: ${storage.map((f) => `${cell(f.from.host ?? f.from.label)} → ${cell(f.to.label)} ${f.ports.join(", ")}`).join("; ")}.`,
        api.length === 0
          ? "No flow from another network reaches the Talos or Kubernetes API."
          : `From other networks, the Talos or Kubernetes API is reachable by: ${api.map((f) => `${cell(f.from.label)} (${f.ports.join(", ")}: ${cell(f.reason)})`).join("; ")}.`,
      ].join("\n\n"),
    );
    p.heading(3, `Reaching the APIs of ${t.clusterName}`);
    p.add(adminAccess(s, t));
  }
  return p.text();
}

/**
 * How an admin reaches the cluster's Kubernetes and Talos APIs: through an SSH tunnel from the
 * segment's jump host (its admins may forward TCP), with the credentials the cluster stack exports.
 */
function adminAccess(s: SegmentDocs, t: NonNullable<SegmentDocs["talos"]>): string {
  const jump = s.ssh.targets.find((x) => x.name === s.ssh.entry.jumpHost);
  const first = t.controlPlanes[0];
  if (!jump || !first) return "No jump host or control plane to reach the APIs through.";
  const other = t.workers[0] ?? t.controlPlanes[1] ?? first;
  return [
    `The APIs listen only inside ${cell(s.name)}. From an admin workstation, tunnel through the jump host ${code(jump.alias)} (its entry in [the SSH config](ssh/ssh_config)) and use the credentials the ${code(s.name)} stack exports as secrets:`,
    [
      "```sh",
      `ssh -N -L 6443:${t.vip}:6443 -L 50000:${first.address}:50000 ${jump.alias} &`,
      `pulumi stack output --show-secrets kubeconfig -s ${s.name} > kubeconfig`,
      `pulumi stack output --show-secrets talosconfig -s ${s.name} > talosconfig`,
      "kubectl --kubeconfig kubeconfig --server https://127.0.0.1:6443 get nodes",
      `talosctl --talosconfig talosconfig -e 127.0.0.1 -n ${first.address} health`,
      `talosctl --talosconfig talosconfig -e 127.0.0.1 -n ${other.address} version`,
      "```",
    ].join("\n"),
    `Both APIs' certificates name 127.0.0.1 (every node's patch adds it), so TLS is verified through the tunnel. The Talos API is reached at a control plane, ${cell(first.name)}, never at the VIP: the VIP exists only while etcd does, and recovering etcd is what the Talos API is for. From there ${code("-n")} reaches any node of the cluster.`,
  ].join("\n\n");
}
