import { MemoryQueueStore } from './memory-store.ts';
import { RedisQueueStore } from './redis-store.ts';
import type { QueueStore, QueueStoreSettings } from './store.ts';

export interface QueueSettings {
  admitPerSecond: number;
  maxActive: number;
  activeTtlSeconds: number;
  tokenGraceSeconds: number;
  idleTimeoutSeconds: number;
}

export const storeSettingsOf = (s: QueueSettings): QueueStoreSettings => ({
  activeTtlMs: s.activeTtlSeconds * 1000,
  tokenGraceMs: s.tokenGraceSeconds * 1000,
});

/** `memory` (one process) or a redis:// URL (any number of processes); close() releases the connection. */
export function createQueueStore(
  queue: string,
  settings: QueueSettings,
  opts: { hashTag?: string } = {},
): QueueStore {
  if (queue === 'memory') return new MemoryQueueStore(storeSettingsOf(settings));
  return new RedisQueueStore({ redis: queue, settings: storeSettingsOf(settings), hashTag: opts.hashTag });
}
