/**
 * Per-channel credit, as in HTTP/2 and yamux stream windows: a receiving end grants its peer a
 * window (messages and bytes of application envelopes) and returns credit as the destination
 * consumes, so a slow worker behind one channel stalls only that channel, never the connection
 * or relay it shares with others.
 *
 * CREDIT record body (24 bytes, big-endian), always cumulative so that a lost or repeated
 * record can neither leak nor double credit:
 *   u32 window messages ‖ u32 window bytes ‖ u64 messages consumed ‖ u64 bytes consumed
 *
 * Both sides apply the same admission rule to each envelope, in channel order, with
 * in-flight = sent (or received) − consumed as announced:
 *   in-flight messages + 1 ≤ window messages, and
 *   in-flight bytes + size ≤ window bytes, or in-flight bytes < a quarter of the window.
 * The second bytes clause lets a message larger than the window through once the pipe is
 * nearly empty; the receiver announces at the latest when a quarter is consumed, so that state
 * is always reached and the sender never waits for credit that will not come.
 */
import { checkOptionKeys, describeValue, InvalidOptionError, optionKeys, orDefault } from "@hopwire/runtime";

/** A credit window: how many messages and bytes may be in flight. */
export interface CreditWindow {
  readonly messages: number;
  readonly bytes: number;
}

/**
 * 4 MiB in flight, as a worker mailbox's default bound: the bytes bound a channel's memory
 * for messages of ~128 bytes and up. The message count bounds it for smaller ones, where
 * each message waiting behind a slow worker costs far more than its bytes (~0.9 KB each for
 * a worker on its own thread, measured). 32,768 (was 8,192): at 8,192 a stream of 64-byte
 * messages waited on CREDIT half of the time; at 32,768 doubling the window no longer
 * speeds it up. The price: a slow worker behind a channel of tiny messages can make it hold
 * up to ~4x as many messages (docs/secure-channels.md, "Credit").
 */
export const DEFAULT_RECEIVE_WINDOW: CreditWindow = Object.freeze({ messages: 32_768, bytes: 4 * 1024 * 1024 });

export const CREDIT_BODY_LENGTH = 24;
const TWO_POW_32 = 0x1_0000_0000;
const MAX_WINDOW = 0xffff_ffff;

const WINDOW_OPTIONS = optionKeys<CreditWindow>({ messages: true, bytes: true });

export function validateWindow(window: Partial<CreditWindow>, fallback: CreditWindow = DEFAULT_RECEIVE_WINDOW): CreditWindow {
  checkOptionKeys(window, WINDOW_OPTIONS, "receiveWindow", "receiveWindow");
  const resolved = { messages: orDefault(window.messages, fallback.messages), bytes: orDefault(window.bytes, fallback.bytes) };
  for (const key of ["messages", "bytes"] as const) {
    const v = resolved[key];
    if (!Number.isSafeInteger(v) || v < 1 || v > MAX_WINDOW) {
      throw new InvalidOptionError(`receiveWindow.${key} must be an integer from 1 to ${MAX_WINDOW}, got ${describeValue(v)}`, { option: `receiveWindow.${key}` });
    }
  }
  return Object.freeze(resolved);
}

/** A quarter of the window, at least one: the batch in which credit is returned. */
function quarter(value: number): number {
  return Math.max(1, Math.ceil(value / 4));
}

/** The admission rule both sides share (see the file comment). */
function admits(window: CreditWindow, inFlightMessages: number, inFlightBytes: number, size: number): boolean {
  if (inFlightMessages + 1 > window.messages) return false;
  return inFlightBytes + size <= window.bytes || inFlightBytes < quarter(window.bytes);
}

/** A CREDIT record: the receiver's window and what it has consumed so far, in messages and bytes. */
export interface CreditRecord {
  readonly window: CreditWindow;
  readonly consumedMessages: number;
  readonly consumedBytes: number;
}

/** The CREDIT record's bytes. */
export function encodeCredit(record: CreditRecord): Uint8Array {
  const out = new Uint8Array(CREDIT_BODY_LENGTH);
  const view = new DataView(out.buffer);
  view.setUint32(0, record.window.messages);
  view.setUint32(4, record.window.bytes);
  writeU64(view, 8, record.consumedMessages);
  writeU64(view, 16, record.consumedBytes);
  return out;
}

/** The record, or undefined if it is malformed (wrong length, zero window, counts past 2^53). */
export function decodeCredit(body: Uint8Array): CreditRecord | undefined {
  if (body.length !== CREDIT_BODY_LENGTH) return undefined;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const window = { messages: view.getUint32(0), bytes: view.getUint32(4) };
  const consumedMessages = readU64(view, 8);
  const consumedBytes = readU64(view, 16);
  if (window.messages === 0 || window.bytes === 0 || consumedMessages < 0 || consumedBytes < 0) return undefined;
  return { window, consumedMessages, consumedBytes };
}

function writeU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, Math.floor(value / TWO_POW_32));
  view.setUint32(offset + 4, value >>> 0);
}

/** The value, or -1 above 2^53 - 1 (no honest peer counts that far). */
function readU64(view: DataView, offset: number): number {
  const hi = view.getUint32(offset);
  if (hi > 0x1f_ffff) return -1;
  return hi * TWO_POW_32 + view.getUint32(offset + 4);
}

/** The window of the last grant any channel of this thread took (sharedWindow). */
let lastWindow: CreditWindow = DEFAULT_RECEIVE_WINDOW;

/**
 * `window`, or an equal one already kept: a peer's channels grant the same window (most often
 * the default), and a decoded grant's object kept per channel was 40 B of every idle one.
 */
function sharedWindow(window: CreditWindow): CreditWindow {
  if (window.messages === lastWindow.messages && window.bytes === lastWindow.bytes) return lastWindow;
  return (lastWindow = window);
}

/**
 * The sending side: what the peer granted and what we have sent. Zero credit until the
 * peer's first CREDIT record (each end grants as it opens).
 */
export class SendCredit {
  #window: CreditWindow | undefined;
  #sentMessages = 0;
  #sentBytes = 0;
  #consumedMessages = 0;
  #consumedBytes = 0;

  /** True if one more envelope of `size` bytes may go, after `pendingMessages`/`pendingBytes` already taken this record. */
  allows(size: number, pendingMessages = 0, pendingBytes = 0): boolean {
    const window = this.#window;
    if (window === undefined) return false;
    const messages = this.#sentMessages + pendingMessages - this.#consumedMessages;
    const bytes = this.#sentBytes + pendingBytes - this.#consumedBytes;
    return admits(window, messages, bytes, size);
  }

  spend(messages: number, bytes: number): void {
    this.#sentMessages += messages;
    this.#sentBytes += bytes;
  }

  /**
   * Applies a CREDIT record from the peer. False (and nothing changes) if it claims more was
   * consumed than we ever sent: a confused or hostile peer cannot inflate our credit.
   */
  grant(record: CreditRecord): boolean {
    if (record.consumedMessages > this.#sentMessages || record.consumedBytes > this.#sentBytes) return false;
    this.#window = sharedWindow(record.window);
    // Cumulative: an older record that arrives late never takes credit back.
    this.#consumedMessages = Math.max(this.#consumedMessages, record.consumedMessages);
    this.#consumedBytes = Math.max(this.#consumedBytes, record.consumedBytes);
    return true;
  }

  get inFlightMessages(): number {
    return this.#sentMessages - this.#consumedMessages;
  }

  get inFlightBytes(): number {
    return this.#sentBytes - this.#consumedBytes;
  }
}

/**
 * The receiving side: what we granted, what arrived, what the destination consumed and what
 * we have told the peer. Credit for a message goes back once the mailbox it was routed to has
 * room (at once if it was not full).
 */
export class ReceiveCredit {
  readonly window: CreditWindow;
  #receivedMessages = 0;
  #receivedBytes = 0;
  #consumedMessages = 0;
  #consumedBytes = 0;
  #announcedMessages = 0;
  #announcedBytes = 0;
  #heldMessages = 0;
  #heldBytes = 0;
  #excessMessages = 0;
  #excessBytes = 0;
  /** What had been announced when the record being read arrived (beginRecord): the most its sender can have known of. */
  #knownMessages = 0;
  #knownBytes = 0;

  constructor(window: CreditWindow) {
    this.window = window;
  }

  /**
   * A record begins: its envelopes are admitted against the credit announced before it came.
   * Credit announced while it is read (its envelopes consumed at once, say) cannot have reached
   * its sender before the sender sealed it, so an honest record never needs it; counted
   * otherwise, a record of a million envelopes to an address nobody has was all admitted, its
   * credit coming back faster than it was spent (an adversarial trial).
   */
  beginRecord(): void {
    this.#knownMessages = this.#announcedMessages;
    this.#knownBytes = this.#announcedBytes;
  }

  /** Counts an arriving envelope; false if it is past the credit the peer was given. */
  admit(size: number): boolean {
    const inFlightMessages = this.#receivedMessages - this.#knownMessages;
    const inFlightBytes = this.#receivedBytes - this.#knownBytes;
    if (!admits(this.window, inFlightMessages, inFlightBytes, size)) {
      this.#excessMessages++;
      this.#excessBytes += size;
      return false;
    }
    this.#receivedMessages++;
    this.#receivedBytes += size;
    return true;
  }

  /** Envelopes dropped because the peer sent them past its credit. */
  get excessMessages(): number {
    return this.#excessMessages;
  }

  /**
   * True once the excess reaches a quarter of the window. An honest peer never sends past its
   * credit at all (the rule is checked the same way on both sides), so this is not lag: the
   * peer ignores credit, and the channel closes rather than keep paying to drop its records.
   */
  get excessPersists(): boolean {
    return this.#excessMessages >= quarter(this.window.messages) || this.#excessBytes >= quarter(this.window.bytes);
  }

  consumed(size: number): void {
    this.#consumedMessages++;
    this.#consumedBytes += size;
  }

  /** A message went to a full mailbox: its credit waits for release(). */
  hold(size: number): void {
    this.#heldMessages++;
    this.#heldBytes += size;
  }

  /** The mailboxes that were full have room: what they held counts as consumed. */
  release(): void {
    this.#consumedMessages += this.#heldMessages;
    this.#consumedBytes += this.#heldBytes;
    this.#heldMessages = 0;
    this.#heldBytes = 0;
  }

  /** The first grant, sent as the end opens. */
  initialRecord(): CreditRecord {
    return this.#announce();
  }

  /** A CREDIT record to send now (a quarter of the window or more consumed since the last), or undefined. */
  due(): CreditRecord | undefined {
    const messages = this.#consumedMessages - this.#announcedMessages;
    const bytes = this.#consumedBytes - this.#announcedBytes;
    if (messages < quarter(this.window.messages) && bytes < quarter(this.window.bytes)) return undefined;
    return this.#announce();
  }

  #announce(): CreditRecord {
    this.#announcedMessages = this.#consumedMessages;
    this.#announcedBytes = this.#consumedBytes;
    return { window: this.window, consumedMessages: this.#consumedMessages, consumedBytes: this.#consumedBytes };
  }
}
