// docs/cli.md's scenario as configuration files, run as the docs print it: the shell block
// that writes the three files (identifiers put in by $(npx hopwire identity show …)), then
// `hopwire node` on each, and a request through the inlet. Only what a reader must change to
// run it on one machine is replaced: the relay node's host and port, the service's and the
// inlet's ports, and `npx hopwire` by the bin (with this test's --home).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type AddressInfo, type Server } from "node:net";
import { createServer as createHttpServer } from "node:http";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { bin, hopwire, hopwireHere, newHome, removeHomes, terminate, type HopwireChild } from "./processes.js";

afterEach(() => removeHomes());

const docs = readFileSync(new URL("../../../docs/cli.md", import.meta.url), "utf8");

/** The two sh blocks after "The scenario above as configuration files". */
function scenarioBlocks(): [string, string] {
  const section = docs.slice(docs.indexOf("**The scenario above as configuration files.**"));
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].slice(0, 2).map((m) => m[1]!);
  expect(blocks).toHaveLength(2);
  return blocks as [string, string];
}

/** A port free on 127.0.0.1 a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("docs/cli.md's scenario as configuration files", { timeout: 60_000 }, () => {
  it("writes the three files and runs them as printed: a request reaches the service through the inlet", async () => {
    const home = newHome();
    for (const name of ["bob", "alice"]) expect((await hopwireHere("--home", home, "identity", "create", name)).code).toBe(0);
    const service: Server = createHttpServer((_req, res) => res.end("through the files")).listen(0, "127.0.0.1");
    await new Promise((resolve) => service.once("listening", resolve));
    const servicePort = (service.address() as AddressInfo).port;
    const relayPort = await freePort();
    const inletPort = await freePort();
    const local = (text: string): string =>
      text
        .replaceAll("relay.example.com:4000", `127.0.0.1:${relayPort}`)
        .replaceAll("0.0.0.0:4000", `127.0.0.1:${relayPort}`)
        .replaceAll("127.0.0.1:5432", `127.0.0.1:${servicePort}`)
        .replaceAll("127.0.0.1:7000", `127.0.0.1:${inletPort}`)
        .replaceAll("npx hopwire", `"${process.execPath}" "${bin}" --home "${home}"`);
    const [write, run] = scenarioBlocks();
    execFileSync("bash", ["-e", "-c", local(write)], { cwd: home, stdio: "pipe" });
    const files = [...run.matchAll(/^npx hopwire node (\S+)/gm)].map((m) => m[1]!);
    expect(files).toEqual(["relay.yaml", "bob.yaml", "alice.yaml"]);
    const nodes: HopwireChild[] = [];
    try {
      for (const file of files) {
        const child = hopwire(["--home", home, "node", join(home, file)]);
        nodes.push(child);
        await child.line(/ ready$/);
      }
      await nodes[2]!.line(new RegExp(` inlet 127\\.0\\.0\\.1:${inletPort} -> 127\\.0\\.0\\.1:${relayPort} -> forward_to_bob -> api -> outlet \\(secure channel to I[0-9a-f]{64}\\)$`));
      expect(await (await fetch(`http://127.0.0.1:${inletPort}/`)).text()).toBe("through the files");
      for (const child of nodes) expect(child.stderr()).toBe("");
    } finally {
      for (const child of nodes.reverse()) await terminate(child);
      await new Promise((resolve) => service.close(resolve));
    }
  });
});
