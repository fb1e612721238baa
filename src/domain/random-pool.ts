import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let next = POOL_BYTES;

/**
 * Copies `length` bytes from the CSPRNG into `target` at `offset`, drawn from a buffer refilled 4 KiB at a time:
 * one call into the generator per few hundred ids instead of one per id (1.5 µs each; every hold makes two ids,
 * every payment three, every token a nonce). For ids and nonces; long-lived secrets call randomBytes themselves.
 */
export function copyRandomInto(target: Buffer, offset: number, length: number): void {
  if (length > POOL_BYTES) throw new RangeError(`at most ${POOL_BYTES} random bytes at once`);
  if (next + length > POOL_BYTES) {
    randomFillSync(pool);
    next = 0;
  }
  pool.copy(target, offset, next, next + length);
  // Bytes handed out are not handed out again: the next refill overwrites them.
  next += length;
}
