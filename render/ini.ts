/**
 * An INI document (sections of key = value) and its two printings: as the plain file the
 * daemon reads (my.cnf, smb.conf), which the tools tier checks with the daemon's own parser,
 * and as the Nix attribute set a NixOS module's `settings` option takes (services.mysql.settings,
 * services.samba.settings), which the module prints back into the same file. Both come from one
 * document, so the file the tests check holds exactly the settings the host gets.
 */
import { NixAttrs } from "./nix";

/** One setting: a key and its value, written as the daemon reads it (no lists: join them first). */
export type IniEntry = readonly [key: string, value: string];

/** One section: `[name]` and its entries, in order. */
export interface IniSection {
  readonly name: string;
  readonly entries: readonly IniEntry[];
  /** Comment lines above the section in the plain file (the Nix attrs carry none). @default [] */
  readonly comment?: readonly string[];
}

/** A whole INI document, sections in order. */
export type IniDoc = readonly IniSection[];

/** How the plain file separates a key from its value: my.cnf reads `key=value`, smb.conf `key = value`. */
export type IniStyle = "compact" | "spaced";

/** A key, value or section name must stay on its line and keep its meaning. */
function checkText(what: string, text: string, forbidden: RegExp): string {
  if (forbidden.test(text)) throw new Error(`bug: INI ${what} ${JSON.stringify(text)} has a character the file cannot hold`);
  return text;
}

/** The plain file: a header, then each section with its entries. */
export function printIni(header: string, doc: IniDoc, style: IniStyle): string {
  const sep = style === "compact" ? "=" : " = ";
  const sections = doc.map((s) =>
    [
      ...(s.comment ?? []).map((c) => `# ${checkText("comment", c, /[\n\r]/)}`),
      `[${checkText("section", s.name, /[\n\r\]]/)}]`,
      ...s.entries.map(([k, v]) => `${checkText("key", k, /[\n\r=#;[]/)}${sep}${checkText("value", v, /[\n\r]/)}`),
    ].join("\n"),
  );
  return `${header}${sections.join("\n\n")}\n`;
}

/** The same document as the attribute set of a NixOS `settings` option: `{ <section> = { <key> = "<value>"; }; }`. */
export function iniToNix(doc: IniDoc): NixAttrs {
  return new NixAttrs(doc.map((s) => [[s.name], new NixAttrs(s.entries.map(([k, v]) => [[k], v] as const))] as const));
}
