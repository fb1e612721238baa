import type { SessionLengthStore } from '../domain/learned-session.ts';
import { lazyRedis } from './redis-connection.ts';

/** A learned session older than this is forgotten: the checkout (and its crowd) may have changed since. */
const KEEP_SECONDS = 30 * 24 * 60 * 60;

/**
 * The session length the last sale measured, kept in Redis beside the waiting room (under its hash tag), so a
 * process started between two sales forecasts the next with it. The client connects when first used.
 */
export function redisSessionLengths(url: string, queueName: string): SessionLengthStore & { close(): void } {
  const { client, close } = lazyRedis(url);
  const name = `tr:{${queueName}}:learned-session-ms`;
  return {
    read: async () => {
      const stored = await client().get(name);
      return stored === null ? undefined : Number(stored);
    },
    write: async (ms) => {
      await client().set(name, String(ms), 'EX', KEEP_SECONDS);
    },
    close,
  };
}
