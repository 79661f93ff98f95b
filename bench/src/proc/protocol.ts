// Messages between the harness and a bench child process, over the Node IPC channel
// (stdout and stderr stay free for the child's own diagnostics).

/** Child → parent. */
export type ChildMessage =
  /** The child is set up (listening, connected...) and says what peers need, e.g. its port. */
  | { type: "ready"; data: unknown }
  /** The child finished; maxRssBytes is process.resourceUsage().maxRSS read inside it. */
  | { type: "result"; data: unknown; maxRssBytes: number }
  | { type: "error"; message: string; stack?: string };

/** Parent → child: finish now and report (used for servers and on abort). */
export type ParentMessage = { type: "stop" };
