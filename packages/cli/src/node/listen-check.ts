// An inlet opens its secure channel before it listens, so a --from port in use was said only
// once trust and relay were right (a user trial): the port is tried first, and let go at once.
import { createServer, type AddressInfo } from "node:net";
import { formatHostPort, parseHostPort } from "@hopwire/runtime";
import { PortalListenError } from "@hopwire/portal";

/**
 * Resolves if `address` ("host:port") can be listened on now, to the address with the port
 * the system gave (port 0 asks it for one: the inlet then says and takes that port, not 0);
 * rejects with PortalListenError, worded as the TCP transport's.
 */
export async function checkCanListen(address: string): Promise<string> {
  const { host, port } = parseHostPort(address, "listen", { allowPortZero: true, fail: (message) => new PortalListenError(message) });
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port, exclusive: true }, resolve);
    });
    return port === 0 ? formatHostPort(host, (server.address() as AddressInfo).port) : address;
  } catch (error) {
    throw new PortalListenError(`Could not listen on ${formatHostPort(host, port)}: ${(error as Error).message}`, { cause: error });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
