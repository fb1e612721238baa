import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/domain/clock.ts';
import { DrainForecast, type DrainStep, type WindowOutlook } from '../../src/domain/eta.ts';

const TICK_MS = 250;

/** A deterministic PRNG, so the simulated crowd is the same on every run. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Crowd {
  /** Users joining per tick, for this many ticks. */
  joinPerTick: number;
  joinTicks: number;
  window: number;
  rate: number;
  /** Session length of an admitted user, uniform in [min, max] ms. */
  sessionMs: [number, number];
  /** Share of waiters that stop polling and are dropped (idle), per tick. */
  lossPerTick?: number;
  /** What the forecast assumes before departures are measured (the crowd's mean session: 10 s). */
  priorSessionMs?: number;
  /**
   * Seats: the first `seats` admitted users buy and leave after their session; those admitted later find nothing
   * and walk away, keeping their slot `idleLapseMs` longer (until it lapses).
   */
  seats?: number;
  idleLapseMs?: number;
  /** Whether the forecast is told the idle lapse (default: yes). */
  forecastKnowsLapse?: boolean;
  /** The window grows as adaptive admission grows it while healthy (a sale's slow start)... */
  growth?: WindowOutlook;
  /** ...and the forecast is told so (default: yes). */
  forecastKnowsGrowth?: boolean;
  /** Fans already in line at the start (a sale's draw), told their ETA after the first step. */
  prequeued?: number;
  /** Shown the forecast once the line is empty. */
  after?: (forecast: DrainForecast) => void;
  /** Counts the fans admitted before any ETA was told them (told undefined until then). */
  untold?: { admitted: number };
}

/**
 * A line on a manual clock, admitted like the stores do (rate budget, active window), with admitted users
 * leaving after their session. Each joiner is told an ETA at once; returns |told - waited| / waited per user.
 */
function simulate(
  crowd: Crowd,
  tell: (forecast: DrainForecast, position: number, measuredRate: number | undefined) => number | undefined,
): { error: number; joinedAt: number }[] {
  const clock = new ManualClock();
  const start = clock.now();
  const random = prng(7);
  const forecast = new DrainForecast({
    priorSessionMs: 'priorSessionMs' in crowd ? crowd.priorSessionMs : 10_000,
    idleLapseMs: crowd.forecastKnowsLapse === false ? undefined : crowd.idleLapseMs,
  });
  // A fan told no ETA (undefined) is asked again each step, and its wait counts from when it is told.
  type Fan = { told: number | undefined; joinedAt: number; toldAt: number };
  const line: Fan[] = Array.from({ length: crowd.prequeued ?? 0 }, () => ({
    told: undefined,
    joinedAt: start,
    toldAt: start,
  }));
  const active: number[] = [];
  const errors: { error: number; joinedAt: number }[] = [];
  let admittedTotal = 0;
  let credit = 0;
  let tick = 0;
  let window = crowd.window;
  const recent: number[] = [];
  const g = crowd.growth;
  while (tick < crowd.joinTicks || line.length > 0) {
    const now = clock.now();
    if (g && tick > 0 && tick % (g.intervalMs / TICK_MS) === 0 && line.length > 0)
      if (active.length >= window * g.fullShare)
        window = Math.min(
          g.windowCeiling,
          window + Math.max(g.minWindowStep, Math.round(window * g.windowGrowth)),
        );
    for (let i = active.length - 1; i >= 0; i--) if (active[i] <= now) active.splice(i, 1);
    let evicted = 0;
    if (crowd.lossPerTick)
      for (let i = line.length - 1; i >= 0; i--)
        if (random() < crowd.lossPerTick) {
          line.splice(i, 1);
          evicted++;
        }
    credit += (crowd.rate * TICK_MS) / 1000;
    let admitted = 0;
    while (credit >= 1 && active.length < window && line.length > 0) {
      credit--;
      const user = line.shift() as Fan;
      const waited = (now - user.toldAt) / 1000;
      if (user.told === undefined) {
        if (crowd.untold) crowd.untold.admitted++;
      } else if (waited >= 1)
        errors.push({ error: Math.abs(user.told - waited) / waited, joinedAt: user.joinedAt - start });
      const [lo, hi] = crowd.sessionMs;
      const walksAway = crowd.seats !== undefined && admittedTotal + admitted >= crowd.seats;
      active.push(now + lo + random() * (hi - lo) + (walksAway ? (crowd.idleLapseMs ?? 0) : 0));
      active.sort((a, b) => a - b);
      admitted++;
    }
    credit = Math.min(credit, crowd.rate);
    admittedTotal += admitted;
    recent.push(admitted);
    if (recent.length > 240) recent.shift();
    const step: DrainStep = {
      at: now,
      admittedTotal,
      active: active.length,
      waiting: line.length,
      evicted,
      window,
      rate: crowd.rate,
      ...(g && crowd.forecastKnowsGrowth !== false && { outlook: g }),
    };
    forecast.observe(step);
    const measured =
      tick >= 8 ? (recent.reduce((a, b) => a + b, 0) * 1000) / (recent.length * TICK_MS) : undefined;
    for (let i = 0; i < line.length; i++)
      if (line[i].told === undefined) {
        line[i].told = tell(forecast, i + 1, measured);
        line[i].toldAt = now;
      }
    if (tick < crowd.joinTicks)
      for (let j = 0; j < crowd.joinPerTick; j++) {
        const told = tell(forecast, line.length + 1, measured);
        line.push({ told, joinedAt: now, toldAt: now });
      }
    clock.advance(TICK_MS);
    tick++;
  }
  crowd.after?.(forecast);
  return errors;
}

const p90 = (samples: { error: number }[]) => {
  const sorted = samples.map((s) => s.error).sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length * 0.9) - 1];
};

const spike: Crowd = {
  joinPerTick: 60,
  joinTicks: 80,
  window: 600,
  rate: 200,
  sessionMs: [6000, 14_000],
};

const honest = (f: DrainForecast, position: number) => f.etaSeconds(position);
/** The estimator this replaced: the place over the admission rate measured lately (the budget before that). */
const naive = (_f: DrainForecast, position: number, measured: number | undefined) =>
  position / Math.max(0.05, measured ?? spike.rate);

test('with room in the window the line drains at the rate budget', () => {
  const f = new DrainForecast({ priorSessionMs: 15_000 });
  f.observe({ at: 0, admittedTotal: 0, active: 0, waiting: 100, evicted: 0, window: 1000, rate: 50 });
  assert.ok(Math.abs((f.etaSeconds(100) ?? 0) - 2) < 0.05, `${f.etaSeconds(100)}`);
  assert.ok(Math.abs((f.etaSeconds(500) ?? 0) - 10) < 0.05, `${f.etaSeconds(500)}`);
});

test('a full window frees one session after it filled: a burst filled at once frees at once', () => {
  const f = new DrainForecast({ priorSessionMs: 10_000 });
  // 100 admitted at once (the window), nobody left yet: slots free around 10 s, the prior session.
  f.observe({ at: 0, admittedTotal: 0, active: 0, waiting: 300, evicted: 0, window: 100, rate: 1000 });
  f.observe({ at: 250, admittedTotal: 100, active: 100, waiting: 200, evicted: 0, window: 100, rate: 1000 });
  const first = f.etaSeconds(50) ?? 0;
  const second = f.etaSeconds(150) ?? 0;
  assert.ok(
    Math.abs(first - 9.75) < 1,
    `the middle of the next hundred, one session after the burst: ${first}`,
  );
  assert.ok(Math.abs(second - 19.75) < 2, `the hundred after, one more session: ${second}`);
});

test('nobody has left: sessions last at least as long as the oldest admission still active', () => {
  const f = new DrainForecast({ priorSessionMs: 5000 });
  f.observe({ at: 0, admittedTotal: 0, active: 0, waiting: 200, evicted: 0, window: 100, rate: 1000 });
  f.observe({ at: 250, admittedTotal: 100, active: 100, waiting: 100, evicted: 0, window: 100, rate: 1000 });
  f.observe({
    at: 20_000,
    admittedTotal: 100,
    active: 100,
    waiting: 100,
    evicted: 0,
    window: 100,
    rate: 1000,
  });
  assert.ok((f.sessionMs() ?? 0) >= 19_750, `${f.sessionMs()}`);
});

/** 30 s of steps, one a second: 10 admitted a second, each leaving 8 s later, in the window `windowAt` gives. */
function tenASecondForEightSeconds(f: DrainForecast, windowAt: (second: number) => number): void {
  for (let s = 0; s <= 30; s++)
    f.observe({
      at: s * 1000,
      admittedTotal: 10 * s,
      active: 10 * Math.min(s, 8),
      waiting: 1000,
      evicted: 0,
      window: windowAt(s),
      rate: 10,
    });
}

test('measured sessions replace the prior (Little’s law on the cumulative curves)', () => {
  const f = new DrainForecast({ priorSessionMs: 60_000 });
  tenASecondForEightSeconds(f, () => 80);
  assert.ok(Math.abs((f.sessionMs() ?? 0) - 8000) < 600, `${f.sessionMs()}`);
  // Full window of 80, each slot held 8 s: 10 a second.
  const eta = f.etaSeconds(200) ?? 0;
  assert.ok(Math.abs(eta - 20) < 2, `${eta}`);
});

test('a budget the steps do not deliver (a busy process) is not promised: the rate achieved is', () => {
  const f = new DrainForecast({ priorSessionMs: 10_000 });
  // 100 a second allowed, 40 a second admitted although the window has room.
  for (let s = 0; s <= 6; s++)
    f.observe({
      at: s * 1000,
      admittedTotal: 40 * s,
      active: 0,
      waiting: 5000,
      evicted: 0,
      window: 1000,
      rate: 100,
    });
  assert.ok(Math.abs(f.admitRate() - 40) < 1, `${f.admitRate()}`);
  assert.ok(Math.abs((f.etaSeconds(400) ?? 0) - 10) < 0.5, `${f.etaSeconds(400)}`);
});

test('halted admission (a window of 0) has no ETA', () => {
  const f = new DrainForecast({ priorSessionMs: 15_000 });
  f.observe({ at: 0, admittedTotal: 0, active: 0, waiting: 10, evicted: 0, window: 0, rate: 50 });
  assert.equal(f.etaSeconds(1), undefined);
});

test("a burst at a sale's opening: after a halted pre-queue the ETAs follow the rate, not the halted seconds", () => {
  const f = new DrainForecast({ priorSessionMs: 10_000 });
  for (let s = 0; s <= 15; s++)
    f.observe({ at: s * 1000, admittedTotal: 0, active: 0, waiting: 3000, evicted: 0, window: 0, rate: 200 });
  f.observe({
    at: 15_250,
    admittedTotal: 50,
    active: 50,
    waiting: 2950,
    evicted: 0,
    window: 1250,
    rate: 200,
  });
  assert.ok(Math.abs((f.etaSeconds(600) ?? 0) - 3) < 0.3, `${f.etaSeconds(600)}`);
  // Beyond the window of 1250, slots free one session (the prior, 10 s, not the 15 s of halted pre-queue) after
  // they were taken.
  assert.ok((f.sessionMs() ?? Number.NaN) < 10_500, `${f.sessionMs()}`);
  const beyond = f.etaSeconds(1400) ?? 0;
  assert.ok(beyond > 8 && beyond < 12.5, `${beyond}`);
});

test('waiters dropped from the line move the ones behind them forward', () => {
  const f = new DrainForecast({ priorSessionMs: 15_000 });
  const g = new DrainForecast({ priorSessionMs: 15_000 });
  for (let s = 0; s <= 20; s++) {
    // 10 admitted a second, each leaving at once: the budget is the only limit.
    const step = { at: s * 1000, admittedTotal: 10 * s, active: 0, waiting: 1000, window: 1000, rate: 10 };
    f.observe({ ...step, evicted: 0 });
    g.observe({ ...step, evicted: 20 });
  }
  const kept = f.etaSeconds(1000) ?? 0;
  const dropped = g.etaSeconds(1000) ?? 0;
  assert.ok(Math.abs(kept - 100) < 1, `${kept}`);
  assert.ok(dropped < kept * 0.8, `2 % of the line leaves each second: ${dropped} < ${kept}`);
});

test('a simulated on-sale spike: the first ETA told is within 20 % of the wait for 90 % of users', () => {
  const errors = simulate(spike, honest);
  assert.ok(errors.length > 3000, `${errors.length} users waited`);
  assert.ok(p90(errors) <= 0.2, `p90 |error| ${p90(errors)}`);
  // The estimator it replaced misses by far on the same crowd (so this simulation can tell them apart).
  const before = simulate(spike, naive);
  assert.ok(p90(before) > 0.4, `p90 |error| of position / measured rate: ${p90(before)}`);
});

test('a prior 50 % too long misleads the first joiners only: once a window has left, ETAs are within 20 %', () => {
  const errors = simulate({ ...spike, priorSessionMs: 15_000 }, honest);
  const first = errors.filter((e) => e.joinedAt < 6000);
  const later = errors.filter((e) => e.joinedAt >= 12_000);
  assert.ok(p90(first) > 0.3, `p90 |error| of the first joiners ${p90(first)}`);
  assert.ok(p90(later) <= 0.2, `p90 |error| of joiners after 12 s ${p90(later)}`);
});

test('a simulated spike with waiters giving up: still within 20 % for 90 % of users', () => {
  const errors = simulate({ ...spike, lossPerTick: 0.002 }, honest);
  assert.ok(p90(errors) <= 0.2, `p90 |error| ${p90(errors)}`);
});

test('sold out: users admitted after the last seat walk away and hold their slot until it lapses idle', () => {
  // 700 seats; those admitted after them browse 6-14 s, find nothing and keep the slot 15 s more. The departures
  // tell it about a session after the sell-out (the buyers leave until 17 s, then nobody): from then on ETAs hold.
  const soldOut: Crowd = { ...spike, joinTicks: 120, seats: 700, idleLapseMs: 15_000 };
  const told = simulate(soldOut, honest);
  const blind = simulate({ ...soldOut, forecastKnowsLapse: false }, honest);
  const late = (e: { error: number; joinedAt: number }[]) => e.filter((x) => x.joinedAt >= 21_000);
  assert.ok(late(told).length > 1000, `${late(told).length} late joiners waited`);
  assert.ok(p90(late(told)) <= 0.2, `p90 |error| of joiners after 21 s ${p90(late(told))}`);
  assert.ok(
    p90(late(blind)) > 0.3,
    `without the idle lapse, slots are expected back too soon: ${p90(late(blind))}`,
  );
});

test('a window adaptive admission moves (a cut, then growth) is forecast at its recent mean, not at the cut', () => {
  // 10 admitted a second, each leaving 8 s later, in a window of 80; then a cut to 40 for the last 10 s.
  const steady = new DrainForecast({ priorSessionMs: 60_000 });
  tenASecondForEightSeconds(steady, () => 40);
  assert.equal(steady.window(), 40, 'a window that never moved is the one in force');
  const moved = new DrainForecast({ priorSessionMs: 60_000 });
  tenASecondForEightSeconds(moved, (s) => (s > 20 ? 40 : 80));
  // The steps of the last 30 s (both ends included): 21 at 80 and 10 at 40.
  assert.ok(Math.abs(moved.window() - (21 * 80 + 10 * 40) / 31) < 0.01, `${moved.window()}`);
  const atCut = steady.etaSeconds(400) ?? 0;
  const atMean = moved.etaSeconds(400) ?? 0;
  assert.ok(atMean < atCut * 0.8, `the mean window drains faster than the cut one: ${atMean} vs ${atCut}`);
  // A halt (a pause) forgets the windows before it: after it, the window in force again.
  moved.observe({
    at: 31_000,
    admittedTotal: 300,
    active: 80,
    waiting: 1000,
    evicted: 0,
    window: 0,
    rate: 10,
  });
  moved.observe({
    at: 32_000,
    admittedTotal: 300,
    active: 80,
    waiting: 1000,
    evicted: 0,
    window: 60,
    rate: 10,
  });
  assert.equal(moved.window(), 60);
});

/** A sale's opening: 10,000 fans drawn into a window of 400 that grows 10 % every 2 s while full, up to 2,000. */
const slowStart: WindowOutlook = {
  intervalMs: 2000,
  windowGrowth: 0.1,
  minWindowStep: 50,
  windowCeiling: 2000,
  fullShare: 0.9,
  rateStep: 10,
  maxRate: 200,
};
const opening: Crowd = {
  prequeued: 10_000,
  joinPerTick: 0,
  joinTicks: 0,
  window: 400,
  rate: 200,
  sessionMs: [8000, 12_000],
  growth: slowStart,
};

test("a sale's slow start: the window adaptive admission grows is forecast as it grows, not held at its start", () => {
  const held = p90(simulate({ ...opening, forecastKnowsGrowth: false }, honest));
  const grown = p90(simulate(opening, honest));
  assert.ok(held > 1, `held at 400, the forecast tells more than twice the wait: p90 ${held}`);
  assert.ok(grown <= 0.2, `following the growth: p90 ${grown}`);
  // A ceiling at the start window (the middle of the sawtooth below a cut) is the window held.
  const capped = { ...slowStart, windowCeiling: 400 };
  assert.ok(p90(simulate({ ...opening, growth: capped }, honest)) <= 0.2);
});

test('sessions longer than the prior at a growing opening still give ETAs within 25 % for 90 % of fans', () => {
  // The first admitted take 11-17 s, the prior says 10, and slots of fans who walk away lapse 15 s later. Until a
  // window has left, departures short of the curve are not read as walk-aways; this crowd reads the same either
  // way (the guard is for a shortfall larger than this one), so this checks the outcome, not the guard.
  const late = simulate({ ...opening, sessionMs: [11_000, 17_000], idleLapseMs: 15_000 }, honest);
  assert.ok(p90(late) <= 0.25, `p90 ${p90(late)}`);
});

test("a sale that sold measures its session, and the next sale's opening forecast with it is honest", () => {
  // Sessions of 5-9 s (7 s on average), a prior of 10 s: the opening's fans are told too long a wait.
  const sale: Crowd = { ...opening, sessionMs: [5000, 9000], idleLapseMs: 15_000, seats: 8000 };
  let settled: number | undefined;
  const first = p90(
    simulate({ ...sale, priorSessionMs: 10_000, after: (f) => (settled = f.settledSessionMs()) }, honest),
  );
  assert.ok(settled !== undefined, 'a line that sold has a settled session');
  // The median of the settled samples: the walk-aways of the sell-out's last seconds do not carry it.
  assert.ok(Math.abs(settled - 7000) <= 700, `measured ${settled} ms, the crowd's mean is 7000`);
  const next = p90(simulate({ ...sale, priorSessionMs: settled }, honest));
  assert.ok(next < first, `learned prior p90 ${next}, configured prior p90 ${first}`);
  assert.ok(next <= 0.1, `learned prior p90 ${next}`);
});

test('a first sale with nothing assumed: places that wait on departures are told once half a window has left', () => {
  // The same sale with no prior at all (a fresh install, no TR_EXPECTED_SESSION_SECONDS): the 6,000 fans drawn at the
  // opening are told nothing until the session has a basis, then a forecast as honest as a learned prior's.
  const sale: Crowd = { ...opening, sessionMs: [5000, 9000], idleLapseMs: 15_000, seats: 8000 };
  const guessed = p90(simulate({ ...sale, priorSessionMs: 10_000 }, honest));
  const untold = { admitted: 0 };
  const told = simulate({ ...sale, priorSessionMs: undefined, untold }, honest);
  assert.ok(p90(told) <= 0.1, `no prior: p90 ${p90(told)} over ${told.length} fans told`);
  assert.ok(p90(told) < guessed, `no prior p90 ${p90(told)}, a 10 s guess p90 ${guessed}`);
  // Those admitted before anyone could be told are the window's room at the opening and its growth, and the few
  // let in while the first departures were measured: not the crowd.
  assert.ok(untold.admitted > 0 && untold.admitted < 2000, `${untold.admitted} admitted untold`);
  assert.ok(told.length > 10 * untold.admitted, `${told.length} told`);
});

test('a window that filled in bursts empties in waves: the lull between two is not fans walking away', () => {
  // A fixed window of 600 filled at the opening; sessions of 6-7.6 s, so the window empties and refills in waves a
  // session apart. Read over 3 s, the lull between waves looked like walk-aways, and fans told then heard twice
  // their wait.
  const waves: Crowd = {
    prequeued: 6000,
    joinPerTick: 20,
    joinTicks: 160,
    window: 600,
    rate: 200,
    sessionMs: [6000, 7600],
    idleLapseMs: 16_500,
    priorSessionMs: 7000,
  };
  const errors = simulate(waves, honest);
  assert.ok(p90(errors) <= 0.1, `p90 ${p90(errors)}`);
  // Those who joined once the waves ran, whichever second: none told anything like twice the wait.
  const worst = Math.max(...errors.filter((e) => e.joinedAt > 0).map((e) => e.error));
  assert.ok(worst < 0.2, `worst |error| of the joiners ${worst}`);
});

test('with nothing assumed, the room the window has left is still forecast: it needs no session', () => {
  const f = new DrainForecast({ priorSessionMs: undefined });
  f.observe({ at: 0, admittedTotal: 0, active: 0, waiting: 1000, evicted: 0, window: 100, rate: 100 });
  f.observe({ at: 250, admittedTotal: 25, active: 25, waiting: 975, evicted: 0, window: 100, rate: 100 });
  assert.equal(f.measuringSession(), true);
  assert.equal(f.sessionMs(), undefined);
  const inRoom = f.etaSeconds(50);
  assert.ok(inRoom !== undefined && Math.abs(inRoom - 0.5) < 0.1, `${inRoom}`);
  assert.equal(f.etaSeconds(200), undefined, 'beyond the room: waits on departures nobody measured');
  // Half the window leaves: the session has a basis (the oldest still active is about the median).
  for (let s = 1; s <= 8; s++)
    f.observe({
      at: 250 + s * 1000,
      admittedTotal: 100,
      active: s < 6 ? 100 : 100 - (s - 5) * 20,
      waiting: 900,
      evicted: 0,
      window: 100,
      rate: 100,
    });
  assert.equal(f.measuringSession(), false);
  const session = f.sessionMs() ?? 0;
  assert.ok(session > 5000 && session < 8500, `${session}`);
  assert.ok((f.etaSeconds(200) ?? 0) > 0);
});

test('a line that never filled its window and emptied has no settled session to learn from', () => {
  let settled: number | undefined = 1;
  simulate({ ...spike, joinPerTick: 1, after: (f) => (settled = f.settledSessionMs()) }, honest);
  assert.equal(settled, undefined);
});

test('the prior may be a function: asked each time, so a prior learned later reaches a line already open', () => {
  let prior = 10_000;
  const f = new DrainForecast({ priorSessionMs: () => prior });
  f.observe({ at: 0, admittedTotal: 0, active: 0, waiting: 100, evicted: 0, window: 10, rate: 10 });
  const before = f.sessionMs();
  prior = 5000;
  assert.deepEqual([before, f.sessionMs()], [10_000, 5000]);
});

test('after a sell-out, slots that lapse (fans who found nothing) for minutes do not become the learned session', () => {
  const f = new DrainForecast({ priorSessionMs: 10_000, idleLapseMs: 15_000 });
  let at = 0;
  let admittedTotal = 0;
  let active = 0;
  const admittedAt: number[] = [];
  /** One 250 ms step: `admit` users in; those admitted `sessionMs` ago leave, as lapses when `lapsing`. */
  const step = (admit: number, sessionMs: number, lapsing: boolean) => {
    for (let i = 0; i < admit; i++) admittedAt.push(at);
    admittedTotal += admit;
    active += admit;
    let left = 0;
    while (admittedAt.length && admittedAt[0] <= at - sessionMs) {
      admittedAt.shift();
      left++;
    }
    active -= left;
    f.observe({
      at,
      admittedTotal,
      active,
      waiting: 5000,
      evicted: 0,
      expired: lapsing ? left : 0,
      window: 200,
      rate: 20,
    });
    at += 250;
  };
  // A minute of selling: 20 a second, each paying (and freeing the slot) 7 s after admission.
  for (let k = 0; k < 240; k++) step(5, 7000, false);
  const selling = f.settledSessionMs();
  assert.ok(selling !== undefined && Math.abs(selling - 7000) <= 500, `selling: ${selling}`);
  // Five minutes of abandoned holds keeping a few seats in play: fans admitted find nothing, their slots lapse 25 s on.
  for (let k = 0; k < 1200; k++) step(1, 25_000, true);
  const after = f.settledSessionMs();
  assert.ok(after !== undefined && Math.abs(after - 7000) <= 500, `after the sell-out: ${after}`);
});

test('after a rate cut the forecast climbs back as the controller will, faster than its usual step', () => {
  // Room for everyone: the rate alone sets the pace. Cut to 100/s from 200/s, the usual step 10/s every 2 s.
  const etaAt = (place: number, rateRecovery?: WindowOutlook['rateRecovery']) => {
    const forecast = new DrainForecast({ priorSessionMs: 10_000 });
    const outlook: WindowOutlook = {
      intervalMs: 2000,
      windowGrowth: 0.1,
      minWindowStep: 50,
      windowCeiling: 100_000,
      fullShare: 0.9,
      rateStep: 10,
      maxRate: 200,
      ...(rateRecovery && { rateRecovery }),
    };
    forecast.observe({
      at: 0,
      admittedTotal: 0,
      active: 0,
      waiting: 5000,
      evicted: 0,
      window: 100_000,
      rate: 100,
      outlook,
    });
    return forecast.etaSeconds(place) ?? Number.NaN;
  };
  // Linear: 100, 110, 120, 130, 140/s over 2 s each: 1,200 admitted by 10 s.
  assert.ok(Math.abs(etaAt(1200) - 10) <= 0.3, `linear ${etaAt(1200)}`);
  // Winning back half of what is missing: 100, 150, 175, 187.5/s: 850 by 6 s, 1,200 at about 7.9 s.
  const back = etaAt(1200, { to: 200, share: 0.5 });
  assert.ok(Math.abs(back - 7.9) <= 0.3, `recovering ${back}`);
});
