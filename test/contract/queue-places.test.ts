import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import type { QueueEntry } from '../../src/domain/queue-store.ts';
import { RedisQueueStore } from '../../src/queue/redis-store.ts';
import { needServer, serverUrls } from '../support/backends.ts';
import { heartbeat, newAccessKey, T0 } from '../support/store-keys.ts';

// On Redis a waiter's place is worked out from its arrival sequence and the line's counts (admissions, the draw's
// moves, departures: src/queue/scripts/lib/place.lua), not by walking the line. Here random joins (some to the
// pre-queue), re-issues, leaves, idle evictions, admissions and a draw are checked against the line itself: every
// place a poll, a status read or a re-issue answers must be the user's ZRANK + 1 at that moment; and after an
// admission step the set of departures holds none from ahead of the front.

const USERS = 12;
type Op =
  | { kind: 'join'; user: number; pre: boolean }
  | { kind: 'leave'; user: number }
  | { kind: 'poll'; user: number; status: boolean }
  | { kind: 'admit'; count: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'draw'; seed: number };

const user = fc.integer({ min: 1, max: USERS });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('join' as const), user, pre: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('leave' as const), user }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('poll' as const), user, status: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('admit' as const), count: fc.integer({ min: 1, max: 3 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.integer({ min: 1_000, max: 45_000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('draw' as const), seed: fc.integer() }) },
);

test('redis: places worked out from arrival sequences match the line through joins, leaves, evictions, admissions and a draw', async (t) => {
  if (!(await needServer(t, 'redis'))) return;
  const redis = new Redis(serverUrls.redis);
  let checked = 0;
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 10, maxLength: 60 }), async (ops) => {
        const store = new RedisQueueStore({
          redis,
          settings: { activeTtlMs: 300_000, tokenGraceMs: 30_000, activeIdleMs: 20_000 },
          hashTag: `test-${randomBytes(6).toString('hex')}`,
        });
        const keys = new Map<number, string>();
        let now = T0;
        const expectPlace = async (userId: number, entry: QueueEntry, what: string) => {
          if (entry.state !== 'waiting') return;
          const rank = await redis.zrank(`${store.prefix}waiting`, String(userId));
          assert.notEqual(rank, null, `${what}: user ${userId} answered waiting but is not in line`);
          assert.equal(entry.position, rank! + 1, `${what}: user ${userId}'s place`);
          checked++;
        };
        try {
          for (const o of ops) {
            if (o.kind === 'join') {
              const key = newAccessKey();
              const entry = await store.issue(o.user, key, now, heartbeat, o.pre);
              keys.set(o.user, key);
              await expectPlace(o.user, entry, 'issue');
            } else if (o.kind === 'leave') {
              const key = keys.get(o.user);
              if (key) await store.leave(o.user, key, now).catch(() => {});
              keys.delete(o.user);
            } else if (o.kind === 'poll') {
              const key = keys.get(o.user);
              if (!key) continue;
              const entry = await (o.status
                ? store.status(key, now, heartbeat, o.user)
                : store.poll(o.user, key, now, heartbeat)
              ).catch(() => undefined);
              if (entry) await expectPlace(o.user, entry, o.status ? 'status' : 'poll');
            } else if (o.kind === 'admit') {
              now += 1000;
              await store.admit(now, {
                ratePerSecond: o.count,
                maxActive: 100,
                governed: false,
                maxBurstMs: 1000,
              });
            } else if (o.kind === 'advance') {
              now += o.ms;
            } else {
              const holder = `h${o.seed}`;
              const claim = await store.claimDraw(holder, now, 60_000);
              if (claim.outcome !== 'claimed') continue;
              const entrants = new Set<number>();
              let cursor = '0';
              do {
                const slice = await store.drawEntrants(holder, cursor, now, 60_000);
                if (!slice) break;
                for (const e of slice.entrants) entrants.add(e);
                cursor = slice.cursor;
              } while (cursor !== '0');
              const order = [...entrants].sort(
                (a, b) => ((a * 7919 + o.seed) % 13) - ((b * 7919 + o.seed) % 13),
              );
              // Slices of three; an empty draw is applied by one empty slice.
              let from = 0;
              do {
                await store.applyDrawSlice(
                  holder,
                  { from, total: order.length, users: order.slice(from, from + 3) },
                  now,
                  60_000,
                );
                from += 3;
              } while (from < order.length);
            }
          }
          // An admission step prunes the departures from ahead of the front: what stays is behind it.
          now += 1;
          await store.admit(now, { ratePerSecond: 0, maxActive: 100, governed: false, maxBurstMs: 1000 });
          const [, front] = await redis.zrangebyscore(
            `${store.prefix}waiting`,
            '(0',
            '+inf',
            'WITHSCORES',
            'LIMIT',
            0,
            1,
          );
          const gone = (await redis.zrange(`${store.prefix}gone`, 0, -1)).map(Number);
          assert.ok(
            gone.every((seq) => front !== undefined && seq > Number(front)),
            `departures left in gone ${gone.join(',')} all come after the front's arrival ${front}`,
          );
        } finally {
          await store.destroy();
        }
      }),
      { numRuns: 150 },
    );
    assert.ok(checked > 500, `places checked: ${checked}`);
  } finally {
    redis.disconnect();
  }
});
