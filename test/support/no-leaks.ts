// Every test file's setup (vitest.config.ts setupFiles): a file must close the sockets,
// servers and child processes it opened. The forks run file after file (isolate: false),
// so whatever a file leaves open would go on running beside the files after it.
import { afterAll, beforeAll } from "vitest";

/** Handles that only a test opens: TCP, child processes and their stdio pipes. */
const WATCHED = new Set(["TCPServerWrap", "TCPSocketWrap", "ProcessWrap", "PipeWrap", "UDPWrap"]);
/** How long a file's last close may take to complete after its last hook. */
const GRACE_MS = 5_000;

let before = new Map<string, number>();

function open(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) if (WATCHED.has(kind)) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

function leaked(): string[] {
  return [...open()].filter(([kind, n]) => n > (before.get(kind) ?? 0)).map(([kind, n]) => `${n - (before.get(kind) ?? 0)} ${kind}`);
}

beforeAll(() => {
  before = open();
});

afterAll(async () => {
  // Closing is asynchronous: poll until everything the file opened is gone, or the grace runs out.
  const deadline = Date.now() + GRACE_MS;
  while (leaked().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  const left = leaked();
  if (left.length > 0) throw new Error(`this file left open: ${left.join(", ")} (close them in an afterEach/afterAll); open sockets now: ${openSockets()}`);
});

/**
 * The process's ref'd handles, each by its kind and, for a socket or server, its ends and
 * state, so that a leak names the connection (a rare one under load cannot be found from
 * "1 TCPSocketWrap"). Node 20 has no public list of handles; `_getActiveHandles` is its
 * internal one, read only for this message.
 */
function openSockets(): string {
  const handles = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles?.() ?? [];
  const described = handles.map((h) => {
    const s = h as { constructor?: { name?: string }; localPort?: number; remotePort?: number; remoteAddress?: string; connecting?: boolean; destroyed?: boolean; readyState?: string; address?: () => unknown };
    const kind = s.constructor?.name ?? typeof h;
    if (kind === "Server") return `server ${JSON.stringify(s.address?.())}`;
    if (kind !== "Socket") return kind;
    const state = [s.connecting ? "connecting" : "", s.destroyed ? "destroyed" : "", s.readyState ?? ""].filter((x) => x !== "").join(" ");
    return `socket ${s.localPort ?? "?"} -> ${s.remoteAddress ?? "?"}:${s.remotePort ?? "?"} ${state}`.trim();
  });
  return described.length > 0 ? described.join("; ") : "none (the leaked ones are unref'd or closing)";
}
