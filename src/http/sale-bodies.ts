import { Type } from 'typebox';
import type { Sale } from '../domain/sales/model.ts';

// The sales API's response bodies, apart from the routes that send them: the web pages take their types from here
// (type-only imports, erased from the bundle), so the browser's idea of a sale is the server's.

export const SaleStatus = Type.Unsafe<Sale['status']>({
  type: 'string',
  enum: ['SCHEDULED', 'OPEN', 'PAUSED', 'SOLD_OUT', 'CLOSED'],
  description:
    'SCHEDULED before opensAt; PAUSED: admission stopped; SOLD_OUT: no seat free or held; CLOSED: over',
});

export const PublicSale = Type.Object({
  saleId: Type.Integer(),
  name: Type.String(),
  allSchedules: Type.Boolean({
    description: 'Covers every schedule, present and future; scheduleIds is then empty',
  }),
  scheduleIds: Type.Array(Type.Integer()),
  opensAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  status: SaleStatus,
  drawCommitment: Type.String({ description: 'sha256 (hex) of the draw seed, published at creation' }),
});

export const SaleSettings = Type.Object({
  admitPerSecond: Type.Number(),
  maxActive: Type.Integer(),
  minWindow: Type.Integer(),
  maxWindow: Type.Integer(),
  overbook: Type.Number(),
  paused: Type.Boolean(),
});

const saleFields = {
  ...PublicSale.properties,
  drawSeed: Type.Union([Type.String(), Type.Null()], { description: 'Revealed once the draw was applied' }),
  settings: SaleSettings,
  createdAt: Type.String({ format: 'date-time' }),
  closedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
};
/** A sale as operators see it. */
export const AdminSale = Type.Object(saleFields);

export const SaleCounters = Type.Object({
  waiting: Type.Integer(),
  prequeued: Type.Integer(),
  active: Type.Integer(),
  admittedTotal: Type.Integer(),
  holds: Type.Integer(),
  sold: Type.Integer(),
  revenue: Type.Integer({ description: 'Points paid for seats of this sale' }),
  admitPerSecond: Type.Number({ description: 'Measured over the last minute, else the configured rate' }),
  window: Type.Integer({
    description: 'Users admitted at once at most, as adaptive admission sets it; 0 while admission is halted',
  }),
  pacePerSecond: Type.Number({
    description: 'The admission rate in force, at most the sale’s admitPerSecond',
  }),
});

export const AdminSaleWithCounters = Type.Object({ ...saleFields, counters: SaleCounters });
