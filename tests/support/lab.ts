/** Test helpers: the reference lab (the repository's own config) and mutated copies of it. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Document, parseDocument } from "yaml";
import { requireLab } from "../../model/check";
import type { Lab } from "../../model/lab";
import { parseLab, readLabSources, type LabSources, type ParsedLab } from "../../model/load";
import { planLab, type PlannedLab } from "../../model/plan";

/** The repository root, which holds the reference lab. */
export const REPO = path.resolve(__dirname, "../..");

let cached: Lab | undefined;
let cachedPlan: PlannedLab | undefined;
let cachedSources: LabSources | undefined;

/** The reference lab, parsed and validated (throws with the problem list if it is not valid). */
export function referenceLab(): Lab {
  return (cached ??= requireLab(REPO));
}

/** The reference lab's plan (planned once; treat it as read-only). */
export function referencePlan(): PlannedLab {
  return (cachedPlan ??= planLab(referenceLab()));
}

/**
 * A lab's config files as parsed YAML, in memory: `homelab.yaml` and every
 * `Pulumi.<stack>.yaml` (as `{ config }`). Tests edit them freely.
 */
export type LabFiles = Record<string, any>;

/** A fresh copy of the reference lab's files (see LabFiles). */
export function referenceFiles(): LabFiles {
  const sources = (cachedSources ??= readLabSources(REPO));
  const files: LabFiles = { "homelab.yaml": structuredClone(sources.lab) };
  for (const [stack, config] of Object.entries(sources.stacks)) files[`Pulumi.${stack}.yaml`] = { config: structuredClone(config) };
  return files;
}

/** Parse and schema-check in-memory files as if they were the reference lab's directory (a stack file set to undefined is left out). */
export function parseFiles(files: LabFiles): ParsedLab {
  const stacks: Record<string, Record<string, unknown>> = {};
  for (const [name, doc] of Object.entries(files)) {
    const m = /^Pulumi\.(.+)\.yaml$/.exec(name);
    if (m && doc !== undefined) stacks[m[1]!] = doc.config;
  }
  return parseLab({ dir: REPO, lab: files["homelab.yaml"], stacks, problems: [] });
}

/** A segment's `homelab:segment` object in a LabFiles (or copyLab's edit argument). */
export const segOf = (f: LabFiles, name: string): any => f[`Pulumi.${name}.yaml`].config["homelab:segment"];

/** The config files of a lab directory. */
const labFileNames = (dir: string) =>
  fs.readdirSync(dir).filter((f) => f === "Pulumi.yaml" || f === "homelab.yaml" || /^Pulumi\.[^.]+\.yaml$/.test(f));

/** Temporary lab copies made by this test file, removed after its tests. */
const copies: string[] = [];
// Evaluated while jest collects the importing test file, so this hook is that file's.
// Outside jest (a benchmark, the twin's runner) the caller owns the directories.
if (typeof afterAll === "function") {
  afterAll(() => {
    for (const dir of copies.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
}

/**
 * Copy the reference lab's config files into a fresh temporary directory (removed after the
 * test file), or into `into` (the caller's), and let `edit` change any file's parsed YAML
 * (comments are kept in files it leaves alone). Returns the directory.
 */
export function copyLab(edit: (files: LabFiles) => void = () => undefined, into?: string): string {
  const dir = into ?? fs.mkdtempSync(path.join(os.tmpdir(), "homelab-lab-"));
  if (into === undefined) copies.push(dir);
  else fs.mkdirSync(into, { recursive: true });
  const parsed = Object.fromEntries(labFileNames(REPO).map((f) => [f, parsedReferenceFile(f)]));
  const data: Record<string, any> = Object.fromEntries(Object.entries(parsed).map(([f, p]) => [f, structuredClone(p.value)]));
  edit(data);
  for (const [f, value] of Object.entries(data)) {
    if (value === undefined) continue;
    const p = parsed[f];
    const text = p && p.json === JSON.stringify(value) ? p.text : new Document(value).toString();
    fs.writeFileSync(path.join(dir, f), text);
  }
  return dir;
}

/** A reference file as copyLab writes it unedited (the YAML re-printed, comments kept), with its value. */
interface ParsedFile {
  readonly source: string;
  readonly text: string;
  readonly value: unknown;
  readonly json: string;
}

/** Parsed reference files, by name: parsed again only when the file's text changes. */
const parsedFiles = new Map<string, ParsedFile>();

function parsedReferenceFile(f: string): ParsedFile {
  const source = fs.readFileSync(path.join(REPO, f), "utf8");
  const known = parsedFiles.get(f);
  if (known?.source === source) return known;
  const doc = parseDocument(source);
  const value: unknown = doc.toJS();
  const parsed = { source, text: doc.toString(), value, json: JSON.stringify(value) };
  parsedFiles.set(f, parsed);
  return parsed;
}

/** The reference lab after `edit`, schema-checked only (the semantic rules are not run): a lab some rule refuses on purpose. */
export function labWithEdit(edit: (files: LabFiles) => void): Lab {
  const files = referenceFiles();
  edit(files);
  const parsed = parseFiles(files);
  if (!parsed.lab) throw new Error(`the edit broke the schema: ${JSON.stringify(parsed.problems)}`);
  return parsed.lab;
}
