// Ports handed between the processes of one repetition through files, so that the
// responder, the middle and the initiator can all be spawned at once: each spends
// ~0.2-0.5 s starting Node and loading Hopwire, and a three-process repetition would
// otherwise pay that three times in a row. The parent publishes a port (from a child's
// io.ready) into the repetition's directory; a child waiting for it polls the file.
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Parent side: one directory per repetition, removed by dispose(). */
export class Rendezvous {
  readonly dir = mkdtempSync(join(tmpdir(), "hopwire-bench-"));

  path(name: string): string {
    return join(this.dir, `${name}.json`);
  }

  /** Written whole (rename), so a reader never sees half a file. */
  publish(name: string, value: unknown): void {
    const tmp = `${this.path(name)}.tmp`;
    writeFileSync(tmp, JSON.stringify(value));
    renameSync(tmp, this.path(name));
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Child side: waits (polling every 2 ms) for a published value. */
export async function awaitPublished<T>(file: string, signal: AbortSignal, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    signal.throwIfAborted();
    if (Date.now() > deadline) throw new Error(`nothing published at ${file} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return JSON.parse(readFileSync(file, "utf8")) as T;
}
