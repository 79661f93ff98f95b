// The demo: the guide's secure channel over two TCP hops, as three processes — a responder
// (Bob), a middle node that relays bytes it cannot read, and an initiator (Alice).
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const runExample = fileURLToPath(new URL("./run-example.js", import.meta.url));
const EXAMPLE = "05-secure-channel-over-two-transport-hops";
const READY_TIMEOUT_MS = 15_000;
const colours = { responder: 32, middle: 33, initiator: 36 } as const;
type Role = keyof typeof colours;

/** Starts one node of the example; its output is shown line by line, prefixed by its role. */
function start(role: Role, ...args: string[]): Started {
  const child = spawn(process.execPath, [runExample, `${EXAMPLE}-${role}`, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const tag = process.stdout.isTTY ? `\x1b[${colours[role]}m[${role}]\x1b[0m` : `[${role}]`;
  let onReady: (address: string) => void = () => {};
  const ready = new Promise<string>((resolve) => (onReady = resolve));
  createInterface({ input: child.stdout! }).on("line", (line) => {
    console.log(`${tag} ${line}`);
    if (line.startsWith("Listening on ")) onReady(line.slice("Listening on ".length));
  });
  // An example that fails prints its error's stack: the first line says what went wrong, the frames are noise here.
  createInterface({ input: child.stderr! }).on("line", (line) => {
    if (!/^\s+at /.test(line)) console.error(`${tag} ${line}`);
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exited, ready };
}

interface Started {
  child: ChildProcess;
  exited: Promise<number | null>;
  /** The address the node listens on, once it says so. */
  ready: Promise<string>;
}

/** Waits until the node listens and returns its address, or fails if it exits or takes too long. */
async function ready(role: Role, node: Started): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  let address = "";
  const outcome = await Promise.race([
    node.ready.then((a) => ((address = a), "ready" as const)),
    node.exited.then((code) => `exited with code ${code}` as const),
    new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`was not listening after ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS))),
  ]);
  clearTimeout(timer);
  if (outcome !== "ready") throw new Error(`the ${role} node ${outcome} (is its port in use? \`npm run demo -- ${FREE_PORTS}\` picks free ports)`);
  return address;
}

// The guide's addresses by default; FREE_PORTS picks free ones.
const FREE_PORTS = "--responder 127.0.0.1:0 --middle 127.0.0.1:0";
const responderListen = option("--responder") ?? "127.0.0.1:4000";
const middleListen = option("--middle") ?? "127.0.0.1:3000";

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const running: Started[] = [];
let failed = false;
try {
  console.log(`Starting the responder (Bob: echoer, secure channel listener "bob_listener", TCP ${responderListen})…`);
  const responder = start("responder", responderListen);
  running.push(responder);
  const bobAddress = await ready("responder", responder);

  console.log(`Starting the middle node (connection to Bob, relay "forward_to_bob", TCP ${middleListen})…`);
  const middle = start("middle", bobAddress, middleListen);
  running.push(middle);
  const middleAddress = await ready("middle", middle);

  console.log("Running the initiator (Alice: a secure channel through the middle node to Bob, then a message to echoer)…");
  const initiator = start("initiator", middleAddress.replace("127.0.0.1", "localhost"));
  const code = await initiator.exited;
  if (code !== 0) throw new Error(`the initiator exited with code ${code}`);
  console.log("Done: the message crossed both TCP hops inside one encrypted channel and came back.");
} catch (error) {
  failed = true;
  console.error(`Demo failed: ${(error as Error).message}`);
} finally {
  for (const node of running.reverse()) {
    node.child.kill("SIGTERM");
    await node.exited;
  }
  process.exitCode = failed ? 1 : 0;
}
