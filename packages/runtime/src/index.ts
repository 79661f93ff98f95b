export * from "./address/index.js";
export * from "./route/index.js";
export * from "./message/index.js";
export * from "./codec/index.js";
export * from "./errors/index.js";
export * from "./logging/index.js";
export * from "./flow-control/index.js";
export * from "./router/index.js";
export * from "./relay/index.js";
export * from "./builtins/index.js";
export { threadExecArgv } from "./placement/exec-argv.js";
/** @internal Starts a worker thread with the parent's execArgv, minus what Node refuses in a thread (for crypto threads; see exec-argv.ts). */
export { startThread } from "./placement/exec-argv.js";
export * from "./options/index.js";
export * from "./diagnostics/index.js";
export type { Context, FlowControlsAccess, SendOptions, SendAndReceiveOptions, TrySendOptions } from "./context/context.js";
export { INBOX_MAX_BYTES, INBOX_MAX_MESSAGES } from "./context/inbox.js";
export type { WaitOptions } from "./util/wait.js";
export { waitFor } from "./util/wait.js";
export { copyBytes, readU32BE, viewOf, writeU32BE } from "./util/bytes.js";
export type { Worker, Processor, WorkerClass, Placement, StartWorkerOptions } from "./worker/worker.js";
export { Node, node } from "./node/node.js";
export { assertNodeArgument, looksLikeNode, type NodeArgumentName } from "./node/node-argument.js";
export { describeType, describeValue } from "./util/describe-type.js";
export { readSmallFile, type SmallFileRefusal } from "./util/read-small-file.js";
export { KeyCounts } from "./util/key-counts.js";
/** @internal A rate limit the packages share (the logger's lines, a listener's REFUSED notices): util/token-bucket.ts. */
export { TokenBucket } from "./util/token-bucket.js";
export { deferred, type Deferred } from "./util/deferred.js";
export { StopOnce, type StopHookHost } from "./node/stop-once.js";
export { afterClosingHandles } from "./util/closing-handles.js";
/** @internal Runs a callback at the end of this turn, in the one end-of-turn pass that the channels, connections and thread links share (util/turn-end.ts). */
export { afterTurnEnd, atTurnEnd } from "./util/turn-end.js";
export { clipForLog, escapeControl } from "./util/log-text.js";
export type { NodeOptions } from "./node/node-options.js";
export { MAX_LINK_WINDOW_BYTES, MAX_POOL_THREADS, warningsFromEnvironment } from "./node/node-options.js";
export { MAX_BUSY_POLL_MICROS } from "./node/busy-poll.js";
