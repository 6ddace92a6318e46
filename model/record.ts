/** The one test for "a YAML/JSON map": an object that is neither null nor a list. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
