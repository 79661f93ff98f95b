// Preload of `rtt-cpu.js --trace 1` (loaded with --import into every child and, through the
// inherited execArgv, every worker thread): stamps the moments a round trip passes through
// Node's own I/O in this process or thread, so that the parent can line them up across
// processes and say where the wall time of a round trip goes (rtt-trace-report.ts).
//
// Stamped: a socket's 'data' event, the start and end of a socket write (the system call that
// wakes the peer is inside it), the start and end of a postMessage, and a 'message' listener's
// call on a MessagePort (a Worker's messages come through one). The clock is CLOCK_MONOTONIC
// (process.hrtime), which every process of the host shares. A stamp costs ≈ 0.1 µs warm.
import net from "node:net";
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MessagePort, threadId } from "node:worker_threads";

/** What a stamp marks, by its number in a TraceFile. */
export const TraceEvent = { Data: 1, WriteStart: 2, WriteEnd: 3, PostStart: 4, PostEnd: 5, Message: 6 } as const;
type TraceEvent = (typeof TraceEvent)[keyof typeof TraceEvent];

/** The report's name of each event. */
export const TRACE_EVENT_NAMES: Record<number, string> = { 1: "data", 2: "write>", 3: "write<", 4: "post>", 5: "post<", 6: "message" };

/** What each process or thread writes: its role, and its stamps in the order taken. */
export interface TraceFile {
  role: string;
  thread: number;
  events: number[];
  /** µs of CLOCK_MONOTONIC, the clock every process of the host (and V8's profiler) reads. */
  times: number[];
  /** Stamping stopped at MAX_STAMPS: later round trips are missing. */
  truncated: boolean;
}

/** The name of a stamp file: `${role}-${pid}-${threadId}.json` (what --trace-dir may hold and clear). */
export const TRACE_FILE = /^[\w.-]+-\d+-\d+\.json(\.tmp)?$/;

const MAX_STAMPS = 1 << 20;
/** How often a traced process or thread looks whether it has gone quiet (see install's `dump`). */
const QUIET_CHECK_MS = 100;
/** How soon a traced process or thread has written its stamps once it has gone quiet. */
export const TRACE_DUMP_MS = 500;

const dir = process.env.RTT_TRACE_DIR;
if (dir !== undefined) install(dir);

function install(outDir: string): void {
  const events = new Uint8Array(MAX_STAMPS);
  const times = new Float64Array(MAX_STAMPS);
  let count = 0;
  const stamp = (event: TraceEvent): void => {
    if (count === MAX_STAMPS) return;
    events[count] = event;
    times[count++] = Number(process.hrtime.bigint()) / 1e3;
  };

  const socket = net.Socket.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  const emit = socket.emit!;
  socket.emit = function (this: unknown, event: unknown, ...args: unknown[]) {
    if (event === "data") stamp(TraceEvent.Data);
    return emit.call(this, event, ...args);
  };
  // Node's write and writev both end in _writeGeneric, which makes the system call before it returns.
  const writeGeneric = socket._writeGeneric!;
  socket._writeGeneric = function (this: unknown, ...args: unknown[]) {
    // A line on stdout or stderr (a pipe is a net.Socket too) is no step of a round trip. Told by its
    // descriptor: reading process.stdout here would create the stream in a process that never used it.
    const fd = (this as { _handle?: { fd?: number } })._handle?.fd;
    if (fd === 1 || fd === 2) return writeGeneric.apply(this, args);
    stamp(TraceEvent.WriteStart);
    try {
      return writeGeneric.apply(this, args);
    } finally {
      stamp(TraceEvent.WriteEnd);
    }
  };
  // A Worker's postMessage and 'message' go through its own MessagePort: stamping the port's
  // methods stamps both once.
  const port = MessagePort.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  const post = port.postMessage!;
  port.postMessage = function (this: unknown, ...args: unknown[]) {
    stamp(TraceEvent.PostStart);
    try {
      return post.apply(this, args);
    } finally {
      stamp(TraceEvent.PostEnd);
    }
  };
  const stamped = new WeakMap<object, (...args: unknown[]) => unknown>();
  const stampedListener = (listener: (...args: unknown[]) => unknown): ((...args: unknown[]) => unknown) => {
    let wrapper = stamped.get(listener);
    if (wrapper === undefined) {
      wrapper = function (this: unknown, ...args: unknown[]) {
        stamp(TraceEvent.Message);
        return listener.apply(this, args);
      };
      stamped.set(listener, wrapper);
    }
    return wrapper;
  };
  for (const method of ["on", "addListener", "once", "off", "removeListener"]) {
    const original = port[method]!;
    port[method] = function (this: unknown, event: unknown, listener: unknown, ...rest: unknown[]) {
      const wrapped = event === "message" && typeof listener === "function" ? stampedListener(listener as (...args: unknown[]) => unknown) : listener;
      return original.call(this, event, wrapped, ...rest);
    };
  }

  const role = roleOf(process.argv);
  const file = join(outDir, `${role}-${process.pid}-${threadId}.json`);
  let written = 0;
  const dump = (): void => {
    if (count === written) return;
    const out: TraceFile = {
      role,
      thread: threadId,
      events: Array.from(events.subarray(0, count)),
      times: Array.from(times.subarray(0, count)),
      truncated: count === MAX_STAMPS,
    };
    // Written whole, then renamed: a process that exits meanwhile leaves the last whole file, never half of one.
    writeFileSync(`${file}.tmp`, JSON.stringify(out));
    renameSync(`${file}.tmp`, file);
    written = count;
  };
  // A thread ends with its process, without an exit event of its own, so each writes its stamps
  // once it has gone quiet (no stamp for QUIET_CHECK_MS): after the round trips, never among them
  // (writing a few MB of JSON takes tens of ms and feeds the collector).
  let seen = 0;
  setInterval(() => {
    if (count !== seen) seen = count;
    else dump();
  }, QUIET_CHECK_MS).unref();
  process.on("exit", dump);
}

/**
 * The probe's --role of this process or thread; a thread the runtime started has none of its
 * own and takes its process's (HOPWIRE_BENCH_ROLE, set before any thread starts), with ".thread".
 */
function roleOf(argv: readonly string[]): string {
  const at = argv.indexOf("--role");
  if (at >= 0 && argv[at + 1] !== undefined) return argv[at + 1]!;
  const parent = process.env.HOPWIRE_BENCH_ROLE ?? "child";
  return threadId === 0 ? parent : `${parent}.thread`;
}
