// Error classes: stable codes, default messages, causes, and rebuilding across threads.
import { describe, expect, it } from "vitest";
import * as errors from "../src/errors.js";
import { errorFromData, NoiseDecryptError, SecureChannelError, toErrorData, UntrustedIdentityError } from "../src/errors.js";

type AnyErrorClass = new (message?: string, options?: errors.SecureChannelErrorOptions) => SecureChannelError;
const classes = (Object.values(errors) as unknown[]).filter(
  (value): value is AnyErrorClass => typeof value === "function" && value.prototype instanceof SecureChannelError,
);

describe("errors", () => {
  it("give every class its own stable code, a default message and its name", () => {
    expect(classes.length).toBeGreaterThanOrEqual(20);
    const codes = new Set<string>();
    for (const ErrorClass of classes) {
      const error = new ErrorClass();
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe(ErrorClass.name);
      expect(error.code).toMatch(/^[A-Z0-9_]+$/);
      expect(error.message.length).toBeGreaterThan(0);
      codes.add(error.code);
    }
    expect(codes.size).toBe(classes.length);
  });

  it("carry a cause", () => {
    const cause = new Error("inner");
    expect(new NoiseDecryptError(undefined, { cause }).cause).toBe(cause);
    expect(new NoiseDecryptError().message).toBe("Noise message failed to authenticate");
  });

  it("cross threads as plain data and are rebuilt as the same class", () => {
    for (const ErrorClass of classes) {
      const original = new ErrorClass("custom message", { identifier: "Iabc", reason: "REPLAY", option: "windowSize" });
      const data = structuredClone(toErrorData(original));
      const rebuilt = errorFromData(data);
      expect(rebuilt).toBeInstanceOf(ErrorClass);
      expect(rebuilt?.message).toBe("custom message");
      expect(rebuilt?.code).toBe(original.code);
      expect(rebuilt?.identifier).toBe("Iabc");
    }
    const untrusted = toErrorData(new UntrustedIdentityError("no", { identifier: "I00" }));
    expect(untrusted).toEqual({ code: "HANDSHAKE_UNTRUSTED_IDENTITY", message: "no", identifier: "I00" });
    expect(errorFromData({ code: "SOMETHING_ELSE", message: "?" })).toBeUndefined();
  });
});
