import { randomBytes } from 'node:crypto';
import { MIN_ACCESS_KEY_SECRET_BYTES } from '../domain/access-key.ts';
import { lazyRedis } from './redis-connection.ts';
import { queueUnavailableIfDown } from './redis-errors.ts';

/**
 * The access-key secret every process on this Redis shares when none is configured: the first process to need it
 * stores a random one (SET NX, under the room's hash tag, no expiry), every process reads the stored one. Anyone
 * who can read it could forge keys, but could as well rewrite the line itself. Read when first needed, so a process
 * starts while Redis is away and answers 503 QUEUE_UNAVAILABLE until it is back, like every waiting-room request.
 */
export function sharedAccessKeySecret(url: string, queueName: string) {
  const { client, close } = lazyRedis(url);
  const name = `tr:{${queueName}}:access-key-secret`;
  return {
    read: async (): Promise<Buffer> => {
      const redis = client();
      try {
        await redis.set(name, randomBytes(MIN_ACCESS_KEY_SECRET_BYTES).toString('base64url'), 'NX');
        const stored = Buffer.from((await redis.get(name)) ?? '', 'base64url');
        if (stored.length < MIN_ACCESS_KEY_SECRET_BYTES)
          throw new Error(
            `the access-key secret stored at ${name} is too short: delete it or set TR_ACCESS_KEY_SECRET`,
          );
        return stored;
      } catch (err) {
        throw queueUnavailableIfDown(err);
      }
    },
    close: async (): Promise<void> => close(),
  };
}
