// Soak responder: a TCP listener on the port it is given, a secure channel listener
// "bob_listener" and an echoer that counts what it receives (and any sequence number it
// sees twice). Prints "LISTENING" once, then a STATS line every 250 ms.
import { node } from "@hopwire/runtime";
import { createTcpTransport, TcpListenerOptions } from "@hopwire/transport-tcp";
import { createIdentity, createSecureChannelListener, SecureChannelListenerOptions } from "@hopwire/secure-channel";

const n = await node({ name: "soak-responder" });
const tcp = await createTcpTransport(n);
const seen = new Set();
const stats = { received: 0, duplicates: 0 };
await n.startWorker(
  "echoer",
  {
    async handleMessage(ctx, message) {
      const { run, seq } = message.body;
      const key = `${run}:${seq}`;
      if (seen.has(key)) stats.duplicates++;
      else seen.add(key);
      stats.received++;
      await ctx.send(message.returnRoute, message.body);
    },
  },
  { placement: "main" },
);
const listener = await tcp.listen(`127.0.0.1:${process.argv[2]}`, new TcpListenerOptions());
const bob = await createIdentity();
const channels = await createSecureChannelListener(n, bob, "bob_listener", new SecureChannelListenerOptions().asConsumer(listener.flowControlId));
n.flowControls.addConsumer("echoer", channels.flowControlId);
console.log("LISTENING", listener.address);
setInterval(() => console.log("STATS", JSON.stringify(stats)), 250);
