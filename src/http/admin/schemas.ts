import { Type } from 'typebox';
import type { AuditEntry } from '../../domain/admin/audit.ts';
import type { AdminConcert, AdminSchedule, SeatState } from '../../domain/admin/catalog-admin.ts';
import type { OperatorKey } from '../../domain/admin/operator-keys.ts';
import { SEAT_MAP_LIMITS } from '../../domain/admin/seat-map.ts';
import { DomainError } from '../../domain/errors.ts';
import { Id } from '../schemas.ts';

/** Printable text: a control character (NUL above all, which PostgreSQL refuses) is a 400. */
export const NO_CONTROL_CHARACTERS = '^[^\\u0000-\\u001f\\u007f]*$';
const Text = (maxLength: number, description?: string) =>
  Type.String({ minLength: 1, maxLength, pattern: NO_CONTROL_CHARACTERS, description });
const Time = (description: string) => Type.String({ format: 'date-time', description });
export const Price = Type.Integer({
  minimum: 0,
  maximum: SEAT_MAP_LIMITS.maxPrice,
  description: 'Price in points (an integer)',
});

export const ConcertParams = Type.Object({ concertId: Id('Concert id') });
export const ScheduleParams = Type.Object({ scheduleId: Id('Schedule id') });
export const SeatParams = Type.Object({ scheduleId: Id('Schedule id'), seatId: Id('Seat id') });

export const Concert = Type.Object({
  id: Type.Integer(),
  title: Type.String(),
  artist: Type.String(),
  venue: Type.String(),
  published: Type.Boolean({ description: 'Fans see it on /api/concerts only when published' }),
});

export const ConcertInput = Type.Object(
  { title: Text(200), artist: Text(200), venue: Text(200) },
  { additionalProperties: false },
);
export const ConcertChanges = Type.Partial(ConcertInput, { additionalProperties: false, minProperties: 1 });

export const Schedule = Type.Object({
  id: Type.Integer(),
  concertId: Type.Integer(),
  startsAt: Time('When the show starts (ISO 8601, UTC)'),
  venue: Type.Union([Type.String(), Type.Null()], { description: "Null: at the concert's venue" }),
  published: Type.Boolean({ description: 'Fans see it only when both it and its concert are published' }),
  seatMap: Type.Union([Type.Literal('tiered'), Type.Literal('stored')], {
    description: "tiered: the demo's implicit seats 1..seatCount; stored: a seat map an operator entered",
  }),
  seatCount: Type.Integer(),
  basePrice: Type.Integer({ description: 'Tiered: the S price; stored: the cheapest seat' }),
});

export const ScheduleInput = Type.Object(
  {
    startsAt: Time('When the show starts (ISO 8601)'),
    venue: Type.Optional(Type.Union([Text(200), Type.Null()])),
  },
  { additionalProperties: false },
);
export const ScheduleChanges = Type.Partial(ScheduleInput, { additionalProperties: false, minProperties: 1 });

export const Seat = Type.Object({
  seatId: Type.Integer({ description: 'What a reservation names' }),
  section: Type.String(),
  row: Type.String(),
  label: Type.String(),
  price: Type.Integer(),
  status: Type.Union([Type.Literal('FREE'), Type.Literal('HELD'), Type.Literal('SOLD')]),
});

const SeatEntry = Type.Union([
  Text(SEAT_MAP_LIMITS.label, 'The seat label, at the section price'),
  Type.Object(
    { label: Text(SEAT_MAP_LIMITS.label), price: Type.Optional(Price) },
    { additionalProperties: false },
  ),
]);

export const SeatMapDocument = Type.Object(
  {
    sections: Type.Array(
      Type.Object(
        {
          name: Text(SEAT_MAP_LIMITS.section),
          price: Type.Optional(Price),
          rows: Type.Array(
            Type.Object(
              { label: Text(SEAT_MAP_LIMITS.row), seats: Type.Array(SeatEntry, { minItems: 1 }) },
              { additionalProperties: false },
            ),
            { minItems: 1 },
          ),
        },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
  },
  {
    additionalProperties: false,
    description:
      'Sections of rows of seats. A seat is a label (at its section price) or {label, price}. Seats get ' +
      'ids in document order; a seat already stored at the same section/row/label keeps its id.',
  },
);

export const SeatMapChange = Type.Object({
  scheduleId: Type.Integer(),
  seatCount: Type.Integer(),
  added: Type.Integer(),
  removed: Type.Integer(),
  repriced: Type.Integer(),
  unchanged: Type.Integer(),
});

export const OperatorKeyView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  createdBy: Type.String(),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

export const AuditEntryView = Type.Object({
  seq: Type.Integer({ description: 'Order of the entry; pass as before= for older ones' }),
  at: Type.String({ format: 'date-time' }),
  actor: Type.Object({ id: Type.Union([Type.String(), Type.Null()]), name: Type.String() }),
  action: Type.String({
    description: 'e.g. concert.create, seat.reprice, seat-map.import, operator-key.revoke',
  }),
  entity: Type.Object({ type: Type.String(), id: Type.String() }),
  before: Type.Unknown(),
  after: Type.Unknown(),
});

const iso = (ms: number) => new Date(ms).toISOString();

/** An ISO 8601 time as epoch milliseconds; an impossible date is a 400. */
export function epochOf(text: string, field: string): number {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new DomainError('VALIDATION_FAILED', `${field} is not an ISO 8601 date-time`);
  return ms;
}

export const concertView = (c: AdminConcert) => ({ ...c });

export const scheduleView = (s: AdminSchedule) => ({ ...s, startsAt: iso(s.startsAt) });

export const seatView = (s: SeatState) => ({
  seatId: s.id,
  section: s.section,
  row: s.row,
  label: s.label,
  price: s.price,
  status: s.status,
});

export const keyView = (k: OperatorKey) => ({
  ...k,
  createdAt: iso(k.createdAt),
  revokedAt: k.revokedAt === null ? null : iso(k.revokedAt),
});

export const auditView = (e: AuditEntry) => ({
  seq: e.seq,
  at: iso(e.at),
  actor: e.actor,
  action: e.action,
  entity: { type: e.entityType, id: e.entityId },
  before: e.before,
  after: e.after,
});
