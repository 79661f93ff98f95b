import { describe, expect, it } from "vitest";
import { DEFAULT_HANDSHAKE_TIMEOUT } from "@hopwire/secure-channel";
import { REOPEN_HANDSHAKE_TIMEOUT_MS, reopenHandshakeTimeout } from "../dist/node/supervised-inlet.js";

describe("an inlet opening its lost channel again", () => {
  it("waits 2 s for a handshake at first, doubling with each handshake that timed out, up to the default handshake timeout", () => {
    expect(REOPEN_HANDSHAKE_TIMEOUT_MS).toBe(2_000);
    expect([0, 1, 2, 3, 4, 60].map(reopenHandshakeTimeout)).toEqual([2_000, 4_000, 8_000, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_HANDSHAKE_TIMEOUT]);
    expect(DEFAULT_HANDSHAKE_TIMEOUT).toBe(10_000);
  });
});
