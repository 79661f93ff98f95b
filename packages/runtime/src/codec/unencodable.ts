/**
 * Finds where a value holds something msgpack cannot carry (a function, a symbol, a bigint
 * past 64 bits, a reference back to an object it is inside of), to name it in an EncodeError. It runs only after msgpackr refused a value,
 * so the send path never pays for a scan.
 */
const MAX_DEPTH = 64;

/** The path (e.g. `body.handlers[2]`) of the first unencodable value under `value`, if one is found. */
export function findUnencodable(value: unknown, root: string): { path: string; kind: string } | undefined {
  return search(value, root, 0, new Set(), new Set());
}

/** `seen`: objects searched already (shared ones are searched once); `enclosing`: the objects on the path to `value`. */
function search(value: unknown, path: string, depth: number, seen: Set<object>, enclosing: Set<object>): { path: string; kind: string } | undefined {
  const kind = unencodableKind(value);
  if (kind) return { path, kind };
  if (value === null || typeof value !== "object" || ArrayBuffer.isView(value)) return undefined;
  if (enclosing.has(value)) return { path, kind: "a reference back to an object that contains it (a cycle)" };
  if (depth >= MAX_DEPTH || seen.has(value)) return undefined;
  seen.add(value);
  enclosing.add(value);
  const found = searchInside(value, path, depth, seen, enclosing);
  enclosing.delete(value);
  return found;
}

function searchInside(value: object, path: string, depth: number, seen: Set<object>, enclosing: Set<object>): { path: string; kind: string } | undefined {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = search(value[i], `${path}[${i}]`, depth + 1, seen, enclosing);
      if (found) return found;
    }
    return undefined;
  }
  if (value instanceof Map) {
    for (const [key, entry] of value) {
      const found = search(key, `${path}.<key>`, depth + 1, seen, enclosing) ?? search(entry, `${path}.get(${String(key)})`, depth + 1, seen, enclosing);
      if (found) return found;
    }
    return undefined;
  }
  if (value instanceof Set) {
    let i = 0;
    for (const entry of value) {
      const found = search(entry, `${path}.<entry ${i++}>`, depth + 1, seen, enclosing);
      if (found) return found;
    }
    return undefined;
  }
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    const found = search((value as Record<string, unknown>)[key], `${path}${/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`}`, depth + 1, seen, enclosing);
    if (found) return found;
  }
  return undefined;
}

function unencodableKind(value: unknown): string | undefined {
  switch (typeof value) {
    case "function":
      return "a function";
    case "symbol":
      return "a symbol";
    case "bigint":
      return value >= -(2n ** 63n) && value < 2n ** 64n ? undefined : "a bigint wider than 64 bits";
    default:
      return undefined;
  }
}
