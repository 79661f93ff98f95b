import { randomBytes } from "node:crypto";

/**
 * The property name a named map key becomes as msgpackr decodes it into an object, hashed: so
 * that the body scan (decoded-size.ts) can tell two keys that name the same property, however
 * they are spelled (the fixint -5 and the string "-5" are one property). encodeBody never
 * writes one property twice in a map; a crafted body that did made V8 rebuild the object's
 * hidden classes at each repeat holding a float where an integer was: ≈ 1 s of a thread per
 * MiB (a fourth adversarial review, session 55).
 *
 * A hash of 53 bits from two 32-bit hashes seeded at random per process: two distinct names
 * taken for one would need a collision a peer cannot aim at.
 */

const SEED_A = randomBytes(4).readInt32BE(0);
const SEED_B = randomBytes(4).readInt32BE(0);
/** Not a name: a string key that is not valid UTF-8 (decoders disagree on what it spells). */
export const INVALID_NAME = -1;

const NULL = nameOfText("null");
const FALSE = nameOfText("false");
const TRUE = nameOfText("true");
const UNDEFINED = nameOfText("undefined");
/** msgpackr renames the key "__proto__" to "__proto_" as it sets it: one property with a key "__proto_". */
const PROTO = Uint8Array.from("__proto__", (c) => c.charCodeAt(0));
const RENAMED_PROTO = nameOfText("__proto_");

/** The name of the string key in bytes[at, at + n): its UTF-8 bytes are the name's, if valid. */
export function nameOfString(bytes: Uint8Array, at: number, n: number): number {
  const end = Math.min(at + n, bytes.length);
  if (!validUtf8(bytes, at, end)) return INVALID_NAME;
  if (n === PROTO.length && PROTO.every((c, i) => bytes[at + i] === c)) return RENAMED_PROTO;
  return combine(bytes, at, end);
}

/** The name of nil, false, true (their tags) or undefined (-1). */
export function nameOfConstant(tag: number): number {
  return tag === 0xc0 ? NULL : tag === 0xc2 ? FALSE : tag === 0xc3 ? TRUE : UNDEFINED;
}

/** The name of a number key that is no array index: its decimal text, as String(value) writes it. */
export function nameOfNumber(value: number | bigint): number {
  return nameOfText(String(value));
}

/** The name of an ASCII text (a number's decimal, a constant's word): its characters are its UTF-8 bytes. No encoder: a third of a µs a key was. */
function nameOfText(text: string): number {
  let a = SEED_A;
  let b = SEED_B;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return join(a, b);
}

function combine(bytes: Uint8Array, at: number, end: number): number {
  let a = SEED_A;
  let b = SEED_B;
  for (let i = at; i < end; i++) {
    a = Math.imul(a ^ bytes[i]!, 0x01000193);
    b = Math.imul(b ^ bytes[i]!, 0x5bd1e995);
  }
  return join(a, b);
}

/** Two 32-bit hashes as one number of 53 bits. */
function join(a: number, b: number): number {
  return (a >>> 0) * 0x200000 + ((b >>> 0) & 0x1fffff);
}

/** Whether bytes[at, end) is well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF). */
function validUtf8(bytes: Uint8Array, at: number, end: number): boolean {
  let i = at;
  while (i < end) {
    const c = bytes[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let low = 0x80;
    let high = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) low = 0xa0;
      if (c === 0xed) high = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) low = 0x90;
      if (c === 0xf4) high = 0x8f;
    } else return false;
    if (i + n >= end) return false;
    const second = bytes[i + 1]!;
    if (second < low || second > high) return false;
    for (let k = 2; k <= n; k++) {
      const b = bytes[i + k]!;
      if (b < 0x80 || b > 0xbf) return false;
    }
    i += n + 1;
  }
  return true;
}
