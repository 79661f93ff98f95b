import { REPEATED_HEAD } from "@hopwire/runtime";

/**
 * The byte each side writes first. Version 2 added repeated-head frames
 * (REPEATED_HEAD_FRAME); a version 1 peer is refused with TcpProtocolVersionError.
 */
export const PROTOCOL_VERSION = 2;

/** The largest envelope a frame may carry: 16 MiB. */
export const MAX_FRAME_LENGTH = 16 * 1024 * 1024;

/** Bytes of the big-endian u32 length that precedes every envelope. */
export const FRAME_HEADER_LENGTH = 4;

/**
 * A frame whose length word has this bit set carries a payload alone (the length is the
 * low 31 bits): its envelope head (onward and return routes) is the one of the last frame
 * that carried a head on this connection. The runtime's REPEATED_HEAD, as MESSAGES records use it.
 */
export const REPEATED_HEAD_FRAME = REPEATED_HEAD;

/** TCP addresses in routes: "1#host:port". */
export const TCP = 1;

/**
 * A frame of length 0 is a keepalive: it carries no envelope and is not routed. Each side
 * sends one right after its version byte (so a live peer's first frame arrives at once)
 * and whenever it has sent nothing for `keepaliveInterval`.
 */
export const KEEPALIVE_FRAME_LENGTH = 0;

/**
 * What the heads all of a transport's connections keep for their repeats may cost together
 * (the runtime's keptHeadCost estimate): 64 MiB. Each connection's are bounded (1,024 heads,
 * MAX_KEPT_HEAD_BYTES), but a peer holds many connections: 1,024 of them each keeping 1,024
 * crafted heads held ≈ 2 GB (session 56). Past it, connections keep no new heads (they decode
 * them in full each time, as one-off heads) until others give theirs back by closing.
 */
export const KEPT_HEADS_BUDGET = 64 * 1024 * 1024;
