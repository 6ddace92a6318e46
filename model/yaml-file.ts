/**
 * Reading one YAML file of a lab, safely: whatever the text (an alias bomb, 10,000 nested
 * brackets, megabytes of noise) the result is the data or problems naming the file, in
 * milliseconds, never an exception. And finding the line a config path is written on, so
 * problems are listed in the order the file reads.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from "yaml";
import { problem, type Problem } from "./problems";

/** A lab file is a few kilobytes; anything past this is not one. */
export const MAX_FILE_BYTES = 1024 * 1024;
/** Nesting deeper than any lab file needs (the deepest is about 8); the parser recurses per level. */
export const MAX_DEPTH = 64;
/** Aliases (`*name`) a file may use: enough to share a block, too few to expand exponentially. */
export const MAX_ALIASES = 100;

/** The problem of a file nested past MAX_DEPTH: its message and fix. */
const TOO_DEEP = (file: string): [string, string] => [
  `${file} is nested more than ${MAX_DEPTH} levels deep (brackets, list dashes or indentation); no lab file needs that`,
  "close the brackets you opened, or write the data as in the reference lab",
];

/** The problem of a file of `bytes` bytes, more than MAX_FILE_BYTES: its message and fix. */
export function tooLarge(file: string, bytes: number): [string, string] {
  return [
    `${file} is ${bytes} bytes; a lab file is at most ${MAX_FILE_BYTES} bytes`,
    `check that ${file} is the file you meant; lab files hold a few kilobytes of settings`,
  ];
}

/** Bytes of `text` in UTF-8, as it is on disk. */
function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/** A parsed file: its data and what places paths in it on lines. */
export interface YamlFile {
  /** The data; undefined when the file could not be read (a problem says why). */
  readonly value: unknown;
  /** True when the file holds nothing but comments and blank lines. */
  readonly empty: boolean;
  /** The line a path is written on (see lineOf). */
  readonly locate?: (keys: readonly (string | number)[]) => number | undefined;
}

/**
 * The deepest nesting of flow collections (`[`, `{`) and block indentation levels, outside
 * quotes and comments. An estimate that errs high, so a file it passes cannot overflow the parser.
 */
export function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let quote: string | undefined;
  let comment = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\n") {
      comment = false;
      if (quote === "'") quote = undefined;
      continue;
    }
    if (comment) continue;
    if (quote) {
      // An escape never closes the string: in double quotes a backslash and the character after
      // it (\" and \\ alike), in single quotes a doubled quote ('').
      if (quote === '"' && c === "\\") i++;
      else if (quote === "'" && c === "'" && text[i + 1] === "'") i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === "#" && (i === 0 || /\s/.test(text[i - 1]!))) comment = true;
    else if ((c === '"' || c === "'") && (i === 0 || /[\s[{,:]/.test(text[i - 1]!))) quote = c;
    else if (c === "[" || c === "{") max = Math.max(max, ++depth);
    else if (c === "]" || c === "}") depth = Math.max(0, depth - 1);
  }
  // Block nesting: indentation, and "- " sequence entries opened on one line, count a level each.
  for (const line of text.split("\n")) {
    const code = line.replace(/\s#.*$/, "");
    const indent = /^ */.exec(code)![0].length;
    const dashes = code.match(/(?:^|[\s:])-(?=\s|$)/g)?.length ?? 0;
    max = Math.max(max, Math.ceil(indent / 2) + dashes);
  }
  return max;
}

/**
 * Parse `text` as the content of `file`; problems go to `problems`. Syntax errors are one
 * problem each, at their line; a file that is too large, too deeply nested or expands too
 * many aliases is one problem for the whole file.
 */
export function parseYamlFile(file: string, text: string, problems: Problem[]): YamlFile {
  const whole = (message: string, fix: string): YamlFile => {
    problems.push(problem({ file, path: "(file)" }, undefined, message, fix));
    return { value: undefined, empty: false };
  };
  // The limit is in bytes of UTF-8, as the file is on disk: a character may take up to four.
  const bytes = utf8Bytes(text);
  if (bytes > MAX_FILE_BYTES) return whole(...tooLarge(file, bytes));
  if (nestingDepth(text) > MAX_DEPTH) return whole(...TOO_DEEP(file));
  const lineCounter = new LineCounter();
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter });
  } catch (e) {
    // The depth estimate should make this unreachable; a parser stack overflow is still the file's fault.
    if (e instanceof RangeError) return whole(...TOO_DEEP(file));
    throw e;
  }
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const pos = e.linePos?.[0];
      const at = pos ? `line ${pos.line}, column ${pos.col}` : "(file)";
      problems.push({
        ...problem(
          { file, path: at },
          undefined,
          `YAML syntax error: ${e.message.split("\n")[0]!.replace(/:\s*$/, "")}`,
          "correct the YAML syntax at that line",
        ),
        ...(pos ? { line: pos.line } : {}),
      });
    }
    return { value: undefined, empty: false };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    // yaml throws a ReferenceError when aliases expand past maxAliasCount (a "billion laughs" file).
    if (e instanceof ReferenceError) {
      return whole(
        `${file} expands its YAML aliases (*name) too far: more than ${MAX_ALIASES} copies`,
        "write the repeated data out, or use fewer aliases",
      );
    }
    throw e;
  }
  // Lines are looked up only for a problem: the document is parsed again then, so a file
  // without problems keeps no syntax tree alive (for a large lab, megabytes the GC would mark).
  let located: ((keys: readonly (string | number)[]) => number | undefined) | undefined;
  return { value, empty: doc.contents === null, locate: (keys) => (located ??= locator(text))(keys) };
}

/** Where paths are written in `text`, a file that parsed once already. */
function locator(text: string): (keys: readonly (string | number)[]) => number | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: true, lineCounter });
  return (keys) => lineOf(doc, lineCounter, keys);
}

/** The 1-based line of `keys` in `doc`; for a key that is missing, the last line of its nearest parent that exists. */
function lineOf(doc: Document.Parsed, lc: LineCounter, keys: readonly (string | number)[]): number | undefined {
  let node: unknown = doc.contents;
  let line: number | undefined;
  for (const k of keys) {
    const next = child(node, k);
    if (next === undefined) {
      const end = (node as Node | null)?.range?.[1];
      return end === undefined ? line : lc.linePos(Math.max(0, end - 1)).line;
    }
    line = lc.linePos(next.at).line;
    node = next.node;
  }
  return line;
}

/** The child of a map or list at `k`: its node and where its entry starts (the key of a pair). */
function child(node: unknown, k: string | number): { node: unknown; at: number } | undefined {
  if (isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(k));
    const start = (pair?.key as Node | undefined)?.range?.[0];
    return pair && start !== undefined ? { node: pair.value, at: start } : undefined;
  }
  if (isSeq(node) && typeof k === "number") {
    const item = node.items[k] as Node | undefined;
    const start = item?.range?.[0];
    return item && start !== undefined ? { node: item, at: start } : undefined;
  }
  return undefined;
}

/** The keys of a config path: `homelab:segment.hosts.vdi.vm.nics[0]` -> `homelab:segment`, `hosts`, `vdi`, `vm`, `nics`, 0. */
export function pathKeys(path: string): (string | number)[] {
  return [...path.matchAll(/\[(\d+)\]|([^.[\]]+)/g)].map((m) => (m[1] !== undefined ? Number(m[1]) : m[2]!));
}
