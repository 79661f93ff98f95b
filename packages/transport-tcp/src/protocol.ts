/** The byte each side writes first. */
export const PROTOCOL_VERSION = 1;

/** The largest envelope a frame may carry (the u32 length prefix's maximum value): 16 MiB. */
export const MAX_FRAME_LENGTH = 16 * 1024 * 1024;

/** Bytes of the big-endian u32 length that precedes every envelope. */
export const FRAME_HEADER_LENGTH = 4;

/** TCP addresses in routes: "1#host:port". */
export const TCP = 1;

/**
 * A frame of length 0 is a keepalive: it carries no envelope and is not routed. Each side
 * sends one right after its version byte (so a live peer's first frame arrives at once)
 * and whenever it has sent nothing for `keepaliveInterval`.
 */
export const KEEPALIVE_FRAME_LENGTH = 0;
