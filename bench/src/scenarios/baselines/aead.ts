import { registerScenario } from "../../scenario.js";
import { runSolo } from "../../proc/solo.js";
import { loadNobleGcm } from "../../roles/noble.js";

const AEAD = new URL("../../roles/aead.js", import.meta.url);

export const aead = registerScenario({
  name: "baseline/aead",
  description:
    "node:crypto AES-256-GCM seal + open of one message at a time on one thread, cached KeyObject, " +
    "no I/O (one child process). The per-message crypto cost of a channel on the fast path.",
  params: ["size"],
  chart: { series: "AES-256-GCM node:crypto (no I/O)" },
  run: (p, signal) => runSolo(AEAD, "process", { ...p, provider: "node" }, p, signal),
});

export const aeadNoble = registerScenario({
  name: "baseline/aead-noble",
  description:
    "@noble/ciphers AES-256-GCM seal + open of one message on one thread (pure JS, the portable " +
    "provider), no I/O, one child process.",
  params: ["size"],
  baseline: "baseline/aead",
  chart: { series: "AES-256-GCM @noble (no I/O)" },
  unavailable: async () => ((await loadNobleGcm()) ? undefined : "@noble/ciphers is not resolvable from bench"),
  run: (p, signal) => runSolo(AEAD, "process", { ...p, provider: "noble" }, p, signal),
});
