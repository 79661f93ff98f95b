import { AbortError, InvalidOptionError } from "../errors/errors.js";
import { maxDecodedBytesOf } from "../codec/body.js";
import type { LocalMessage } from "../message/local-message.js";
import { checkWaitOptions, isPlainObject, optionKeys } from "../options/plain-options.js";
import { describeValue } from "../util/describe-type.js";
import type { SendAndReceiveOptions, SendOptions } from "./context.js";

/** The keys of SendOptions and of SendAndReceiveOptions. */
const SEND_OPTIONS = optionKeys<SendOptions>({ timeout: true, signal: true, localInfo: true, ifFull: true });
const SEND_AND_RECEIVE_OPTIONS = optionKeys<SendAndReceiveOptions>({ timeout: true, signal: true, localInfo: true, maxDecodedBytes: true });
/** The options of send that bound or replace a wait: meaningless for trySend and tryForward, which never wait. */
const WAIT_ONLY_OPTIONS = ["timeout", "signal", "ifFull"] as const;

/**
 * Checks the options of `send`, `forward` or `sendAndReceive` where the caller calls, on
 * every kind of context (a thread's are checked on its thread, not on the main thread it
 * forwards to): known keys only, a `timeout` that is a positive number of ms or Infinity, a
 * `signal` that is an AbortSignal, a `localInfo` that is a plain object, an `ifFull` of
 * "wait" or "drop" (not on sendAndReceive). Throws InvalidOptionError naming the option, and
 * AbortError for a signal already aborted: the call is cancelled before it starts, nothing is
 * sent (as `fetch` and `events.once` do).
 */
export function checkSendOptions(options: unknown, call: "send" | "forward" | "sendAndReceive"): void {
  if (options === undefined) return;
  if (call === "sendAndReceive" && isPlainObject(options) && "ifFull" in options) {
    throw new InvalidOptionError(`${WHAT[call]}: ifFull is for send and forward (a request dropped would only wait out its timeout)`, { option: "ifFull" });
  }
  checkWaitOptions(options, WHAT[call], call === "sendAndReceive" ? SEND_AND_RECEIVE_OPTIONS : SEND_OPTIONS);
  const ifFull = (options as SendOptions).ifFull;
  if (ifFull !== undefined && ifFull !== "wait" && ifFull !== "drop") {
    throw new InvalidOptionError(`${WHAT[call]}: ifFull must be "wait" or "drop", got ${describeValue(ifFull)}`, { option: "ifFull" });
  }
  checkLocalInfo(options, WHAT[call]);
  if (call === "sendAndReceive") maxDecodedBytesOf(options as SendAndReceiveOptions, WHAT.sendAndReceive);
  // Checked here, for every send: the send queue looked at a signal only while a send waited for room, so one already aborted went out.
  const signal = (options as SendOptions).signal;
  if (signal?.aborted) throw new AbortError(`${call} was aborted before it started: nothing was sent`, { cause: signal.reason });
}

/**
 * Checks the options of `trySend` or `tryForward` where the caller calls: `localInfo` only, a
 * plain object. `timeout`, `signal` and `ifFull` get an InvalidOptionError saying why: these
 * calls never wait (they return false instead).
 */
export function checkTrySendOptions(options: unknown, call: "trySend" | "tryForward"): void {
  if (options === undefined) return;
  const what = `${call} options`;
  if (isPlainObject(options)) {
    const waitOnly = WAIT_ONLY_OPTIONS.find((key) => options[key] !== undefined);
    if (waitOnly !== undefined) {
      throw new InvalidOptionError(`${what}: ${waitOnly} is for ${call === "trySend" ? "send" : "forward"}, which waits for room; ${call} never waits (it returns false instead)`, { option: waitOnly });
    }
  }
  // send's keys: a wait-only option left undefined is no option, as for send (those set were refused above).
  checkWaitOptions(options, what, SEND_OPTIONS);
  checkLocalInfo(options, what);
}

/**
 * A `localInfo` that is not a plain object is an InvalidOptionError. Anything else went out
 * and was lost: a string, an array or bytes as local info made a thread's reader drop the
 * envelope ("Local info must be a map"), so the send resolved, the message never arrived, and
 * a sendAndReceive waited out its timeout.
 */
function checkLocalInfo(options: unknown, what: string): void {
  const localInfo = (options as { localInfo?: unknown }).localInfo;
  if (localInfo !== undefined && !isPlainObject(localInfo)) {
    throw new InvalidOptionError(`${what}: localInfo must be a plain object such as { tenant: "a" }, got ${describeValue(localInfo)}`, { option: "localInfo" });
  }
}

/** `{ ifFull: "drop" }`, made once: what the built-in services that answer peers send with (Echoer, Hop). */
export const DROP_IF_FULL: SendOptions = Object.freeze({ ifFull: "drop" });

/** What the errors call the options: made once, not per send. */
const WHAT = Object.freeze({ send: "send options", forward: "forward options", sendAndReceive: "sendAndReceive options" });

/**
 * What `forward` routes: `message` as it is, or, when the options give `localInfo`, a copy
 * under that local info (as `message.withLocalInfo` makes). A checked option is never dropped:
 * it was, and `forward(m, { localInfo })` delivered `m`'s own local info without a word.
 */
export function toForward(message: LocalMessage, options: SendOptions | undefined): LocalMessage {
  const localInfo = options?.localInfo;
  return localInfo === undefined ? message : message.withLocalInfo(localInfo);
}

/**
 * Checks what `forward` was given: a LocalMessage. A string or a body got a TypeError from
 * deep inside ("Cannot read properties of undefined (reading 'next')"); `send` is the call for a body.
 */
export function checkForwardMessage(message: unknown): void {
  // Duck-typed, not instanceof: a LocalMessage of another copy of the runtime forwards as well,
  // and a class of the bundles (renamed by keepNames) is a slow instanceof on a per-message path.
  if (typeof (message as { onwardRoute?: { next?: unknown } } | null)?.onwardRoute?.next === "function") return;
  throw new InvalidOptionError(
    `forward: message must be a LocalMessage (as a handler gets in msg.message, or new LocalMessage(onwardRoute, returnRoute, encodeBody(body))), got ${describeValue(message)}; to send a body along a route, use send(to, body)`,
    { option: "message" },
  );
}
