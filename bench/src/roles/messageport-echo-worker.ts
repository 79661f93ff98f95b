// The worker_thread side of baseline/messageport-rtt: sends every message back as it came
// (a Uint8Array is copied by the structured clone each way, as a router's envelope is).
import { parentPort } from "node:worker_threads";

parentPort?.on("message", (m: Uint8Array) => parentPort!.postMessage(m));
