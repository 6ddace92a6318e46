/**
 * A unified diff of two texts (the format `diff -u` and `git diff` print, which `patch`
 * applies): Myers' shortest edit script on lines, hunks with context. Pure.
 */
/** One line of a text, with whether it ends in a newline (the last may not). */
interface Line {
  readonly text: string;
  readonly eol: boolean;
}

function splitLines(text: string): Line[] {
  if (text === "") return [];
  const parts = text.split("\n");
  const last = parts.pop()!;
  const lines = parts.map((t) => ({ text: t, eol: true }));
  if (last !== "") lines.push({ text: last, eol: false });
  return lines;
}

const same = (a: Line, b: Line) => a.text === b.text && a.eol === b.eol;

/** One step of an edit script. */
type Op = { readonly kind: " " | "-" | "+"; readonly line: Line; readonly a: number; readonly b: number };

/** Past this many edits the diff gives up on minimality and replaces the middle wholesale. */
const MAX_EDITS = 4000;

/** The edit script from `a` to `b`: common prefix and suffix trimmed, Myers in between. */
function editScript(a: readonly Line[], b: readonly Line[]): Op[] {
  let start = 0;
  while (start < a.length && start < b.length && same(a[start]!, b[start]!)) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && same(a[endA - 1]!, b[endB - 1]!)) {
    endA--;
    endB--;
  }
  const head: Op[] = a.slice(0, start).map((line, i) => ({ kind: " ", line, a: i, b: i }));
  const tail: Op[] = a.slice(endA).map((line, i) => ({ kind: " ", line, a: endA + i, b: endB + i }));
  return [...head, ...myers(a, b, start, endA, start, endB), ...tail];
}

/** Myers' O(ND) algorithm on a[a0..a1) and b[b0..b1), keeping each round's frontier to walk back. */
function myers(a: readonly Line[], b: readonly Line[], a0: number, a1: number, b0: number, b1: number): Op[] {
  const n = a1 - a0;
  const m = b1 - b0;
  const max = n + m;
  const replaceAll = (): Op[] => [
    ...a.slice(a0, a1).map((line, i): Op => ({ kind: "-", line, a: a0 + i, b: b0 })),
    ...b.slice(b0, b1).map((line, i): Op => ({ kind: "+", line, a: a1, b: b0 + i })),
  ];
  if (n === 0 || m === 0) return replaceAll();
  const offset = max + 1;
  let v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = -1;
  for (let d = 0; d <= Math.min(max, MAX_EDITS) && found < 0; d++) {
    trace.push(v.slice());
    const next = v;
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && same(a[a0 + x]!, b[b0 + y]!)) {
        x++;
        y++;
      }
      next[offset + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
    v = next;
  }
  if (found < 0) return replaceAll();
  const ops: Op[] = [];
  let x = n;
  let y = m;
  for (let d = found; d >= 0; d--) {
    const prev = trace[d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && prev[offset + k - 1]! < prev[offset + k + 1]!) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : prev[offset + prevK]!;
    const prevY = d === 0 ? 0 : prevX - prevK;
    while (x > prevX && y > prevY) {
      x--;
      y--;
      ops.push({ kind: " ", line: a[a0 + x]!, a: a0 + x, b: b0 + y });
    }
    if (d === 0) break;
    if (x === prevX) {
      y--;
      ops.push({ kind: "+", line: b[b0 + y]!, a: a0 + x, b: b0 + y });
    } else {
      x--;
      ops.push({ kind: "-", line: a[a0 + x]!, a: a0 + x, b: b0 + y });
    }
  }
  return ops.reverse();
}

/** A unified diff and its counts. */
export interface UnifiedDiff {
  /** The diff text, "" when the texts are equal. */
  readonly diff: string;
  /** Lines added. */
  readonly added: number;
  /** Lines removed. */
  readonly removed: number;
}

/** `3` or `3,0`: GNU diff leaves out a count of 1. */
function range(start: number, count: number): string {
  return count === 1 ? `${start}` : `${start},${count}`;
}

/**
 * The unified diff from `before` to `after` with `context` lines around each change (""
 * when they are equal), and how many lines it adds and removes: one edit script for both.
 * Lines without a final newline are marked as `diff` marks them.
 */
export function unifiedDiff(
  before: string,
  after: string,
  names: { readonly from: string; readonly to: string },
  context = 3,
): UnifiedDiff {
  if (before === after) return { diff: "", added: 0, removed: 0 };
  const ops = editScript(splitLines(before), splitLines(after));
  const changes = ops.map((o, i) => (o.kind === " " ? -1 : i)).filter((i) => i >= 0);
  // Group changes whose context overlaps into hunks.
  const hunks: { from: number; to: number }[] = [];
  for (const i of changes) {
    const last = hunks[hunks.length - 1];
    const from = Math.max(0, i - context);
    if (last && from <= last.to + 1) last.to = Math.min(ops.length - 1, i + context);
    else hunks.push({ from, to: Math.min(ops.length - 1, i + context) });
  }
  const out = [`--- ${names.from}`, `+++ ${names.to}`];
  for (const h of hunks) {
    const slice = ops.slice(h.from, h.to + 1);
    const aCount = slice.filter((o) => o.kind !== "+").length;
    const bCount = slice.filter((o) => o.kind !== "-").length;
    const first = slice[0]!;
    // An empty side starts at the line before the hunk (0 for an empty file), as diff prints it.
    const aStart = aCount === 0 ? first.a : first.a + 1;
    const bStart = bCount === 0 ? first.b : first.b + 1;
    out.push(`@@ -${range(aStart, aCount)} +${range(bStart, bCount)} @@`);
    for (const o of slice) {
      out.push(`${o.kind}${o.line.text}`);
      if (!o.line.eol) out.push("\\ No newline at end of file");
    }
  }
  return {
    diff: `${out.join("\n")}\n`,
    added: ops.filter((o) => o.kind === "+").length,
    removed: ops.filter((o) => o.kind === "-").length,
  };
}
