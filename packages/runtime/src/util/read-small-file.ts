import { constants, type Stats } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";

/** Why readSmallFile would not read a file: not a regular one (`kind` says what it is), or larger than asked. */
export type SmallFileRefusal = { readonly problem: "not-regular"; readonly kind: string } | { readonly problem: "too-large" };

/**
 * Opens without blocking: readFile's open() of a FIFO with no writer waits for one on a
 * libuv thread nothing can cancel (the process then cannot even exit on a signal). On a
 * regular file the flag changes nothing. (Windows has no O_NONBLOCK: there, no flag.)
 */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * The bytes of a small file a user names (an identity, a configuration), or why not: a FIFO,
 * a device or a file of more than `max` bytes is refused unread (readFile waited for ever on
 * a FIFO and read /dev/urandom whole, ~1 GB). A directory fails as it does with readFile
 * (EISDIR, from the read); other failures are Node's errors, thrown.
 */
export async function readSmallFile(path: string, max: number, signal?: AbortSignal): Promise<Buffer | SmallFileRefusal> {
  signal?.throwIfAborted();
  const handle = await open(path, OPEN_FLAGS);
  try {
    const stats = await handle.stat();
    if (!stats.isFile() && !stats.isDirectory()) return { problem: "not-regular", kind: fileKind(stats) };
    const bytes = stats.size > max ? undefined : await readAtMost(handle, max);
    signal?.throwIfAborted();
    return bytes ?? { problem: "too-large" };
  } finally {
    await handle.close();
  }
}

/**
 * The bytes of an open file, or undefined if it holds more than `max` (the buffer is then
 * zeroed: it may hold a secret). Read to the end, as a file's size can change after stat()
 * and some report 0 (those of /proc).
 */
async function readAtMost(handle: FileHandle, max: number): Promise<Buffer | undefined> {
  const buffer = Buffer.alloc(max + 1);
  let length = 0;
  while (length < buffer.length) {
    const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
    if (bytesRead === 0) break;
    length += bytesRead;
  }
  if (length <= max) return buffer.subarray(0, length);
  buffer.fill(0);
  return undefined;
}

/** What a file that is not a regular one is, for a message. */
function fileKind(stats: Stats): string {
  if (stats.isFIFO()) return "a FIFO";
  if (stats.isCharacterDevice()) return "a character device";
  if (stats.isBlockDevice()) return "a block device";
  if (stats.isSocket()) return "a socket";
  return "a special file";
}
