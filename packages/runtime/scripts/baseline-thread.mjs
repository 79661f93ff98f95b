// The baseline's thread: counts u32-length-prefixed frames in each transferred batch.
import { parentPort } from "node:worker_threads";

let count = 0;
parentPort.on("message", (message) => {
  if (message === "report") {
    parentPort.postMessage(count);
    count = 0;
    return;
  }
  const view = new DataView(message);
  for (let at = 0; at < message.byteLength; ) {
    const length = view.getUint32(at);
    at += 4 + length;
    count++;
  }
});
