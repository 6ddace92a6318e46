// Proves Talos nodes have no SSH at all: rule talos.no-ssh's exact message for SSH aimed at a Talos node (an explicit flow on 22/tcp, 22/tcp among its listens, a published service on its port 22), none for SSH to a segment as a whole or to a non-Talos host, and that the plan gives a Talos node no SSH path, no pinned host key, no client config entry and no sshd (no user data, no release); it does not prove Talos itself serves no SSH (no Talos here).
import type { Lab } from "../../model/lab";
import { formatProblems } from "../../model/problems";
import { validateLab } from "../../model/validate";
import { renderSegmentFiles } from "../../render/segment";
import { parseFiles, referenceFiles, referencePlan, segOf, type LabFiles } from "../support/lab";

function labWith(edit: (f: LabFiles) => void): Lab {
  const files = referenceFiles();
  edit(files);
  const parsed = parseFiles(files);
  if (!parsed.lab) throw new Error(`the edit broke the schema:\n${formatProblems(parsed.problems)}`);
  return parsed.lab;
}

const TALOS = "Talos runs no sshd: it is managed through its API (talosctl, port 50000) only";

test.each([
  {
    name: "an explicit flow to a control plane on 22/tcp",
    edit: (f: LabFiles) =>
      (segOf(f, "internal").flows["ssh-cp"] = {
        from: ["jump"],
        to: "cluster/cp-1",
        ports: ["50000/tcp", "22/tcp"],
        reason: "Log in to the control plane from the internal jump host",
      }),
    problem: {
      rule: "talos.no-ssh",
      file: "Pulumi.internal.yaml",
      path: "homelab:segment.flows.ssh-cp.ports[1]",
      value: "22/tcp",
      message: `flow ssh-cp opens SSH to cluster/cp-1, a Talos node; ${TALOS}`,
      fix: "remove 22/tcp from the flow (use talosctl through the Talos API, 50000/tcp, to manage the node)",
    },
  },
  {
    name: "22/tcp among a worker's listens",
    edit: (f: LabFiles) => (segOf(f, "cluster").hosts["worker-1"].listens = ["22/tcp"]),
    problem: {
      rule: "talos.no-ssh",
      file: "Pulumi.cluster.yaml",
      path: "homelab:segment.hosts.worker-1.listens[0]",
      value: "22/tcp",
      message: `cluster/worker-1 is a Talos node and lists 22/tcp among the ports it serves; ${TALOS}`,
      fix: "remove 22/tcp from hosts.worker-1.listens",
    },
  },
  {
    name: "a published service on a control plane's port 22",
    edit: (f: LabFiles) =>
      (segOf(f, "cluster").services["cp-ssh"] = {
        kind: "tcp",
        description: "SSH to a control plane",
        port: 2222,
        backend: { host: "cp-2", port: 22 },
        auth: { kind: "app", note: "keys" },
        exposure: "lab",
      }),
    problem: {
      rule: "talos.no-ssh",
      file: "Pulumi.cluster.yaml",
      path: "homelab:segment.services.cp-ssh.backend.port",
      value: 22,
      message: `service cp-ssh publishes port 22 of cluster/cp-2, a Talos node; ${TALOS}`,
      fix: "remove the service, or point it at a host that serves it",
    },
  },
])("talos.no-ssh: $name", ({ edit, problem }) => {
  const found = validateLab(labWith(edit)).filter((p) => p.rule === "talos.no-ssh");
  expect(found).toEqual([problem]);
});

test("SSH to a segment as a whole, or to a host that is not Talos, is no Talos problem", () => {
  const lab = labWith((f) => {
    segOf(f, "internal").flows["ssh-cluster"] = {
      from: ["jump"],
      to: "cluster",
      ports: ["22/tcp"],
      reason: "Reach the cluster's jump host",
    };
    (segOf(f, "lab").flows ??= {})["ssh-data"] = {
      from: ["vdi"],
      to: "internal/data",
      ports: ["22/tcp"],
      reason: "Reach the data host over SSH",
    };
  });
  expect(validateLab(lab).filter((p) => p.rule === "talos.no-ssh")).toEqual([]);
});

test("the plan gives a Talos node no SSH path, no pinned key, no client config entry and no sshd", () => {
  const plan = referencePlan();
  const talos = plan.segments.cluster!.hosts.filter((h) => h.os === "talos");
  expect(talos.map((h) => h.id).sort()).toEqual(["cp-1", "cp-2", "cp-3", "worker-1", "worker-2", "worker-3"]);
  const boxes = Object.values(plan.sshPaths).flat();
  for (const h of talos) {
    expect(boxes.filter((b) => b.lanAddress === h.address || b.id === h.id)).toEqual([]);
    expect(plan.userData.filter((u) => u.host === h.id)).toEqual([]);
  }
  const client = renderSegmentFiles(plan.segments.cluster!, plan.ssh).filter((f) => f.path === "ssh_config" || f.path === "known_hosts");
  expect(client.map((f) => f.path).sort()).toEqual(["known_hosts", "ssh_config"]);
  for (const f of client) for (const h of talos) expect(f.content).not.toContain(h.address);
  // Talos hosts carry no SSH host key to pin, and no flow of the lab opens 22/tcp to one.
  expect(talos.filter((h) => h.sshHostKey !== undefined)).toEqual([]);
  const toTalos = plan.flows.filter((f) => talos.some((h) => f.to.cidrs.some((c) => c.prefix === 32 && c.contains(h.address))));
  expect(toTalos.filter((f) => f.ports.some((p) => p.port === 22 && p.proto === "tcp"))).toEqual([]);
});
