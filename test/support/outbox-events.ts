import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../../src/db/database.ts';
import { appendOutboxEvent } from '../../src/db/outbox-repository.ts';
import type { BookingEventType } from '../../src/domain/booking/model.ts';
import type { Clock } from '../../src/domain/clock.ts';

export interface Appended {
  eventId: string;
  aggregateId: string;
  type: BookingEventType;
}

/** Appends one event per spec, each in its own transaction as the booking code would; returns them in order. */
export async function appendEvents(
  database: Database,
  clock: Clock,
  specs: Array<[aggregateId: string, type: BookingEventType]>,
): Promise<Appended[]> {
  const out: Appended[] = [];
  for (const [aggregateId, type] of specs) {
    const eventId = randomUUID();
    await database.db.transaction().execute((trx) =>
      appendOutboxEvent(trx, {
        eventId,
        aggregateId,
        type,
        payload: { aggregateId, n: out.length },
        createdAt: clock.now(),
      }),
    );
    out.push({ eventId, aggregateId, type });
  }
  return out;
}

export const ids = (events: Array<{ eventId: string }>): string[] => events.map((e) => e.eventId);

/** Polls `cond` every 20 ms until it holds; throws after `timeoutMs`. */
export async function waitFor(
  what: string,
  cond: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}
