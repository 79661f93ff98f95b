import type { Socket } from "node:net";
import { Address, atTurnEnd, LocalMessage, route, type Logger, type Mailbox, type Route, type Router } from "@hopwire/runtime";
import { PortalProtocolError, PortalResetError, PortalRouteClosedError, portalErrorFromCode, type PortalError } from "../errors.js";
import {
  decodePortalMessage,
  encodeBlocked,
  encodeCredit,
  encodeDataParts,
  dataPieces,
  encodeEnd,
  encodeReset,
  KIND,
  MAX_DATA_BYTES,
  type PortalMessage,
} from "../protocol/index.js";
import type { Lingering } from "./lingering.js";
import type { WindowGrowth } from "./window-growth.js";

/** How long a finished stream keeps its address, to absorb the peer's last control messages (ms). */
export const FINISHED_STREAM_LINGER_MS = 5_000;

/** A turn's DATA pieces smaller than this on average are joined into one write (a copy of small bytes); larger ones go as they are. */
const SMALL_PIECE_BYTES = 1024;

/** What a stream needs from the inlet or outlet that made it. */
export interface StreamOwner {
  readonly router: Router;
  readonly log: Logger;
  /** The window growth all the owner's streams share (see #grow), unless the stream was given a share of it. */
  readonly windowGrowth: WindowGrowth;
  /** The owner's finished streams that still hold their address (see unregister), bounded. */
  readonly lingering: Lingering;
  /** The node's Node.afterHandOff (busy polling after a write to the application's socket), if it busy-polls; read once per stream. */
  readonly afterHandOff: (() => void) | undefined;
  /**
   * The RESET codes its streams' peers may send (an outlet's peers are inlet streams, which
   * never report a dial of their own); another code is read as a plain PORTAL_RESET, its
   * detail dropped. Undefined: every code is read as what it says.
   */
  readonly peerResetCodes?: ReadonlySet<string>;
  /** Called once, when the stream has ended (reason undefined: both sides closed cleanly). */
  streamClosed(stream: PortalStream, reason: PortalError | undefined): void;
}

/**
 * One TCP connection carried over a route: the socket on this side, the peer stream on
 * the other. It is a mailbox on the node's router (main thread, beside the socket), so
 * portal messages arrive without a worker hop and without decoding a body.
 *
 * Each direction has its own byte credit: this side may send as many DATA bytes as the
 * peer granted (OPEN/OPENED's window, then CREDIT deltas), and grants credit back as its
 * own socket drains what it received. A socket whose bytes cannot go out (no credit, or
 * the route's first hop full) is paused, so a slow reader on one stream stalls only that
 * stream's writer, through TCP, and nothing else.
 */
export class PortalStream implements Mailbox {
  readonly address = Address.random();
  readonly #key = this.address.key;
  readonly #self: Route = route(this.address);
  readonly #owner: StreamOwner;
  /** The owner's afterHandOff, read once (undefined unless its node busy-polls: no call per DATA then). */
  readonly #afterHandOff: (() => void) | undefined;
  readonly #socket: Socket;
  /** The peer's DATA of this turn, not yet written, and their bytes (#writeTurnData). */
  #turnData: Uint8Array[] = [];
  #turnBytes = 0;
  /** The credit this side grants: #baseWindow at first, grown (up to #maxWindow) while the peer waits on it. */
  #window: number;
  /** `windowBytes`: what #window grew beyond it was taken from the owner's WindowGrowth, and goes back at the end. */
  readonly #baseWindow: number;
  readonly #maxWindow: number;
  /** Where #window's growth comes from: the owner's budget, or a share of it (an outlet's, per channel). */
  readonly #growth: WindowGrowth;

  /** Where this stream's messages go: the peer stream (or, before OPENED, the outlet). */
  #peer: Route | undefined;
  /** True once bytes may flow (OPENED sent or received). */
  #attached = false;
  #sendCredit = 0;
  /** BLOCKED went to the peer since the last CREDIT: one per wait. */
  #blockedSent = false;
  /** BLOCKED came from the peer since this side last granted credit. */
  #peerBlocked = false;
  /** Socket bytes read and not yet sent (waiting for credit or room). */
  readonly #pending: Uint8Array[] = [];
  /** Bytes received and handed to the socket, not yet drained by it. */
  #unDrained = 0;
  /**
   * Credit granted to the peer (the first window, then each CREDIT, growth included) minus the
   * DATA bytes received: what the peer may still send. A CREDIT counts as it is sent, before
   * the peer can spend it, so an honest peer never takes this below 0.
   */
  #peerCredit: number;
  /** Bytes drained since the last CREDIT. */
  #drainedSinceCredit = 0;
  #waitingRoom = false;
  #cancelRoom: (() => void) | undefined;
  #unwatch: (() => void) | undefined;
  /** The local socket sent FIN: after the pending bytes, END goes to the peer. */
  #readEnded = false;
  #endSent = false;
  #endReceived = false;
  #socketClosed = false;
  #finished = false;
  #bytesSent = 0;
  #bytesReceived = 0;
  /** @internal an outlet's, for a stream OPEN_EARLY opened: ends its early data, called at the first message that reaches it at its own address (and by the outlet as it ends) */
  endEarlyData: (() => void) | undefined;
  readonly #closed: Promise<PortalError | undefined>;
  #resolveClosed!: (reason: PortalError | undefined) => void;

  constructor(owner: StreamOwner, socket: Socket, windowBytes: number, maxWindowBytes: number, growth: WindowGrowth = owner.windowGrowth) {
    this.#owner = owner;
    this.#growth = growth;
    this.#afterHandOff = owner.afterHandOff;
    this.#socket = socket;
    this.#window = windowBytes;
    this.#baseWindow = windowBytes;
    this.#maxWindow = Math.max(windowBytes, maxWindowBytes);
    this.#peerCredit = windowBytes;
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("end", () => {
      this.#readEnded = true;
      this.#flush();
    });
    socket.on("error", (error) => this.finish(new PortalResetError(`socket error: ${error.message}`, { cause: error }), true));
    socket.on("close", () => this.#onSocketClosed());
  }

  /** Resolves when the stream ended: undefined after a clean close both ways, else the reason. */
  get closed(): Promise<PortalError | undefined> {
    return this.#closed;
  }

  get finished(): boolean {
    return this.#finished;
  }

  /** DATA bytes sent to the peer and received from it so far. */
  get bytesSent(): number {
    return this.#bytesSent;
  }

  get bytesReceived(): number {
    return this.#bytesReceived;
  }

  /** The window this side grants the peer now (it grows while the peer waits on it; see #grow). */
  get windowBytes(): number {
    return this.#window;
  }

  /** Sets where messages go before bytes flow (an outlet stream answers its OPEN there). */
  setPeer(peer: Route): void {
    this.#peer = peer;
    this.#watch(peer.at(0));
  }

  /**
   * Before OPENED (an inlet's stream that sent OPEN_EARLY): up to `bytes` of the socket's first
   * bytes may go as DATA to the peer route as it is (the outlet itself). Resumes the socket.
   */
  allowEarlyData(bytes: number): void {
    if (this.#finished || this.#attached) return;
    this.#sendCredit = bytes;
    this.#flush();
  }

  /**
   * Bytes may flow now: `credit` is what the peer granted, early data included (whatever went
   * before OPENED, all of #bytesSent then, came out of it). Resumes the socket.
   */
  attach(peer: Route, credit: number): void {
    if (this.#finished) return;
    if (this.#peer?.at(0)?.key !== peer.at(0)?.key) this.setPeer(peer);
    else this.#peer = peer;
    this.#attached = true;
    this.#sendCredit = Math.max(0, credit - this.#bytesSent);
    this.#flush();
  }

  /** Sends a control message to the peer; false if it could not be routed (the stream then ends). */
  sendControl(payload: Uint8Array): boolean {
    return this.#send(payload);
  }

  deliver(message: LocalMessage): void {
    this.endEarlyData?.();
    this.#take(message);
  }

  /** @internal a message from the peer that came to the outlet, behind OPEN_EARLY (Outlet hands it on) */
  deliverEarly(message: LocalMessage): void {
    this.#take(message);
  }

  #take(message: LocalMessage): void {
    // DATA that came in parts (a record or frame that spanned socket reads) is written as it is, not joined.
    // Before attach, through handle(): an inlet stream takes nothing but OPENED or RESET then (DATA in parts skipped
    // that rule, found by a review), and an outlet's early DATA is decoded joined.
    const pieces = message.parts === undefined || this.#finished || !this.#attached ? undefined : dataPieces(message.parts);
    if (pieces !== undefined) return this.#onPeerData(pieces, message.payloadLength - 1); // less the kind byte
    const decoded = decodePortalMessage(message.payload);
    if (this.#finished) return this.#afterFinish(message, decoded);
    if (decoded === undefined) return this.finish(new PortalProtocolError("malformed portal message"), true);
    this.handle(decoded, message);
  }

  /** Handles one decoded message; the inlet's stream extends it for OPENED. */
  protected handle(decoded: PortalMessage, message: LocalMessage): void {
    switch (decoded.kind) {
      case KIND.DATA:
        return this.#onPeerData(decoded.data, decoded.data.length);
      case KIND.CREDIT:
        if (this.#sendCredit + decoded.bytes > 0xffff_ffff) return this.finish(new PortalProtocolError("credit overflow"), true);
        this.#sendCredit += decoded.bytes;
        this.#blockedSent = false;
        return this.#flush();
      case KIND.BLOCKED:
        this.#peerBlocked = true;
        return;
      case KIND.END:
        if (this.#endReceived) return;
        this.#endReceived = true;
        this.#writeTurnData(); // what came before the END first
        this.#socket.end();
        return this.#maybeDone();
      case KIND.RESET:
        return this.finish(this.#peerReset(decoded.code, decoded.detail), false);
      default:
        void message;
        return this.finish(new PortalProtocolError(`unexpected portal message kind ${decoded.kind}`), true);
    }
  }

  /**
   * What a peer's RESET stands for. A code its peer never sends (an inlet's RESET saying the
   * target is unreachable, at an outlet whose dial succeeded) is not believed: it is a plain
   * PortalResetError naming the code, so that onStreamClosed and the outlet's log do not
   * report a failure this side never had.
   */
  #peerReset(code: string, detail: string | undefined): PortalError {
    const codes = this.#owner.peerResetCodes;
    if (codes === undefined || codes.has(code)) return portalErrorFromCode(code, detail);
    return new PortalResetError(`The peer reset the stream with ${JSON.stringify(code.slice(0, 64))}, a code its side does not send`);
  }

  /**
   * Ends the stream: unregisters it, resets the socket when there is a reason, and tells
   * the peer (RESET with the reason's code) when `tellPeer`.
   */
  finish(reason: PortalError | undefined, tellPeer: boolean): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#cancelRoom?.();
    this.#unwatch?.();
    if (tellPeer && this.#peer !== undefined && this.mayTellPeer()) {
      const code = reason?.code;
      // The cause's system error code (a failed dial's ECONNREFUSED) goes along; encodeReset drops anything else.
      const detail = (reason?.cause as { code?: unknown } | undefined)?.code;
      this.#routeQuietly(encodeReset(typeof code === "string" && code.startsWith("PORTAL_") ? code : "PORTAL_RESET", detail as string | undefined));
    }
    this.#pending.length = 0;
    this.#growth.give(this.#window - this.#baseWindow);
    if (reason !== undefined) resetSocket(this.#socket);
    else this.#socket.destroy();
    this.unregister();
    if (reason !== undefined) this.#owner.log.debug(`portal stream ${this.address.toString()} ended: ${reason.message}`);
    this.#owner.streamClosed(this, reason);
    this.#resolveClosed(reason);
  }

  /** Whether a RESET may go to the peer route now (the inlet's stream says no before OPENED). */
  protected mayTellPeer(): boolean {
    return true;
  }

  /**
   * Leaves the router, lingerMs() later: what the peer sent before it learnt of the end (a
   * CREDIT for bytes it drained, a BLOCKED) is still on its way, and is dropped here quietly
   * rather than reported as a message for an address nobody has. The owner bounds how many
   * linger (Lingering): past that, the oldest leaves early.
   */
  protected unregister(): void {
    this.#owner.lingering.add(this.address, this.lingerMs());
  }

  /** How long a finished stream keeps its address (the inlet's stream waits longer before OPENED). */
  protected lingerMs(): number {
    return FINISHED_STREAM_LINGER_MS;
  }

  /** A message for a finished stream: an OPENED that came too late is answered with RESET. */
  #afterFinish(message: LocalMessage, decoded: PortalMessage | undefined): void {
    if (decoded?.kind !== KIND.OPENED) return;
    try {
      this.#owner.router.route(new LocalMessage(message.returnRoute, this.#self, encodeReset("PORTAL_RESET")), this.#key);
    } catch {
      // the route is gone as well: nothing to tell
    }
  }

  #onData(chunk: Buffer): void {
    if (this.#finished) return;
    this.#pending.push(chunk);
    this.#flush();
  }

  /** DATA from the peer: its `n` bytes, in one piece or several (written as they are, in one writev). */
  #onPeerData(data: Uint8Array | readonly Uint8Array[], n: number): void {
    if (this.#endReceived) return this.finish(new PortalProtocolError("DATA after END"), true);
    // Against what was granted, not what the socket holds: a socket that drains fast would let a peer send without end.
    if (n > this.#peerCredit) return this.finish(new PortalProtocolError(`the peer sent ${n - this.#peerCredit} bytes past its credit`), true);
    this.#peerCredit -= n;
    this.#unDrained += n;
    this.#bytesReceived += n;
    if (this.#socketClosed) return;
    if (this.#turnBytes === 0 && this.#turnData.length === 0) atTurnEnd(this.#writeTurnData);
    if (data instanceof Uint8Array) this.#turnData.push(data);
    else for (const piece of data) this.#turnData.push(piece);
    this.#turnBytes += n;
  }

  /**
   * Writes the peer's DATA of this turn to the socket, at the turn's end (or before an END): one
   * write, its bytes joined when the pieces are small, else one writev of them as they are. A
   * write each was a system call each, and a peer within its credit that sent 1-byte DATA (6
   * bytes on the wire) held the node's loop 2-2.5 s at a time (an adversarial trial: 90 % of
   * the CPU in writeBuffer); and a write request each costs some 0.5 KiB while the socket holds
   * it, so a window of 1-byte writes held ~0.8 GB of heap where the window counts 1 MiB.
   */
  readonly #writeTurnData = (): void => {
    const pieces = this.#turnData;
    const n = this.#turnBytes;
    if (pieces.length === 0) return;
    this.#turnData = [];
    this.#turnBytes = 0;
    if (this.#socketClosed || this.#finished) return;
    // A write that failed returns no credit: its bytes never reached the socket (the error ends the stream next).
    const drained = (error?: Error | null): void => {
      if (error == null) this.#drained(n);
    };
    if (pieces.length === 1) this.#socket.write(pieces[0]!, drained);
    else if (n < pieces.length * SMALL_PIECE_BYTES) this.#socket.write(Buffer.concat(pieces, n), drained);
    else {
      this.#socket.cork();
      for (let i = 0; i < pieces.length - 1; i++) this.#socket.write(pieces[i]!);
      this.#socket.write(pieces[pieces.length - 1]!, drained);
      this.#socket.uncork();
    }
    this.#afterHandOff?.();
  };

  /** The socket handed `n` bytes to the kernel: return credit in quarter-window batches. */
  #drained(n: number): void {
    this.#unDrained -= n;
    this.#drainedSinceCredit += n;
    // After the peer's END no DATA follows: credit would be of no use to it (and could reach a stream already gone).
    if (this.#finished || this.#endReceived || this.#drainedSinceCredit < this.#window / 4) return;
    const grant = this.#drainedSinceCredit + this.#grow();
    this.#drainedSinceCredit = 0;
    this.#peerBlocked = false;
    this.#peerCredit += grant;
    this.#send(encodeCredit(grant));
  }

  /**
   * The window doubles (up to #maxWindow, within the owner's budget) when it is what limits
   * the stream: the peer said it waits for credit (BLOCKED) and this side's socket has less
   * than a quarter of the window left to write, so bytes wait on credit crossing the route
   * and back, not on the reader. A slow reader keeps its socket full and never grows its
   * window; a sender with little to say never blocks. (Without BLOCKED this side cannot
   * tell: DATA still on the way counts as credit the peer has not used.) Returns the extra
   * credit to grant (0: no growth).
   */
  #grow(): number {
    if (!this.#peerBlocked || this.#window >= this.#maxWindow || this.#unDrained >= this.#window / 4) return 0;
    const extra = Math.min(this.#window, this.#maxWindow - this.#window);
    if (!this.#growth.take(extra)) return 0;
    this.#window += extra;
    return extra;
  }

  /** Sends what credit and room allow; pauses the socket while anything waits. */
  #flush(): void {
    if (this.#finished) return;
    // Before OPENED only early data may go (allowEarlyData): without any, nothing is read.
    if (this.#waitingRoom || (!this.#attached && this.#sendCredit === 0)) {
      this.#socket.pause();
      return;
    }
    const pending = this.#pending;
    while (pending.length > 0 && this.#sendCredit > 0 && !this.#waitingRoom) {
      const chunk = pending[0]!;
      const n = Math.min(chunk.length, this.#sendCredit, MAX_DATA_BYTES);
      let part: Uint8Array;
      if (n < chunk.length) {
        part = chunk.subarray(0, n);
        pending[0] = chunk.subarray(n);
      } else {
        part = chunk;
        pending.shift();
      }
      this.#sendCredit -= n;
      this.#bytesSent += n;
      if (!this.#send(encodeDataParts(part))) return;
    }
    if (pending.length > 0 || this.#waitingRoom) {
      this.#socket.pause();
      if (this.#attached && this.#sendCredit === 0 && !this.#blockedSent && pending.length > 0) {
        this.#blockedSent = true;
        this.#send(encodeBlocked());
      }
      return;
    }
    // Early data went; the outlet takes nothing else before OPENED (END waits for it too).
    if (!this.#attached) {
      if (!this.#readEnded) this.#socket.resume();
      return;
    }
    if (this.#readEnded) {
      if (!this.#endSent) {
        this.#endSent = true;
        if (!this.#send(encodeEnd())) return;
      }
      this.#maybeDone();
      return;
    }
    this.#socket.resume();
  }

  /** Routes a message to the peer, its payload whole or in parts (DATA); false if it could not go (the stream then ends). */
  #send(payload: Uint8Array | readonly Uint8Array[]): boolean {
    const peer = this.#peer;
    if (peer === undefined || this.#finished) return false;
    let mailbox: Mailbox | undefined;
    try {
      const message = payload instanceof Uint8Array ? new LocalMessage(peer, this.#self, payload) : LocalMessage.fromParts(peer, this.#self, payload);
      mailbox = this.#owner.router.route(message, this.#key);
    } catch (error) {
      this.finish(new PortalRouteClosedError(`cannot reach the far side: ${(error as Error).message}`, { cause: error }), false);
      return false;
    }
    if (mailbox?.isFull === true && mailbox.onRoom !== undefined && !this.#waitingRoom) {
      this.#waitingRoom = true;
      this.#cancelRoom = mailbox.onRoom(() => {
        this.#waitingRoom = false;
        this.#cancelRoom = undefined;
        this.#flush();
      });
    }
    return true;
  }

  #routeQuietly(payload: Uint8Array): void {
    try {
      this.#owner.router.route(new LocalMessage(this.#peer!, this.#self, payload), this.#key);
    } catch {
      // the far side is unreachable already
    }
  }

  #onSocketClosed(): void {
    this.#socketClosed = true;
    if (this.#finished) return;
    // A clean close comes only after FIN both ways; anything else was a reset or destroy.
    if (this.#readEnded && this.#endReceived) this.#maybeDone();
    else this.finish(new PortalResetError("the socket closed before both sides ended"), true);
  }

  #maybeDone(): void {
    if (this.#endSent && this.#endReceived && this.#socketClosed) this.finish(undefined, false);
  }

  /** The route's first local hop (a channel, a connection) going away ends the stream. */
  #watch(hop: Address | undefined): void {
    this.#unwatch?.();
    this.#unwatch = undefined;
    if (hop === undefined || !hop.isLocal) return;
    if (!this.#owner.router.has(hop)) return;
    this.#unwatch = this.#owner.router.watchHop(hop, () => this.finish(new PortalRouteClosedError(), false));
  }
}

/**
 * Closes a socket with a TCP RST where it can, so the client sees a reset, not a clean end.
 * A socket whose FIN is queued (END came: `end()`, its shutdown not done yet) is reset once
 * the FIN went: libuv refuses to reset it before (EINVAL), and Node 20 then drops the handle
 * without closing it, so the connection would stay open, owned by nothing, until the process exits.
 */
export function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  if (!socket.connecting && finQueued(socket)) {
    socket.once("finish", () => resetSocket(socket));
    return;
  }
  try {
    if (!socket.connecting && (socket as unknown as { _handle?: unknown })._handle) socket.resetAndDestroy();
    else socket.destroy();
  } catch {
    socket.destroy();
  }
}

/**
 * `end()` was called and nothing is left to write, but the write side has not finished: the
 * shutdown is with libuv, and 'finish' follows it within a turn of the event loop (or the
 * socket is destroyed, by an error, first). With bytes still to write, no shutdown was asked for yet.
 */
function finQueued(socket: Socket): boolean {
  return socket.writableEnded && !socket.writableFinished && socket.writableLength === 0;
}
