// Proves a segment stack is the list of parts the model gives it: each part decides from
// the model whether it applies, the dispatcher declares those in order and merges their
// outputs in the contract's order, a renamed segment declares the same parts, and part
// wiring mistakes fail by name; it does not prove what each part renders (segment-stack does).
import * as pulumi from "@pulumi/pulumi";
import { runUnderMocks, type MockRun } from "../../cli/mock-runtime";
import { loadContext } from "../../stacks/context";
import { OUTPUTS } from "../../stacks/contracts";
import { SEGMENT_PARTS, type SegmentPart } from "../../stacks/parts";
import { segmentStack } from "../../stacks/segment";
import { copyLab, REPO, type LabFiles } from "../support/lab";
import { ownerReferences, TEST_DATA_SECRETS, TEST_ENV, TEST_PROXMOX_TOKEN, testConfig } from "../support/mocks";

/** A stand-in for a later part: applies where the model has a Talos cluster, and says which. */
const probe: SegmentPart = {
  id: "probe",
  applies: ({ segment }) => segment.talos !== undefined,
  declare: ({ segment }) => {
    new pulumi.ComponentResource("homelab:test:Probe", `probe-${segment.talos!.clusterName}`, {});
    return {};
  },
};

/** Run one segment's stack program with these parts, recording which applied. */
function runSegment(stack: string, parts: readonly SegmentPart[], dir = REPO): Promise<MockRun & { applied: string[] }> {
  const applied: string[] = [];
  const spied = parts.map((p) => ({ ...p, applies: (s: Parameters<SegmentPart["applies"]>[0]) => p.applies(s) && applied.push(p.id) > 0 }));
  return runUnderMocks({
    stack,
    program: () => segmentStack(loadContext(stack, dir, TEST_ENV), spied),
    // The stack's secrets: its Proxmox token, and the data host's passwords where it has one.
    config: testConfig(stack),
    secretKeys: [TEST_PROXMOX_TOKEN.key, ...Object.keys(TEST_DATA_SECRETS)],
    // cluster and lab pass PCI devices through: they read the owner's mappings first.
    references: ownerReferences(),
  }).then((run) => ({ ...run, applied }));
}

const declared = (run: MockRun) =>
  run.recorder
    .withParents()
    .filter((r) => r.type !== "pulumi:pulumi:Stack")
    .map((r) => `${r.type} ${r.name} <- ${r.parent ?? ""}`)
    .sort();

test.each(["lab", "sandbox"])("%s: the parts the model gives it, outputs in the contract's order", async (stack) => {
  const run = await runSegment(stack, SEGMENT_PARTS);
  expect(run.applied).toEqual(["compute", "proxmox-ha", "jump-host", "router", "contracts"]);
  expect(Object.keys(run.resolved)).toEqual([OUTPUTS.contract, OUTPUTS.routerRelease, OUTPUTS.jumpRelease, OUTPUTS.vms, OUTPUTS.docs]);
});

test("cluster: its Talos cluster after its VMs, then its upgrade roll, with the kubeconfig and talosconfig among the outputs", async () => {
  const run = await runSegment("cluster", SEGMENT_PARTS);
  expect(run.applied).toEqual(["compute", "proxmox-ha", "jump-host", "router", "talos", "talos-roll", "contracts"]);
  expect(Object.keys(run.resolved)).toEqual([
    OUTPUTS.contract,
    OUTPUTS.routerRelease,
    OUTPUTS.jumpRelease,
    OUTPUTS.vms,
    OUTPUTS.docs,
    OUTPUTS.talos,
    OUTPUTS.kubeconfig,
    OUTPUTS.talosconfig,
  ]);
});

test("internal: with its data host and its base NixOS host (the monitor), after the jump host it is reached through, and the lab-wide Proxmox objects it owns", async () => {
  const run = await runSegment("internal", SEGMENT_PARTS);
  expect(run.applied).toEqual([
    "proxmox-lab-objects",
    "proxmox-backups",
    "compute",
    "proxmox-ha",
    "jump-host",
    "router",
    "data-host",
    "nixos-base-hosts",
    "contracts",
  ]);
  expect(Object.keys(run.resolved)).toEqual([
    OUTPUTS.contract,
    OUTPUTS.routerRelease,
    OUTPUTS.jumpRelease,
    OUTPUTS.dataRelease,
    OUTPUTS.vms,
    OUTPUTS.proxmox,
    OUTPUTS.docs,
  ]);
});

test("a part applies where the model says so: only the segment with a Talos cluster gets the probe", async () => {
  const withTalos = await runSegment("cluster", [...SEGMENT_PARTS, probe]);
  const without = await runSegment("lab", [...SEGMENT_PARTS, probe]);
  expect(withTalos.applied).toContain("probe");
  expect(declared(withTalos)).toContain("homelab:test:Probe probe-homelab <- ");
  expect(without.applied).not.toContain("probe");
  expect(declared(without).filter((r) => r.startsWith("homelab:test:Probe"))).toEqual([]);
});

/** Rename segment `from` to `to` everywhere the lab names it (stack file, DMZ list, flows, bridges, switches). */
function rename(files: LabFiles, from: string, to: string): void {
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return v === from ? to : v.startsWith(`${from}/`) ? `${to}${v.slice(from.length)}` : v;
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  for (const name of Object.keys(files)) files[name] = walk(files[name]);
  files[`Pulumi.${to}.yaml`] = files[`Pulumi.${from}.yaml`];
  files[`Pulumi.${from}.yaml`] = undefined;
}

test("a renamed segment declares the same parts and resources: nothing depends on its name", async () => {
  const dir = copyLab((f) => {
    rename(f, "cluster", "k8s");
  });
  const renamed = await runSegment("k8s", [...SEGMENT_PARTS, probe], dir);
  const original = await runSegment("cluster", [...SEGMENT_PARTS, probe]);
  expect(renamed.applied).toEqual(original.applied);
  expect(declared(renamed)).toEqual(declared(original));
  expect(renamed.resolved[OUTPUTS.contract]).toMatchObject({ name: "k8s" });
});

test("a part that needs what a later part provides fails naming both", async () => {
  const byId = (id: string) => SEGMENT_PARTS.find((p) => p.id === id)!;
  const rest = SEGMENT_PARTS.filter((p) => p.id !== "jump-host" && p.id !== "router");
  await expect(runSegment("lab", [byId("router"), byId("jump-host"), ...rest])).rejects.toThrow(
    /segment part router needs what part jump-host provides; list jump-host before it in stacks\/parts\/index\.ts/,
  );
});

test("two parts exporting one stack output fail naming both", async () => {
  const twice: SegmentPart = { id: "docs-again", applies: () => true, declare: () => ({ outputs: { [OUTPUTS.docs]: {} } }) };
  await expect(runSegment("lab", [...SEGMENT_PARTS, twice])).rejects.toThrow(
    /segment parts contracts and docs-again both provide the stack output "docs"/,
  );
});
