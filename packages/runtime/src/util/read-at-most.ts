import type { FileHandle } from "node:fs/promises";

/**
 * The bytes of an open file, or undefined if it holds more than `max` (the buffer is then
 * zeroed: it may hold a secret). Read to the end, as a file's size can change after stat()
 * and some report 0 (those of /proc). For the packages that read small files a user names
 * (identities, configurations): a device or a huge file must not be read whole.
 */
export async function readAtMost(handle: FileHandle, max: number): Promise<Buffer | undefined> {
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
