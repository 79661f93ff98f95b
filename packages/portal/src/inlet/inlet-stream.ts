import type { LocalMessage } from "@hopwire/runtime";
import type { PortalMessage } from "../protocol/index.js";
import { KIND } from "../protocol/index.js";
import { PortalStream } from "../stream/index.js";

/**
 * An inlet's stream: it sent OPEN to the outlet and waits for OPENED, which comes from the
 * outlet's new stream and grants the first credit. If it ends before OPENED, it stays on
 * the router until `lingerMs` so that a late OPENED is answered with RESET (the outlet
 * then drops the target connection it made).
 */
export class InletStream extends PortalStream {
  #opened = false;
  #lingerMs = 0;
  #onOpened: (() => void) | undefined;

  /** Called once when OPENED arrives. */
  expectOpened(lingerMs: number, onOpened: () => void): void {
    this.#lingerMs = lingerMs;
    this.#onOpened = onOpened;
  }

  get opened(): boolean {
    return this.#opened;
  }

  protected override handle(decoded: PortalMessage, message: LocalMessage): void {
    if (decoded.kind === KIND.OPENED && !this.#opened) {
      this.#opened = true;
      this.#onOpened?.();
      this.attach(message.returnRoute, decoded.window);
      return;
    }
    super.handle(decoded, message);
  }

  protected override lingerMs(): number {
    if (this.#opened || this.#lingerMs === 0) return super.lingerMs();
    return this.#lingerMs + super.lingerMs();
  }

  /** Before OPENED the peer is the outlet itself, which takes only OPEN: nothing to tell it. */
  protected override mayTellPeer(): boolean {
    return this.#opened;
  }
}
