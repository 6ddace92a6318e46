/**
 * Running a stack program under Pulumi's mock runtime, with a strict recorder: every
 * resource and invoke is recorded with its type, name, parent and inputs, and answered by
 * the handler of its type or token (cli/mock-providers.ts). A type or token without a
 * handler is an error, so nothing can silently pretend to be a provider.
 * Used by `npm run plan` and by tests/mocks.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { PROJECT, SECRET_PLACEHOLDER } from "../model/lab";
import { INVOKE_HANDLERS, RESOURCE_HANDLERS, SECRET_SIG, SIG } from "./mock-providers";

/** Pulumi's wire marker for assets in mock inputs. */
export const ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17";

/** What a redacted secret looks like in recorded inputs. */
export const REDACTED = SECRET_PLACEHOLDER;

/** One recorded resource. */
export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  /** The parent's name, or undefined for resources at the stack root. */
  readonly parent?: string;
  /** Names of the resources it explicitly depends on. */
  readonly dependsOn?: readonly string[];
  /** The name of its explicit provider, when it has one (a default provider is none). */
  readonly provider?: string;
  /** Properties whose changes the engine ignores (the ignoreChanges option). */
  readonly ignoreChanges?: readonly string[];
  readonly custom: boolean;
  /** Inputs with secrets replaced by "[secret]" and string assets by `{asset, sha256, bytes}`. */
  readonly inputs: Record<string, unknown>;
  /** Paths (dotted) of inputs that were secret. */
  readonly secretInputs: readonly string[];
}

/** One file a resource would upload (a CopyToRemote with a StringAsset). */
export interface UploadedFile {
  readonly resource: string;
  readonly remotePath: string;
  readonly content: string;
}

/** A stack output the referenced stack holds as a secret (see `secretStackOutput`). */
class SecretStackOutput {
  constructor(readonly value: unknown) {}
}

/** Mark one output of a mocked referenced stack as secret, as the engine reports it. */
export function secretStackOutput(value: unknown): unknown {
  return new SecretStackOutput(value);
}

/** Stack outputs of other stacks, by full stack name, for StackReferences. */
export type StackOutputsByName = Readonly<Record<string, Readonly<Record<string, unknown>> | undefined>>;

const known = (table: Readonly<Record<string, unknown>>) => Object.keys(table).sort().join(", ");

/** A strict Mocks implementation that records resources. */
export class Recorder implements pulumi.runtime.Mocks {
  readonly resources: RecordedResource[] = [];
  readonly uploads: UploadedFile[] = [];
  /** Resource name -> parent name, filled by a stack transformation. */
  readonly parents = new Map<string, string | undefined>();
  /** Resource name -> names in its dependsOn option. */
  readonly dependsOn = new Map<string, string[]>();
  /** Resource name -> its ignoreChanges option, filled by the same stack transformation. */
  readonly ignoreChanges = new Map<string, string[]>();
  /** Tokens of every invoke, in call order (the mock sees no secret markers on invoke arguments, so they are not kept). */
  readonly invokes: string[] = [];
  /**
   * What the recorder refused: a type or token it has no handler for. runUnderMocks fails
   * the run on any of these. They are collected rather than thrown: the runtime would only
   * reject the refused resource's own outputs, which nobody may await, and report them
   * after the run as stray rejections.
   */
  readonly refusals: string[] = [];
  /** Unredacted inputs by resource name, with secrets unwrapped: for tests only, never printed. */
  readonly rawInputs = new Map<string, Record<string, unknown>>();

  constructor(
    private readonly references: StackOutputsByName = {},
    private readonly preview = false,
  ) {}

  async newResource(raw: pulumi.runtime.MockResourceArgs): Promise<{ id: string | undefined; state: Record<string, unknown> }> {
    // The mock monitor hands over assets as Asset objects whose text is a promise.
    const args = { ...raw, inputs: (await resolveAssets(raw.inputs)) as Record<string, unknown> };
    if (args.type === "pulumi:pulumi:StackReference") return this.stackReference(args);
    const handler = RESOURCE_HANDLERS[args.type];
    if (args.custom !== false && handler === undefined) {
      this.refusals.push(
        `unexpected resource type ${args.type} (${args.name}): the mock has no handler for it (it knows ${known(RESOURCE_HANDLERS)}); add one to cli/mock-providers.ts if it is intended`,
      );
    }
    this.record(args, args.inputs);
    if (args.type === "command:remote:CopyToRemote") {
      const source = args.inputs.source as Record<string, unknown> | undefined;
      if (source?.[SIG] === ASSET_SIG && typeof source.text === "string") {
        this.uploads.push({ resource: args.name, remotePath: String(args.inputs.remotePath), content: source.text });
      }
    }
    const rawInputs = raw.inputs as Record<string, unknown>;
    if (handler === undefined) return { id: args.custom === false ? undefined : `${args.name}-id`, state: rawInputs };
    // In preview the engine does not know a new resource's id or outputs yet (its inputs may be
    // unknown too): leave them out, so they are unknown, as in a real preview.
    if (this.preview) return { id: undefined, state: rawInputs };
    const created = handler({ name: args.name, inputs: rawInputs });
    return { id: created.id ?? `${args.name}-id`, state: { ...rawInputs, ...created.outputs } };
  }

  /** A StackReference: the referenced stack's outputs, with the names of its secret ones. */
  private stackReference(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
    const name = String((args.inputs as Record<string, unknown>).name);
    if (!(name in this.references)) {
      throw new Error(
        `stack reference to ${name}: no such stack (the mock knows ${Object.keys(this.references).sort().join(", ") || "none"})`,
      );
    }
    const outputs: Record<string, unknown> = {};
    const secretOutputNames: string[] = [];
    for (const [k, v] of Object.entries(this.references[name] ?? {})) {
      // The engine returns a secret output's value as a secret and names it.
      if (v instanceof SecretStackOutput) secretOutputNames.push(k);
      outputs[k] = v instanceof SecretStackOutput ? { [SIG]: SECRET_SIG, value: v.value } : v;
    }
    this.record(args, {});
    return { id: name, state: { outputs, secretOutputNames } };
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    this.invokes.push(args.token);
    const handler = INVOKE_HANDLERS[args.token];
    if (handler === undefined) {
      this.refusals.push(
        `unexpected invoke ${args.token}: the mock has no handler for it (it knows ${known(INVOKE_HANDLERS)}); add one to cli/mock-providers.ts if the program is meant to call it`,
      );
      return {};
    }
    return handler(args.inputs as Record<string, unknown>);
  }

  private record(args: pulumi.runtime.MockResourceArgs, inputs: Record<string, unknown>): void {
    const secretInputs: string[] = [];
    this.rawInputs.set(args.name, unwrapSecrets(inputs) as Record<string, unknown>);
    // An explicit provider arrives as "<provider URN>::<id>"; its name ends the URN.
    const provider = args.provider ? /::([^:]+)::[^:]*$/.exec(args.provider)?.[1] : undefined;
    this.resources.push({
      type: args.type,
      name: args.name,
      ...(provider !== undefined ? { provider } : {}),
      custom: args.custom !== false,
      inputs: redact(inputs, "", secretInputs) as Record<string, unknown>,
      secretInputs,
    });
  }

  /** Resources with their parents filled in (call after the program has finished). */
  withParents(): RecordedResource[] {
    return this.resources.map((r) => {
      const parent = this.parents.get(r.name);
      const deps = this.dependsOn.get(r.name);
      const ignored = this.ignoreChanges.get(r.name);
      return {
        ...r,
        ...(parent !== undefined ? { parent } : {}),
        ...(deps && deps.length > 0 ? { dependsOn: deps } : {}),
        ...(ignored && ignored.length > 0 ? { ignoreChanges: ignored } : {}),
      };
    });
  }
}

/** Replace Asset objects by Pulumi's wire form with the text awaited, so they can be recorded. */
async function resolveAssets(value: unknown): Promise<unknown> {
  if (pulumi.asset.Asset.isInstance(value)) {
    const text: unknown = await (value as { text?: Promise<unknown> }).text;
    return typeof text === "string" ? { [SIG]: ASSET_SIG, text } : { asset: "non-text" };
  }
  if (Array.isArray(value)) return Promise.all((value as unknown[]).map(resolveAssets));
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = await resolveAssets(v);
  return out;
}

/** Replace secrets by "[secret]" (noting their paths) and string assets by a digest. */
export function redact(value: unknown, path: string, secrets: string[]): unknown {
  if (Array.isArray(value)) return value.map((v, i) => redact(v, `${path}[${i}]`, secrets));
  if (value === null || typeof value !== "object") return value;
  const o = value as Record<string, unknown>;
  if (o[SIG] === SECRET_SIG) {
    secrets.push(path || "(root)");
    return REDACTED;
  }
  if (o[SIG] === ASSET_SIG && typeof o.text === "string") {
    return { asset: "text", sha256: createHash("sha256").update(o.text).digest("hex"), bytes: Buffer.byteLength(o.text) };
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) out[k] = redact(o[k], path ? `${path}.${k}` : k, secrets);
  return out;
}

/** Inputs with secret wrappers removed (values kept): for assertions on secret inputs' shape. */
export function unwrapSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value === null || typeof value !== "object") return value;
  const o = value as Record<string, unknown>;
  if (o[SIG] === SECRET_SIG) return unwrapSecrets(o.value);
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, unwrapSecrets(v)]));
}

/** The result of running one stack program under mocks. */
export interface MockRun {
  readonly recorder: Recorder;
  /** The program's outputs as Outputs (to test secretness). */
  readonly outputs: Record<string, pulumi.Output<unknown>>;
  /** Resolved outputs, secrets replaced by "[secret]" (undefined values when unknown in preview). */
  readonly resolved: Record<string, unknown>;
}

/**
 * Run `program` as stack `stack` under mocks: config (with secret keys) is set first, the
 * program runs inside a real root Stack resource so stack transformations (used to
 * record parents) work, and the runtime is drained before returning.
 */
export async function runUnderMocks(opts: {
  readonly stack: string;
  readonly program: () => Record<string, unknown> | Promise<Record<string, unknown>>;
  readonly config?: Readonly<Record<string, string>>;
  readonly secretKeys?: readonly string[];
  readonly references?: StackOutputsByName;
  readonly preview?: boolean;
}): Promise<MockRun> {
  const recorder = new Recorder(opts.references ?? {}, opts.preview ?? false);
  await pulumi.runtime.setMocks(recorder, PROJECT, opts.stack, opts.preview ?? false);
  pulumi.runtime.setAllConfig({ ...(opts.config ?? {}) }, [...(opts.secretKeys ?? [])]);
  // A program error inside an apply reaches the runtime as a rejected registration, which
  // nobody awaits; collect those here so the run fails with the program's own message.
  const errors: unknown[] = [];
  const collect = (e: unknown) => errors.push(e);
  process.on("unhandledRejection", collect);
  let outputs: Record<string, pulumi.Output<unknown>> = {};
  const resolved: Record<string, unknown> = {};
  try {
    await pulumi.runtime.runInPulumiStack(async () => {
      const names = new WeakMap<pulumi.Resource, string>();
      pulumi.runtime.registerStackTransformation((args) => {
        names.set(args.resource, args.name);
        recorder.parents.set(args.name, args.opts.parent ? names.get(args.opts.parent) : undefined);
        const deps = args.opts.dependsOn;
        const list = (deps === undefined ? [] : Array.isArray(deps) ? deps : [deps]) as unknown[];
        recorder.dependsOn.set(args.name, list.map((d) => (pulumi.Resource.isInstance(d) ? (names.get(d) ?? "?") : "(output)")).sort());
        recorder.ignoreChanges.set(args.name, [...(args.opts.ignoreChanges ?? [])]);
        return undefined;
      });
      try {
        const raw = await opts.program();
        outputs = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, pulumi.output(v)]));
      } catch (e) {
        errors.push(e);
      }
      return {};
    });
    // Drain every registration first: a failed one never settles the outputs that depend on it.
    await pulumi.runtime.disconnect();
    await new Promise((r) => setImmediate(r));
    if (errors.length === 0) {
      for (const [k, o] of Object.entries(outputs)) {
        resolved[k] = (await pulumi.isSecret(o)) ? REDACTED : await valueOf(o);
      }
    }
  } finally {
    process.off("unhandledRejection", collect);
  }
  // A refused type or token is a bug in the program or the mock, whatever else went wrong.
  if (recorder.refusals.length > 0) throw new Error(recorder.refusals.join("\n"));
  if (errors.length > 0) throw programError(errors);
  return { recorder, outputs, resolved };
}

/**
 * The error to report for a failed run: the program's own RunError when there is one
 * (its message is for the user), else the first error.
 */
function programError(errors: readonly unknown[]): unknown {
  const run = errors.find((e) => pulumi.RunError.isInstance(e));
  if (run) return run;
  // The runtime wraps an apply's error once per property it passes through:
  // 'error serializing property "create": <message>'. The user needs the message.
  const wrapped = /^(error serializing property "[^"]*": )+/;
  const e = errors.find((x) => x instanceof Error && wrapped.test(x.message));
  if (e instanceof Error) return new pulumi.RunError(e.message.replace(wrapped, ""));
  return errors[0];
}

/** The value of an Output; in preview an unknown value resolves to undefined instead of hanging. */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    // Preview: unknown values never reach apply; isKnown tells us, so resolve undefined.
    void (o as unknown as { isKnown: Promise<boolean> }).isKnown.then((known) => {
      if (!known) resolve(undefined);
    }, reject);
    o.apply((v) => {
      resolve(v);
      return v;
    });
  });
}
