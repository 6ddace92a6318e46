/**
 * A link checker for the generated docs: every relative link must lead to a file of the
 * set, and every `#anchor` to a heading of the page it names (GitHub's heading anchors).
 * External links (`https:`, `mailto:`) are not followed. Links inside fenced code blocks
 * and inline code are not links.
 */
import * as path from "path";
import { compareText } from "../model/order";
import type { TextFile } from "../render/files";
import { Slugger } from "./markdown";

/** The lines of a Markdown text outside fenced code blocks (the fences themselves left out), numbered from 1. */
function outsideFences(content: string): { line: number; raw: string }[] {
  const out: { line: number; raw: string }[] = [];
  let fence: string | undefined;
  content.split("\n").forEach((raw, i) => {
    const m = /^\s{0,3}(`{3,}|~{3,})/.exec(raw);
    if (m) {
      if (fence === undefined) fence = m[1]![0]!;
      else if (m[1]![0] === fence) fence = undefined;
      return;
    }
    if (fence === undefined) out.push({ line: i + 1, raw });
  });
  return out;
}

/** The anchors of a Markdown page's headings, GitHub-style, repeats suffixed. */
export function headingAnchors(content: string): Set<string> {
  const slugger = new Slugger();
  const anchors = new Set<string>();
  for (const { raw } of outsideFences(content)) {
    const m = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(raw);
    if (m) anchors.add(slugger.slug(m[1]!));
  }
  return anchors;
}

/** Every problem with the links of a docs tree: `file:line: link "x" ...`. Empty when all resolve. */
export function checkDocsLinks(files: readonly TextFile[]): string[] {
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
    for (const { line, raw } of outsideFences(f.content)) {
      // Inline code holds no links.
      const text = raw.replace(/`[^`]*`/g, "");
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
