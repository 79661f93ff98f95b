// Error classes: stable codes, default messages, causes, and rebuilding across threads.
import { describe, expect, it } from "vitest";
import { HopwireError, InvalidOptionError as RuntimeInvalidOptionError } from "@hopwire/runtime";
import * as errors from "../dist/errors.js";
import { errorFromData, InvalidOptionError, NoiseDecryptError, SecureChannelError, toErrorData, UntrustedIdentityError } from "../dist/errors.js";

type AnyErrorClass = new (message?: string, options?: errors.SecureChannelErrorOptions) => SecureChannelError;
const classes = (Object.values(errors) as unknown[]).filter(
  (value): value is AnyErrorClass => typeof value === "function" && value.prototype instanceof SecureChannelError,
);

describe("errors", () => {
  it("give every class its own stable code, a default message and its name, in the Hopwire family", () => {
    expect(classes.length).toBeGreaterThanOrEqual(20);
    const codes = new Set<string>();
    for (const ErrorClass of classes) {
      const error = new ErrorClass();
      expect(error).toBeInstanceOf(HopwireError);
      expect(error.name).toBe(ErrorClass.name);
      expect(error.code).toMatch(/^[A-Z0-9_]+$/);
      expect(error.message.length).toBeGreaterThan(0);
      codes.add(error.code);
    }
    expect(codes.size).toBe(classes.length);
  });

  // A printed error listed `identifier: undefined, option: undefined` (class fields made them own properties).
  it("have only the details they were given as own properties", () => {
    expect(Object.keys(new UntrustedIdentityError("untrusted"))).toEqual(["code", "name"]);
    expect(Object.keys(new UntrustedIdentityError("untrusted", { identifier: "I1" }))).toEqual(["code", "name", "identifier"]);
    expect(Object.keys(new RuntimeInvalidOptionError("bad"))).not.toContain("option");
  });

  it("carry a cause", () => {
    const cause = new Error("inner");
    expect(new NoiseDecryptError(undefined, { cause }).cause).toBe(cause);
    expect(new NoiseDecryptError().message).toBe("Noise message failed to authenticate");
    expect("cause" in new NoiseDecryptError()).toBe(false);
  });

  it("use the runtime's one InvalidOptionError", () => {
    expect(InvalidOptionError).toBe(RuntimeInvalidOptionError);
    const error = new InvalidOptionError("windowSize must be …", { option: "windowSize" });
    expect([error.code, error.option]).toEqual(["OPTION_INVALID", "windowSize"]);
  });

  it("cross threads as plain data and are rebuilt as the same class, details and cause included", () => {
    for (const ErrorClass of classes) {
      const original = new ErrorClass("custom message", { identifier: "Iabc", reason: "REPLAY", option: "windowSize", cause: new NoiseDecryptError() });
      const data = structuredClone(toErrorData(original));
      const rebuilt = errorFromData(data) as SecureChannelError;
      expect(rebuilt).toBeInstanceOf(ErrorClass);
      expect(rebuilt.message).toBe("custom message");
      expect(rebuilt.code).toBe(original.code);
      expect([rebuilt.identifier, rebuilt.reason, rebuilt.option]).toEqual(["Iabc", "REPLAY", "windowSize"]);
      expect(rebuilt.cause).toBeInstanceOf(NoiseDecryptError);
    }
    const untrusted = toErrorData(new UntrustedIdentityError("no", { identifier: "I00" }));
    expect(untrusted).toEqual({
      code: "HANDSHAKE_UNTRUSTED_IDENTITY",
      name: "UntrustedIdentityError",
      message: "no",
      details: { identifier: "I00" },
      stack: expect.stringMatching(/^UntrustedIdentityError: no\n\s+at .*errors\.test\.ts:\d+/),
    });
    const foreign = errorFromData({ code: "SOMETHING_ELSE", name: "Oops", message: "?" });
    expect(foreign).not.toBeInstanceOf(HopwireError);
    expect(foreign).toMatchObject({ name: "Oops", code: "SOMETHING_ELSE", message: "?" });
  });
});
