// The demo: the guide's secure channel over two TCP hops, as three processes — a responder
// (Bob), a middle node that relays bytes it cannot read, and an initiator (Alice).
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

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
  const started: Started = {
    child,
    // 'close', not 'exit': it comes once stdout and stderr have ended, so every line the node printed (and portInUse) is in.
    exited: new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code))),
    ready: new Promise<string>((resolve) => (onReady = resolve)),
    portInUse: false,
  };
  createInterface({ input: child.stdout! }).on("line", (line) => {
    console.log(`${tag} ${line}`);
    if (line.startsWith("Listening on ")) onReady(line.slice("Listening on ".length));
  });
  // An example that fails prints its error's stack: the first line says what went wrong, the frames are noise here.
  createInterface({ input: child.stderr! }).on("line", (line) => {
    if (/EADDRINUSE/.test(line)) started.portInUse = true;
    if (!/^\s+at /.test(line)) console.error(`${tag} ${line}`);
  });
  return started;
}

interface Started {
  child: ChildProcess;
  exited: Promise<number | null>;
  /** The address the node listens on, once it says so. */
  ready: Promise<string>;
  /** The node said its port was taken (EADDRINUSE). */
  portInUse: boolean;
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
  if (outcome === "ready") return address;
  // A port in use is the usual cause (3000 often is); any other error the node printed above says what it was.
  const hint = node.portInUse ? ` (its port is in use: \`npm run demo -- ${FREE_PORTS}\` picks free ports)` : outcome.startsWith("exited") ? ": its error is above" : "";
  throw new Error(`the ${role} node ${outcome}${hint}`);
}

// The guide's addresses by default; FREE_PORTS picks free ones.
const FREE_PORTS = "--responder 127.0.0.1:0 --middle 127.0.0.1:0";
const USAGE = `usage: npm run demo -- [--responder HOST:PORT] [--middle HOST:PORT] [--help]
  Runs the guide's three nodes as processes. The responder listens on --responder (default 127.0.0.1:4000), the
  middle node on --middle (default 127.0.0.1:3000); \`npm run demo -- ${FREE_PORTS}\` picks free ports.`;

/** The listen addresses from the command line; a flag it does not know, or one without its value, exits 2 with the usage. */
function listenAddresses(): { responder: string; middle: string } {
  let values: { responder?: string; middle?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: { responder: { type: "string" }, middle: { type: "string" }, help: { type: "boolean", short: "h" } },
    }));
  } catch (error) {
    console.error(`demo: ${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  return { responder: values.responder ?? "127.0.0.1:4000", middle: values.middle ?? "127.0.0.1:3000" };
}

const { responder: responderListen, middle: middleListen } = listenAddresses();

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
