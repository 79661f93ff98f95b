import { expect } from "vitest";
import { createLogger, node, type Logger, type Node, type NodeOptions } from "@hopwire/runtime";

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
