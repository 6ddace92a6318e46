// Proves the contract reader carries a secret field (a kubeconfig) across a StackReference as
// a secret Output end to end: it is read secret, used as a resource input and an uploaded
// file without ever appearing in clear in recorded inputs, outputs or uploads; and a plain,
// missing or malformed secret, a secret plain part or a missing stack is one clear problem
// that never quotes the secret. It does not run a real engine.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { REDACTED, runUnderMocks, secretStackOutput, valueOf, type StackOutputsByName } from "../../cli/mock-runtime";
import { readReference, type ContractSpec } from "../../stacks/contracts";

const STACK = "organization/homelab/cluster";
const SENTINEL = "KUBECONFIG-SENTINEL-51d2";
const KUBECONFIG = `apiVersion: v1\nkind: Config\nusers:\n  - name: admin\n    user:\n      client-key-data: ${SENTINEL}\n`;

/** A contract the way a Kubernetes platform will read its cluster: plain facts plus a secret kubeconfig. */
const ACCESS: ContractSpec<z.ZodType, { kubeconfig: z.ZodString }> = {
  output: "access",
  version: 1,
  schema: z.object({ version: z.literal(1), clusterName: z.string(), apiEndpoint: z.string() }),
  fix: "run `pulumi up -s cluster` from this commit first",
  missing: "the cluster is not deployed",
  secrets: { kubeconfig: { output: "kubeconfig", schema: z.string().startsWith("apiVersion: v1") } },
};

const access = { version: 1, clusterName: "homelab", apiEndpoint: "https://10.20.0.10:6443" };

/** A program that reads the contract and hands the kubeconfig to a command and an upload. */
async function program(): Promise<Record<string, unknown>> {
  const read = await readReference<typeof access, { kubeconfig: z.ZodString }>(new pulumi.StackReference(STACK), STACK, ACCESS);
  if (!read.ok) throw new pulumi.RunError(read.problems.join("\n"));
  const { kubeconfig } = read.value.secrets;
  const connection = { host: "10.20.0.5", user: "deploy" };
  new command.remote.Command("kubectl-apply", { connection, create: "kubectl --kubeconfig /dev/stdin apply -f -", stdin: kubeconfig });
  new command.remote.CopyToRemote("kubeconfig-upload", {
    connection,
    remotePath: "/etc/homelab/kubeconfig",
    source: kubeconfig.apply((k) => new pulumi.asset.StringAsset(k)),
  });
  return { clusterName: read.value.value.clusterName, kubeconfig };
}

const run = (outputs: Record<string, unknown>) => {
  const references: StackOutputsByName = { [STACK]: outputs };
  return runUnderMocks({ stack: "lab", program, references });
};

describe("a secret field read through the contract reader", () => {
  let result: Awaited<ReturnType<typeof run>>;
  beforeAll(async () => {
    result = await run({ access, kubeconfig: secretStackOutput(KUBECONFIG) });
  });

  test("is a secret Output holding the writer's value", async () => {
    expect(await pulumi.isSecret(result.outputs.kubeconfig!)).toBe(true);
    expect(await valueOf(result.outputs.kubeconfig!)).toBe(KUBECONFIG);
    expect(result.resolved).toEqual({ clusterName: "homelab", kubeconfig: REDACTED });
  });

  test("stays secret as a resource input and as an uploaded file", () => {
    const byName = (n: string) => result.recorder.resources.find((r) => r.name === n)!;
    expect(byName("kubectl-apply").secretInputs).toContain("stdin");
    expect(byName("kubectl-apply").inputs.stdin).toBe(REDACTED);
    expect(byName("kubeconfig-upload").secretInputs).toContain("source");
    // What the recorder keeps for tests unwrapped is the real value: the redaction above is not vacuous.
    expect(result.recorder.rawInputs.get("kubectl-apply")!.stdin).toBe(KUBECONFIG);
  });

  test("never appears in clear in recorded inputs, outputs or rendered files", () => {
    const everything = JSON.stringify({
      resources: result.recorder.withParents(),
      outputs: result.resolved,
      uploads: result.recorder.uploads,
    });
    expect(everything).not.toContain(SENTINEL);
  });
});

test.each([
  [
    "exported in clear",
    { access, kubeconfig: KUBECONFIG },
    /output kubeconfig is not secret, and it must cross stacks as one\. Fix: export it with pulumi\.secret/,
  ],
  ["never exported", { access }, /stack organization\/homelab\/cluster has no "kubeconfig" output\. Fix: run `pulumi up -s cluster`/],
  [
    "malformed",
    { access, kubeconfig: secretStackOutput(`kind: Config\n${SENTINEL}`) },
    /secret output kubeconfig: .*\. Fix: run `pulumi up -s cluster`/,
  ],
  [
    "with a secret plain part",
    { access: secretStackOutput(access), kubeconfig: secretStackOutput(KUBECONFIG) },
    /output access is secret; a contract never holds a secret\. Fix: run `pulumi up -s cluster`/,
  ],
])("a secret field %s is one clear problem that never quotes the secret", async (_case, outputs, message) => {
  const err = await run(outputs).then(
    () => new Error("the run succeeded"),
    (e: unknown) => e as Error,
  );
  expect(err.message).toMatch(message);
  expect(err.message).not.toContain(SENTINEL);
});

// A missing stack fails the engine's read of the reference. Under mocks that failure also
// rejects promises nobody holds, which jest reports on its own; so the reader meets it here
// through a reference whose reads fail the way the engine's do.
test("a stack that cannot be read is one problem naming it and the fix", async () => {
  const gone = {
    getOutputDetails: () => Promise.reject(new Error("unknown stack organization/homelab/cluster")),
    requireOutput: () => {
      throw new Error("must not be called");
    },
  };
  expect(await readReference(gone, STACK, ACCESS)).toEqual({
    ok: false,
    problems: [
      "stack organization/homelab/cluster cannot be read (unknown stack organization/homelab/cluster): it does not exist or this account cannot see it. Fix: run `pulumi up -s cluster` from this commit first",
    ],
  });
});
