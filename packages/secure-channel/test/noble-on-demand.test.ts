// The @noble libraries (~90 ms of CPU to load) load when the noble provider is first used,
// not when the package is imported: a node on OpenSSL, its crypto threads and every CLI run
// start without them. Checked in a fresh process, where nothing else has loaded them.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));

// Counted both ways a module can come in: ES module loads (seen by a loader hook, which
// reports each URL over a port read synchronously here) and require() (the module cache).
const hooks = `
let port;
export function initialize(data) { port = data.port; }
export async function load(url, context, next) {
  if (url.includes("@noble")) port.postMessage(url);
  return next(url, context);
}`;
const script = `
import { createRequire, register } from "node:module";
import { MessageChannel, receiveMessageOnPort } from "node:worker_threads";
const { port1, port2 } = new MessageChannel();
register("data:text/javascript," + encodeURIComponent(${JSON.stringify(hooks)}), { data: { port: port2 }, transferList: [port2] });
const require = createRequire(process.cwd() + "/package.json");
let imported = 0;
const noble = () => {
  while (receiveMessageOnPort(port1)) imported++;
  return imported + Object.keys(require.cache).filter((path) => path.includes("@noble")).length;
};
const sc = await import("@hopwire/secure-channel");
const alice = sc.createIdentity();
sc.getCryptoProvider("node").sha256(new Uint8Array(3));
const afterImport = noble();
const digest = sc.nobleCryptoProvider.sha256(new Uint8Array(3));
const same = Buffer.from(digest).equals(Buffer.from(sc.nodeCryptoProvider.sha256(new Uint8Array(3))));
console.log(JSON.stringify({ afterImport, afterUse: noble(), same, identifier: String(alice).length > 0 }));
port1.close();
`;

describe("the noble provider's libraries", () => {
  it("are not loaded by importing the package or using OpenSSL, and load on the noble provider's first use", () => {
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: repoRoot, encoding: "utf8", timeout: 60_000, killSignal: "SIGKILL" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const result = JSON.parse(run.stdout) as { afterImport: number; afterUse: number; same: boolean; identifier: boolean };
    expect(result.afterImport).toBe(0);
    expect(result.afterUse).toBeGreaterThan(0);
    expect(result.same).toBe(true);
    expect(result.identifier).toBe(true);
  });
});
