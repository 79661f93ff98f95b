import { MAX_BUSY_POLL_MICROS, hostPortProblem } from "@hopwire/runtime";
import { z } from "zod";
import { IDENTIFIER_HINT, nameProblem } from "../names.js";

/**
 * The configuration of one node, as `hopwire node <file>` reads it (YAML or JSON). Every
 * object is strict: an unknown key is an error, so a typo never silently does nothing.
 * docs/cli.md describes every key.
 */

const IDENTIFIER = /^I[0-9a-f]{64}$/;

/**
 * A "host:port" string as the runtime's parser (the TCP transport's and the portals') takes
 * it: a host (a name, an IPv4 address or a bracketed IPv6 one), a colon and a port from 0 to
 * 65535 where the node listens, from 1 for a dial target (an outlet's target, a peer to
 * connect to). The issue is the parser's message, e.g. `"4000" has no host: …`.
 */
function hostPortSchema(options: { listen: boolean }) {
  return z
    .string({ invalid_type_error: 'expected a "host:port" string', required_error: 'expected a "host:port" string' })
    .superRefine((s, ctx) => {
      const problem = hostPortProblem(s, { allowPortZero: options.listen });
      if (problem !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
    });
}

/** "host:port" to listen on, e.g. "127.0.0.1:4000" or "[::1]:4000"; port 0 lets the system choose. */
export const listenHostPort = hostPortSchema({ listen: true });
/** "host:port" to connect to: the port is 1 to 65535. */
export const hostPort = hostPortSchema({ listen: false });

/** An identity's identifier: "I" and 64 lowercase hex digits. */
export const identifier = z
  .string({ invalid_type_error: "expected an identifier string", required_error: "expected an identifier string" })
  .regex(IDENTIFIER, `expected an identifier: "I" followed by 64 lowercase hex digits${IDENTIFIER_HINT}`);

/** A local address or name: 1 to 64 letters, digits, "_", "-" or ".", not only dots. */
export const name = z
  .string({ invalid_type_error: "expected a name string", required_error: "expected a name string" })
  .superRefine((s, ctx) => {
    const problem = nameProblem(s);
    if (problem !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
  });

/**
 * A map of names to `values` as z.record checks it, but whose output is the map given, every
 * key kept: z.record's output drops a "__proto__" key, a valid relay or connection name.
 * (Its `values` must not transform: they are not replaced by their output.) Not a map at all
 * is fatal, so that a union around it reports its own message.
 */
function ownRecord<K extends z.ZodType<string>, V extends z.ZodTypeAny>(keys: K, values: V) {
  const record = z.record(keys, values);
  return z.custom<Record<string, z.input<V>>>().superRefine((data, ctx) => {
    const result = record.safeParse(data);
    for (const issue of result.success ? [] : result.error.issues) ctx.addIssue({ ...issue, fatal: issue.path.length === 0 });
  });
}

/**
 * A checked map as an object without a prototype: only the keys written are there, so that
 * "toString" or "constructor" never look like keys nobody wrote. (Outside any union: a
 * transform hides the issues of a map that failed its checks from a union around it.)
 */
function withoutPrototype<T>(map: Readonly<Record<string, T>>): Record<string, T> {
  return Object.assign(Object.create(null) as Record<string, T>, map);
}

/** Who is trusted: "everyone", or a list of identifiers. */
export const trust = trustSchema();

/**
 * `trust` where it may not be left out: a secure channel listener's (who reaches what is
 * behind it, an outlet's target) and an inlet's (who may answer as the outlet's node). It
 * defaulted to everyone, where the outlet and inlet commands require --trust or
 * --trust-anyone (session 56): a file that left it out exposed its outlet, or let a relay
 * node pose as the outlet's node, without a word. `missing` says what to write instead.
 */
function trustSchema(missing?: string) {
  return z.union([z.literal("everyone"), z.array(identifier).min(1, "expected at least one identifier")], {
    errorMap: (_issue, ctx) => ({
      message: ctx.data === undefined && missing !== undefined ? `missing key: ${missing}` : trustProblem(ctx.data),
    }),
  });
}

/**
 * What is wrong with a `trust` that is neither "everyone" nor a list of identifiers. One
 * identifier written without a list (`trust: I9f92…`, as --trust takes it) is shown as the
 * list of one it should be, in brackets and quotes: the same in YAML and JSON, which the
 * schema cannot tell apart.
 */
function trustProblem(value: unknown): string {
  if (typeof value === "string" && IDENTIFIER.test(value)) {
    return `expected "everyone" or a list of identifiers, a list even for one: [${JSON.stringify(value)}]`;
  }
  return 'expected "everyone" or a list of identifiers';
}

/** A name that looks like a path (a "/", or ".json" at its end) was meant as a file: say how to write one. */
const identityName = z.string().superRefine((s, ctx) => {
  const problem = nameProblem(s);
  if (problem !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${problem}${fileHint(s)}` });
});

/** The hint for a name that looks like a file path; empty for any other. */
export function fileHint(value: string): string {
  return value.includes("/") || value.endsWith(".json") ? `; an identity file is written identity: { file: ${JSON.stringify(value)} }` : "";
}

/**
 * `{ file }`, its key optional to the parser and required by the refinement: a misspelt key
 * (`{ fle: ... }`) then leaves this branch "dirty" rather than failed, and the union reports
 * its unknown key by name instead of a bare "expected an identity name or { file }".
 */
const identityFile = z
  .object({ file: z.string({ invalid_type_error: "expected a file path string" }).min(1, "expected a file path, not an empty string").optional() })
  .strict()
  .superRefine((ref, ctx) => {
    if (ref.file === undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["file"], message: "missing key, expected a file path string" });
  }) as unknown as z.ZodType<{ file: string }>; // the refinement makes `file` present (a transform would turn "dirty" into failed)

/** An identity: a name in the hopwire home's identities, or a file written by `hopwire identity create`. */
export const identityRef = z.union([identityName, identityFile], {
  errorMap: (issue, ctx) =>
    issue.code === "invalid_union" ? { message: 'expected an identity name or { file: "<path>" }' } : { message: ctx.defaultError },
});

/** A positive whole number (a count). */
const count = z
  .number({ invalid_type_error: "expected a positive whole number", required_error: "expected a positive whole number" })
  .int("expected a positive whole number")
  .positive("expected a positive whole number")
  .safe("expected a positive whole number up to 2^53 - 1");

/** Milliseconds: 0 (off) or a whole number up to 2^31 - 1. */
const offOrMs = z
  .number({ invalid_type_error: "expected milliseconds (a whole number, 0 for off)", required_error: "expected milliseconds (a whole number, 0 for off)" })
  .int("expected milliseconds (a whole number, 0 for off)")
  .min(0, "expected milliseconds (a whole number, 0 for off)")
  .max(2 ** 31 - 1, "expected at most 2147483647 ms");

/** NodeOptions.busyPollMicros: 0 (off) to MAX_BUSY_POLL_MICROS (10 000) microseconds. */
const BUSY_POLL_EXPECTED = `expected microseconds (a whole number from 0 to ${MAX_BUSY_POLL_MICROS}, 0 for off)`;
const busyPollMicros = z
  .number({ invalid_type_error: BUSY_POLL_EXPECTED })
  .int(BUSY_POLL_EXPECTED)
  .min(0, BUSY_POLL_EXPECTED)
  .max(MAX_BUSY_POLL_MICROS, `expected at most ${MAX_BUSY_POLL_MICROS} microseconds`);

/** A TCP listener and the limits on what it accepts (the transport's defaults when left out). */
const tcpListener = z
  .object({
    address: listenHostPort,
    /** Open accepted connections (default 1024). */
    maxConnections: count.optional(),
    /** Open accepted connections from one host: an IPv4 address or an IPv6 /64 (default 256). */
    maxConnectionsPerHost: count.optional(),
    /** Closes an accepted connection that carried no message for this long (default 0: off). */
    idleTimeout: offOrMs.optional(),
  })
  .strict();

/** A TCP peer: a name from `connections`, or "host:port". */
const peer = z.string({ invalid_type_error: 'expected a connection name or "host:port"', required_error: 'expected a connection name or "host:port"' });

/** The schema of a node configuration file (every object strict; see docs/cli.md for each key). */
export const nodeConfigSchema = z
  .object({
    /** The node's identity (default: a fresh one for this run). */
    identity: identityRef.optional(),
    /** Named TCP peers this node connects out to: name → "host:port". */
    connections: ownRecord(name, hostPort).transform(withoutPrototype).optional(),
    /** TCP listeners. */
    tcpListeners: z.array(tcpListener).optional(),
    /** Secure channel listeners; reachable from every TCP listener and every registered relay. */
    secureChannelListeners: z
      .array(
        z
          .object({
            address: name,
            trust: trustSchema(
              "expected the identities that may open channels to it, trust: [I…] (hopwire identity show <name> prints one), or trust: everyone to let any identity in (a relay node's listener, demos)",
            ),
            /** Channels (open or handshaking) at once (default 16 384). */
            maxChannels: count.optional(),
            /** Of those, over one connection (default 1 024; a node behind a relay gets all its clients' channels over one). */
            maxChannelsPerConnection: count.optional(),
          })
          .strict(),
      )
      .optional(),
    /** A relay service; registrations over the node's secure channel listeners, forwarders reachable from its TCP listeners. */
    relayService: z
      .object({
        address: name.default("forwarding_service"),
        /** Relay name (or "*" for any) → identifiers allowed to register it; or "everyone". */
        allow: z
          .union([z.literal("everyone"), ownRecord(z.union([name, z.literal("*")]), z.array(identifier))], {
            errorMap: () => ({ message: 'expected "everyone" or a map of relay name to a list of identifiers' }),
          })
          .transform((allow) => (allow === "everyone" ? allow : withoutPrototype(allow))),
      })
      .strict()
      .optional(),
    /** Names to register at relay nodes (the node only connects out). */
    relays: z
      .array(
        z
          .object({
            name,
            /** The relay node: a connection name or "host:port". */
            at: peer,
            /** Relay node identities trusted (default everyone). */
            trust: trust.default("everyone"),
            listener: name.default("api"),
            service: name.default("forwarding_service"),
          })
          .strict(),
      )
      .optional(),
    /** TCP outlets: reachable through the node's secure channel listeners only. */
    outlets: z
      .array(
        z
          .object({
            address: name.default("outlet"),
            to: hostPort,
            allow: z.array(hostPort).optional(),
            /** Streams (client connections) at once (default 1 024). */
            maxStreams: count.max(1_000_000, "expected at most 1000000").optional(),
            /** Of those, over one secure channel: one inlet's clients (default 256, or maxStreams if smaller). */
            maxStreamsPerChannel: count.optional(),
            /** Streams one secure channel (one inlet) may open a second: each is a dial to `to` (default 500, at most 1 000 000). */
            maxOpensPerSecondPerChannel: count.max(1_000_000, "expected at most 1000000").optional(),
          })
          .strict(),
      )
      .optional(),
    /** TCP inlets: each opens a secure channel to the outlet's node (through a relay if `relay` is set). */
    inlets: z
      .array(
        z
          .object({
            listen: listenHostPort,
            /** The node to connect to: the outlet's node, or the relay node if `relay` is set. */
            via: peer,
            /** Reach the outlet's node through `forward_to_<relay>` at `via`. */
            relay: name.optional(),
            /** The outlet node's secure channel listener (default "api") and whom to trust there. */
            listener: name.default("api"),
            trust: trustSchema(
              "expected the outlet node's identity, trust: [I…] (hopwire identity show <name> prints it), or trust: everyone to take any node that answers at via as the outlet's, a relay node too (demos)",
            ),
            outlet: name.default("outlet"),
            /** Ask the outlet for this target instead of its own `to` (one of the outlet's `allow`). */
            target: hostPort.optional(),
          })
          .strict(),
      )
      .optional(),
    /** NodeOptions.busyPollMicros: poll instead of sleeping this long after each write (default 0: off). */
    busyPollMicros: busyPollMicros.optional(),
  })
  .strict();

/** A node configuration as written (before defaults). */
export type NodeConfigInput = z.input<typeof nodeConfigSchema>;
/** A validated node configuration, defaults filled in. */
export type NodeConfig = z.output<typeof nodeConfigSchema>;
/** "everyone" or a list of identifiers. */
export type TrustConfig = z.output<typeof trust>;
