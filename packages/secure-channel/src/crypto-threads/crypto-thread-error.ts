import { registerErrorClasses } from "@hopwire/runtime/errors";
import { SecureChannelError } from "../errors.js";

/** A crypto thread failed (crashed, exited, or the threads were closed): its channels close with this. */
export class CryptoThreadError extends SecureChannelError {
  override readonly code = "CRYPTO_THREAD_FAILED";
  constructor(message = "A crypto thread failed", options?: { cause?: unknown }) {
    super(message, options);
  }
}

registerErrorClasses(CryptoThreadError);
