import type { QueueStore, QueueStoreSettings } from '../domain/queue-store.ts';
import type { WaitingRoomSettings } from '../domain/waiting-room.ts';
import { MemoryQueueStore } from './memory-store.ts';
import { RedisQueueStore } from './redis-store.ts';

export const storeSettingsOf = (s: WaitingRoomSettings, maxWaiting?: number): QueueStoreSettings => ({
  activeTtlMs: s.activeTtlSeconds * 1000,
  tokenGraceMs: s.tokenGraceSeconds * 1000,
  activeIdleMs: s.activeIdleSeconds * 1000,
  maxWaiting,
});

/** `memory` (one process) or a redis:// URL (any number of processes); close() releases the connection. */
export function createQueueStore(
  queue: string,
  settings: WaitingRoomSettings,
  opts: { hashTag?: string; maxWaiting?: number } = {},
): QueueStore {
  const storeSettings = storeSettingsOf(settings, opts.maxWaiting);
  if (queue === 'memory') return new MemoryQueueStore(storeSettings);
  return new RedisQueueStore({ redis: queue, settings: storeSettings, hashTag: opts.hashTag });
}
