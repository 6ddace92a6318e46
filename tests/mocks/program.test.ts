// Proves the stack dispatcher's user-facing failures: an unknown stack, a missing deploy
// key and an invalid lab each give one clear error and declare no resource; and preview
// mode (unknown values) neither hangs nor crashes, with every stack's docs contract known and
// equal to the offline one. It does not run a real engine.
import { planLab } from "../../model/plan";
import { docsOfLab } from "../../pages/contract-dmz";
import { docsOfSegment } from "../../pages/contract-segment";
import { copyLab, referenceLab } from "../support/lab";
import { runStack, segmentReferences } from "../support/mocks";

const declared = (run: Awaited<ReturnType<typeof runStack>>) => run.recorder.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");

test("an unknown stack name lists the known stacks", async () => {
  await expect(runStack("staging")).rejects.toThrow(/unknown stack "staging"; the known stacks are cluster, dmz, internal, lab, sandbox/);
});

test("an update without an ssh-agent says how to start one, and declares nothing", async () => {
  await expect(runStack("lab", { env: {} })).rejects.toThrow(
    /SSH_AUTH_SOCK[\s\S]*is not set: an update logs in[\s\S]*ssh-add ~\/\.ssh\/homelab_deploy/,
  );
});

test("a preview needs no ssh-agent and no deploy key: nothing connects", async () => {
  const run = await runStack("lab", { env: {}, preview: true });
  expect(declared(run).length).toBeGreaterThan(0);
});

test("a deploy key in a stack's config is refused, even encrypted: whoever can preview could decrypt it", async () => {
  const dir = copyLab((f) => (f["Pulumi.lab.yaml"].config["homelab:deployKey"] = { secure: "v1:Y2lwaGVydGV4dA==" }));
  await expect(runStack("lab", { dir })).rejects.toThrow(
    /homelab:deployKey[\s\S]*the deploy key is never stack config[\s\S]*pulumi config rm/,
  );
});

test("an invalid lab fails before any resource is declared, listing every problem", async () => {
  const dir = copyLab((f) => {
    f["Pulumi.lab.yaml"].config["homelab:segment"].hosts.vdi.address = "10.30.0.150";
    // A schema problem would stop validation before the semantic rules; both of these are semantic.
    f["Pulumi.sandbox.yaml"].config["homelab:segment"].router.wanAddress = "192.168.1.13";
  });
  let recorded: number | undefined;
  const err = await runStack("internal", { dir }).then(
    (r) => {
      recorded = declared(r).length;
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(recorded).toBeUndefined();
  expect(err).toBeInstanceOf(Error);
  const message = (err as Error).message;
  expect(message).toMatch(/Pulumi\.lab\.yaml: homelab:segment\.hosts\.vdi\.address/);
  expect(message).toMatch(/Pulumi\.sandbox\.yaml: homelab:segment\.router\.wanAddress = "192\.168\.1\.13"/);
  expect(message).toMatch(/2 problems/);
  expect(message).not.toMatch(/\n\s+at /);
});

test.each(["internal", "cluster", "lab", "sandbox"])(
  "preview of %s completes with unknown releases and a known contract",
  async (stack) => {
    const run = await runStack(stack, { preview: true });
    expect(declared(run).length).toBeGreaterThan(10);
    expect(run.resolved.contract).toMatchObject({ name: stack, version: 6 });
    expect(run.resolved.routerRelease).toBeUndefined();
    // The docs are plain data from the model: known in preview, the same as offline.
    expect(run.resolved.docs).toEqual(JSON.parse(JSON.stringify(docsOfSegment(referenceLab(), planLab(referenceLab()), stack))));
  },
);

test("preview of the DMZ completes: contracts are read, the release is unknown", async () => {
  const run = await runStack("dmz", { preview: true, references: segmentReferences() });
  expect(declared(run).some((r) => r.type === "homelab:nixos:Host" && r.name === "infra")).toBe(true);
  expect(run.resolved.infraRelease).toBeUndefined();
  expect(Array.isArray(run.resolved.catalog)).toBe(true);
  expect(run.resolved.docs).toEqual(JSON.parse(JSON.stringify(docsOfLab(referenceLab(), planLab(referenceLab())).dmz)));
});
