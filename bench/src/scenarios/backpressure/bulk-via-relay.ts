// backpressure/bulk-via-relay: the "plain loop" at scale — 1 GiB of 16 KiB
// messages, each `await send(route(channel, "sink"), payload)`, through a secure channel
// over two TCP hops via the middle node's relay, beside a plain TCP proxy moving the same
// bytes. It measures whether such a loop completes (no error, every message delivered)
// with bounded memory (peak RSS per process), and at what rate.
import { registerScenario, type RunParams } from "../../scenario.js";
import { hopwireBulk } from "../tcp/hopwire-topology.js";
import { oneWay } from "../baselines/tcp-topology.js";

const SIZE = 16 * 1024;
const GiB = 2 ** 30;

/**
 * 1 GiB at the default --duration (1 s) and above; --quick (0.15 s) moves 32 MiB, --smoke
 * (0.05 s) 4 MiB. The amount is fixed per run so that both sides move the same bytes.
 */
export const bulkBytesFor = (p: RunParams): number => (p.durationMs >= 500 ? GiB : p.durationMs >= 100 ? 32 * 2 ** 20 : 4 * 2 ** 20);

const AMOUNT = "1 GiB (--quick: 32 MiB, --smoke: 4 MiB)";

registerScenario({
  name: "baseline/tcp-proxy-bulk",
  description:
    `${AMOUNT} of u32-length 16 KiB frames through the plain TCP proxy (baseline/tcp-proxy's processes; the sender ` +
    "waits for 'drain'); the sink times its first byte to the last of the amount. Three child processes.",
  params: [],
  run: (p, signal) => oneWay({ ...p, size: SIZE }, signal, { viaProxy: true, totalBytes: bulkBytesFor(p) }),
});

registerScenario({
  name: "backpressure/bulk-via-relay",
  // --smoke: the family's core path, in well under a second per repetition.
  smoke: true,
  description:
    `${AMOUNT} of 16 KiB messages, each send awaited before the next (nothing else: no window, no needsDrain), ` +
    "initiator → middle (relay \"forward_to_bob\") → responder, one secure channel end to end (node crypto, inline); " +
    "the responder's sink (placed \"main\") times its first message to the last. Passes only if every message arrives: " +
    "a send that fails (a closed channel) fails the case with its error. Peak RSS per process is the memory figure. " +
    "Three child processes.",
  params: [],
  baseline: "baseline/tcp-proxy-bulk",
  run: (p, signal) =>
    hopwireBulk({ ...p, size: SIZE }, signal, { secure: { provider: "node", cryptoThreads: 0 }, viaRelay: true }, bulkBytesFor(p)),
});
