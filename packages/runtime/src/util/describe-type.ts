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

/** Longest string an error message quotes whole; a longer one is cut, with an ellipsis. */
const SHOWN_STRING_MAX = 60;

/**
 * `value` as an option check's "got ..." shows it: a string quoted (so "10" never reads as
 * the number 10, nor "false" as the boolean), a number, boolean, bigint, null or undefined as
 * itself, anything else by its type (describeType). For option values, never for secrets.
 */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > SHOWN_STRING_MAX ? `${value.slice(0, SHOWN_STRING_MAX)}…` : value);
  if (typeof value === "number" || typeof value === "boolean" || value === undefined || value === null) return String(value);
  if (typeof value === "bigint") return `${value}n`;
  return describeType(value);
}
