/**
 * Small Markdown building blocks for the generated docs: escaped table cells, tables,
 * GitHub's heading anchors, and the generated-file marker. Pure and deterministic.
 */
import { generatedBy, RULE_DOCS } from "../render/header";

/** The generator every file under docs/ names. */
export const DOCS_GENERATOR = "pages/docs.ts";

/** The sentence near the top of every generated docs file. */
const DOCS_MARKER = generatedBy(DOCS_GENERATOR);

/**
 * How `npm run docs` knows its own files: this generator's marker, and the one of the
 * generator before the docs were their own layer (render/docs.ts), whose files it replaces.
 */
export const DOCS_MARKERS: readonly string[] = [DOCS_MARKER, generatedBy("render/docs.ts")];

/** The generated-file header of a Markdown page: an HTML comment, so it does not render. */
function markdownHeader(): string {
  return `<!-- ${DOCS_MARKER} ${RULE_DOCS} -->\n`;
}

/**
 * GitHub's anchor for a heading's text (github-slugger): lower-case, every character that
 * is not a letter, mark, digit, connector, `-` or space removed, spaces turned into `-`.
 */
export function githubSlug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, "")
    .replace(/ /g, "-");
}

/** What a heading's rendered text is: Markdown code, emphasis and link syntax removed. */
function headingText(markdown: string): string {
  return markdown
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/`([^`]*)`/g, "$1")
    .replace(/\*\*([^*]*)\*\*/g, "$1")
    .trim();
}

/** Anchors of a page's headings in order, with GitHub's `-1`, `-2` suffixes for repeats. */
export class Slugger {
  private readonly seen = new Map<string, number>();

  /** The anchor of the next heading with this (Markdown) text. */
  slug(markdown: string): string {
    const base = githubSlug(headingText(markdown));
    let candidate = base;
    let n = this.seen.get(base) ?? 0;
    while (this.seen.has(candidate)) candidate = `${base}-${++n}`;
    this.seen.set(base, n);
    this.seen.set(candidate, this.seen.get(candidate) ?? 0);
    return candidate;
  }
}

/** Text safe inside a table cell: no pipes, no line breaks, no raw HTML. */
export function cell(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

/** Inline code; backticks inside are not expected in model text, so they are dropped. */
export function code(text: string): string {
  return `\`${text.replace(/`/g, "")}\``;
}

/** A Markdown table. Cells are already-rendered Markdown (escape model text with `cell`). */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map((c) => (c === "" ? " " : c)).join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---")), ...rows.map(line)].join("\n");
}

/** A page under construction: headings get GitHub's anchors as they are added. */
export class Page {
  private readonly blocks: string[] = [];
  private readonly slugger = new Slugger();

  /** Add a heading and return its anchor. */
  heading(level: number, markdown: string): string {
    this.blocks.push(`${"#".repeat(level)} ${markdown}`);
    return this.slugger.slug(markdown);
  }

  /** Add a paragraph, a table, a list or a fenced block. */
  add(block: string): void {
    this.blocks.push(block);
  }

  /** The page: header, then blocks separated by blank lines, one final newline. */
  text(): string {
    return `${markdownHeader()}\n${this.blocks.join("\n\n")}\n`;
  }
}

/** `a, b and c`. */
export function joinWords(items: readonly string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]!}`;
}
