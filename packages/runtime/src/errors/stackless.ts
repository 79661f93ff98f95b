/**
 * @internal Makes an error without capturing a stack trace. For errors a network peer
 * decides the number of (a message dropped for its address, a malformed entry): capturing
 * a stack cost ~5-15 µs each, so a peer sending such messages by the thousand held the
 * node's event loop for seconds, while the stack (the router's or the codec's own frames)
 * says nothing the error's class, message and cause do not.
 */
export function stackless<E extends Error>(make: () => E): E {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
