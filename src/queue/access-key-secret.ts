import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { MIN_ACCESS_KEY_SECRET_BYTES } from '../domain/access-key.ts';
import { connectRedis } from './redis-connection.ts';

const ATTEMPTS = 10;
const RETRY_MS = 500;

/**
 * The access-key secret every process on this Redis shares when none is configured: the first process to start
 * stores a random one (SET NX, under the room's hash tag, no expiry), every process reads the stored one. Anyone
 * who can read it could forge keys, but could as well rewrite the line itself. Fails start-up if Redis does not
 * answer within about 5 s: a process signing with a secret of its own would turn every other process's keys away.
 */
export async function sharedAccessKeySecret(url: string, queueName: string): Promise<Buffer> {
  const redis = connectRedis(url);
  redis.on('error', () => {});
  const name = `tr:{${queueName}}:access-key-secret`;
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await redis.set(name, randomBytes(MIN_ACCESS_KEY_SECRET_BYTES).toString('base64url'), 'NX');
        const stored = Buffer.from((await redis.get(name)) ?? '', 'base64url');
        if (stored.length < MIN_ACCESS_KEY_SECRET_BYTES)
          throw new Error(
            `TR_QUEUE: the access-key secret stored at ${name} is too short; delete it or set TR_ACCESS_KEY_SECRET`,
          );
        return stored;
      } catch (err) {
        if ((err as Error).message.startsWith('TR_QUEUE:')) throw err;
        if (attempt === ATTEMPTS)
          throw new Error(
            `TR_QUEUE: cannot read the shared access-key secret from Redis (${(err as Error).message}); start Redis or set TR_ACCESS_KEY_SECRET`,
          );
        await sleep(RETRY_MS);
      }
    }
  } finally {
    redis.disconnect();
  }
}
