/** Orderings that are the same on every machine, so rendered files are deterministic. */

/**
 * Order strings by code point. (`localeCompare` follows the machine's locale, and ICU's
 * collation ignores punctuation at first: `cp-1` and `cp1` would sort differently across hosts.)
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
