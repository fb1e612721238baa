import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { acquireClassByRoute, routeClassOf } from '../../src/http/route-classes.ts';
import type { AppServices } from '../../src/services.ts';
import { makeTestApp, type TestApp } from '../support/app.ts';

/** One request per booking route, each valid enough to reach the admission gate. */
const bookingProbes: Array<{
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  route: string;
  payload?: object;
}> = [
  { method: 'GET', url: '/api/concerts', route: '/api/concerts' },
  { method: 'GET', url: '/api/concerts/1/schedules', route: '/api/concerts/:concertId/schedules' },
  { method: 'GET', url: '/api/schedules/1', route: '/api/schedules/:scheduleId' },
  {
    method: 'GET',
    url: '/api/concerts/1/schedules/1/seats/available',
    route: '/api/concerts/:concertId/schedules/:scheduleId/seats/available',
  },
  {
    method: 'POST',
    url: '/api/reservations',
    route: '/api/reservations',
    payload: { userId: 1, concertScheduleId: 1, seatId: 1 },
  },
  { method: 'GET', url: '/api/reservations/abc', route: '/api/reservations/:reservationId' },
  { method: 'DELETE', url: '/api/reservations/abc', route: '/api/reservations/:reservationId' },
  { method: 'GET', url: '/api/users/1/reservations', route: '/api/users/:userId/reservations' },
  { method: 'GET', url: '/api/users/1/points', route: '/api/users/:userId/points' },
  {
    method: 'POST',
    url: '/api/users/1/points/charge',
    route: '/api/users/:userId/points/charge',
    payload: { amount: 1000 },
  },
  {
    method: 'POST',
    url: '/api/payments',
    route: '/api/payments',
    payload: { userId: 1, reservationId: '0190f0e0-0000-7000-8000-000000000000' },
  },
];

describe('the app as compose.ts wires it', () => {
  let t: TestApp;
  before(async () => {
    t = await makeTestApp();
  });
  after(async () => t?.close());

  test('every booking route is behind the admission gate: 401 TOKEN_MISSING without a key', async () => {
    for (const probe of bookingProbes) {
      assert.equal(routeClassOf(probe.route), 'booking', `${probe.route} is classed as booking`);
      assert.ok(probe.route in acquireClassByRoute, `${probe.route} says how urgently it gets a connection`);
      const res = await t.app.inject({ method: probe.method, url: probe.url, payload: probe.payload });
      assert.equal(res.statusCode, 401, `${probe.method} ${probe.url}: ${res.body}`);
      assert.equal(res.json().error.code, 'TOKEN_MISSING');
    }
  });

  test('the waiting room, health and metrics need no key', async () => {
    for (const url of ['/health/live', '/health/ready', '/metrics']) {
      const res = await t.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, url);
    }
    const issued = await t.app.inject({ method: 'POST', url: '/api/users/3/token' });
    assert.equal(issued.statusCode, 200);
  });

  test('/metrics counts transaction retries and exhausted retries', async () => {
    const body = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(body, /^ticketrush_db_transaction_retries_total \d+$/m);
    assert.match(body, /^ticketrush_db_transaction_retries_exhausted_total \d+$/m);
  });

  test('services without an admission gate do not compile', () => {
    const { admissionGate: _gate, ...rest } = t.composition.services;
    // @ts-expect-error: a missing gate is a type error, never open routes
    const incomplete: AppServices = rest;
    assert.equal('admissionGate' in incomplete, false);
  });
});
