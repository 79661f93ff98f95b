import { expect } from "vitest";
import { createLogger, node, type Context, type Logger, type Node, type NodeOptions, type Routed } from "@hopwire/runtime";

/** A logger that keeps every line, and lets a test wait for one (an event, not a sleep). */
export function captureLogger(): { logger: Logger; lines: string[]; waitForLine(pattern: RegExp): Promise<string> } {
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const logger = createLogger("hopwire", {
    debug: "hopwire*",
    sink: (line) => {
      lines.push(line);
      for (const w of waiters.slice()) {
        if (w.pattern.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    },
  });
  const waitForLine = (pattern: RegExp): Promise<string> => {
    const found = lines.find((l) => pattern.test(l));
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => waiters.push({ pattern, resolve }));
  };
  return { logger, lines, waitForLine };
}

/** Starts a node for one test and stops it afterwards, whatever happened. */
export async function withNode<T>(options: NodeOptions, body: (n: Node) => Promise<T>): Promise<T> {
  const n = await node(options);
  try {
    return await body(n);
  } finally {
    await n.stop();
  }
}

/** A matcher for the InvalidOptionError that names `option` (and whose message matches `message`, if given). */
export function invalidOption(option: string, message?: RegExp): unknown {
  return expect.objectContaining({ name: "InvalidOptionError", code: "OPTION_INVALID", option, ...(message ? { message: expect.stringMatching(message) } : {}) });
}

/** What node(options) throws, or "accepted" (the node it made is stopped). */
export async function nodeError(options: unknown): Promise<unknown> {
  let n: Node | undefined;
  try {
    n = await node(options as never);
    return "accepted";
  } catch (error) {
    return error;
  } finally {
    await n?.stop();
  }
}

/**
 * A worker placed "main" at `address` whose handler waits until `open()`: it handles nothing
 * before (the first message waits in its handler, `maxMessages` more in its mailbox). `got`
 * lists what `read` makes of each body it handled, in order (the body itself by default).
 */
export async function startGated<T = number>(
  n: Node,
  address: string,
  maxMessages: number,
  read: (body: unknown) => T = (body) => body as T,
): Promise<{ got: T[]; open: () => void }> {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const got: T[] = [];
  await n.startWorker(address, { handleMessage: async (_ctx: Context, msg: Routed) => (await gate, void got.push(read(msg.body))) }, { placement: "main", mailbox: { maxMessages } });
  return { got, open };
}

/** The `i` of a body `{ i }`. */
export const indexOfBody = (body: unknown): number => (body as { i: number }).i;

/** A worker placed "main" at `address` that records every body it gets, in order. */
export async function startRecorder(n: Node, address: string): Promise<unknown[]> {
  const got: unknown[] = [];
  await n.startWorker(address, { handleMessage: (_ctx: Context, msg: Routed) => void got.push(msg.body) }, { placement: "main" });
  return got;
}
