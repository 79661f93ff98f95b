// What the flow fixtures (test/fixtures/flow/*.mjs) print, shared by the flow tests across
// processes (split in two files so that the 30 s slow consumer runs beside the rest).
import { fileURLToPath } from "node:url";
import type { Child } from "./children.js";

export const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

const MiB = 1024 * 1024;
/** Issue 8's bound on a process's RSS growth after the warm-up. */
export const BOUND = 64 * MiB;

/** The address a fixture listens on (its `LISTENING host:port` line). */
export async function listening(child: Child): Promise<string> {
  return (await child.line(/^LISTENING (\S+)$/))[1]!;
}

/** Waits until the responder's sink reported `count` messages handled. */
export function received(responder: Child, count: number): Promise<RegExpMatchArray> {
  return responder.line(new RegExp(`^RECEIVED ${count} (\\d+) (\\d+)$`));
}
