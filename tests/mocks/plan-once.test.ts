// Proves: an offline plan of every stack (each stack program loads and validates the whole lab, as a real `pulumi up` does in its own process) parses each lab file once and validates the lab once in one process, and renders each segment's files once although both its stack and the plan's file list read them; the floor of bench/plan-floor.ts declares exactly the plan's resources; does not prove the plan's speed (bench/plan-scale.ts).
import { planStacks } from "../../cli/plan";
import * as validate from "../../model/validate";
import * as yamlFile from "../../model/yaml-file";
import * as nftables from "../../render/nftables";
import { runFloor } from "../../bench/plan-floor";
import type { RecordedResource } from "../../cli/mock-runtime";
import { copyLab } from "../support/lab";

// Counted, not changed: each wraps the real function.
jest.mock("../../model/validate", () => {
  const real = jest.requireActual<typeof validate>("../../model/validate");
  return { ...real, validateLab: jest.fn(real.validateLab) };
});
jest.mock("../../model/yaml-file", () => {
  const real = jest.requireActual<typeof yamlFile>("../../model/yaml-file");
  return { ...real, parseYamlFile: jest.fn(real.parseYamlFile) };
});
jest.mock("../../render/nftables", () => {
  const real = jest.requireActual<typeof nftables>("../../render/nftables");
  return { ...real, renderRouterNftables: jest.fn(real.renderRouterNftables) };
});
const calls = (f: unknown) => (f as jest.Mock).mock.calls.length;

test("every stack of a plan shares one read, one validation and one render per segment", async () => {
  const dir = copyLab();
  jest.clearAllMocks();
  const plan = await planStacks({ dir, stacks: [] });
  expect(plan.stacks.map((s) => s.stack)).toEqual(["cluster", "internal", "lab", "sandbox", "dmz"]);
  // Pulumi.yaml, homelab.yaml and five stack files.
  expect(calls(yamlFile.parseYamlFile)).toBe(7);
  expect(calls(validate.validateLab)).toBe(1);
  expect(calls(nftables.renderRouterNftables)).toBe(4);
});

test("the floor declares the plan's resources: types, names, parents, dependencies and inputs", async () => {
  const plan = await planStacks({ dir: copyLab(), stacks: [] });
  const floor = await runFloor(plan, "organization/homelab");
  const shape = (rs: readonly RecordedResource[]) =>
    rs
      .filter((r) => r.type !== "pulumi:pulumi:Stack")
      .map((r) => ({ ...r, dependsOn: r.dependsOn ?? [] }))
      .sort((a, b) => `${a.type} ${a.name}`.localeCompare(`${b.type} ${b.name}`));
  expect(floor.map((s) => s.stack).sort()).toEqual(plan.stacks.map((s) => s.stack).sort());
  for (const s of floor) expect(shape(s.resources)).toEqual(shape(plan.stacks.find((p) => p.stack === s.stack)!.resources));
});
