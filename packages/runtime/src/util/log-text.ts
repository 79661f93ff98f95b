/**
 * Text from the network (an address, a route, a name) goes into log and warning lines: what
 * could forge a line or drive a terminal is escaped there, and a long value is cut short.
 */

/** C0 controls (newlines included), DEL, C1 controls (CSI is one) and the Unicode line separators. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** `text` with every control character written as a \uXXXX escape: one line, inert in a terminal. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** The longest value a log line shows whole. */
export const MAX_SHOWN_LENGTH = 128;

/** `text`, or its first MAX_SHOWN_LENGTH characters and how long it was. */
export function clipForLog(text: string): string {
  return text.length <= MAX_SHOWN_LENGTH ? text : `${text.slice(0, MAX_SHOWN_LENGTH)}… (${text.length} characters)`;
}
