import {
  Address,
  decodeEnvelope,
  encodeEnvelopeHead,
  LocalMessage,
  route,
  waitFor,
  type FlowControlId,
  type Logger,
  type Mailbox,
  type Node,
  type Route,
} from "@hopwire/runtime";
import type { DropReason } from "../channel/transport-cipher.js";
import { InlineChannelCipher, type ChannelCipher, type ChannelCipherSink } from "../crypto-threads/channel-cipher.js";
import { CryptoThreads } from "../crypto-threads/crypto-threads.js";
import { resolveCryptoThreads } from "../crypto-threads/policy.js";
import type { HandshakeResult } from "../handshake/types.js";
import type { Identifier } from "../identity/identifier.js";
import { InnerKind, OuterKind, withKind } from "./channel-message.js";
import { SecureChannelClosedError } from "./channel-errors.js";
import { SECURE_CHANNEL_IDENTIFIER } from "./local-info.js";
import type { SecureChannelOptions, SecureChannelListenerOptions } from "./secure-channel-options.js";

type Options = SecureChannelOptions | SecureChannelListenerOptions;

const EMPTY = new Uint8Array(0);

/** Messages up to this size are coalesced; larger ones are sealed alone (a copy would cost more than the call saves). */
const COALESCE_MAX_PAYLOAD = 2048;
/** A coalesced record is sealed as soon as it holds this much. */
const COALESCE_MAX_BYTES = 64 * 1024;

/**
 * One end of a secure channel, with Ockam's three addresses:
 * - `encryptorAddress`: local workers route through it; it encrypts and sends to the peer;
 * - `remoteAddress`: handshake messages and ciphertext from the peer arrive here;
 * - `producerAddress`: decrypted messages are routed from it, so flow controls restrict them.
 * It runs on the node's main thread, beside the router and the transports; its AEAD runs
 * there too ("inline") or on one of the node's crypto threads (see ChannelCipher). Either
 * way seal and open results come back in order, so sends and deliveries keep the order of
 * the channel.
 */
export class ChannelEnd {
  readonly encryptorAddress = Address.random();
  readonly remoteAddress = Address.random();
  readonly producerAddress = Address.random();
  readonly #node: Node;
  readonly #log: Logger;
  readonly #handshakeQueue: LocalMessage[] = [];
  #handshakeWaiter: ((message: LocalMessage) => void) | undefined;
  /** Fails the pending handshake wait (nextHandshakeMessage / waitForConfirm) when this end closes. */
  #handshakeFail: ((error: unknown) => void) | undefined;
  /** The channel's AEAD, from establish() to close(). */
  #cipher: ChannelCipher | undefined;
  /** Kept after close() so that droppedMessages still counts. */
  #counter: ChannelCipher | undefined;
  #fromRemote: Route;
  #peerIdentifier: Identifier | undefined;
  #onConfirm: (() => void) | undefined;
  #state: "handshaking" | "open" | "closed" = "handshaking";
  /** Small messages of this turn, as head, payload, head, payload… (see #encrypt). */
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #flushScheduled = false;
  #unwatch: (() => void) | undefined;
  readonly #onClosed: ((end: ChannelEnd) => void)[] = [];

  constructor(
    node: Node,
    readonly role: "initiator" | "responder",
    readonly options: Options,
    readonly flowControlId: FlowControlId,
    /** Where the peer's remote address is; updated from the handshake's return routes. */
    public remoteRoute: Route,
  ) {
    this.#node = node;
    this.#log = node.log.child("secure-channel");
    const remote: Mailbox = { address: this.remoteAddress, deliver: (m) => this.#deliverRemote(m) };
    node.router.register([this.remoteAddress], remote);
    this.#fromRemote = route(this.remoteAddress);
  }

  get state(): "handshaking" | "open" | "closed" {
    return this.#state;
  }

  get peerIdentifier(): Identifier | undefined {
    return this.#peerIdentifier;
  }

  get droppedMessages(): number {
    return this.#counter?.dropped ?? 0;
  }

  onClosed(callback: (end: ChannelEnd) => void): void {
    this.#onClosed.push(callback);
  }

  /** Sends a handshake (or refusal) message to the peer, from the remote address. */
  sendOuter(kind: OuterKind, body: Uint8Array): void {
    const message = new LocalMessage(this.remoteRoute, route(this.remoteAddress), withKind(kind, body));
    this.#node.router.route(message, this.remoteAddress.key);
  }

  /** Waits for the next handshake-phase message from the peer (HANDSHAKE or REFUSED). */
  nextHandshakeMessage(signal?: AbortSignal): Promise<LocalMessage> {
    return this.#waitForPeer(signal, false) as Promise<LocalMessage>;
  }

  /**
   * Keys are in: set up the transport ciphers, inline or on a crypto thread (the keys go
   * there once and are zeroed here). The channel opens for local senders on `open()`.
   */
  establish(result: HandshakeResult): void {
    const cipherOptions = { provider: this.options.provider, rekeyInterval: this.options.rekeyInterval };
    const threads = this.#node.stopped ? 0 : resolveCryptoThreads(this.options.cryptoThreads, this.options.provider);
    if (threads > 0) {
      this.#cipher = CryptoThreads.forNode(this.#node, threads).createCipher(result, cipherOptions, this.#sink, threads);
      result.sendKey.fill(0);
      result.receiveKey.fill(0);
    } else {
      if (this.options.cryptoThreads !== 0 && this.options.cryptoThreads !== "auto" && !this.#node.stopped) {
        this.#log.debug("a custom crypto provider cannot run on crypto threads; this channel's AEAD runs inline");
      }
      this.#cipher = new InlineChannelCipher(result, cipherOptions, this.#sink);
    }
    this.#counter = this.#cipher;
    this.#peerIdentifier = result.peerIdentifier;
  }

  /**
   * Waits (initiator) for the responder's CONFIRM, which only a trusting responder sends, and
   * opens the channel as it arrives (synchronously, so that messages right behind it are
   * delivered). Resolves to a REFUSED message instead if the responder refused.
   */
  waitForConfirm(signal?: AbortSignal): Promise<LocalMessage | "confirmed"> {
    return this.#waitForPeer(signal, true);
  }

  /** One wait, under the handshake timeout, for a handshake-phase message (or a CONFIRM). */
  #waitForPeer(signal: AbortSignal | undefined, orConfirm: boolean): Promise<LocalMessage | "confirmed"> {
    const queued = this.#handshakeQueue.shift();
    if (queued) return Promise.resolve(queued);
    return waitFor<LocalMessage | "confirmed">(
      (resolve, reject) => {
        this.#handshakeWaiter = resolve;
        this.#handshakeFail = reject;
        if (orConfirm) {
          this.#onConfirm = () => {
            this.open();
            resolve("confirmed");
          };
        }
      },
      {
        timeout: this.options.handshakeTimeout,
        signal,
        what: "secure channel handshake",
        cleanup: () => {
          this.#handshakeWaiter = undefined;
          this.#handshakeFail = undefined;
          this.#onConfirm = undefined;
        },
      },
    );
  }

  /** The channel is open: local workers may route through the encryptor address. */
  open(spawnerFlowControlId?: FlowControlId): void {
    const router = this.#node.router;
    const encryptor: Mailbox = { address: this.encryptorAddress, deliver: (m) => this.#encrypt(m) };
    router.register([this.encryptorAddress], encryptor);
    this.#node.flowControls.addProducer(this.producerAddress, this.flowControlId, spawnerFlowControlId, [this.encryptorAddress]);
    this.#state = "open";
    // If the first hop to the peer (a connection) goes away, so does the channel.
    this.#unwatch = router.watchHop(this.remoteRoute.next(), (error) => this.close(error, false));
    if (this.role === "responder") this.#sendInner(InnerKind.CONFIRM, new Uint8Array(0));
  }

  /** Closes this end: tells the peer (unless it told us), forgets addresses, drops keys. */
  close(reason: Error = new SecureChannelClosedError(), notifyPeer = true): void {
    if (this.#state === "closed") return;
    if (notifyPeer && this.#state === "open") {
      try {
        this.#sendInner(InnerKind.CLOSE, new Uint8Array(0));
      } catch (error) {
        this.#log.debug("could not tell the peer that the channel closed", error);
      }
    }
    this.#state = "closed";
    this.#unwatch?.();
    this.#node.router.unregister([this.encryptorAddress, this.remoteAddress], reason);
    this.#node.flowControls.cleanup(this.producerAddress);
    this.#cipher?.dispose(); // threaded: after the CLOSE above, in the thread
    this.#cipher = undefined;
    this.#handshakeWaiter = undefined;
    // A handshake still waiting (e.g. for CONFIRM) fails now rather than at its timeout.
    const fail = this.#handshakeFail;
    this.#handshakeFail = undefined;
    fail?.(reason);
    for (const callback of this.#onClosed.splice(0)) callback(this);
    this.#log.debug(`channel ${this.encryptorAddress.toString()} closed: ${reason.message}`);
  }

  /**
   * A local message to the far side: [onward minus us, return route, payload]. A large one is
   * sealed at once ([MESSAGE][head][payload], written straight into a threaded batch); small
   * ones wait for the end of the event-loop turn and are sealed together (MESSAGES), one AEAD
   * call for all of them, as TLS seals records rather than writes.
   */
  #encrypt(message: LocalMessage): void {
    if (this.#state !== "open") return;
    const inner = message.withOnwardRoute(message.onwardRoute.popFront());
    const head = encodeEnvelopeHead(inner, "network");
    const payload = inner.payload;
    if (payload.length > COALESCE_MAX_PAYLOAD) {
      this.#flushPending(); // keeps the channel's order
      this.#cipher?.seal(InnerKind.MESSAGE, head, payload);
      return;
    }
    this.#pending.push(head, payload);
    this.#pendingBytes += 4 + head.length + payload.length;
    if (this.#pendingBytes >= COALESCE_MAX_BYTES) this.#flushPending();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(this.#flushOnTurn);
    }
  }

  readonly #flushOnTurn = (): void => {
    this.#flushScheduled = false;
    this.#flushPending();
  };

  /** Seals what #encrypt held back: one message as MESSAGE, several as one MESSAGES record. */
  #flushPending(): void {
    const pending = this.#pending;
    if (pending.length === 0) return;
    this.#pending = [];
    const bytes = this.#pendingBytes;
    this.#pendingBytes = 0;
    if (this.#state !== "open") return;
    if (pending.length === 2) {
      this.#cipher?.seal(InnerKind.MESSAGE, pending[0]!, pending[1]!);
      return;
    }
    const record = Buffer.allocUnsafe(bytes);
    let offset = 0;
    for (let i = 0; i < pending.length; i += 2) {
      const head = pending[i]!;
      const payload = pending[i + 1]!;
      record.writeUInt32BE(head.length + payload.length, offset);
      record.set(head, offset + 4);
      record.set(payload, offset + 4 + head.length);
      offset += 4 + head.length + payload.length;
    }
    this.#cipher?.seal(InnerKind.MESSAGES, record, EMPTY);
  }

  #sendInner(kind: InnerKind, body: Uint8Array): void {
    this.#flushPending(); // messages sent before a CLOSE arrive before it
    this.#cipher?.seal(kind, body, EMPTY);
  }

  /**
   * The cipher's results, in the order of the seal/open calls. One object per channel end:
   * no closure per message.
   */
  readonly #sink: ChannelCipherSink = {
    // Sealed while open, so it goes out even if the end closed meanwhile (e.g. the CLOSE itself).
    sealed: (transportPayload: Uint8Array): void => {
      try {
        this.#node.router.route(new LocalMessage(this.remoteRoute, this.#fromRemote, transportPayload), this.remoteAddress.key);
      } catch (error) {
        this.#log.debug("the route to the peer failed; closing the channel", error);
        this.close(error instanceof Error ? error : new SecureChannelClosedError(), false);
      }
    },
    opened: (plaintext: Uint8Array): void => this.#onPlaintext(plaintext),
    dropped: (reason: DropReason): void => {
      this.#log.debug(`channel ${this.encryptorAddress.toString()} dropped a message: ${reason}`);
    },
    failed: (error: Error): void => {
      this.#log.debug(`channel ${this.encryptorAddress.toString()} lost its cipher`, error);
      this.close(error, false);
    },
    stopping: (): void => this.close(),
  };

  #deliverRemote(message: LocalMessage): void {
    const payload = message.payload;
    const kind = payload[0];
    if (kind === OuterKind.TRANSPORT && this.#cipher) return this.#cipher.open(payload.subarray(1));
    if (this.#state === "handshaking" && (kind === OuterKind.HANDSHAKE || kind === OuterKind.REFUSED)) {
      const waiter = this.#handshakeWaiter;
      if (waiter) {
        this.#handshakeWaiter = undefined;
        waiter(message);
      } else if (this.#handshakeQueue.length < 4) this.#handshakeQueue.push(message);
      return;
    }
    this.#log.debug(`channel ${this.encryptorAddress.toString()} dropped an unexpected message (kind ${String(kind)})`);
  }

  /** An authenticated plaintext, in channel order. CONFIRM opens the initiator before the next one is handled. */
  #onPlaintext(plaintext: Uint8Array): void {
    if (this.#state === "closed") return; // a threaded result that came back after close()
    switch (plaintext[0]) {
      case InnerKind.MESSAGE:
        return this.#deliverPlaintext(plaintext.subarray(1));
      case InnerKind.MESSAGES:
        return this.#deliverRecord(plaintext);
      case InnerKind.CONFIRM:
        this.#onConfirm?.();
        this.#onConfirm = undefined;
        return;
      case InnerKind.CLOSE:
        return this.close(new SecureChannelClosedError("The peer closed the secure channel"), false);
      default:
        this.#log.debug("an authenticated message of an unknown kind was dropped");
    }
  }

  /** Each envelope of a MESSAGES record, in order; a length that overruns ends the record. */
  #deliverRecord(plaintext: Uint8Array): void {
    const view = new DataView(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength);
    let offset = 1;
    while (offset + 4 <= plaintext.length) {
      const length = view.getUint32(offset);
      const start = offset + 4;
      if (start + length > plaintext.length) {
        this.#log.debug("a MESSAGES record with a length that overruns it was cut short");
        return;
      }
      this.#deliverPlaintext(plaintext.subarray(start, start + length));
      offset = start + length;
    }
  }

  #deliverPlaintext(envelope: Uint8Array): void {
    if (this.#state !== "open") return;
    try {
      const inner = decodeEnvelope(envelope, "network");
      const delivered = new LocalMessage(inner.onwardRoute, inner.returnRoute.prepend(this.encryptorAddress), inner.payload, {
        [SECURE_CHANNEL_IDENTIFIER]: this.#peerIdentifier,
      });
      this.#node.router.route(delivered, this.producerAddress.key);
    } catch (error) {
      // Unknown address, flow-control denial, bad envelope: the peer learns nothing.
      this.#log.debug(`channel ${this.encryptorAddress.toString()} could not deliver a message`, error);
    }
  }
}
