// An inlet opens its secure channel before it listens, so a --from port in use was said only
// once trust and relay were right (a user trial): the port is tried first, and let go at once.
import { createServer } from "node:net";
import { formatHostPort, parseHostPort } from "@hopwire/runtime";
import { PortalListenError } from "@hopwire/portal";

/** Resolves if `address` ("host:port") can be listened on now; rejects with PortalListenError, worded as the TCP transport's. */
export async function checkCanListen(address: string): Promise<void> {
  const { host, port } = parseHostPort(address, "listen", { allowPortZero: true, fail: (message) => new PortalListenError(message) });
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port, exclusive: true }, resolve);
    });
  } catch (error) {
    throw new PortalListenError(`Could not listen on ${formatHostPort(host, port)}: ${(error as Error).message}`, { cause: error });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
