import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acquireClassOf, isBookingRoute, routeClassOf } from '../../src/http/route-classes.ts';

test('operator routes are operations: never shed, served first, not booking traffic', () => {
  for (const route of ['/admin/api/concerts', '/admin/api/schedules/:scheduleId/seat-map/csv']) {
    assert.equal(routeClassOf(route), 'operations', route);
    assert.equal(acquireClassOf(route), 'payment', route);
    assert.equal(isBookingRoute(route), false, route);
  }
});
