/**
 * What `value` is, for an error's "got ..." (never the value itself, which may be a secret):
 * "a number", "an array", "an object", "a SecureChannelOptions", "null", "undefined".
 */
export function describeType(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    return typeof name === "string" && name !== "" && name !== "Object" ? `${/^[AEIOU]/.test(name) ? "an" : "a"} ${name}` : "an object";
  }
  return `${/^[aeiou]/.test(typeof value) ? "an" : "a"} ${typeof value}`;
}
