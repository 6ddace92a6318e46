/**
 * Reading a lab from its directory: `Pulumi.yaml`, `homelab.yaml` and every
 * `Pulumi.<stack>.yaml`. Schema problems of all files are collected together; the
 * semantic rules (validate.ts) run only on a lab whose files all parse.
 */
import * as fs from "fs";
import * as path from "path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { buildLab, CONFIG_KEYS, DMZ_STACK, LAB_FILE, PROJECT, type Lab } from "./lab";
import { joinPath, problem, type Problem } from "./problems";
import { DmzFile, LabFile, SegmentFile } from "./schema";
import { PASSWORD_KEY, unknownKeyMessage } from "./schema-kit";
import { didYouMean, suggest } from "./suggest";

/** The raw text-level content of a lab directory, before any schema check. */
export interface LabSources {
  readonly dir: string;
  /** The parsed `homelab.yaml`, or undefined if missing/unparseable (a problem says which). */
  readonly lab: unknown;
  /** Stack name -> its `config:` map (keys such as `homelab:segment`). */
  readonly stacks: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Problems found while reading: missing files, YAML syntax errors. */
  readonly problems: readonly Problem[];
}

const STACK_FILE = /^Pulumi\.([^.]+)\.ya?ml$/;

/** The file name of a stack's settings. */
export function stackFile(stack: string): string {
  return `Pulumi.${stack}.yaml`;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function readYaml(dir: string, file: string, problems: Problem[]): unknown {
  const full = path.join(dir, file);
  if (!fs.existsSync(full)) {
    problems.push(
      problem(
        { file, path: "(file)" },
        undefined,
        `${file} does not exist in ${dir}`,
        `create ${file}; see the reference lab in the repository for its shape`,
      ),
    );
    return undefined;
  }
  const doc = parseDocument(fs.readFileSync(full, "utf8"), { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const where = e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : "(file)";
      problems.push(
        problem(
          { file, path: where },
          undefined,
          `YAML syntax error: ${e.message.split("\n")[0]!.replace(/:\s*$/, "")}`,
          "correct the YAML syntax at that line",
        ),
      );
    }
    return undefined;
  }
  return doc.toJS();
}

/** Read every lab file in `dir`. Never throws for a user mistake; problems say what is wrong. */
export function readLabSources(dir: string): LabSources {
  const problems: Problem[] = [];
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    return {
      dir,
      lab: undefined,
      stacks: {},
      problems: [
        problem(
          { file: dir, path: "(directory)" },
          undefined,
          `${dir} is not a directory`,
          "pass the directory that holds Pulumi.yaml and homelab.yaml",
        ),
      ],
    };
  }
  const project = readYaml(dir, "Pulumi.yaml", problems);
  const projectName = isMap(project) ? project.name : undefined;
  if (project !== undefined && projectName !== PROJECT) {
    problems.push(
      problem(
        { file: "Pulumi.yaml", path: "name" },
        projectName,
        `the project must be named "${PROJECT}": config keys are read as ${PROJECT}:<key>`,
        `set name: ${PROJECT}`,
      ),
    );
  }
  const lab = readYaml(dir, LAB_FILE, problems);
  const stacks: Record<string, Record<string, unknown>> = {};
  for (const entry of fs.readdirSync(dir).sort()) {
    const m = STACK_FILE.exec(entry);
    if (!m) continue;
    const doc = readYaml(dir, entry, problems);
    if (doc === undefined) continue;
    if (doc !== null && !isMap(doc)) {
      problems.push(
        problem(
          { file: entry, path: "(document)" },
          doc,
          `${entry} must be a map with a config: key, but it is ${Array.isArray(doc) ? "a list" : `a ${typeof doc}`}`,
          "write the stack's settings under config:, as in the reference lab's stack files",
        ),
      );
      continue;
    }
    const config = doc === null ? {} : (doc.config ?? {});
    if (typeof config !== "object" || Array.isArray(config)) {
      problems.push(
        problem({ file: entry, path: "config" }, config, "config must be a map of keys to values", "see the reference lab's stack files"),
      );
      continue;
    }
    if (entry !== stackFile(m[1]!)) {
      problems.push(
        problem(
          { file: entry, path: "(file name)" },
          undefined,
          `stack files are named ${stackFile(m[1]!)} in this project`,
          `rename ${entry} to ${stackFile(m[1]!)}`,
        ),
      );
      continue;
    }
    stacks[m[1]!] = config as Record<string, unknown>;
  }
  return { dir, lab, stacks, problems };
}

/** Turn zod issues into problems with config paths, the received value and a fix. */
function zodProblems(file: string, prefix: string, error: z.ZodError, input: unknown): Problem[] {
  const out: Problem[] = [];
  for (const issue of error.issues) {
    const at = joinPath(prefix, ...issue.path);
    if (issue.code === "unrecognized_keys") {
      const parent = valueAt(input, issue.path);
      const known = Object.keys(parent ?? {}).filter((k) => !issue.keys.includes(k));
      for (const key of issue.keys) {
        // obj() joins one message per key with "; " before the next `unknown key "`.
        const msg =
          issue.message.split(/; (?=unknown key ")/).find((m) => m.startsWith(`unknown key "${key}"`)) ?? unknownKeyMessage(key, known);
        out.push(
          problem(
            { file, path: joinPath(at, key) },
            isMap(parent) ? parent[key] : undefined,
            msg,
            msg.includes("did you mean") ? `rename the key to the suggested one` : "remove the key",
          ),
        );
      }
      continue;
    }
    const value = valueAt(input, issue.path);
    const missing = value === undefined;
    out.push(
      problem(
        { file, path: at || "(document)" },
        value,
        missing ? `is required${issue.message.startsWith("Invalid input") ? "" : `: ${issue.message}`}` : issue.message,
        missing ? "add it" : fixFor(issue),
      ),
    );
  }
  return out;
}

function fixFor(issue: z.core.$ZodIssue): string {
  // zod's issue codes are not ours to enumerate: the default covers the codes it may add.
  // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check
  switch (issue.code) {
    case "invalid_value":
      return `use one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "too_small":
      return `give at least ${String(issue.minimum)}`;
    case "too_big":
      return `give at most ${String(issue.maximum)}`;
    case "invalid_type":
      return `give ${/^[aeiou]/.test(issue.expected) ? "an" : "a"} ${issue.expected}`;
    default:
      return "change the value as the message says";
  }
}

function valueAt(input: unknown, p: readonly PropertyKey[]): unknown {
  let v: unknown = input;
  for (const k of p) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/** The result of parsing a lab: the lab when every file is well-formed, and every problem. */
export interface ParsedLab {
  readonly lab?: Lab;
  readonly problems: readonly Problem[];
}

/** Check every file against the schema and build the lab. Semantic rules are validate.ts's job. */
export function parseLab(sources: LabSources): ParsedLab {
  const problems: Problem[] = [...sources.problems];
  let labFile: LabFile | undefined;
  if (sources.lab !== undefined) {
    const r = LabFile.safeParse(sources.lab);
    if (r.success) labFile = r.data;
    else problems.push(...zodProblems(LAB_FILE, "", r.error, sources.lab));
  }

  const segments: Record<string, { file: string; config: SegmentFile }> = {};
  let dmz: DmzFile | undefined;
  for (const stack of Object.keys(sources.stacks).sort()) {
    const file = stackFile(stack);
    const config = sources.stacks[stack]!;
    if (!/^[a-z][a-z0-9-]{0,30}$/.test(stack)) {
      problems.push(
        problem(
          { file, path: "(stack name)" },
          stack,
          "a stack name must be a lower-case DNS label: it names a segment, its hosts' domain and its router",
          "rename the file and the stack",
        ),
      );
      continue;
    }
    const isDmz = stack === DMZ_STACK;
    const allowed: string[] = isDmz ? [CONFIG_KEYS.dmz] : [CONFIG_KEYS.segment, CONFIG_KEYS.deployKey, CONFIG_KEYS.confirmTimeout];
    if (isDmz) allowed.push(CONFIG_KEYS.deployKey, CONFIG_KEYS.confirmTimeout);
    for (const key of Object.keys(config).sort()) {
      if (!key.startsWith(`${PROJECT}:`) || allowed.includes(key)) continue;
      if (PASSWORD_KEY.test(key)) {
        problems.push(problem({ file, path: key }, config[key], unknownKeyMessage(key, allowed), "remove the key"));
        continue;
      }
      const hint = suggest(key, allowed);
      problems.push(
        problem(
          { file, path: key },
          config[key],
          `unknown config key${didYouMean(key, allowed)} (a ${isDmz ? "DMZ" : "segment"} stack reads ${allowed.join(", ")})`,
          hint ? `rename it to ${hint}` : "remove it",
        ),
      );
    }
    const secret = config[CONFIG_KEYS.deployKey];
    if (secret !== undefined && !(typeof secret === "object" && secret !== null && "secure" in secret)) {
      problems.push(
        problem(
          { file, path: CONFIG_KEYS.deployKey },
          "(a private key in plain text, not shown)",
          "the deploy key is stored in plain text in the stack file; it must be an encrypted config secret",
          `delete it from ${file}, rotate the key, then run: pulumi config set --secret ${CONFIG_KEYS.deployKey} -s ${stack} < ~/.ssh/homelab_deploy`,
        ),
      );
    }
    const key = isDmz ? CONFIG_KEYS.dmz : CONFIG_KEYS.segment;
    const raw = config[key];
    if (raw === undefined) {
      problems.push(
        problem(
          { file, path: key },
          undefined,
          `is required: it holds this ${isDmz ? "DMZ" : "segment"}'s facts`,
          `add ${key} to ${file}; see the reference lab`,
        ),
      );
      continue;
    }
    if (isDmz) {
      const r = DmzFile.safeParse(raw);
      if (r.success) dmz = r.data;
      else problems.push(...zodProblems(file, key, r.error, raw));
    } else {
      const r = SegmentFile.safeParse(raw);
      if (r.success) segments[stack] = { file, config: r.data };
      else problems.push(...zodProblems(file, key, r.error, raw));
    }
  }
  if (problems.length > 0 || labFile === undefined) return { problems };
  return { lab: buildLab(labFile, segments, dmz), problems };
}
