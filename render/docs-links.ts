/**
 * A link checker for the generated docs: every relative link must lead to a file of the
 * set, and every `#anchor` to a heading of the page it names (GitHub's heading anchors).
 * External links (`https:`, `mailto:`) are not followed. Links inside fenced code blocks
 * and inline code are not links.
 */
import * as path from "path";
import { compareText } from "../model/order";
import { Slugger } from "./docs-markdown";

/** One file of a docs tree, path relative to the tree's root with `/` separators. */
export interface DocsTreeFile {
  readonly path: string;
  readonly content: string;
}

/** Markdown text without fenced code blocks and inline code: what can hold links and headings. */
function proseLines(content: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let fence: string | undefined;
  content.split("\n").forEach((raw, i) => {
    const m = /^\s{0,3}(`{3,}|~{3,})/.exec(raw);
    if (m) {
      if (fence === undefined) fence = m[1]![0]!;
      else if (m[1]![0] === fence) fence = undefined;
      return;
    }
    if (fence !== undefined) return;
    out.push({ line: i + 1, text: raw.replace(/`[^`]*`/g, "") });
  });
  return out;
}

/** The anchors of a Markdown page's headings, GitHub-style, repeats suffixed. */
export function headingAnchors(content: string): Set<string> {
  const slugger = new Slugger();
  const anchors = new Set<string>();
  let fence: string | undefined;
  for (const raw of content.split("\n")) {
    const f = /^\s{0,3}(`{3,}|~{3,})/.exec(raw);
    if (f) {
      if (fence === undefined) fence = f[1]![0]!;
      else if (f[1]![0] === fence) fence = undefined;
      continue;
    }
    if (fence !== undefined) continue;
    const m = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(raw);
    if (m) anchors.add(slugger.slug(m[1]!));
  }
  return anchors;
}

/** Every problem with the links of a docs tree: `file:line: link "x" ...`. Empty when all resolve. */
export function checkDocsLinks(files: readonly DocsTreeFile[]): string[] {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const anchors = new Map<string, Set<string>>();
  const anchorsOf = (p: string) => {
    let a = anchors.get(p);
    if (!a) anchors.set(p, (a = headingAnchors(byPath.get(p)!.content)));
    return a;
  };
  const problems: string[] = [];
  for (const f of [...files].sort((a, b) => compareText(a.path, b.path))) {
    if (!f.path.endsWith(".md")) continue;
    for (const { line, text } of proseLines(f.content)) {
      for (const m of text.matchAll(/!?\[[^\]]*\]\(([^)\s]*)(?:\s+"[^"]*")?\)/g)) {
        const target = m[1]!;
        const where = `${f.path}:${line}`;
        if (target === "") {
          problems.push(`${where}: empty link`);
          continue;
        }
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:: not ours to check
        const hash = target.indexOf("#");
        const file = hash < 0 ? target : target.slice(0, hash);
        const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
        if (file.startsWith("/")) {
          problems.push(`${where}: link "${target}" is absolute; use a path relative to ${f.path}`);
          continue;
        }
        const resolved = file === "" ? f.path : path.posix.normalize(path.posix.join(path.posix.dirname(f.path), decodeURIComponent(file)));
        if (!byPath.has(resolved)) {
          problems.push(`${where}: link "${target}" leads to ${resolved}, which does not exist`);
          continue;
        }
        if (anchor === undefined) continue;
        if (!resolved.endsWith(".md")) {
          problems.push(`${where}: link "${target}" has an anchor into ${resolved}, which is not a Markdown page`);
          continue;
        }
        if (!anchorsOf(resolved).has(anchor)) {
          problems.push(`${where}: link "${target}": ${resolved} has no heading with anchor #${anchor}`);
        }
      }
    }
  }
  return problems;
}
