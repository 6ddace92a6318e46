// Proves what the cluster stack declares for its Talos cluster under the strict mock recorder: six
// Talos VMs with Talos's Proxmox settings (the three workers on a passed-through NIC), booted from
// the checksummed factory ISO; one configuration apply per node with its rendered patch, after its
// VM; exactly one bootstrap, after the first control plane's apply, with its node frozen; the
// health check after the bootstrap and the kubeconfig after it; the machine secrets protected and
// kept from version bumps; kubeconfig, talosconfig and machine secrets secret in the outputs and
// marked secret for the state; and that a preview with unknowns finishes. It does not prove that
// Talos or Proxmox accept these inputs (no plugin, VM or cluster here).
import * as pulumi from "@pulumi/pulumi";
import { REDACTED, runUnderMocks, type MockRun, type RecordedResource } from "../../cli/mock-runtime";
import { TalosCluster } from "../../components/talos-cluster";
import { planLab } from "../../model/plan";
import { talosNodes } from "../../model/talos/plan";
import { TALOS_TOKENS } from "../../providers/talos";
import { renderTalosPatch } from "../../render/talos-patches";
import { OUTPUTS } from "../../stacks/contracts";
import { referenceLab } from "../support/lab";
import { runStack } from "../support/mocks";

const VM = "proxmoxve:index/vmLegacy:VmLegacy";
const CONTROL_PLANES = ["cp-1", "cp-2", "cp-3"];
const WORKERS = ["worker-1", "worker-2", "worker-3"];
const NODES = [...CONTROL_PLANES, ...WORKERS];

let run: MockRun;
let preview: MockRun;
beforeAll(async () => {
  run = await runStack("cluster");
  preview = await runStack("cluster", { preview: true });
});

const all = (r: MockRun): RecordedResource[] => r.recorder.withParents();
const ofType = (r: MockRun, type: string) => all(r).filter((x) => x.type === type);
const named = (r: MockRun, name: string): RecordedResource => {
  const found = all(r).find((x) => x.name === name);
  if (!found) throw new Error(`no resource ${name}`);
  return found;
};
const plan = () => planLab(referenceLab()).talos.cluster!;

test("six Talos VMs with Talos's Proxmox settings; the three workers reach the cluster through a passed-through NIC", () => {
  const vms = ofType(run, VM).filter((v) => NODES.includes(v.name.replace(/-vm-qemu$/, "")));
  expect(vms.map((v) => v.name).sort()).toEqual(NODES.map((n) => `${n}-vm-qemu`).sort());
  for (const v of vms) {
    const host = v.name.replace(/-vm-qemu$/, "");
    const i = v.inputs as Record<string, any>;
    expect([host, i.machine, i.bios, i.efiDisk?.type, i.cpu?.type, i.memory?.floating, i.scsiHardware]).toEqual([
      host,
      "q35",
      "ovmf",
      "4m",
      "host",
      0,
      "virtio-scsi-pci",
    ]);
    expect([host, i.agent?.enabled, i.cdrom?.interface, i.cdrom?.fileId]).toEqual([
      host,
      true,
      "ide0",
      `local:iso/cluster-talos-v1-13-0.iso`,
    ]);
    const pci = ((i.hostpcis ?? []) as { mapping: string }[]).map((p) => p.mapping);
    const worker = WORKERS.includes(host);
    // A worker's only NIC is the passed-through one; a control plane has one bridged NIC and no device.
    expect([host, pci, ((i.networkDevices ?? []) as unknown[]).length]).toEqual([
      host,
      worker ? [`${i.nodeName}-nic0`] : [],
      worker ? 0 : 1,
    ]);
  }
});

test("the nodes boot the factory ISO of the cluster's schematic, downloaded with its checksum, and install the same schematic", () => {
  const files = ofType(run, "proxmoxve:download/file:File").filter((f) => String(f.inputs.fileName).includes("talos"));
  expect(files.length).toBeGreaterThan(0);
  const id = plan().schematic.id;
  for (const f of files) {
    expect(f.inputs).toMatchObject({
      contentType: "iso",
      url: expect.stringContaining(`/image/${id}/v1.13.0/`),
      checksumAlgorithm: "sha256",
    });
    expect(f.inputs.checksum).toMatch(/^[0-9a-f]{64}$/);
  }
  expect(plan().installerImage).toBe(`factory.talos.dev/installer/${id}:v1.13.0`);
});

test("one configuration apply per node, under the cluster, after its VM, carrying its rendered patch", () => {
  const applies = ofType(run, TALOS_TOKENS.configurationApply);
  expect(applies.map((a) => a.name).sort()).toEqual(NODES.map((n) => `homelab-apply-${n}`).sort());
  for (const node of talosNodes(plan())) {
    const a = named(run, `homelab-apply-${node.host}`);
    expect(a.parent).toBe("homelab");
    expect(a.provider).toBe("talos");
    expect(a.dependsOn).toEqual([`${node.host}-vm`]);
    expect(a.inputs).toMatchObject({
      node: node.address,
      applyMode: "staged_if_needing_reboot",
      configPatches: [renderTalosPatch(plan(), node)],
    });
    expect(a.secretInputs).toEqual(expect.arrayContaining(["machineConfigurationInput", "clientConfiguration"]));
    expect(a.inputs.machineConfigurationInput).toBe(REDACTED);
  }
  expect(named(run, "homelab").type).toBe("homelab:talos:Cluster");
});

test("exactly one bootstrap, on the first control plane, after its apply and nothing else; its node is never re-planned", () => {
  const boots = ofType(run, TALOS_TOKENS.bootstrap);
  expect(boots).toHaveLength(1);
  expect(boots[0]).toMatchObject({
    name: "homelab-bootstrap",
    parent: "homelab",
    dependsOn: ["homelab-apply-cp-1"],
    ignoreChanges: ["node", "endpoint"],
    inputs: { node: "10.20.0.11" },
  });
});

test("the health check is invoked; the kubeconfig is fetched after the bootstrap", () => {
  expect(run.recorder.invokes).toEqual(
    expect.arrayContaining([TALOS_TOKENS.getHealth, TALOS_TOKENS.getConfiguration, TALOS_TOKENS.getClientConfiguration]),
  );
  expect(named(run, "homelab-kubeconfig")).toMatchObject({
    parent: "homelab",
    dependsOn: ["homelab-bootstrap"],
    inputs: { node: "10.20.0.11" },
  });
});

test("kubeconfig and talosconfig are secret stack outputs; the node list is plain", async () => {
  for (const name of [OUTPUTS.kubeconfig, OUTPUTS.talosconfig]) {
    expect([name, await pulumi.isSecret(run.outputs[name]!), run.resolved[name]]).toEqual([name, true, REDACTED]);
  }
  expect(await pulumi.isSecret(run.outputs[OUTPUTS.talos]!)).toBe(false);
  expect(run.resolved[OUTPUTS.talos]).toMatchObject({
    installerImage: plan().installerImage,
    nodes: NODES.map((host) => expect.objectContaining({ host })),
  });
});

test("a preview of a new cluster, with every provider output unknown, finishes and declares the same resources", async () => {
  const names = (r: MockRun) =>
    all(r)
      .filter((x) => x.type.startsWith("talos:"))
      .map((x) => x.name)
      .sort();
  expect(names(preview)).toEqual(names(run));
  expect(preview.resolved[OUTPUTS.talos]).toEqual(run.resolved[OUTPUTS.talos]);
  // A preview never runs the health check: it would block on a degraded cluster, and an up previews first.
  expect(preview.recorder.invokes).not.toContain(TALOS_TOKENS.getHealth);
  expect(await pulumi.isSecret(preview.outputs[OUTPUTS.kubeconfig]!)).toBe(true);
});

describe("the component's options", () => {
  const seen = new Map<string, pulumi.CustomResourceOptions>();
  let direct: MockRun;
  beforeAll(async () => {
    direct = await runUnderMocks({
      stack: "cluster",
      program: () => {
        pulumi.runtime.registerStackTransformation((args) => {
          seen.set(args.name, args.opts);
          return undefined;
        });
        const cluster = new TalosCluster("homelab", { plan: plan() });
        return {
          machineSecrets: cluster.secrets.machineSecrets,
          clientConfiguration: cluster.clientConfiguration,
          kubeconfig: cluster.kubeconfig,
          healthy: cluster.healthy,
        };
      },
    });
  });

  test("the machine secrets are protected from deletion and replacement, and a Talos version bump does not touch them", () => {
    expect(seen.get("homelab-secrets")).toMatchObject({ protect: true, ignoreChanges: ["talosVersion"] });
  });

  test("the health gate resolves, in plain, once the health check has run", async () => {
    expect(direct.recorder.invokes).toContain(TALOS_TOKENS.getHealth);
    expect([await pulumi.isSecret(direct.outputs.healthy!), direct.resolved.healthy]).toEqual([false, true]);
  });

  test("the machine secrets, client credentials and kubeconfig are secret outputs and marked secret for the state", async () => {
    expect(seen.get("homelab-secrets")?.additionalSecretOutputs).toEqual(expect.arrayContaining(["machineSecrets", "clientConfiguration"]));
    expect(seen.get("homelab-kubeconfig")?.additionalSecretOutputs).toEqual(
      expect.arrayContaining(["kubeconfigRaw", "kubernetesClientConfiguration"]),
    );
    for (const name of ["machineSecrets", "clientConfiguration", "kubeconfig"]) {
      expect([name, await pulumi.isSecret(direct.outputs[name]!), direct.resolved[name]]).toEqual([name, true, REDACTED]);
    }
  });
});
