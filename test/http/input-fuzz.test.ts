import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { sql } from 'kysely';
import type { WaitingRoom } from '../../src/domain/waiting-room.ts';
import { adminEnv, BOOTSTRAP_KEY } from '../support/admin.ts';
import { makeTestApp, type TestApp } from '../support/app.ts';
import { DIALECTS, dialectAvailable } from '../support/databases.ts';

// Bounded so CI stays fast; TR_FUZZ_RUNS and TR_FUZZ_SEED replay or widen a run.
const RUNS = Number(process.env.TR_FUZZ_RUNS ?? 300);
const SEED = Number(process.env.TR_FUZZ_SEED ?? 20261124);
/** Users the fuzzer holds admitted keys for; ids it names beyond these get someone else's key. */
const KNOWN_USERS = 50;

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
}
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: JsonSchema;
}
interface Operation {
  method: string;
  path: string;
  parameters: Parameter[];
  body?: JsonSchema;
}
type Auth = 'named' | 'bearer' | 'other' | 'garbage' | 'none';
interface FuzzRequest {
  op: Operation;
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string;
  auth: Auth;
  garbageKey: string;
  /** The user whose key 'named' sends: from the path, else the body, else someone admitted. */
  userId: number;
}

/** Every operation the app documents, so a new route is fuzzed without touching this file. */
function operationsOf(doc: {
  paths: Record<string, Record<string, { parameters?: Parameter[]; requestBody?: unknown }>>;
}): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      parameters: op.parameters ?? [],
      body: (op.requestBody as { content?: Record<string, { schema: JsonSchema }> } | undefined)?.content?.[
        'application/json'
      ]?.schema,
    })),
  );
}

// Header values a real HTTP parser lets through: tab, printable ASCII and obs-text (latin1).
const headerChar = fc
  .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }), fc.constant(9))
  .map((c) => String.fromCharCode(c));
const headerText = (maxLength: number) => fc.string({ unit: headerChar, minLength: 1, maxLength });

const oddNumbers = fc.constantFrom(0, -1, -0, 1.5, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, -1e308, 2 ** 31 - 1);
const oddTexts = fc.constantFrom(
  '',
  ' ',
  '007',
  '1e3',
  ' 5',
  '+5',
  '5.0',
  '0x10',
  '-0',
  '100',
  'null',
  'NaN',
  'Infinity',
  '\u0000',
  '\u202e',
  '💥',
  'ا',
  '\r\n',
  "'; drop table users; --",
  '9'.repeat(120),
  '../../etc/passwd',
);
/** Anything but what the schema asks for: wrong types, huge, negative, unicode and control characters. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  oddNumbers,
  oddTexts,
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.boolean(),
  fc.constant(null),
  fc.double({ noNaN: true }),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((n) => Number(n)),
  fc.array(fc.integer({ min: 1, max: 60 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.integer(), { maxKeys: 3 }),
);
/** Text that is not a canonical in-range integer or a well-formed id, for paths and queries. */
const hostileText = fc.oneof(
  oddTexts,
  oddNumbers.map(String),
  fc.constantFrom('99999999999999999999', '2147483648', '-1', '0', 'abc', '12abc', '1,2'),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: headerChar, maxLength: 300 }),
);

function validValue(schema: JsonSchema, reservationIds: string[]): fc.Arbitrary<unknown> {
  if (schema.type === 'integer') {
    const min = schema.minimum ?? -(2 ** 31);
    const max = schema.maximum ?? 2 ** 31 - 1;
    // Ids are mostly ones the seed has, so requests reach handlers, not only NOT_FOUND.
    if (max - min <= 1000) return fc.integer({ min, max });
    return fc.oneof(
      { weight: 5, arbitrary: fc.integer({ min, max: min + KNOWN_USERS + 9 }) },
      { weight: 1, arbitrary: fc.integer({ min, max }) },
    );
  }
  if (schema.type === 'string') {
    const fits = (s: string) => s.length >= (schema.minLength ?? 0) && s.length <= (schema.maxLength ?? 1e9);
    const free = schema.pattern
      ? fc.stringMatching(new RegExp(schema.pattern)).filter(fits)
      : fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 40) });
    return schema.pattern && reservationIds.length > 0
      ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...reservationIds) }, { weight: 1, arbitrary: free })
      : free;
  }
  if (schema.type === 'object') {
    const props = schema.properties ?? {};
    const record = fc.record(
      Object.fromEntries(Object.entries(props).map(([k, s]) => [k, validValue(s, reservationIds)])),
      { requiredKeys: schema.required ?? [] },
    );
    return schema.nullable ? fc.oneof(record, fc.constant(null)) : record;
  }
  return fc.jsonValue();
}

/** A schema-valid object with one thing wrong, or a body that is wrong as a whole. */
function hostileBody(schema: JsonSchema, reservationIds: string[]): fc.Arbitrary<string> {
  const valid = validValue(schema, reservationIds) as fc.Arbitrary<Record<string, unknown> | null>;
  const keys = Object.keys(schema.properties ?? {});
  const variants: fc.Arbitrary<unknown>[] = [
    hostileValue,
    fc.tuple(valid, fc.string({ unit: 'grapheme', maxLength: 12 }), hostileValue).map(([v, k, x]) => ({
      ...v,
      [k]: x,
    })),
  ];
  if (keys.length > 0) {
    variants.push(
      fc.tuple(valid, fc.constantFrom(...keys), hostileValue).map(([v, k, x]) => ({ ...v, [k]: x })),
      fc.tuple(valid, fc.constantFrom(...keys)).map(([v, k]) => {
        const { [k]: _dropped, ...rest } = v ?? {};
        return rest;
      }),
    );
  }
  return fc.oneof(
    fc.oneof(...variants).map((v) => JSON.stringify(v) ?? 'undefined'),
    fc.constantFrom(
      '',
      '{',
      '{"a":',
      "{'a':1}",
      '{"__proto__":{"admin":true}}',
      '{"constructor":{"prototype":{"admin":true}}}',
      '[]',
      'null',
      '"\\ud800"',
      '{"a":1}}',
      `${'['.repeat(6000)}${']'.repeat(6000)}`,
      JSON.stringify({ pad: 'x'.repeat(17 * 1024) }),
    ),
    fc.string({ unit: 'binary', maxLength: 200 }),
  );
}

const contentTypes = fc.constantFrom(
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  'application/jsonx',
  'application/vnd.api+json',
  ';;;',
  'application/json; charset=utf-8; charset=utf-8',
);

const oddHeaders = fc.dictionary(
  fc.oneof(
    fc.constantFrom(
      'x-request-id',
      'accept',
      'accept-encoding',
      'accept-language',
      'x-forwarded-for',
      'origin',
    ),
    fc.stringMatching(/^x-[a-z0-9-]{1,20}$/),
  ),
  headerText(200),
  { maxKeys: 3 },
);

function requestFor(op: Operation, reservationIds: string[]): fc.Arbitrary<FuzzRequest> {
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const queryParams = op.parameters.filter((p) => p.in === 'query');
  const pathValues = fc.tuple(
    ...pathParams.map((p) =>
      fc.oneof(
        {
          weight: 3,
          arbitrary: validValue(p.schema, reservationIds).map((v) => encodeURIComponent(String(v))),
        },
        { weight: 1, arbitrary: hostileText.map(encodeURIComponent) },
        { weight: 1, arbitrary: fc.constantFrom('%zz', '%', '%00', '%C0%AF', '..', '%2F') },
      ),
    ),
  );
  const query = fc.tuple(
    ...queryParams.map((p) =>
      fc.oneof(
        fc.constant(undefined),
        validValue(p.schema, reservationIds).map(String),
        hostileText,
        fc.constant([String(p.schema.minimum ?? 1), String(p.schema.minimum ?? 1)]),
      ),
    ),
    fc.dictionary(fc.string({ maxLength: 10 }), hostileText, { maxKeys: 2 }),
  );
  const body = op.body
    ? fc.oneof(
        { weight: 3, arbitrary: validValue(op.body, reservationIds).map((v) => JSON.stringify(v)) },
        { weight: 4, arbitrary: hostileBody(op.body, reservationIds) },
      )
    : fc.oneof(
        { weight: 4, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: hostileBody({}, []) },
      );
  const contentType = fc.oneof(
    { weight: 6, arbitrary: fc.constant('application/json') },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: contentTypes },
  );
  const auth = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom<Auth>('named', 'bearer') },
    { weight: 2, arbitrary: fc.constantFrom<Auth>('other', 'garbage', 'none') },
  );
  return fc
    .record({
      pathValues,
      query,
      body,
      contentType,
      auth,
      garbageKey: headerText(80),
      idempotencyKey: fc.option(fc.oneof(headerText(128), headerText(300)), { freq: 3 }),
      odd: oddHeaders,
    })
    .map(({ pathValues: values, query: q, body: payload, contentType: type, auth: a, garbageKey, ...h }) => {
      let path = op.path;
      pathParams.forEach((p, i) => {
        path = path.replace(`{${p.name}}`, values[i] as string);
      });
      const search = new URLSearchParams();
      queryParams.forEach((p, i) => {
        const v = q[i] as string | string[] | undefined;
        for (const one of v === undefined ? [] : [v].flat()) search.append(p.name, one);
      });
      for (const [k, v] of Object.entries(q[queryParams.length] as Record<string, string>))
        search.append(k, v);
      const headers: Record<string, string> = { ...h.odd };
      if (type !== undefined && payload !== undefined) headers['content-type'] = type;
      if (h.idempotencyKey !== null) headers['idempotency-key'] = h.idempotencyKey;
      const qs = search.toString();
      return {
        op,
        method: op.method,
        url: qs ? `${path}?${qs}` : path,
        headers,
        payload,
        auth: a,
        garbageKey,
        userId: namedUser(values, pathParams, payload),
      };
    });
}

function namedUser(values: unknown[], pathParams: Parameter[], payload: string | undefined): number {
  const i = pathParams.findIndex((p) => p.name === 'userId');
  const fromPath = i >= 0 ? Number(values[i]) : Number.NaN;
  let fromBody = Number.NaN;
  try {
    fromBody = Number((JSON.parse(payload ?? 'null') as { userId?: unknown } | null)?.userId);
  } catch {}
  const id = Number.isNaN(fromPath) ? fromBody : fromPath;
  return Number.isInteger(id) && id >= 1 && id <= KNOWN_USERS ? id : 1;
}

/** What a rejected request must leave alone: balances and ledger, holds and claims, payments, the line. */
async function stateOf(t: TestApp): Promise<string> {
  const db = t.composition.services.database.db;
  const one = async (query: ReturnType<typeof sql>) =>
    Object.values(((await query.execute(db)).rows[0] ?? {}) as Record<string, unknown>).map((v) => String(v));
  const rows = async (query: ReturnType<typeof sql>) =>
    ((await query.execute(db)).rows as Record<string, unknown>[])
      .map((r) => Object.values(r).map(String).join(':'))
      .sort();
  const {
    admitPerSecond: _rate,
    measuredAdmitPerSecond: _measured,
    ...line
  } = await (t.composition.services.waitingRoom as WaitingRoom).counts();
  return JSON.stringify({
    wallets: await one(sql`select count(*) as n, coalesce(sum(balance), 0) as total from point_wallets`),
    ledger: await one(sql`select count(*) as n, coalesce(sum(delta), 0) as total from point_ledger`),
    payments: await one(sql`select count(*) as n, coalesce(sum(amount), 0) as total from payments`),
    reservations: await rows(sql`select id, status from reservations`),
    claims: await rows(sql`select schedule_id, seat_id, reservation_id, status from seat_claims`),
    line,
  });
}

// Every server is checked before any suite starts: a suite already running could starve the check's 1 s timeout.
const reachable = await Promise.all(DIALECTS.map(dialectAvailable));

for (const [i, dialect] of DIALECTS.entries())
  describe(`hostile input fuzz on ${dialect}`, {
    skip: !reachable[i] && `${dialect} not reachable`,
  }, () => {
    test('every documented route: never a 5xx, always the error shape, a rejected request changes nothing', async () => {
      const t = await makeTestApp(dialect, adminEnv);
      const keys = new Map<number, string>();
      const keyOf = async (userId: number) => {
        let key = keys.get(userId);
        if (key === undefined) {
          key = (await t.admit(userId)).authorization;
          keys.set(userId, key);
        }
        return key;
      };
      try {
        const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
        const ops = operationsOf(doc);
        assert.ok(ops.length >= 10, `only ${ops.length} documented operations`);
        // A few real holds and some points, so payments and reservation reads reach the database.
        const reservationIds: string[] = [];
        for (let userId = 1; userId <= 6; userId++) {
          const headers = { authorization: await keyOf(userId) };
          const hold = await t.app.inject({
            method: 'POST',
            url: '/api/reservations',
            headers,
            payload: { userId, concertScheduleId: userId, seatId: userId },
          });
          assert.equal(hold.statusCode, 200, hold.body);
          reservationIds.push(hold.json().reservationId);
          if (userId % 2 === 0)
            await t.app.inject({
              method: 'POST',
              url: `/api/users/${userId}/points/charge`,
              headers,
              payload: { amount: 1_000_000 },
            });
        }

        const byOperation = new Map<string, number>();
        const byStatus = new Map<number, number>();
        let generated = 0;
        const property = fc.asyncProperty(
          fc.constantFrom(...ops).chain((op) => requestFor(op, reservationIds)),
          async (r) => {
            const headers = { ...r.headers };
            if (r.auth === 'named') headers.authorization = await keyOf(r.userId);
            if (r.auth === 'bearer') headers.authorization = `Bearer ${await keyOf(r.userId)}`;
            if (r.auth === 'other') headers.authorization = await keyOf((r.userId % KNOWN_USERS) + 1);
            if (r.auth === 'garbage') headers.authorization = r.garbageKey;
            // Operator routes take the operator's key where fan routes take the user's.
            if (r.op.path.startsWith('/admin/') && (r.auth === 'named' || r.auth === 'bearer'))
              headers.authorization = `Bearer ${BOOTSTRAP_KEY}`;
            const before = await stateOf(t);
            const res = await t.app.inject({
              method: r.method as 'GET',
              url: r.url,
              headers,
              ...(r.payload === undefined ? {} : { payload: r.payload }),
            });
            generated++;
            const label = `${r.op.method} ${r.op.path}`;
            byOperation.set(label, (byOperation.get(label) ?? 0) + 1);
            byStatus.set(res.statusCode, (byStatus.get(res.statusCode) ?? 0) + 1);
            const shown = `${r.method} ${r.url} ${JSON.stringify(headers)} ${r.payload?.slice(0, 300)} -> ${res.statusCode} ${res.body.slice(0, 300)}`;
            assert.ok(res.statusCode < 500, `5xx: ${shown}`);
            if (res.statusCode >= 400) {
              const body = res.json() as { error?: { code?: unknown; message?: unknown } };
              assert.equal(typeof body.error?.code, 'string', `error shape: ${shown}`);
              assert.equal(typeof body.error?.message, 'string', `error shape: ${shown}`);
              assert.equal(await stateOf(t), before, `a rejected request changed state: ${shown}`);
              // A key that a payment retired is admitted afresh, so later requests still reach handlers.
              if (body.error?.code === 'TOKEN_EXPIRED') keys.delete(r.userId);
            }
          },
        );
        await fc.assert(property, { seed: SEED, numRuns: RUNS, endOnFailure: true });
        console.log(
          `# fuzz on ${dialect}: ${generated} requests over ${ops.length} operations (seed ${SEED}); ` +
            `statuses ${JSON.stringify(Object.fromEntries([...byStatus].sort((a, b) => a[0] - b[0])))}`,
        );
        // Admitted keys and seeded ids must carry a good share past validation and the gate into handlers.
        assert.ok((byStatus.get(200) ?? 0) >= generated / 10, 'too few requests reached a handler');
        for (const op of ops)
          assert.ok(byOperation.get(`${op.method} ${op.path}`), `${op.method} ${op.path} was never fuzzed`);
      } catch (err) {
        console.log(`# fuzz on ${dialect} failed; replay with TR_FUZZ_SEED=${SEED} TR_FUZZ_RUNS=${RUNS}`);
        throw err;
      } finally {
        await t.close();
      }
    });
  });
