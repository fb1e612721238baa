import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { alive } from '../cluster/server-process.ts';
import type { PrivateServer } from '../support/private-server.ts';
import { DEMO, type FaultDeployment } from './deployment.ts';
import { checkBookings } from './invariants.ts';
import { type Sample, startMixedLoad } from './mixed-load.ts';

// One fault under load: the mixed flows run steadily, a dependency is stopped, kept down, started again,
// and the run goes on until the service has answered normally for a while. What the fault cost is measured.

const VIRTUAL_USERS = 16;
const USERS_PER_VU = 20;
/** Steady load before the fault; every request in it must succeed, or the fault is not what failed them. */
const WARM_UP_MS = 2500;
/** How long the dependency stays down, as in the issue's "2 s Redis outage". */
const DOWN_MS = 2000;
/** The service has recovered once this long has passed without a failed request... */
const QUIET_MS = 2000;
/** ... and this many requests were answered meanwhile (a server that answers nothing fails nothing). */
const MIN_SERVED = 50;
const RECOVERY_LIMIT_MS = 30_000;
/** An answer slower than this is a hang, not a fast failure. */
const HANG_MS = 10_000;

export interface FaultCost {
  name: string;
  requests: number;
  /** 5xx answers and requests without an answer. */
  failed: Sample[];
  /** 401 TOKEN_INVALID: keys the waiting room no longer knows (its state was lost). */
  lostKeys: number;
  /** From the stop until the dependency accepted connections again. */
  downSeconds: number;
  /** From the stop until the last failed request: how long users saw the fault. */
  recoveredInSeconds: number;
  samples: Sample[];
}

/** Each fault's virtual users play users of their own, so no key or hold is left over from an earlier fault. */
let nextFirstUser = 1;
/** Users who check that the service serves normally afterwards, counted down from the last demo user. */
let nextProbeUser = DEMO.users;

export async function restartUnderLoad(
  d: FaultDeployment,
  name: string,
  dependency: PrivateServer,
): Promise<FaultCost> {
  const firstUser = nextFirstUser;
  nextFirstUser += VIRTUAL_USERS * USERS_PER_VU;
  assert.ok(nextFirstUser < nextProbeUser - 10, 'the demo has a user for every virtual user of every fault');
  const load = startMixedLoad({
    url: d.server.url,
    virtualUsers: VIRTUAL_USERS,
    firstUser,
    usersPerVu: USERS_PER_VU,
    schedules: DEMO.schedules,
    schedulesPerConcert: DEMO.schedulesPerConcert,
    seatsPerSchedule: DEMO.seats,
    thinkMs: 20,
    timeoutMs: HANG_MS,
  });
  const failures = () => load.samples.filter((s) => s.status >= 500 || s.status === 0);
  let stoppedAt = 0;
  let backAt = 0;
  try {
    await sleep(WARM_UP_MS);
    stoppedAt = load.now();
    await dependency.stop();
    await sleep(DOWN_MS);
    await dependency.start();
    backAt = load.now();
    for (;;) {
      await sleep(200);
      if (d.server.child.exitCode !== null || d.server.child.signalCode !== null)
        assert.fail(`${name}: the server process exited\n${d.server.output()}`);
      const since = Math.max(failures().at(-1)?.endedAt ?? stoppedAt, backAt);
      const served = load.samples.filter((s) => s.sentAt > since && s.status > 0 && s.status < 500).length;
      if ((load.now() - since) * 1000 >= QUIET_MS && served >= MIN_SERVED) break;
      if ((load.now() - backAt) * 1000 > RECOVERY_LIMIT_MS)
        assert.fail(
          `${name}: still failing ${RECOVERY_LIMIT_MS / 1000} s after the restart\n${d.server.output()}`,
        );
    }
  } finally {
    await load.stop();
  }
  const samples = load.samples;
  const failed = failures();
  const before = failed.filter((s) => s.endedAt < stoppedAt);
  assert.deepEqual(before, [], `${name}: nothing failed before the fault`);
  const lastFailure = failed.reduce((t, s) => Math.max(t, s.endedAt), stoppedAt);
  return {
    name,
    requests: samples.length,
    failed,
    lostKeys: samples.filter((s) => s.status === 401 && s.code === 'TOKEN_INVALID').length,
    downSeconds: backAt - stoppedAt,
    recoveredInSeconds: lastFailure - stoppedAt,
    samples,
  };
}

/** `fault postgres-restart: 37 failed (37 x 503 DATABASE_UNAVAILABLE) of 4012 requests, ...`, for the test output. */
export function describeCost(cost: FaultCost): string {
  const kinds = new Map<string, number>();
  for (const s of cost.failed) {
    const kind = s.status === 0 ? `no answer (${s.transport})` : `${s.status} ${s.code ?? ''}`.trim();
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  const breakdown = [...kinds].map(([kind, n]) => `${n} x ${kind}`).join(', ');
  return (
    `fault ${cost.name}: ${cost.failed.length} failed${breakdown ? ` (${breakdown})` : ''} of ${cost.requests} requests, ` +
    `dependency down ${cost.downSeconds.toFixed(1)} s, recovered in ${cost.recoveredInSeconds.toFixed(1)} s ` +
    `(${Math.max(0, cost.recoveredInSeconds - cost.downSeconds).toFixed(1)} s after it was back)` +
    (cost.lostKeys
      ? `, ${cost.lostKeys} requests with a key the waiting room had lost (401 TOKEN_INVALID)`
      : '')
  );
}

/** Every failure was a fast 503 with Retry-After and one of `codes`: no hang, no refused connection, no 500. */
export function assertFailedFast(cost: FaultCost, codes: string[]): void {
  for (const s of cost.failed) {
    const what = `${cost.name}: ${s.route} sent at ${s.sentAt.toFixed(2)} s -> ${JSON.stringify(s)}`;
    assert.notEqual(s.status, 0, `answered, not hung or refused: ${what}`);
    assert.equal(s.status, 503, `503, never 500: ${what}`);
    assert.ok(s.retryAfter && Number(s.retryAfter) >= 1, `with Retry-After: ${what}`);
    assert.ok(codes.includes(s.code ?? ''), `code one of ${codes.join(', ')}: ${what}`);
  }
}

/** The server process lived through it, the database is consistent, and a new user can buy a seat. */
export async function assertServesNormally(d: FaultDeployment, cost: FaultCost): Promise<void> {
  assert.ok(
    d.server.child.pid !== undefined && alive(d.server.child.pid),
    `${cost.name}: the server is alive`,
  );
  assert.equal(d.server.child.exitCode, null, `${cost.name}: the server did not exit\n${d.server.output()}`);

  const { violations, totals } = await checkBookings(d.dbUrl);
  assert.deepEqual(
    violations,
    { unbalancedWallets: [], seatsWithTwoOwners: [], claimsOutOfStep: [], halfAppliedPayments: [] },
    `${cost.name}: the database is consistent`,
  );
  assert.ok(
    totals.payments > 0 && totals.charges > 0,
    `${cost.name}: the load paid and charged (${JSON.stringify(totals)})`,
  );

  const ready = await fetch(`${d.server.url}/health/ready`);
  assert.equal(ready.status, 200, `${cost.name}: ready again: ${await ready.text()}`);
  await buyOneSeat(d, nextProbeUser--);
}

async function buyOneSeat(d: FaultDeployment, userId: number): Promise<void> {
  const call = async (method: string, path: string, key?: string, body?: unknown) => {
    const res = await fetch(`${d.server.url}${path}`, {
      method,
      headers: {
        ...(key ? { authorization: key } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(HANG_MS),
    });
    const json = (await res.json()) as Record<string, unknown>;
    assert.equal(res.status, 200, `${method} ${path}: ${JSON.stringify(json)}`);
    return json;
  };
  const ticket = await call('POST', `/api/users/${userId}/token`);
  const key = ticket.accessKey as string;
  for (let i = 0; (await call('GET', `/api/users/${userId}/token`, key)).order !== 0; i++) {
    assert.ok(i < 50, 'admitted within 5 s');
    await sleep(100);
  }
  for (let seatId = 1; seatId <= DEMO.seats; seatId++) {
    const res = await fetch(`${d.server.url}/api/reservations`, {
      method: 'POST',
      headers: { authorization: key, 'content-type': 'application/json' },
      body: JSON.stringify({ userId, concertScheduleId: DEMO.schedules, seatId }),
    });
    const held = (await res.json()) as Record<string, unknown>;
    if (res.status === 409) continue;
    assert.equal(res.status, 200, JSON.stringify(held));
    const paid = await call('POST', '/api/payments', key, { userId, reservationId: held.reservationId });
    assert.equal(paid.status, 'CONFIRMED');
    return;
  }
  assert.fail('a free seat to buy');
}
