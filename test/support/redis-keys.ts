import { Redis } from 'ioredis';
import { serverUrls } from './backends.ts';

/**
 * Deletes every key of the waiting rooms named `queueName` (its own and its sales') and of its token-issue
 * rate limit (`ticketrush:<queueName>:token-rate:`, compose.ts), so runs leave none.
 */
export async function dropQueueKeys(queueName: string): Promise<void> {
  const redis = new Redis(serverUrls.redis);
  try {
    for (const pattern of [`tr:{${queueName}*`, `ticketrush:${queueName}:*`]) {
      let cursor = '0';
      do {
        const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        if (found.length > 0) await redis.unlink(...found);
        cursor = next;
      } while (cursor !== '0');
    }
  } finally {
    await redis.quit();
  }
}
