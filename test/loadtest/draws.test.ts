import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserDraws } from '../../src/loadtest/scenarios.ts';

test('keys of flows that drew the same user id at once are shared, until those flows end', () => {
  const draws = new UserDraws();
  const first = draws.draw(7);
  draws.keyIssued(first, 'key-1');
  const lone = draws.draw(8);
  draws.keyIssued(lone, 'key-lone');
  assert.equal(draws.isShared('key-1'), false, 'alone so far');

  const second = draws.draw(7);
  draws.keyIssued(second, 'key-2');
  assert.deepEqual(
    ['key-1', 'key-2', 'key-lone'].map(draws.isShared),
    [true, true, false],
    'both flows of user 7, not user 8',
  );
  draws.release(first);
  draws.release(second);
  assert.equal(draws.isShared('key-2'), false);
  const later = draws.draw(7);
  draws.keyIssued(later, 'key-3');
  assert.equal(draws.isShared('key-3'), false, 'a later flow of the same user is alone again');
});
