import assert from 'node:assert/strict';
import { test } from 'node:test';
import { etaAccuracy, etaIntervalAccuracy } from '../../src/loadtest/flow-metrics.ts';

/** Fans told at t = 0 by an answer, polling so that answers arrive 1 s apart, admitted at `admittedAtS`. */
function fans(admittedAtS: number[], tell: (admittedAtS: number) => number) {
  const told = admittedAtS.map(tell);
  // The first answer after admission says "admitted"; the one a second before it said "waiting".
  const hi = admittedAtS.map((a) => Math.ceil(a));
  const lo = hi.map((h) => h - 1);
  return { told, lo, hi, mid: hi.map((h) => h - 0.5) };
}

/** Admission spread evenly over (k - 1, k] for k = 1..kMax. */
const spread = (kMax: number, perSecond = 10) =>
  Array.from(
    { length: kMax * perSecond },
    (_, i) => Math.floor(i / perSecond) + ((i % perSecond) + 1) / perSecond,
  );

test('an exact forecast with 1 s polls: 0 % interval error, the old midpoint figure at 0.5/(k - 0.5)', () => {
  // An ETA is whole seconds: a fan admitted within (k - 1, k] is told k.
  for (const k of [1, 2, 3]) {
    const f = fans(spread(k).slice((k - 1) * 10), Math.ceil);
    const inSpan = etaIntervalAccuracy(f.told, f.lo, f.hi);
    assert.equal(inSpan.absP99, 0, `k = ${k}`);
    assert.equal(inSpan.within20, 1);
    assert.equal(inSpan.goalMet, true);
    assert.equal(inSpan.widthP50S, 1);
    // The midpoint figure is the one the runner reported before: 50 %, 33 %, 20 % however exact the forecast.
    const midway = etaAccuracy(f.told, f.mid);
    assert.equal(midway.absP50, [0.5, 0.333, 0.2][k - 1]);
    assert.equal(midway.signedP50, [0.5, 0.333, 0.2][k - 1]);
  }
  const all = fans(spread(5), Math.ceil);
  assert.equal(etaIntervalAccuracy(all.told, all.lo, all.hi).absP90, 0);
  assert.equal(etaAccuracy(all.told, all.mid).absP90, 0.5, 'the midpoint figure blames the poll resolution');
});

test('a forecast 50 % short reads about 50 % on the interval figure, signed negative', () => {
  const f = fans(
    spread(60).filter((a) => a >= 10),
    (a) => Math.ceil(a / 2),
  );
  const inSpan = etaIntervalAccuracy(f.told, f.lo, f.hi);
  assert.ok(inSpan.absP50 > 0.4 && inSpan.absP50 < 0.55, `p50 ${inSpan.absP50}`);
  assert.ok(inSpan.signedP90 < -0.3, `signed p90 ${inSpan.signedP90}`);
  assert.equal(inSpan.goalMet, false);
});

test('the interval error: distance to the span, signed, over its midpoint (at least one second)', () => {
  // told 10 s, admitted in [11, 13]: 1 s short of a 12 s wait; told 14: 1 s long; told 12: inside.
  const e = etaIntervalAccuracy([10, 14, 12, 3], [11, 11, 11, 0], [13, 13, 13, 0.5]);
  assert.equal(e.signedP10, -0.083);
  assert.equal(e.absP99, 2.5, 'a 0.25 s midpoint counts as 1 s: told 3 is 2.5 s past 0.5');
  assert.equal(e.widthP50S, 2);
  assert.equal(etaIntervalAccuracy([], [], []).samples, 0);
});
