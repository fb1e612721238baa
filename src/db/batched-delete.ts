import { setImmediate as nextTurn } from 'node:timers/promises';

/** Rows one purge statement deletes at most: short locks, small undo logs, no long stall of other writers. */
export const PURGE_BATCH_SIZE = 500;

/**
 * Calls `deleteBatch` until a batch deletes fewer than `batchSize` rows, letting other work run between
 * batches; resolves to how many rows went in all.
 */
export async function deleteInBatches(
  deleteBatch: (batchSize: number) => Promise<number>,
  batchSize = PURGE_BATCH_SIZE,
): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await deleteBatch(batchSize);
    total += deleted;
    if (deleted < batchSize) return total;
    await nextTurn();
  }
}
