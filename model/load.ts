/**
 * Reading a lab from its directory: `Pulumi.yaml`, `homelab.yaml` and every
 * `Pulumi.<stack>.yaml`. Schema problems of all files are collected together; the
 * semantic rules (validate.ts) run only on a lab whose files all parse.
 */
import * as fs from "fs";
import * as path from "path";
import { emptyFileFix, zodProblems } from "./issues";
import { buildLab, CONFIG_KEYS, DMZ_STACK, LAB_FILE, PROJECT, type Lab } from "./lab";
import { problem, type Problem } from "./problems";
import { isRecord } from "./record";
import { DmzFile, LabFile, SegmentFile } from "./schema";
import { acmeCredentialsKey } from "./network/certificate";
import { declaredSecretKeys } from "./data/plan";
import { settingProblems } from "./settings";
import { MAX_FILE_BYTES, parseYamlFile, pathKeys, tooLarge, type YamlFile } from "./yaml-file";

/** The raw text-level content of a lab directory, before any schema check. */
export interface LabSources {
  readonly dir: string;
  /** The parsed `homelab.yaml`, or undefined if missing/unparseable (a problem says which). */
  readonly lab: unknown;
  /** Stack name -> its `config:` map (keys such as `homelab:segment`). */
  readonly stacks: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Problems found while reading: missing files, YAML syntax errors. */
  readonly problems: readonly Problem[];
  /** File -> the line a config path is written on (paths of stack files start below `config:`). Absent for labs built in memory. */
  readonly lines?: Readonly<Record<string, (path: string) => number | undefined>>;
}

const STACK_FILE = /^Pulumi\.([^.]+)\.ya?ml$/;

/** The file name of a stack's settings. */
export function stackFile(stack: string): string {
  return `Pulumi.${stack}.yaml`;
}

/**
 * What reading one lab file gave, before any parsing: its text (with the file's stat stamp,
 * and whether it was settled when read), or why there is none.
 */
type FileRead =
  { readonly text: string; readonly stamp: string; readonly settled: boolean } | { readonly message: string; readonly fix: string };

/**
 * How long a file must have been unchanged when it was read for an unchanged stat to vouch
 * for its text later: a file system stamps times at a coarse granularity (a jiffy, up to 2 s
 * on some), so a write just after a read could keep the stamp. Younger files are read again.
 */
const SETTLED_MS = 3000n;

/**
 * Read one lab file: stat it once first (a FIFO would block a read), then its text, unless
 * `previous` read the same settled file (same device, inode, size, mtime and ctime).
 */
function readFile(dir: string, file: string, previous: FileRead | undefined): FileRead {
  const full = path.join(dir, file);
  let st: fs.BigIntStats;
  try {
    st = fs.statSync(full, { bigint: true });
  } catch {
    return { message: `${file} does not exist in ${dir}`, fix: `create ${file}; see the reference lab in the repository for its shape` };
  }
  if (!st.isFile()) {
    return {
      message: `${file} in ${dir} is ${st.isDirectory() ? "a directory" : "not a regular file"}, not a YAML file`,
      fix: `remove or rename it, and write ${file} as a file; see the reference lab in the repository for its shape`,
    };
  }
  if (st.size > BigInt(MAX_FILE_BYTES)) {
    const [message, fix] = tooLarge(file, Number(st.size));
    return { message, fix };
  }
  const stamp = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  if (previous && "text" in previous && previous.settled && previous.stamp === stamp) return previous;
  try {
    const text = fs.readFileSync(full, "utf8");
    return { text, stamp, settled: BigInt(Date.now()) - st.ctimeMs > SETTLED_MS };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "an error";
    return { message: `${file} in ${dir} cannot be read (${code})`, fix: `make ${file} readable by the user running the program` };
  }
}

function readYaml(file: string, read: FileRead, problems: Problem[]): YamlFile {
  if (!("text" in read)) {
    problems.push(problem({ file, path: "(file)" }, undefined, read.message, read.fix));
    return { value: undefined, empty: false };
  }
  const parsed = parseYamlFile(file, read.text, problems);
  if (parsed.empty) {
    problems.push(
      problem({ file, path: "(file)" }, undefined, `${file} is an empty file (nothing but comments or blank lines)`, emptyFileFix(file)),
    );
    return { ...parsed, value: undefined };
  }
  return parsed;
}

/** Every lab file of `dir` read: Pulumi.yaml, homelab.yaml, then the stack files in name order. */
function readFiles(dir: string, previous: ReadonlyMap<string, FileRead> | undefined): Map<string, FileRead> {
  const reads = new Map<string, FileRead>();
  const names = [
    ...["Pulumi.yaml", LAB_FILE],
    ...fs
      .readdirSync(dir)
      .sort()
      .filter((f) => STACK_FILE.test(f)),
  ];
  for (const f of names) reads.set(f, readFile(dir, f, previous?.get(f)));
  return reads;
}

/** True when both reads found the same files with the same texts (or the same reasons for none). */
function sameReads(a: ReadonlyMap<string, FileRead>, b: ReadonlyMap<string, FileRead>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, r] of a) {
    const o = b.get(name);
    if (o === undefined) return false;
    if ("text" in r ? !("text" in o) || o.text !== r.text : "text" in o || o.message !== r.message) return false;
  }
  return true;
}

/**
 * The sources last read from each directory, with the reads they were parsed from. Every
 * stack program of an offline plan reads the same lab: each reads the files again, but
 * parses them only when a byte changed. A real `pulumi up` runs one stack per process.
 */
const lastRead = new Map<string, { readonly reads: ReadonlyMap<string, FileRead>; readonly sources: LabSources }>();

/** Forget every lab read so far, so the next read parses again: for benchmarks that time a cold read. */
export function forgetReadLabs(): void {
  lastRead.clear();
}

/**
 * Read every lab file in `dir`. Never throws for a user mistake; problems say what is wrong.
 * Files identical to the last read of `dir` give the same (read-only) sources, not parsed again.
 */
export function readLabSources(dir: string): LabSources {
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
  const last = lastRead.get(dir);
  const reads = readFiles(dir, last?.reads);
  if (last && sameReads(last.reads, reads)) return last.sources;
  const sources = parseSources(dir, reads);
  lastRead.set(dir, { reads, sources });
  return sources;
}

/** Parse what was read from a lab directory into sources. */
function parseSources(dir: string, reads: ReadonlyMap<string, FileRead>): LabSources {
  const problems: Problem[] = [];
  const lines: Record<string, (path: string) => number | undefined> = {};
  const note = (file: string, read: YamlFile, under: readonly string[] = []) => {
    const locate = read.locate;
    if (locate) lines[file] = (p) => (p.startsWith("(") ? undefined : locate([...under, ...pathKeys(p)]));
    return read.value;
  };
  const project = note("Pulumi.yaml", readYaml("Pulumi.yaml", reads.get("Pulumi.yaml")!, problems));
  const projectName = isRecord(project) ? project.name : undefined;
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
  const lab = note(LAB_FILE, readYaml(LAB_FILE, reads.get(LAB_FILE)!, problems));
  const stacks: Record<string, Record<string, unknown>> = {};
  for (const [entry, read] of reads) {
    const m = STACK_FILE.exec(entry);
    if (!m) continue;
    const doc = note(entry, readYaml(entry, read, problems), ["config"]);
    if (doc === undefined) continue;
    if (doc !== null && !isRecord(doc)) {
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
    if (!isRecord(config)) {
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
    stacks[m[1]!] = config;
  }
  return { dir, lab, stacks, problems, lines };
}

/** The problems with the line each is written on, where the lab was read from files. */
export function locateProblems<P extends Problem>(problems: readonly P[], sources: LabSources): P[] {
  return problems.map((p) => {
    if (p.line !== undefined) return p;
    const line = sources.lines?.[p.file]?.(p.path);
    return line === undefined ? p : { ...p, line };
  });
}

/**
 * The config secrets a stack reads, each only as an encrypted value: the DMZ stack's ACME DNS
 * credentials (under the key homelab.yaml names); a segment stack's the passwords its data
 * host names; and the private key of the stack's end of the WireGuard tunnel where that end is
 * declared (`dmz.tunnel`, a segment's `router.tunnel`, read from the segment's facts as
 * written, before the schema checks them).
 */
function stackSecrets(isDmz: boolean, labFile: LabFile | undefined, facts: unknown): string[] {
  if (isDmz) {
    const acme = labFile?.dmz.tls.acme;
    return [...(acme ? [acmeCredentialsKey(acme.credentialsSecret)] : []), ...(labFile?.dmz.tunnel ? [CONFIG_KEYS.wireguardKey] : [])];
  }
  const router = isRecord(facts) ? facts.router : undefined;
  return [...declaredSecretKeys(facts), ...(isRecord(router) && router.tunnel !== undefined ? [CONFIG_KEYS.wireguardKey] : [])];
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
          "a stack name must be a lower-case DNS label of at most 31 characters (a-z, 0-9 and '-', starting with a letter): it names a segment, its hosts' domain and its router",
          "rename the file to Pulumi.<name>.yaml with such a name, and the stack to match (pulumi stack rename <name>)",
        ),
      );
      continue;
    }
    const isDmz = stack === DMZ_STACK;
    const key = isDmz ? CONFIG_KEYS.dmz : CONFIG_KEYS.segment;
    const raw = config[key];
    // Every stack may hold its Proxmox API token; all of these are read only encrypted.
    const secrets = [CONFIG_KEYS.proxmoxApiToken, ...stackSecrets(isDmz, labFile, raw)];
    problems.push(...settingProblems(file, stack, isDmz, config, secrets));
    if (raw === undefined || raw === null) {
      problems.push(
        problem(
          { file, path: key },
          undefined,
          `is ${raw === null ? "empty" : "required"}: it holds this ${isDmz ? "DMZ" : "segment"}'s facts`,
          `write ${key}: under config: in ${file}, with the ${isDmz ? "DMZ's" : "segment's"} facts below it, as in the reference lab's ${isDmz ? "Pulumi.dmz.yaml" : "Pulumi.lab.yaml"}`,
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
