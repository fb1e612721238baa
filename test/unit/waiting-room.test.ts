import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/domain/clock.ts';
import { DomainError } from '../../src/domain/errors.ts';
import { WaitingRoom, type WaitingRoomSettings } from '../../src/domain/waiting-room.ts';
import { MemoryQueueStore } from '../../src/queue/memory-store.ts';

const defaults: WaitingRoomSettings = {
  admitPerSecond: 10,
  maxActive: 1000,
  activeTtlSeconds: 300,
  activeIdleSeconds: 15,
  tokenGraceSeconds: 30,
  idleTimeoutSeconds: 30,
};

function makeRoom(overrides: Partial<WaitingRoomSettings> = {}) {
  const settings = { ...defaults, ...overrides };
  const clock = new ManualClock();
  const store = new MemoryQueueStore({
    activeTtlMs: settings.activeTtlSeconds * 1000,
    activeIdleMs: settings.activeIdleSeconds * 1000,
    tokenGraceMs: settings.tokenGraceSeconds * 1000,
  });
  return { room: new WaitingRoom({ store, clock, settings }), clock };
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof DomainError && err.code === code);
}

test('a new token tells the place, and an ETA from the configured rate before any measurement', async () => {
  const { room } = makeRoom();
  for (let u = 1; u < 50; u++) await room.issueToken(u);
  const t = await room.issueToken(50);
  assert.equal(t.status, 'WAITING');
  assert.equal(t.order, 50);
  assert.equal(t.position, 50);
  assert.equal(t.etaSeconds, 5, '50 places at 10 a second');
  assert.match(t.accessKey ?? '', /^[A-Za-z0-9_-]{52}$/);
});

test('a full window: the ETA counts slots freeing one session after they were taken, not the rate budget', async () => {
  const { room, clock } = makeRoom({ admitPerSecond: 10, maxActive: 20, expectedSessionSeconds: 10 });
  for (let u = 1; u <= 200; u++) await room.issueToken(u);
  await room.tick();
  // The cap of 20 active users holds admissions to 20 in 10 s, however high the budget of 10 a second.
  for (let i = 0; i < 10; i++) {
    clock.advance(1000);
    await room.tick();
  }
  assert.equal((await room.counts()).active, 20);
  const t = await room.issueToken(201);
  assert.equal(t.position, 181);
  // Nobody left yet: each slot is held at least the 10 s expected, so 20 places every 10 s.
  assert.ok(t.etaSeconds !== null && t.etaSeconds >= 80 && t.etaSeconds <= 100, `${t.etaSeconds}`);
});

test('poll advice grows with the distance from the front, from 1 s up to 60 s', async () => {
  const { room } = makeRoom({ admitPerSecond: 100, activeIdleSeconds: 30 });
  const advice: number[] = [];
  for (let u = 1; u <= 40_000; u++) {
    const t = await room.issueToken(u);
    if ([1, 500, 1000, 5000, 20_000, 40_000].includes(u)) advice.push(t.pollAfterMs);
  }
  assert.deepEqual(advice, [1000, 1000, 2000, 10_000, 40_000, 60_000]);
});

test('poll advice never outlasts what the full budget takes to reach the user: an admitted user comes back before the slot lapses', async () => {
  // A slow measured pace (1 a second) would advise a fifth of a long ETA; the budget of 10 a second could admit
  // everyone ahead sooner than that, so the advice is bounded by place / budget.
  const { room, clock } = makeRoom({ admitPerSecond: 10, maxActive: 1, activeIdleSeconds: 15 });
  for (let u = 1; u <= 600; u++) {
    const t = await room.issueToken(u);
    assert.ok(
      t.pollAfterMs <= Math.max(1000, (t.position * 1000) / 10),
      `place ${t.position}: ${t.pollAfterMs}`,
    );
  }
  for (let i = 0; i < 30; i++) {
    clock.advance(1000);
    await room.tick();
  }
  const t = await room.poll(600, (await room.issueToken(600)).accessKey);
  assert.ok(
    t.pollAfterMs <= Math.max(1000, (t.position * 1000) / 10),
    `place ${t.position}: ${t.pollAfterMs}`,
  );
});

test('a halted admission (a pre-queue) leaves the measured pace alone: the advice follows the rate once it runs', async () => {
  const { room, clock } = makeRoom({ admitPerSecond: 100 });
  room.setMaxActive(0);
  for (let u = 1; u <= 1000; u++) await room.issueToken(u);
  for (let i = 0; i < 20; i++) {
    clock.advance(1000);
    await room.tick();
  }
  room.setMaxActive(2000);
  clock.advance(250);
  await room.tick();
  const t = await room.poll(1000, (await room.issueToken(1000)).accessKey);
  // About 975 places at 100 a second: about 10 s away, advised back in about 2 s (not 15 s: a rate of 0).
  assert.ok(t.etaSeconds !== null && t.etaSeconds >= 9 && t.etaSeconds <= 11, `${t.etaSeconds}`);
  assert.ok(t.pollAfterMs <= 2500, `${t.pollAfterMs}`);
});

test('keys: missing is 401 TOKEN_MISSING, unknown TOKEN_INVALID, another user’s TOKEN_NOT_YOURS', async () => {
  const { room } = makeRoom();
  const one = await room.issueToken(1);
  await room.issueToken(2);
  await rejectsWith(room.poll(1, undefined), 'TOKEN_MISSING');
  await rejectsWith(room.poll(1, ''), 'TOKEN_MISSING');
  await rejectsWith(room.poll(1, 'not-a-key'), 'TOKEN_INVALID');
  await rejectsWith(room.poll(1, 'A'.repeat(22)), 'TOKEN_INVALID');
  await rejectsWith(room.poll(2, one.accessKey), 'TOKEN_NOT_YOURS');
  await rejectsWith(room.authorizeAdmitted(2, one.accessKey), 'TOKEN_NOT_YOURS');
  await rejectsWith(room.authorizeAdmitted(1, one.accessKey), 'NOT_ADMITTED');
  await rejectsWith(room.authorizeAnyAdmitted(one.accessKey), 'NOT_ADMITTED');
});

test('an admitted key authorises its user until it lapses; release frees the slot at once', async () => {
  const { room, clock } = makeRoom({ maxActive: 1 });
  const one = await room.issueToken(1);
  const two = await room.issueToken(2);
  await room.tick();
  clock.advance(1000);
  await room.tick();
  await room.authorizeAdmitted(1, one.accessKey);
  assert.equal(await room.authorizeAnyAdmitted(one.accessKey), 1);
  assert.deepEqual(await room.poll(1, one.accessKey), {
    order: 0,
    status: 'ACTIVE',
    position: 0,
    etaSeconds: 0,
    admission: 'ADMITTED',
    pollAfterMs: 1000,
  });
  clock.advance(1000);
  await room.tick();
  assert.equal((await room.poll(2, two.accessKey)).order, 1, 'the only slot is taken');
  assert.equal(await room.releaseUser(1), true);
  await rejectsWith(room.authorizeAdmitted(1, one.accessKey), 'TOKEN_EXPIRED');
  clock.advance(1000);
  await room.tick();
  await room.authorizeAdmitted(2, two.accessKey);
  // Requests keep the key alive well past the idle time; silence ends it.
  for (let s = 0; s < 50; s++) {
    clock.advance(5000);
    await room.authorizeAdmitted(2, two.accessKey);
  }
  clock.advance(18_000);
  await rejectsWith(room.authorizeAdmitted(2, two.accessKey), 'TOKEN_EXPIRED');
});

test('a full window with nobody admitted lately says STALLED and no ETA, instead of a huge estimate', async () => {
  // A session is assumed, so the line moving again is forecast at once (without one it would be ESTIMATING).
  const { room, clock } = makeRoom({ admitPerSecond: 10, maxActive: 2, expectedSessionSeconds: 10 });
  const keys: string[] = [];
  for (let u = 1; u <= 6; u++) keys.push((await room.issueToken(u)).accessKey!);
  await room.tick();
  const poll = async (u: number) => room.poll(u, keys[u - 1]);
  for (let s = 0; s < 12; s++) {
    clock.advance(1000);
    await room.tick();
    for (let u = 1; u <= 6; u++) await poll(u);
  }
  const stalled = await poll(6);
  assert.deepEqual([stalled.position, stalled.admission, stalled.etaSeconds], [4, 'STALLED', null]);
  assert.equal(stalled.status, 'WAITING', 'the seed client’s fields stay as they were');
  await room.leave(1, keys[0]);
  clock.advance(250);
  await room.tick();
  const moving = await poll(6);
  assert.equal(moving.position, 3);
  assert.equal(moving.admission, 'MOVING');
  assert.equal(typeof moving.etaSeconds, 'number');
});

test('nothing assumed of sessions: a place that waits on departures is ESTIMATING, without an ETA, until half the window left', async () => {
  const { room, clock } = makeRoom({ admitPerSecond: 100, maxActive: 40 });
  const keys: string[] = [];
  for (let u = 1; u <= 100; u++) keys.push((await room.issueToken(u)).accessKey!);
  await room.tick();
  clock.advance(1000);
  await room.tick();
  const early = await room.poll(100, keys[99]);
  assert.deepEqual([early.position, early.admission, early.etaSeconds], [60, 'ESTIMATING', null]);
  assert.equal(early.status, 'WAITING', 'the seed client’s fields stay as they were');
  // Half the window (20 users) leaves after about 5 s: the session has a basis, and the place is forecast.
  clock.advance(4000);
  for (let u = 1; u <= 20; u++) await room.leave(u, keys[u - 1]);
  clock.advance(250);
  await room.tick();
  const told = await room.poll(100, keys[99]);
  assert.equal(told.admission, 'MOVING');
  assert.equal(typeof told.etaSeconds, 'number');
});

test('admission carries fractions: 2.5 a second admits 5 in 2 s of 250 ms ticks', async () => {
  const { room, clock } = makeRoom({ admitPerSecond: 2.5 });
  for (let u = 1; u <= 10; u++) await room.issueToken(u);
  await room.tick();
  let admitted = 0;
  for (let i = 0; i < 8; i++) {
    clock.advance(250);
    admitted += (await room.tick()).admitted;
  }
  assert.equal(admitted, 5);
  room.setAdmitRate(100);
  clock.advance(1000);
  assert.equal((await room.tick()).admitted, 5, 'the rest of the line');
  assert.equal(room.getAdmitRate(), 100);
  assert.throws(() => room.setAdmitRate(0), RangeError);
});

test('a client polling every second is never evicted; one that stops is', async () => {
  // Admitted user 1 never lapses here: the test is about waiters.
  const { room, clock } = makeRoom({ admitPerSecond: 1, maxActive: 1, activeIdleSeconds: 300 });
  const keys = [];
  for (let u = 1; u <= 5; u++) keys.push((await room.issueToken(u)).accessKey);
  for (let s = 0; s < 120; s++) {
    clock.advance(1000);
    await room.tick();
    await room.poll(5, keys[4]);
  }
  const t = await room.poll(5, keys[4]);
  assert.equal(t.order, 1, 'users 2..4 stopped polling and lost their place');
  await rejectsWith(room.poll(3, keys[2]), 'TOKEN_EXPIRED');
  const counts = await room.counts();
  assert.equal(counts.evictedTotal, 3);
});

test('start() admits on its own and stop() ends it', async () => {
  const realRoom = new WaitingRoom({
    store: new MemoryQueueStore({ activeTtlMs: 300_000, tokenGraceMs: 30_000, activeIdleMs: 15_000 }),
    clock: { now: () => Date.now() },
    settings: { ...defaults, admitPerSecond: 1000 },
  });
  const t = await realRoom.issueToken(1);
  realRoom.start(10);
  for (let i = 0; i < 100 && (await realRoom.poll(1, t.accessKey)).order !== 0; i++)
    await new Promise((r) => setTimeout(r, 10));
  realRoom.stop();
  assert.equal((await realRoom.poll(1, t.accessKey)).order, 0);
});
