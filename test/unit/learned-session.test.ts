import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/domain/clock.ts';
import { LearnedSession, type SessionLengthStore } from '../../src/domain/learned-session.ts';
import { WaitingRoom, type WaitingRoomSettings } from '../../src/domain/waiting-room.ts';
import { storeSettingsOf } from '../../src/queue/create-store.ts';
import { MemoryQueueStore } from '../../src/queue/memory-store.ts';

/** A store in memory that records its writes. */
function recordingStore(stored?: number): SessionLengthStore & { writes: number[] } {
  const writes: number[] = [];
  return {
    writes,
    read: async () => stored,
    write: async (ms) => {
      writes.push(ms);
      stored = ms;
    },
  };
}

test('the configured prior until a sale measured one; then the measured one, written through at most every 10 s', () => {
  const store = recordingStore();
  const learned = new LearnedSession({ fallbackMs: 10_000, store });
  assert.equal(learned.priorMs(), 10_000);
  learned.learn(7200.4, 0);
  learned.learn(7100, 5000);
  assert.equal(learned.priorMs(), 7100, 'the latest measurement is the prior at once');
  learned.learn(7000, 10_000);
  assert.deepEqual(store.writes, [7200, 7000]);
});

test('nothing configured and nothing learned: no prior at all, until a sale measures one', async () => {
  const learned = new LearnedSession({ store: recordingStore() });
  await learned.load();
  assert.equal(learned.priorMs(), undefined);
  learned.learn(6800, 0);
  assert.equal(learned.priorMs(), 6800);
});

test('a measurement outside 0.5 s .. 1 h is not learned', () => {
  const learned = new LearnedSession({ fallbackMs: 10_000 });
  for (const ms of [Number.NaN, 0, 499, 3_600_001, Number.POSITIVE_INFINITY]) learned.learn(ms, 0);
  assert.equal(learned.priorMs(), 10_000);
});

test('load: what the store kept becomes the prior; a store that fails leaves the configured one and reports', async () => {
  const kept = new LearnedSession({ fallbackMs: 10_000, store: recordingStore(6500) });
  await kept.load();
  assert.equal(kept.priorMs(), 6500);
  const errors: unknown[] = [];
  const failing = new LearnedSession({
    fallbackMs: 10_000,
    store: {
      read: async () => {
        throw new Error('Connection is closed.');
      },
      write: async () => {},
    },
    onError: (err) => errors.push(err),
  });
  await failing.load();
  assert.equal(failing.priorMs(), 10_000);
  assert.equal(errors.length, 1);
  // A garbled stored value is not a prior either.
  const garbled = new LearnedSession({ fallbackMs: 10_000, store: recordingStore(Number.NaN) });
  await garbled.load();
  assert.equal(garbled.priorMs(), 10_000);
});

const settings: WaitingRoomSettings = {
  admitPerSecond: 20,
  maxActive: 20,
  activeTtlSeconds: 300,
  activeIdleSeconds: 15,
  tokenGraceSeconds: 30,
  idleTimeoutSeconds: 300,
  expectedSessionSeconds: 10,
};

function roomOn(clock: ManualClock, learnedSession: LearnedSession): WaitingRoom {
  return new WaitingRoom({
    store: new MemoryQueueStore(storeSettingsOf(settings)),
    clock,
    settings,
    learnedSession,
  });
}

/** The opening: the window of 20 fills within a second, nobody has left yet. */
async function fillWindow(room: WaitingRoom, clock: ManualClock): Promise<void> {
  await room.tick();
  clock.advance(1000);
  await room.tick();
}

/**
 * A sale on `room`: users from `firstUser` join, and every admitted user pays `sessionMs` after admission and frees
 * the slot, for `forMs`; `alsoTicking` rooms step too (other sales of the process).
 */
async function sell(
  room: WaitingRoom,
  clock: ManualClock,
  run: { firstUser: number; users: number; sessionMs: number; forMs: number },
  alsoTicking: WaitingRoom[] = [],
): Promise<void> {
  for (let u = run.firstUser; u < run.firstUser + run.users; u++) await room.issueToken(u);
  const admittedAt = new Map<number, number>();
  let next = run.firstUser;
  for (let t = 0; t < run.forMs; t += 250) {
    for (const [user, at] of admittedAt)
      if (clock.now() - at >= run.sessionMs) {
        await room.releaseUser(user);
        admittedAt.delete(user);
      }
    const { admitted } = await room.tick();
    for (const other of alsoTicking) await other.tick();
    for (let i = 0; i < admitted; i++) admittedAt.set(next++, clock.now());
    clock.advance(250);
  }
}

test("one room's sale measures 2 s sessions; the next room's first ETAs count on 2 s, not the configured 10 s", async () => {
  const clock = new ManualClock();
  const learned = new LearnedSession({ fallbackMs: 10_000 });
  await sell(roomOn(clock, learned), clock, { firstUser: 1, users: 400, sessionMs: 2000, forMs: 20_000 });
  assert.ok(Math.abs((learned.priorMs() ?? 0) - 2000) <= 300, `learned ${learned.priorMs()} ms`);

  // A second sale on the same process: 20 slots turning over every 2 s is 10 a second, not 2.
  const second = roomOn(clock, learned);
  for (let u = 1001; u <= 1200; u++) await second.issueToken(u);
  await fillWindow(second, clock);
  const fan = await second.issueToken(1201);
  assert.equal(fan.position, 181);
  assert.ok(
    fan.etaSeconds !== null && fan.etaSeconds >= 15 && fan.etaSeconds <= 22,
    `told ${fan.etaSeconds} s`,
  );
  // With the configured 10 s, the same fan is told about five times as long.
  const unlearned = roomOn(clock, new LearnedSession({ fallbackMs: 10_000 }));
  for (let u = 2001; u <= 2200; u++) await unlearned.issueToken(u);
  await fillWindow(unlearned, clock);
  const told = (await unlearned.issueToken(2201)).etaSeconds;
  assert.ok(told !== null && told >= 80, `configured prior: told ${told} s`);
});

test('a sale over does not keep its figure over the one a sale selling now measures', async () => {
  const clock = new ManualClock();
  const learned = new LearnedSession({ fallbackMs: 10_000 });
  const over = roomOn(clock, learned);
  await sell(over, clock, { firstUser: 1, users: 400, sessionMs: 2000, forMs: 20_000 });
  assert.ok(Math.abs((learned.priorMs() ?? 0) - 2000) <= 300, `first sale: ${learned.priorMs()} ms`);
  // The first sale's room goes on stepping (its line is empty) while the next sale sells with 4 s sessions.
  const next = roomOn(clock, learned);
  await sell(next, clock, { firstUser: 1001, users: 400, sessionMs: 4000, forMs: 30_000 }, [over]);
  assert.ok(Math.abs((learned.priorMs() ?? 0) - 4000) <= 500, `second sale: ${learned.priorMs()} ms`);
});
