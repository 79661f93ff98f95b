import { expect } from "vitest";
import { InvalidOptionError } from "@hopwire/runtime";

/** The InvalidOptionError `f` throws (the test fails if it throws anything else, or nothing). */
export function thrownOptionError(f: () => unknown): InvalidOptionError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    return error as InvalidOptionError;
  }
  throw new Error("expected an InvalidOptionError; nothing was thrown");
}
