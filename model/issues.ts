/**
 * zod's issues in the user's words: each becomes a problem at its config path with the
 * value received, a message stating the rule, and a fix the user can follow. The value
 * rules (values.ts) carry their own fix; zod's own issues (a wrong type, a missing key, a
 * number out of range) are worded here.
 */
import type { z } from "zod";
import { CONFIG_KEYS, LAB_FILE, PROJECT } from "./lab";
import { joinPath, problem, type Problem } from "./problems";
import { isRecord } from "./record";
import { PRIVATE_KEY_FIX, PRIVATE_KEY_NAME, UNION_FIXES, unknownKeyMessage } from "./schema-kit";
import { didYouMean, suggest } from "./suggest";

/** What a problem says and how to fix it. */
interface Wording {
  readonly message: string;
  readonly fix: string;
}

/** The fix used when nothing better is known. The mistake corpus asserts no case ends here. */
export const GENERIC_FIX = "change the value as the message says";

function valueAt(input: unknown, p: readonly PropertyKey[]): unknown {
  let v: unknown = input;
  for (const k of p) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/** What a YAML value is, in words: "a list", "text", "a number", "empty". */
function kindOf(v: unknown): string {
  if (v === null) return "empty";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "string") return "text";
  if (typeof v === "object") return "a map";
  return `a ${typeof v}`;
}

/** A value of the wrong type: what was expected, what arrived, and how to write it. */
function wrongType(expected: string, value: unknown, key: string): Wording {
  const got = kindOf(value);
  switch (expected) {
    case "record":
    case "object":
      if (Array.isArray(value)) {
        return {
          message: `is a list, but ${key} is a map: each entry is written as "name: value", not as a "- " list item`,
          fix: `write each entry under ${key} as "<name>:" followed by its fields, without the leading "- "`,
        };
      }
      if (value === null) return { message: `is empty, but ${key} is a map`, fix: `write its entries under ${key} (or {} for none)` };
      return {
        message: `must be a map of "key: value" entries, not ${got}`,
        fix: `write the entries of ${key} on their own lines below it, indented`,
      };
    case "array":
      return { message: `must be a list, not ${got}`, fix: 'write it as a list: [a, b] on one line, or one "- item" per line' };
    case "number":
      return typeof value === "string"
        ? {
            message: `must be a number, not the text ${JSON.stringify(value)}`,
            fix: "write the number alone, without quotes or a unit (the unit is part of the key's name, such as memoryMiB)",
          }
        : { message: `must be a number, not ${got}`, fix: "write a number" };
    case "int":
      return {
        message: "must be a whole number",
        fix: `write a whole number such as ${typeof value === "number" ? Math.round(value) : 1}`,
      };
    case "boolean":
      return { message: `must be true or false, not ${got}`, fix: "write true or false, without quotes" };
    case "string":
      return isRecord(value)
        ? { message: 'must be text, but YAML read a map: a ": " inside a value starts a map', fix: "put the whole value in quotes" }
        : { message: `must be text, not ${got}`, fix: "put the value in quotes" };
    default:
      return { message: `must be ${expected}, not ${got}`, fix: `write ${expected}` };
  }
}

/** zod's own message, or ours (the schema's) when it gave one. */
function ownMessage(issue: z.core.$ZodIssue): string | undefined {
  return /^(Invalid|Too (small|big))\b/.test(issue.message) ? undefined : issue.message;
}

function customFix(issue: z.core.$ZodIssue): string | undefined {
  const params = (issue as { params?: unknown }).params;
  return isRecord(params) && typeof params.fix === "string" ? params.fix : undefined;
}

/** The wording of one issue whose value is present. */
function describe(issue: z.core.$ZodIssue, value: unknown, key: string): Wording {
  // zod's issue codes are not ours to enumerate: the default covers the codes it may add.
  // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check
  switch (issue.code) {
    case "custom":
      return { message: issue.message, fix: customFix(issue) ?? GENERIC_FIX };
    case "invalid_type":
      return wrongType(issue.expected, value, key);
    case "invalid_value": {
      const allowed = issue.values.map((v) => JSON.stringify(v)).join(", ");
      const hint = typeof value === "string" ? suggest(value, issue.values.map(String)) : undefined;
      return {
        message: `must be one of ${allowed}${typeof value === "string" ? didYouMean(value, issue.values.map(String)) : ""}`,
        fix: hint ? `write "${hint}"` : `write one of ${allowed}`,
      };
    }
    case "too_small":
    case "too_big": {
      const small = issue.code === "too_small";
      const bound = String(small ? issue.minimum : issue.maximum);
      const [rule, fix] =
        issue.origin === "string"
          ? [
              `must have ${small ? "at least" : "at most"} ${bound} characters`,
              `write ${small ? "at least" : "at most"} ${bound} characters`,
            ]
          : issue.origin === "array" || issue.origin === "set"
            ? [`needs ${small ? "at least" : "at most"} ${bound} entries`, `list ${small ? "at least" : "at most"} ${bound}`]
            : [`must be ${small ? "at least" : "at most"} ${bound}`, `write a number ${small ? "of at least" : "of at most"} ${bound}`];
      return { message: ownMessage(issue) ?? rule, fix };
    }
    case "invalid_union": {
      const own = ownMessage(issue);
      return { message: own ?? "does not match any form this setting takes", fix: (own && UNION_FIXES.get(own)) ?? GENERIC_FIX };
    }
    case "invalid_format":
      return { message: issue.message, fix: exampleFix(issue.message) };
    default:
      return { message: issue.message, fix: GENERIC_FIX };
  }
}

/** For a message naming an example ("such as v1.13.0", 'look like "12h"'), the fix is to write that form. */
function exampleFix(message: string): string {
  const m = /(?:such as|like) "?([^"]+?)"?(?:$|[;)])/.exec(message);
  return m ? `write it in the same form as ${m[1]!}` : GENERIC_FIX;
}

/** A record key that is not a valid name: the issue's inner check says why, and the name to rename to. */
function invalidKey(issue: z.core.$ZodIssueInvalidKey, key: string): Wording {
  const inner = issue.issues[0];
  const params = inner && (inner as { params?: unknown }).params;
  const rename = isRecord(params) && typeof params.rename === "string" ? params.rename : undefined;
  return {
    message: `the name "${key}" ${inner ? (ownMessage(inner) ?? inner.message) : "is not allowed here"}`,
    fix: rename
      ? `rename it to "${rename}" (and every place that refers to it)`
      : `rename it: ${inner ? (customFix(inner) ?? GENERIC_FIX) : GENERIC_FIX}`,
  };
}

/** What an empty file of each kind should hold. */
export function emptyFileFix(file: string): string {
  if (file === "Pulumi.yaml") return `write name: ${PROJECT}, runtime: nodejs and main: index.ts into it, as in the reference lab`;
  if (file === LAB_FILE)
    return `write the lab-wide facts into it (domain, dmz, ssh, admins, hardware), starting from the reference lab's ${LAB_FILE}`;
  return `write the stack's settings into it under config: (${CONFIG_KEYS.segment} for a segment, ${CONFIG_KEYS.dmz} for the DMZ), as in the reference lab, or delete the file`;
}

/** Turn zod issues into problems with config paths, the received value and a fix. */
export function zodProblems(file: string, prefix: string, error: z.ZodError, input: unknown): Problem[] {
  const out: Problem[] = [];
  for (const issue of error.issues) {
    const at = joinPath(prefix, ...issue.path);
    const key = String(issue.path.at(-1) ?? prefix);
    if (issue.code === "unrecognized_keys") {
      const parent = valueAt(input, issue.path);
      const known = Object.keys(parent ?? {}).filter((k) => !issue.keys.includes(k));
      for (const k of issue.keys) {
        // obj() joins one message per key with "; " before the next `unknown key "`.
        const msg =
          issue.message.split(/; (?=unknown key ")/).find((m) => m.startsWith(`unknown key "${k}"`)) ?? unknownKeyMessage(k, known);
        const fix = PRIVATE_KEY_NAME.test(k)
          ? PRIVATE_KEY_FIX
          : msg.includes("did you mean")
            ? `rename the key to the suggested one`
            : "remove the key";
        out.push(problem({ file, path: joinPath(at, k) }, isRecord(parent) ? parent[k] : undefined, msg, fix));
      }
      continue;
    }
    if (issue.code === "invalid_key") {
      out.push(problem({ file, path: at }, key, ...spread(invalidKey(issue, key))));
      continue;
    }
    const value = valueAt(input, issue.path);
    if (at === "" && value === null) {
      out.push(
        problem({ file, path: "(file)" }, undefined, `${file} is an empty file (nothing but comments or blank lines)`, emptyFileFix(file)),
      );
      continue;
    }
    if (value === undefined) {
      const parent = issue.path.length > 1 ? joinPath(prefix, ...issue.path.slice(0, -1)) : prefix || "the top level of the file";
      out.push(
        problem(
          { file, path: at || "(document)" },
          undefined,
          `is required${ownMessage(issue) ? `: ${issue.message}` : ""}`,
          `add ${key}: under ${parent}`,
        ),
      );
      continue;
    }
    out.push(problem({ file, path: at || "(document)" }, value, ...spread(describe(issue, value, key))));
  }
  return out;
}

function spread(w: Wording): [string, string] {
  return [w.message, w.fix];
}
