import type { Address, LocalMessage } from "@hopwire/runtime";
import { PortalProtocolError, PortalTargetNotAllowedError } from "../errors.js";
import type { PortalMessage } from "../protocol/index.js";
import { KIND } from "../protocol/index.js";
import { PortalStream } from "../stream/index.js";

/** How an inlet stream asked for its outlet stream (docs/portals.md, "Early data"). */
export type OpenKind = "open" | "early" | "probe";

/**
 * An inlet's stream: it sent OPEN (or OPEN_EARLY) to the outlet and waits for OPENED, which
 * comes from the outlet's new stream and grants the first credit. If it ends before OPENED,
 * it stays on the router until `lingerMs` so that a late OPENED is answered with RESET (the
 * outlet then drops the target connection it made).
 */
export class InletStream extends PortalStream {
  #opened = false;
  #lingerMs = 0;
  #onOpened: (() => void) | undefined;
  #openKind: OpenKind = "open";
  /** While probing: the plain OPEN to send if the outlet refuses OPEN_EARLY as an older one does, whom to tell, and the outlet's address. */
  #fallback: { open: Uint8Array; onOlderOutlet: () => void; outlet: Address | undefined } | undefined;

  /** The target this stream asks the outlet for ("" for the outlet's own): named if the outlet refuses it. */
  askedTarget = "";

  /** Called once when OPENED arrives. */
  expectOpened(lingerMs: number, onOpened: () => void): void {
    this.#lingerMs = lingerMs;
    this.#onOpened = onOpened;
  }

  get opened(): boolean {
    return this.#opened;
  }

  /** OPEN; OPEN_EARLY with the client's first bytes behind it ("early"); or OPEN_EARLY alone, to learn whether the outlet takes it ("probe"). */
  get openKind(): OpenKind {
    return this.#openKind;
  }

  /** Sends OPEN. */
  open(open: Uint8Array): void {
    this.#openKind = "open";
    this.sendControl(open);
  }

  /** Sends OPEN_EARLY and lets up to `earlyBytes` of the client's first bytes follow it before OPENED. */
  openEarly(openEarly: Uint8Array, earlyBytes: number): void {
    this.#openKind = "early";
    if (this.sendControl(openEarly)) this.allowEarlyData(earlyBytes);
  }

  /**
   * Sends OPEN_EARLY with nothing behind it. An outlet from before OPEN_EARLY answers it as it
   * answers anything but OPEN, RESET PORTAL_PROTOCOL: then `onOlderOutlet` is told and `open`
   * goes instead, and the stream waits for its OPENED as usual.
   */
  probeOpenEarly(openEarly: Uint8Array, open: Uint8Array, outlet: Address | undefined, onOlderOutlet: () => void): void {
    this.#openKind = "probe";
    this.#fallback = { open, onOlderOutlet, outlet };
    this.sendControl(openEarly);
  }

  protected override handle(decoded: PortalMessage, message: LocalMessage): void {
    if (this.#opened) return super.handle(decoded, message);
    if (decoded.kind === KIND.OPENED) {
      this.#opened = true;
      this.#fallback = undefined;
      this.#onOpened?.();
      this.attach(message.returnRoute, decoded.window);
      return;
    }
    // Before OPENED only a refusal may come, from the outlet itself (a CREDIT would let early data past its bound).
    if (decoded.kind !== KIND.RESET) return this.finish(new PortalProtocolError(`portal message kind ${decoded.kind} before OPENED`), false);
    const fallback = this.#fallback;
    if (decoded.code === "PORTAL_PROTOCOL" && fallback !== undefined && message.returnRoute.recipient()?.key === fallback.outlet?.key) {
      this.#fallback = undefined;
      this.#openKind = "open";
      fallback.onOlderOutlet();
      this.sendControl(fallback.open);
      return;
    }
    // A RESET carries a code only; the stream knows which target was refused.
    if (decoded.code === "PORTAL_TARGET_NOT_ALLOWED" && this.askedTarget !== "") {
      return this.finish(new PortalTargetNotAllowedError(`The outlet does not allow the target ${this.askedTarget} (not on its allow option)`), false);
    }
    super.handle(decoded, message);
  }

  protected override lingerMs(): number {
    if (this.#opened || this.#lingerMs === 0) return super.lingerMs();
    return this.#lingerMs + super.lingerMs();
  }

  /**
   * Before OPENED the peer is the outlet itself, which takes only OPEN; but behind OPEN_EARLY it
   * takes a RESET for the stream it opened too, which then drops early bytes it has not written.
   */
  protected override mayTellPeer(): boolean {
    return this.#opened || this.#openKind === "early";
  }
}
