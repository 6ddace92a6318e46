/** Orderings that are the same on every machine, so rendered files are deterministic. */
import { isRecord } from "./record";

/**
 * Order strings by code point. (`localeCompare` follows the machine's locale, and ICU's
 * collation ignores punctuation at first: `cp-1` and `cp1` would sort differently across hosts.)
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** JSON with every object's keys in code-point order: equal values give equal text, whatever order they were built in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    isRecord(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => compareText(a, b))) : v,
  );
}
