// Soak initiator: connects to the middle, opens a secure channel to the responder through
// "forward_to_bob", and sends {run, seq} to the echoer at a steady rate, reading replies in
// its own inbox (so that a reply delivered twice is seen twice). When no reply has come
// for `stallMs`, it drops the channel and the connection and starts again, with backoff.
// Prints a STATS line every 250 ms.
import { node, route } from "@hopwire/runtime";
import { createTcpTransport, TcpConnectionOptions } from "@hopwire/transport-tcp";
import { createIdentity, createSecureChannel, SecureChannelOptions } from "@hopwire/secure-channel";

const [middlePort, rateS, stallS] = process.argv.slice(2);
const rate = Number(rateS);
const stallMs = Number(stallS);
const run = process.pid;
const n = await node({ name: "soak-initiator", sendAndReceiveTimeout: 5_000 });
const tcp = await createTcpTransport(n);
const alice = await createIdentity();
const stats = { sent: 0, replies: 0, duplicates: 0, sendErrors: 0, channels: 0, channelFailures: 0 };
const answered = new Set();
let lastReply = Date.now();

// Replies: every message that reaches the node's own context.
void (async () => {
  for (;;) {
    const m = await n.receive({ timeout: 3_600_000 }).catch(() => undefined);
    if (!m) continue;
    const { seq } = m.body;
    if (answered.has(seq)) stats.duplicates++;
    else answered.add(seq);
    stats.replies++;
    lastReply = Date.now();
  }
})();
setInterval(() => console.log("STATS", JSON.stringify(stats)), 250);

async function openChannel() {
  const connection = await tcp.connect(`127.0.0.1:${middlePort}`, new TcpConnectionOptions());
  try {
    const channel = await createSecureChannel(n, alice, route(connection, "forward_to_bob", "bob_listener"), new SecureChannelOptions().withHandshakeTimeout(3_000));
    return { connection, channel };
  } catch (error) {
    await connection.stop().catch(() => {});
    throw error;
  }
}

let seq = 0;
let backoff = 100;
for (;;) {
  let link;
  try {
    link = await openChannel();
    stats.channels++;
    backoff = 100;
  } catch {
    stats.channelFailures++;
    await new Promise((r) => setTimeout(r, backoff));
    backoff = Math.min(backoff * 2, 2_000);
    continue;
  }
  lastReply = Date.now();
  const to = route(link.channel, "echoer");
  while (Date.now() - lastReply < stallMs) {
    try {
      await n.send(to, { run, seq: seq++ }, { timeout: 1_000 });
      stats.sent++;
    } catch {
      stats.sendErrors++;
      break;
    }
    await new Promise((r) => setTimeout(r, 1000 / rate));
  }
  await link.channel.close({ timeoutMs: 0 }).catch(() => {});
  await link.connection.stop().catch(() => {});
}
