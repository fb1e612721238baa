import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AdaptiveAdmission,
  type AdmissionChange,
  type AdmissionSettings,
  type BookingHealth,
  ResponseWindow,
} from '../../src/domain/admission-controller.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import { WaitingRoom } from '../../src/domain/waiting-room.ts';
import { MemoryQueueStore } from '../../src/queue/memory-store.ts';

const settings: AdmissionSettings = {
  adaptive: true,
  minPerSecond: 5,
  maxPerSecond: 400,
  basePerSecond: 50,
  maxWindow: 1000,
  targetP95Ms: 250,
  targetPoolWaitMs: 25,
  maxErrorRate: 0.05,
  minSamples: 20,
  intervalMs: 2000,
};

/** A real waiting room (memory store, manual clock) governed by the controller under test. */
function room(overrides: Partial<AdmissionSettings> = {}, health?: (since: number) => BookingHealth) {
  const clock = new ManualClock();
  const s = { ...settings, ...overrides };
  const store = new MemoryQueueStore({ activeTtlMs: 900_000, tokenGraceMs: 30_000, activeIdleMs: 15_000 });
  const waitingRoom = new WaitingRoom({
    store,
    clock,
    settings: {
      admitPerSecond: s.basePerSecond,
      maxActive: s.maxWindow,
      activeTtlSeconds: 900,
      activeIdleSeconds: 15,
      tokenGraceSeconds: 30,
      idleTimeoutSeconds: 30,
    },
  });
  waitingRoom.governBySharedControl();
  const responses = new ResponseWindow({ clock, windowSeconds: 10 });
  const poolWaits = new ResponseWindow({ clock, windowSeconds: 10 });
  const changes: AdmissionChange[] = [];
  const controller = new AdaptiveAdmission({
    target: waitingRoom,
    clock,
    settings: s,
    health:
      health ??
      ((since) => {
        const waits = poolWaits.signals(since);
        return { ...responses.signals(since), poolWaits: waits.samples, poolWaitP95Ms: waits.p95Ms };
      }),
    onChange: (c) => changes.push(c),
  });
  return { clock, store, waitingRoom, responses, poolWaits, controller, changes };
}

/**
 * Fans arrive at a steady pace and poll every second; admitted fans make one booking request a second for
 * 20 s, then leave. The backend serves `capacity` concurrent users at 20 ms; each one beyond adds 2 ms of
 * latency and 0.5 ms of wait for a database connection.
 */
function crowd(r: ReturnType<typeof room>, arrivalsPerSecond: number) {
  const backend = { capacity: 600 };
  const keys = new Map<number, string>();
  const admittedAt = new Map<number, number>();
  let nextUser = 1;
  let second = 0;
  const trace: Array<{ second: number; window: number; active: number; waiting: number; p95: number }> = [];
  async function run(seconds: number) {
    for (let i = 0; i < seconds; i++) {
      second++;
      for (let a = 0; a < arrivalsPerSecond; a++) {
        const userId = nextUser++;
        keys.set(userId, (await r.waitingRoom.issueToken(userId)).accessKey!);
      }
      for (let q = 0; q < 4; q++) {
        r.clock.advance(250);
        await r.waitingRoom.tick();
      }
      const now = r.clock.now();
      const active = r.waitingRoom.occupancy().active;
      const over = Math.max(0, active - backend.capacity);
      for (const [userId, key] of keys) {
        const started = admittedAt.get(userId);
        if (started !== undefined && now - started >= 20_000) {
          await r.waitingRoom.leave(userId, key);
          keys.delete(userId);
          admittedAt.delete(userId);
          continue;
        }
        const ticket = await r.waitingRoom.poll(userId, key);
        if (ticket.status !== 'ACTIVE') continue;
        if (started === undefined) admittedAt.set(userId, now);
        r.responses.record(201, 20 + over * 2);
        r.poolWaits.record(200, over * 0.5);
      }
      if (second % 2 === 0) await r.controller.step();
      const o = r.waitingRoom.occupancy();
      const p95 = r.responses.signals(now - 1000).p95Ms ?? 0;
      trace.push({ second, window: o.window, active: o.active, waiting: o.waiting, p95 });
    }
  }
  return { backend, run, trace };
}

describe('AdaptiveAdmission', () => {
  test('a slow backend shrinks the window, the line grows instead of latency, and both recover', async () => {
    const r = room();
    const c = crowd(r, 40);
    c.backend.capacity = 2000;
    await c.run(40);
    const healthy = c.trace.at(-1)!;
    assert.ok(healthy.window >= 900, `the window grew while healthy: ${JSON.stringify(healthy)}`);

    c.backend.capacity = 500;
    await c.run(80);
    const slow = c.trace.slice(-20);
    const show = JSON.stringify(slow);
    for (const t of slow)
      assert.ok(t.window <= 500 * 1.25, `the window shrank to about what the backend takes: ${show}`);
    assert.ok(
      slow.filter((t) => t.p95 <= settings.targetP95Ms).length >= 18,
      `p95 back under target: ${show}`,
    );
    assert.ok(slow.at(-1)!.waiting > slow[0].waiting + 100, `the line grew instead: ${show}`);
    const cuts = r.changes.filter((ch) => ch.knob === 'window' && ch.to < ch.from);
    assert.ok(cuts.length > 0 && cuts.every((ch) => ['p95', 'pool'].includes(ch.signal)));
    assert.match(
      cuts[0].reason,
      /^window: (p95|pool wait p95) \d+ms > target \d+ms, \d+ active: \d+ -> \d+$/,
    );

    c.backend.capacity = 2000;
    await c.run(80);
    const recovered = c.trace.slice(-10);
    assert.ok(recovered.at(-1)!.window >= 900, `the window grew back: ${JSON.stringify(recovered)}`);
    assert.ok(
      recovered.at(-1)!.waiting < slow.at(-1)!.waiting,
      `the line shrank: ${JSON.stringify(recovered)}`,
    );
  });

  test('a quiet backend admits at least at the configured pace, whatever the rate was cut to', async () => {
    const r = room();
    await r.controller.step();
    await r.waitingRoom.writeControl(1, { window: 1000, rate: 5, cut: true });
    r.clock.advance(2000);
    const changes = await r.controller.step();
    assert.deepEqual(
      changes.map((ch) => [ch.knob, ch.from, ch.to, ch.signal]),
      [['rate', 5, 50, 'quiet']],
    );
  });

  test('pool wait is judged by time: a long but fast connection queue is no reason to cut', async () => {
    const r = room();
    await r.controller.step();
    for (let u = 1; u <= 100; u++) await r.waitingRoom.issueToken(u);
    r.clock.advance(2000);
    await r.waitingRoom.tick();
    for (let i = 0; i < 500; i++) r.poolWaits.record(200, 3);
    for (let i = 0; i < 500; i++) r.responses.record(200, 31);
    const changes = await r.controller.step();
    assert.ok(
      changes.every((ch) => ch.to >= ch.from && ch.signal === 'healthy'),
      JSON.stringify(changes),
    );
  });

  test('errors cut even when fast; a cut leaves 70 % of the users actually active', async () => {
    const r = room();
    await r.controller.step();
    for (let u = 1; u <= 300; u++) await r.waitingRoom.issueToken(u);
    await r.waitingRoom.tick();
    r.clock.advance(2000);
    await r.waitingRoom.tick();
    assert.equal(r.waitingRoom.occupancy().active, 100);
    for (let i = 0; i < 100; i++) r.responses.record(i < 20 ? 503 : 200, 5);
    assert.deepEqual(await r.controller.step(), [], 'one troubled interval is not yet a verdict');
    r.clock.advance(2000);
    for (let i = 0; i < 100; i++) r.responses.record(i < 20 ? 503 : 200, 5);
    const [window, rate] = await r.controller.step();
    assert.deepEqual([window.knob, window.from, window.to, window.signal], ['window', 500, 70, 'errors']);
    assert.deepEqual([rate.knob, rate.from, rate.to], ['rate', 50, 25]);
    assert.match(window.reason, /^window: 5xx 20\.0% > 5\.0%, 100 active: 500 -> 70$/);
  });

  test('after a rate cut, healthy steps win back half of what is missing of the rate before it, then add the usual step', async () => {
    // A ceiling of 100/s: the usual step is 5/s, so the recovery's larger steps show.
    const r = room({ maxPerSecond: 100 });
    await r.controller.step();
    for (let u = 1; u <= 300; u++) await r.waitingRoom.issueToken(u);
    await r.waitingRoom.tick();
    r.clock.advance(2000);
    await r.waitingRoom.tick();
    for (let i = 0; i < 2; i++) {
      r.clock.advance(2000);
      for (let k = 0; k < 100; k++) r.responses.record(k < 20 ? 503 : 200, 5);
      await r.controller.step();
    }
    assert.equal((await r.waitingRoom.readControl())?.rate, 25, 'cut from 50 to 25');
    assert.deepEqual(r.controller.outlook()?.rateRecovery, { to: 50, share: 0.5 });
    const rates: number[] = [];
    for (let i = 0; i < 7; i++) {
      r.clock.advance(2000);
      for (let k = 0; k < 100; k++) r.responses.record(200, 5);
      await r.controller.step();
      rates.push((await r.waitingRoom.readControl())?.rate ?? 0);
    }
    // The first interval still holds the cut's last troubled second; then 25 + 12.5, + 6.25, then the usual 5
    // (more than half of what is missing) past 50, and on.
    assert.deepEqual(rates, [25, 37.5, 43.75, 48.75, 53.75, 58.75, 63.75]);
    assert.equal(r.controller.outlook()?.rateRecovery, undefined, 'back past the rate before the cut');
  });

  test('a process whose event loop lags is cut too, even when its own timings look fast', async () => {
    let delay = 10;
    const r = room({ targetEventLoopDelayMs: 125 }, () => ({
      samples: 100,
      p95Ms: 20,
      errorRate: 0,
      poolWaits: 0,
      poolWaitP95Ms: undefined,
      loopSamples: 4,
      eventLoopDelayMs: delay,
    }));
    await r.controller.step();
    for (let u = 1; u <= 300; u++) await r.waitingRoom.issueToken(u);
    await r.waitingRoom.tick();
    r.clock.advance(2000);
    await r.waitingRoom.tick();
    delay = 300;
    assert.deepEqual(await r.controller.step(), []);
    r.clock.advance(2000);
    const [window] = await r.controller.step();
    assert.deepEqual([window.knob, window.to, window.signal], ['window', 70, 'loop']);
    assert.match(window.reason, /^window: event-loop delay 300ms > target 125ms, 100 active: 500 -> 70$/);
  });

  test('two processes on one store: one cut per interval, and cuts follow the users actually active', async () => {
    const unhealthy = (): BookingHealth => ({
      samples: 100,
      p95Ms: 900,
      errorRate: 0,
      poolWaits: 0,
      poolWaitP95Ms: undefined,
    });
    const a = room({}, unhealthy);
    const b = new AdaptiveAdmission({
      target: a.waitingRoom,
      clock: a.clock,
      settings,
      health: unhealthy,
    });
    await a.controller.step();
    for (let u = 1; u <= 600; u++) await a.waitingRoom.issueToken(u);
    for (let i = 0; i < 12; i++) {
      a.clock.advance(1000);
      await a.waitingRoom.tick();
    }
    assert.equal(a.waitingRoom.occupancy().active, 500);
    assert.equal(
      a.controller.outlook()?.windowCeiling,
      1000,
      'before any cut, the window may grow to the cap',
    );
    await Promise.all([a.controller.step(), b.step()]);
    a.clock.advance(2000);
    const both = await Promise.all([a.controller.step(), b.step()]);
    assert.equal(both.flat().filter((ch) => ch.knob === 'window').length, 1, 'one of the two cuts applies');
    assert.equal(await b.step().then((ch) => ch.length), 0, 'no second cut within the interval');
    // The window was full: it alone holds the load, so the rate (50/s) is not cut with it.
    assert.deepEqual(await a.waitingRoom.readControl(), {
      window: 350,
      rate: 50,
      version: 2,
      changedAt: a.clock.now(),
      cutAt: a.clock.now(),
    });
    a.clock.advance(2000);
    const again = await b.step();
    // 500 users are still active: the window stays at 70 % of them until they leave, and the rate stays too.
    assert.deepEqual(again, []);
    await a.controller.step();
    // One cut is no limit yet: both processes forecast growth to the cap.
    for (const c of [a.controller, b])
      assert.deepEqual(c.outlook(), {
        intervalMs: 2000,
        windowGrowth: 0.1,
        minWindowStep: 25,
        windowCeiling: 1000,
        fullShare: 0.9,
        rateStep: 20,
        maxRate: 400,
      });
  });

  test("the ETA's outlook: two cuts from about the same window mark the limit; one cut, or cuts far apart, do not", async () => {
    // A target whose shared control the test writes, as other processes would; this process never wins a write.
    let control = { window: 500, rate: 50, version: 1, changedAt: 0, cutAt: 0 };
    const clock = new ManualClock();
    const controller = new AdaptiveAdmission({
      target: {
        occupancy: () => ({ active: 0, waiting: 0, window: control.window, rate: control.rate }),
        readControl: async () => control,
        writeControl: async () => ({ applied: false, control }),
      },
      clock,
      settings,
      health: () => ({ samples: 0, p95Ms: undefined, errorRate: 0, poolWaits: 0, poolWaitP95Ms: undefined }),
    });
    const ceilingAfter = async (window: number, cutAt: number) => {
      clock.advance(2000);
      control = { ...control, window, cutAt, version: control.version + 1, changedAt: clock.now() };
      await controller.step();
      return controller.outlook()?.windowCeiling;
    };
    assert.equal(await ceilingAfter(500, 0), 1000);
    assert.equal(await ceilingAfter(350, 4000), 1000, 'a cut from 500, the first: the cap still');
    assert.equal(await ceilingAfter(480, 4000), 1000);
    assert.equal(await ceilingAfter(336, 8000), 408, 'a second cut, from 480: the middle of 480 and its cut');
    assert.equal(await ceilingAfter(900, 8000), 408, 'growth alone changes nothing');
    assert.equal(await ceilingAfter(630, 12_000), 1000, 'a cut from 900, far above 480: no limit known');
  });

  test('fixed mode never changes anything, whatever the backend does', async () => {
    const r = room({ adaptive: false });
    assert.equal(r.controller.outlook(), undefined, 'and forecasts no growth');
    for (let i = 0; i < 5; i++) {
      r.responses.record(503, 5000);
      r.clock.advance(2000);
      assert.deepEqual(await r.controller.step(), []);
    }
    assert.equal(await r.waitingRoom.readControl(), undefined);
  });

  test("an operator's window bounds are where the next step clamps the shared window", async () => {
    const r = room();
    await r.controller.step();
    r.controller.setWindowBounds(300, 400);
    r.clock.advance(2000);
    const changes = await r.controller.step();
    assert.equal(changes.find((ch) => ch.knob === 'window')?.signal, 'clamp');
    assert.equal((await r.waitingRoom.readControl())?.window, 400);
    r.controller.setWindowBounds(600, 1000);
    r.clock.advance(2000);
    await r.controller.step();
    assert.equal((await r.waitingRoom.readControl())?.window, 600);
    assert.throws(() => r.controller.setWindowBounds(10, 5), RangeError);
  });

  test("a sale's pace is a ceiling: the next step clamps to it, a quiet backend returns to it, never above", async () => {
    const r = room();
    await r.controller.step();
    for (let u = 1; u <= 100; u++) await r.waitingRoom.issueToken(u);
    r.controller.setPace(30);
    r.clock.advance(2000);
    const clamped = await r.controller.step();
    assert.deepEqual(
      clamped.filter((ch) => ch.knob === 'rate').map((ch) => [ch.from, ch.to, ch.signal]),
      [[50, 30, 'clamp']],
    );
    // Healthy and people waiting: the rate would grow by 5 % of the most, but the most is the pace.
    for (let i = 0; i < 100; i++) r.responses.record(200, 5);
    r.clock.advance(2000);
    await r.controller.step();
    assert.equal((await r.waitingRoom.readControl())?.rate, 30);
    // A slower floor than the configured one follows a pace below it.
    r.controller.setPace(2);
    r.clock.advance(2000);
    await r.controller.step();
    assert.equal((await r.waitingRoom.readControl())?.rate, 2);
    assert.throws(() => r.controller.setPace(0), RangeError);
  });

  test('a halted line (paused, before its opening) is not cut, whatever the process goes through', async () => {
    const r = room();
    await r.controller.step();
    for (let u = 1; u <= 100; u++) await r.waitingRoom.issueToken(u);
    r.waitingRoom.setMaxActive(0);
    await r.waitingRoom.tick();
    for (let i = 0; i < 3; i++) {
      for (let k = 0; k < 100; k++) r.responses.record(503, 900);
      r.clock.advance(2000);
      assert.deepEqual(await r.controller.step(), []);
    }
    assert.deepEqual(await r.waitingRoom.readControl().then((c) => [c?.window, c?.rate]), [500, 50]);
    // Open again: the same trouble is judged from then on (two intervals before a cut).
    r.waitingRoom.setMaxActive(1000);
    await r.waitingRoom.tick();
    for (let k = 0; k < 100; k++) r.responses.record(503, 900);
    r.clock.advance(2000);
    assert.deepEqual(await r.controller.step(), []);
    for (let k = 0; k < 100; k++) r.responses.record(503, 900);
    r.clock.advance(2000);
    assert.equal((await r.controller.step()).length, 2);
  });

  test("a line nobody of which is active is not cut: the trouble is other lines' making", async () => {
    const r = room();
    await r.controller.step();
    for (let u = 1; u <= 10; u++) await r.waitingRoom.issueToken(u);
    for (let i = 0; i < 3; i++) {
      for (let k = 0; k < 100; k++) r.responses.record(200, 900);
      r.clock.advance(2000);
      assert.deepEqual(await r.controller.step(), []);
    }
    assert.equal((await r.waitingRoom.readControl())?.window, 500);
  });

  test('bounds must make sense', () => {
    assert.throws(
      () =>
        new AdaptiveAdmission({
          target: room().waitingRoom,
          clock: new ManualClock(),
          settings: { ...settings, minPerSecond: 50, maxPerSecond: 10 },
          health: () => ({
            samples: 0,
            p95Ms: undefined,
            errorRate: 0,
            poolWaits: 0,
            poolWaitP95Ms: undefined,
          }),
        }),
      RangeError,
    );
  });
});

describe('ResponseWindow', () => {
  test('p95 and error share over the recorded responses, forgetting old seconds', () => {
    const clock = new ManualClock();
    const window = new ResponseWindow({ clock, windowSeconds: 5 });
    for (let i = 0; i < 95; i++) window.record(200, 20);
    for (let i = 0; i < 5; i++) window.record(500, 1000);
    const s = window.signals();
    assert.equal(s.samples, 100);
    assert.equal(s.errorRate, 0.05);
    assert.ok(s.p95Ms !== undefined && s.p95Ms >= 20 && s.p95Ms < 22.1, `p95 ${s.p95Ms}`);

    clock.advance(6000);
    assert.deepEqual(window.signals(), { samples: 0, p95Ms: undefined, errorRate: 0 });
  });
});
