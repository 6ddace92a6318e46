/**
 * A stand-in for the Pulumi engine's update decisions over @pulumi/command 1.2.1 resources, across
 * several `pulumi up` runs of one program, for tests that must see what the NEXT run does after a
 * failure (no Pulumi CLI is installed here). It is an emulation, not the engine. It follows:
 *
 * - a resource not in the state is created: its `create` runs;
 * - a resource whose `triggers` changed is replaced: the SDK declares `replaceOnChanges:
 *   ["triggers[*]"]`, so the new one is created (its `create` runs) and the old one deleted
 *   (its `delete`, if any; none of the lab's commands has one);
 * - a resource whose other inputs changed is updated: its `update` runs if it has one, else its
 *   `create` (pulumi-command provider/pkg/provider/{local,remote}/commandController.go, Update);
 * - a resource whose inputs are unchanged is left alone: nothing runs;
 * - a failed create records nothing: the command provider returns its error with no partial state
 *   (pulumi-go-provider infer keeps a partial state only for a ResourceInitFailedError, which the
 *   command provider never returns), so the next run creates it again; a failed update, or a
 *   failed replacement (the new one is created before the old one is deleted), keeps the
 *   previous state;
 * - the first failure ends the run: nothing after it in dependency order runs, and what did not
 *   run keeps its previous state (the engine's default, without --continue-on-error).
 *
 * Resources run one at a time in the program's registration order, which respects dependsOn.
 * How each command really runs (over SSH, locally) is the caller's `exec`.
 */
import type { MockRun } from "../../cli/mock-runtime";

/** What a run did to one resource. */
export type Step = "create" | "replace" | "update" | "same";

/** One command a run executed. */
export interface Executed {
  readonly resource: string;
  readonly type: string;
  readonly step: Exclude<Step, "same">;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** How a caller runs one command of one resource: its type, raw inputs and the command text. */
export type Exec = (
  type: string,
  inputs: Readonly<Record<string, unknown>>,
  command: string,
) => Promise<{ code: number | null; stdout: string; stderr: string }>;

/** The outcome of one run. */
export interface UpResult {
  readonly ok: boolean;
  readonly steps: Readonly<Record<string, Step>>;
  readonly executed: readonly Executed[];
  /** The failed command, when the run failed. */
  readonly failed?: Executed;
}

const COMMAND_TYPES = new Set(["command:remote:Command", "command:local:Command", "command:remote:CopyToRemote"]);

/** Stable JSON: keys sorted, so equal inputs compare equal. */
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable(o[k])}`)
      .join(",")}}`;
  }
  return v === undefined ? "null" : JSON.stringify(v);
}

/** The stack's state between runs: each recorded command resource's inputs. */
export class EmulatedStack {
  private readonly state = new Map<string, { type: string; inputs: Record<string, unknown> }>();

  /** Names of the resources the state holds. */
  recorded(): string[] {
    return [...this.state.keys()].sort();
  }

  /** One `pulumi up` of the program whose registrations `run` recorded. */
  async up(run: MockRun, exec: Exec): Promise<UpResult> {
    const steps: Record<string, Step> = {};
    const executed: Executed[] = [];
    const seen = new Set<string>();
    for (const r of run.recorder.resources) {
      if (!COMMAND_TYPES.has(r.type)) continue;
      seen.add(r.name);
      const inputs = run.recorder.rawInputs.get(r.name)!;
      const old = this.state.get(r.name);
      const step: Step =
        old === undefined || old.type !== r.type
          ? "create"
          : stable(old.inputs["triggers"]) !== stable(inputs["triggers"])
            ? "replace"
            : stable(old.inputs) !== stable(inputs)
              ? "update"
              : "same";
      steps[r.name] = step;
      if (step === "same") continue;
      const chosen = step === "update" ? (inputs["update"] ?? inputs["create"]) : inputs["create"];
      const cmd = typeof chosen === "string" ? chosen : "";
      const out = await exec(r.type, inputs, cmd);
      const done: Executed = { resource: r.name, type: r.type, step, code: out.code, stdout: out.stdout, stderr: out.stderr };
      executed.push(done);
      if (out.code !== 0) {
        // A failed create records nothing; a failed update or replacement keeps the old state.
        if (step === "create") this.state.delete(r.name);
        return { ok: false, steps, executed, failed: done };
      }
      this.state.set(r.name, { type: r.type, inputs: JSON.parse(JSON.stringify(inputs)) as Record<string, unknown> });
    }
    // What the program no longer declares is deleted (no command of the lab has a delete step).
    for (const name of [...this.state.keys()]) if (!seen.has(name)) this.state.delete(name);
    return { ok: true, steps, executed };
  }
}
