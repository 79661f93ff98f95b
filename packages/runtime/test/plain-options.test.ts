import { describe, expect, it } from "vitest";
import { thrownOptionError } from "../../../test/support/thrown.js";
import {
  applyPlainOptions,
  checkFlowControlId,
  checkFlowControlIds,
  checkOptionKeys,
  checkTimeoutOption,
  checkWaitOptions,
  InvalidOptionError,
  nearestOption,
  optionKeys,
  unknownOptionError,
  WAIT_OPTIONS,
} from "@hopwire/runtime";

const thrown = thrownOptionError;

describe("nearestOption: the option a misspelt key nearly matches", () => {
  it("finds typos, transpositions, another case and the Ms suffix the relay and portal options carry", () => {
    expect(nearestOption("timeot", ["timeout", "signal"])).toBe("timeout");
    expect(nearestOption("warnigns", ["name", "warnings"])).toBe("warnings");
    expect(nearestOption("maxMesages", ["maxMessages", "maxBytes"])).toBe("maxMessages");
    expect(nearestOption("TrustPolicy", ["trustPolicy"])).toBe("trustPolicy");
    expect(nearestOption("handshakeTimeout", ["replyTimeoutMs", "handshakeTimeoutMs"])).toBe("handshakeTimeoutMs");
    expect(nearestOption("timeoutMs", ["timeout", "signal"])).toBe("timeout");
    expect(nearestOption("openTimeout", ["listen", "route", "openTimeoutMs"])).toBe("openTimeoutMs");
  });

  it("suggests nothing for a key that is nothing like any option, nor for a short key more than a letter off", () => {
    expect(nearestOption("foo", ["maxMessages", "maxBytes"])).toBeUndefined();
    expect(nearestOption("bogus", ["to", "allow", "address"])).toBeUndefined();
    expect(nearestOption("ab", ["to"])).toBeUndefined();
    expect(nearestOption("serviceConsumer", ["serviceConsumerOf", "forwarderConsumerOf"])).toBe("serviceConsumerOf");
  });
});

describe("the one unknown-option error of every package", () => {
  it("names the key (option, with its path for a nested object), suggests the near miss and lists the known options", () => {
    const plain = unknownOptionError("node options", "warnigns", ["name", "warnings"]);
    expect(plain.message).toBe('node options: unknown option "warnigns"; did you mean "warnings"? known options: name, warnings');
    expect(plain.option).toBe("warnigns");
    const nested = unknownOptionError("mailbox", "foo", ["maxMessages", "maxBytes"], "mailbox");
    expect(nested.message).toBe('mailbox: unknown option "foo"; known options: maxMessages, maxBytes');
    expect(nested.option).toBe("mailbox.foo");
    expect(thrown(() => checkOptionKeys({ maxMessages: 1, maxBytez: 2 }, ["maxMessages", "maxBytes"], "sendQueueLimits", "sendQueueLimits")).option).toBe(
      "sendQueueLimits.maxBytez",
    );
    expect(() => checkOptionKeys({ maxMessages: 1 }, ["maxMessages", "maxBytes"], "mailbox")).not.toThrow();
  });

  it("is what applyPlainOptions throws for a key with no setter", () => {
    class Builder {
      withRekeyInterval(): this {
        return this;
      }
    }
    const error = thrown(() => applyPlainOptions(new Builder(), { rekeyIntervall: 5 }, "channel options"));
    expect(error.message).toBe('channel options: unknown option "rekeyIntervall"; did you mean "rekeyInterval"? known options: rekeyInterval');
    expect(error.option).toBe("rekeyIntervall");
  });
});

describe("timeouts and wait options", () => {
  it("a timeout is a positive number of ms a timer can take, or Infinity", () => {
    for (const ok of [1, 0.5, 30_000, 2 ** 31 - 1, Infinity]) expect(checkTimeoutOption(ok, "timeout")).toBe(ok);
    for (const bad of [0, -5, Number.NaN, -Infinity, 2 ** 31, "1s", null, true]) {
      const error = thrown(() => checkTimeoutOption(bad, "timeout", "send options"));
      expect(error.option).toBe("timeout");
      expect(error.message).toMatch(/^send options: timeout must be a positive number of milliseconds up to 2147483647, or Infinity for none; got /);
    }
  });

  it("a timer's delay ({ infinity: false }) is the same but for Infinity, which it refuses", () => {
    for (const ok of [1, 0.5, 30_000, 2 ** 31 - 1]) expect(checkTimeoutOption(ok, "shutdownTimeout", "node options", { infinity: false })).toBe(ok);
    for (const bad of [Infinity, 0, -5, Number.NaN, -Infinity, 2 ** 31, "1s", null]) {
      const error = thrown(() => checkTimeoutOption(bad, "backoff.maxMs", "remote relay options", { infinity: false }));
      expect(error.option).toBe("backoff.maxMs");
      expect(error.message).toBe(
        `remote relay options: backoff.maxMs must be a positive number of milliseconds up to 2147483647; got ${typeof bad === "string" ? `"${bad}"` : String(bad)}`,
      );
    }
  });

  it("wait options take known keys, a timeout and an AbortSignal", () => {
    expect(() => checkWaitOptions(undefined, "x")).not.toThrow();
    expect(() => checkWaitOptions({ timeout: 5, signal: new AbortController().signal }, "x")).not.toThrow();
    expect(thrown(() => checkWaitOptions({ timeot: 5 }, "whenConnected options")).message).toMatch(/^whenConnected options: unknown option "timeot"; did you mean "timeout"\?/);
    expect(thrown(() => checkWaitOptions({ signal: {} }, "x")).option).toBe("signal");
    expect(thrown(() => checkWaitOptions(5, "x")).message).toMatch(/must be an object/);
    expect(() => checkWaitOptions({ localInfo: {} }, "send options", ["timeout", "signal", "localInfo"])).not.toThrow();
  });
});

describe("optionKeys: an options interface's keys, in order", () => {
  it("lists the keys given, in their order, frozen", () => {
    interface Example {
      zeta?: number;
      alpha: string;
    }
    const keys = optionKeys<Example>({ zeta: true, alpha: true });
    expect(keys).toEqual(["zeta", "alpha"]);
    expect(Object.isFrozen(keys)).toBe(true);
    expect(WAIT_OPTIONS).toEqual(["timeout", "signal"]);
  });
});

describe("flow control ids as options", () => {
  it("one id is a non-empty string", () => {
    expect(checkFlowControlId("fc1", "asConsumer")).toBe("fc1");
    for (const bad of ["", 42, undefined, null, {}]) {
      const error = thrown(() => checkFlowControlId(bad, "asConsumer", "TcpConnectionOptions"));
      expect(error.option).toBe("asConsumer");
      expect(error.message).toMatch(/^TcpConnectionOptions: asConsumer must be a flow control id \(e\.g\. listener\.flowControlId\), got /);
    }
  });

  it("one id or several is a list: none for undefined, one for a string (not one per character), every entry checked", () => {
    expect(checkFlowControlIds(undefined, "consumerOf")).toEqual([]);
    expect(checkFlowControlIds("fc_one", "consumerOf")).toEqual(["fc_one"]);
    expect(checkFlowControlIds(["fc_a", "fc_b"], "consumerOf")).toEqual(["fc_a", "fc_b"]);
    expect(checkFlowControlIds([], "consumerOf")).toEqual([]);
    const entry = thrown(() => checkFlowControlIds(["fc_a", ""], "serviceConsumerOf", "relay service options"));
    expect(entry.option).toBe("serviceConsumerOf");
    expect(entry.message).toBe('relay service options: serviceConsumerOf[1] must be a flow control id (e.g. listener.flowControlId), got ""');
    expect(thrown(() => checkFlowControlIds("", "asConsumer")).option).toBe("asConsumer");
    for (const bad of [5, null, { id: "fc" }, true]) {
      const error = thrown(() => checkFlowControlIds(bad, "forwarderConsumerOf", "relay service options"));
      expect(error.option).toBe("forwarderConsumerOf");
      expect(error.message).toMatch(/^relay service options: forwarderConsumerOf must be a flow control id or an array of them, got /);
    }
  });
});
