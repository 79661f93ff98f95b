// A hostile portal peer: a third node, mallory, with a secure channel of its own to bob's
// channel listener (real TCP, real crypto), whose far end is not an inlet but raw mailboxes
// that speak the portal protocol by hand: OPEN as often as they like, DATA past the credit.
import { Address, LocalMessage, node, route, type Mailbox, type Node, type Route } from "@hopwire/runtime";
import { createIdentity, createSecureChannel, SecureChannelOptions, type SecureChannel } from "@hopwire/secure-channel";
import { createTcpTransport, TcpConnectionOptions } from "@hopwire/transport-tcp";
import { decodePortalMessage, encodeBlocked, encodeDataParts, encodeOpen, encodeReset, KIND } from "../../dist/protocol/index.js";
import type { PortalNodes } from "./nodes.js";
import { until } from "./tcp.js";

export interface HostilePeer {
  readonly node: Node;
  readonly channel: SecureChannel;
  /** A raw stream that sends OPEN (granting `window`) to bob's "outlet" through mallory's channel. */
  open(window?: number, how?: RawOpen): RawStream;
  stop(): Promise<void>;
}

export async function startHostilePeer(nodes: PortalNodes): Promise<HostilePeer> {
  const mallory = await node({ name: "mallory" });
  const connection = await (await createTcpTransport(mallory)).connect(nodes.tcpAddress, new TcpConnectionOptions());
  const channel = await createSecureChannel(mallory, await createIdentity(), [connection, "bob_listener"], new SecureChannelOptions());
  return {
    node: mallory,
    channel,
    open: (window = 1024 * 1024, how = {}) => new RawStream(mallory, route(channel, "outlet"), window, how),
    stop: () => mallory.stop(),
  };
}

/** How a raw stream opens: OPEN_EARLY instead of OPEN (`early`), and DATA to the outlet before either (`dataFirst`). */
export interface RawOpen {
  early?: boolean;
  dataFirst?: Uint8Array;
}

/** One stream's far end, by hand: it records what the outlet answers and sends whatever it is told to. */
export class RawStream implements Mailbox {
  readonly address = Address.random();
  /** The outlet stream's route, once OPENED came. */
  peer: Route | undefined;
  /** OPENED's window, then each CREDIT: what the outlet granted so far. */
  granted = 0;
  /** The RESET's code, once one came. */
  resetCode: string | undefined;

  constructor(
    private readonly mallory: Node,
    private readonly outlet: Route,
    window: number,
    how: RawOpen = {},
  ) {
    mallory.router.register([this.address], this);
    if (how.dataFirst) this.earlyData(how.dataFirst);
    this.#send(outlet, encodeOpen(window, "", how.early === true));
  }

  /** Sends OPEN_EARLY again from this stream's address (as no inlet stream does). */
  openEarlyAgain(window = 1024 * 1024): void {
    this.#send(this.outlet, encodeOpen(window, "", true));
  }

  /** Sends `bytes` as one DATA to the outlet itself (early data, or a stray DATA), whatever was granted. */
  earlyData(bytes: Uint8Array): void {
    this.#send(this.outlet, Buffer.concat(encodeDataParts(bytes)));
  }

  deliver(message: LocalMessage): void {
    const decoded = decodePortalMessage(message.payload);
    if (decoded?.kind === KIND.OPENED) {
      this.peer = message.returnRoute;
      this.granted += decoded.window;
    } else if (decoded?.kind === KIND.CREDIT) this.granted += decoded.bytes;
    else if (decoded?.kind === KIND.RESET) this.resetCode = decoded.code;
  }

  /** Waits for the outlet's answer to OPEN: "OPENED", or the RESET's code. */
  async answer(): Promise<string> {
    await until(() => this.peer !== undefined || this.resetCode !== undefined, "the outlet's answer to OPEN");
    return this.peer !== undefined ? "OPENED" : this.resetCode!;
  }

  /** Sends `bytes` as one DATA, whatever the credit. */
  data(bytes: Uint8Array): void {
    this.#send(this.peer!, Buffer.concat(encodeDataParts(bytes))); // joined, as a peer of another make may send it
  }

  /** Says BLOCKED (waiting for credit), true or not. */
  blocked(): void {
    this.#send(this.peer!, encodeBlocked());
  }

  /**
   * Grows the outlet stream's window as far as it lets it: BLOCKED, then a quarter of the window
   * as DATA (to a target that reads at once), until a CREDIT comes without growth. Returns the
   * window the outlet stream grants then.
   */
  async growWindow(): Promise<number> {
    let window = this.granted;
    for (;;) {
      this.blocked();
      const quarter = window / 4;
      for (let sent = 0; sent < quarter; sent += 64 * 1024) this.data(Buffer.alloc(Math.min(64 * 1024, quarter - sent), 0x67));
      const before = this.granted;
      await until(() => this.granted > before, "the CREDIT for a quarter window");
      const extra = this.granted - before - quarter;
      if (extra === 0) return window;
      window += extra;
    }
  }

  /** Sends RESET with `code` (and `detail`, a system error code) to the outlet stream. */
  reset(code = "PORTAL_RESET", detail?: string): void {
    this.#send(this.peer!, encodeReset(code, detail));
  }

  #send(to: Route, payload: Uint8Array): void {
    this.mallory.router.route(new LocalMessage(to, route(this.address), payload), this.address.key);
  }
}
