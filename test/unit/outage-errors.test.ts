import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReplyError } from 'ioredis';
import { isDatabaseUnreachable, retryLaterIfUnavailable } from '../../src/db/errors.ts';
import { DomainError } from '../../src/domain/errors.ts';
import { isRedisUnavailable, queueUnavailableIfDown } from '../../src/queue/redis-errors.ts';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

test('database outages, as pg and mysql2 report them, are 503 DATABASE_UNAVAILABLE with Retry-After', () => {
  const outages = [
    withCode('terminating connection due to administrator command', '57P01'),
    withCode('the database system is starting up', '57P03'),
    withCode('the database system is shutting down', '57P03'),
    withCode('connection failure', '08006'),
    withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
    withCode('read ECONNRESET', 'ECONNRESET'),
    new Error('Connection terminated unexpectedly'),
    new Error('Client has encountered a connection error and is not queryable'),
    withCode('Connection lost: The server closed the connection.', 'PROTOCOL_CONNECTION_LOST'),
    withCode(
      "Can't add new command when connection is in closed state",
      'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
    ),
    withCode('Server shutdown in progress', 'ER_SERVER_SHUTDOWN'),
    new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], 'connect ECONNREFUSED'),
    new Error('Connection terminated due to connection timeout', {
      cause: new Error('Connection terminated'),
    }),
  ];
  for (const err of outages) {
    assert.ok(isDatabaseUnreachable(err), err.message);
    const mapped = retryLaterIfUnavailable(err);
    assert.ok(mapped instanceof DomainError, err.message);
    assert.equal(mapped.code, 'DATABASE_UNAVAILABLE');
    assert.equal(mapped.details?.retryAfterSeconds, 2);
  }
});

test('a pool timeout stays BUSY; constraint and syntax errors are not outages', () => {
  const busy = retryLaterIfUnavailable(new Error('timeout exceeded when trying to connect'));
  assert.equal((busy as DomainError).code, 'BUSY');
  for (const err of [
    withCode('duplicate key value violates unique constraint', '23505'),
    withCode('syntax error at or near "SELEC"', '42601'),
    withCode("Duplicate entry '1' for key 'PRIMARY'", 'ER_DUP_ENTRY'),
    new Error('boom'),
  ]) {
    assert.equal(isDatabaseUnreachable(err), false, err.message);
    assert.equal(retryLaterIfUnavailable(err), err, err.message);
  }
});

test('Redis away, as ioredis reports it, is 503 QUEUE_UNAVAILABLE; a script error is not', () => {
  const away = [
    Object.assign(new Error('Reached the max retries per request limit (which is 0).'), {
      name: 'MaxRetriesPerRequestError',
    }),
    new Error('Connection is closed.'),
    new Error('Command timed out'),
    new Error("Stream isn't writeable and enableOfflineQueue options is false"),
    withCode('connect ECONNREFUSED 127.0.0.1:6379', 'ECONNREFUSED'),
    new ReplyError('LOADING Redis is loading the dataset in memory'),
    // Redis Cluster: a master gone (no replica took over yet), the whole cluster down or unreachable.
    new ReplyError('MOVED 4774 127.0.0.1:7001'),
    new ReplyError('CLUSTERDOWN The cluster is down'),
    new Error('Too many Cluster redirections. Last error: Error: Connection is closed.'),
    new Error('None of startup nodes is available'),
    new Error('Failed to refresh slots cache.'),
  ];
  for (const err of away) {
    assert.ok(isRedisUnavailable(err), err.message);
    const mapped = queueUnavailableIfDown(err) as DomainError;
    assert.equal(mapped.code, 'QUEUE_UNAVAILABLE', err.message);
    assert.equal(mapped.details?.retryAfterSeconds, 2);
  }
  for (const err of [
    new ReplyError('ERR user_script:12: attempt to compare nil with number'),
    new Error('boom'),
  ]) {
    assert.equal(isRedisUnavailable(err), false, err.message);
    assert.equal(queueUnavailableIfDown(err), err);
  }
});
