/**
 * A small Nix value tree and its printer: strings are always escaped, keys quoted when they
 * are not plain identifiers, and structure is decided in code, never by pasting model text.
 * render/nixos.ts builds NixOS configurations with it.
 */

/** Nix source inserted as is: a path literal, a function call. Only ever built from code, never from model text. */
export class NixRaw {
  constructor(readonly text: string) {}
}

/** A double-quoted string with interpolations, e.g. `"${pkgs.dnsmasq}/bin/dnsmasq"`. */
export class NixInterp {
  constructor(readonly parts: readonly (string | NixRaw)[]) {}
}

/** An attribute set; each entry's path is printed dotted (`a.b.c = v;`). */
export class NixAttrs {
  constructor(readonly entries: readonly (readonly [readonly string[], NixValue])[]) {}
}

/** Any Nix value the renderer prints. */
export type NixValue = string | number | boolean | NixRaw | NixInterp | NixAttrs | readonly NixValue[];

/** An attribute set from an object whose keys are dotted paths of identifiers (code-known keys only). */
export function nixAttrs(obj: Readonly<Record<string, NixValue>>): NixAttrs {
  return new NixAttrs(Object.entries(obj).map(([k, v]) => [k.split("."), v] as const));
}

/** A path literal relative to configuration.nix, e.g. `./host.nft`. */
export function nixPath(file: string): NixRaw {
  if (!/^[A-Za-z0-9._+-]+$/.test(file) || file.startsWith(".")) throw new Error(`bug: ${file} cannot be a companion file name`);
  return new NixRaw(`./${file}`);
}

const NIX_KEYWORDS = new Set(["if", "then", "else", "assert", "with", "let", "in", "rec", "inherit", "or"]);

function escapeString(s: string): string {
  return s
    .replace(/\\/g, "\\\\")
    .replace(/"/g, '\\"')
    .replace(/\$\{/g, "\\${")
    .replace(/\n/g, "\\n")
    .replace(/\r/g, "\\r")
    .replace(/\t/g, "\\t");
}

export function printKey(segment: string): string {
  return /^[A-Za-z_][A-Za-z0-9_'-]*$/.test(segment) && !NIX_KEYWORDS.has(segment) ? segment : `"${escapeString(segment)}"`;
}

function isScalar(v: NixValue): boolean {
  return !(v instanceof NixAttrs) && !Array.isArray(v);
}

/** Print one value at an indentation depth (two spaces per level). */
export function printNix(v: NixValue, depth = 0): string {
  const pad = "  ".repeat(depth);
  if (typeof v === "string") return `"${escapeString(v)}"`;
  if (typeof v === "number") {
    if (!Number.isInteger(v)) throw new Error(`bug: only integers are rendered to Nix, got ${v}`);
    return String(v);
  }
  if (typeof v === "boolean") return v ? "true" : "false";
  if (v instanceof NixRaw) return v.text;
  if (v instanceof NixInterp) return `"${v.parts.map((p) => (typeof p === "string" ? escapeString(p) : `\${${p.text}}`)).join("")}"`;
  if (v instanceof NixAttrs) {
    if (v.entries.length === 0) return "{ }";
    // Small sets of plain values (an address, a sudo command) read best on one line.
    const inline = `{ ${v.entries.map(([path, value]) => `${path.map(printKey).join(".")} = ${printNix(value, depth + 1)};`).join(" ")} }`;
    if (v.entries.every(([, value]) => isScalar(value)) && pad.length + inline.length <= 96) return inline;
    const body = v.entries.map(([path, value]) => `${pad}  ${path.map(printKey).join(".")} = ${printNix(value, depth + 1)};`);
    return `{\n${body.join("\n")}\n${pad}}`;
  }
  const list = v;
  if (list.length === 0) return "[ ]";
  const items = list.map((x) => printNix(x, depth + 1));
  const inline = `[ ${items.join(" ")} ]`;
  if (list.every(isScalar) && inline.length <= 80) return inline;
  return `[\n${items.map((i) => `${pad}  ${i}`).join("\n")}\n${pad}]`;
}

/** One top-level group of settings, with a comment saying why. */
export interface NixSection {
  readonly comment: readonly string[];
  readonly entries: readonly (readonly [string, NixValue])[];
}

/** A NixOS module file: `{ config, lib, pkgs, ... }: { <sections> }`. Keys are dotted paths of code-known names. */
export function printNixModule(header: string, sections: readonly NixSection[]): string {
  const body = sections
    .map((s) =>
      [
        ...s.comment.map((l) => `  # ${l}`),
        ...s.entries.map(([path, value]) => `  ${splitPath(path).map(printKey).join(".")} = ${printNix(value, 1)};`),
      ].join("\n"),
    )
    .join("\n\n");
  return `${header}\n{ config, lib, pkgs, ... }:\n\n{\n${body}\n}\n`;
}

/** Split a dotted path; a segment in double quotes may contain dots (`environment.etc."ssh/sshd_config".source`). */
function splitPath(path: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|([^.]+)/g;
  for (const m of path.matchAll(re)) out.push(m[1] ?? m[2]!);
  return out;
}
