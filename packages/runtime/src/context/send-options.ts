import { checkWaitOptions, optionKeys } from "../options/plain-options.js";
import type { SendAndReceiveOptions, SendOptions } from "./context.js";

/** The keys of SendOptions and SendAndReceiveOptions. */
const SEND_OPTIONS = optionKeys<SendOptions & SendAndReceiveOptions>({ timeout: true, signal: true, localInfo: true });

/**
 * Checks the options of `send`, `forward` or `sendAndReceive` where the caller calls, on
 * every kind of context (a thread's are checked on its thread, not on the main thread it
 * forwards to): known keys only, a `timeout` that is a positive number of ms or Infinity, a
 * `signal` that is an AbortSignal. Throws InvalidOptionError naming the option.
 */
export function checkSendOptions(options: unknown, call: "send" | "forward" | "sendAndReceive"): void {
  if (options !== undefined) checkWaitOptions(options, WHAT[call], SEND_OPTIONS);
}

/** What the errors call the options: made once, not per send. */
const WHAT = Object.freeze({ send: "send options", forward: "forward options", sendAndReceive: "sendAndReceive options" });
