import type { FastifyRequest } from 'fastify';
import type { SaleRooms } from '../domain/sales/sale-rooms.ts';
import { type AdmissionGate, type PreHandler, setCaller } from './guard.ts';
import { accessKeyOf, namedUser } from './queue.ts';

/** The schedule a booking route names: a path parameter, or the hold's `concertScheduleId`. */
function namedSchedule(req: FastifyRequest): number | undefined {
  const fromParams = (req.params as { scheduleId?: unknown } | undefined)?.scheduleId;
  const fromBody = (req.body as { concertScheduleId?: unknown } | undefined)?.concertScheduleId;
  const id = fromParams ?? fromBody;
  return typeof id === 'number' && Number.isInteger(id) ? id : undefined;
}

function requireSaleAdmitted(
  rooms: SaleRooms,
  userIdFrom?: (req: FastifyRequest) => number | undefined,
): PreHandler {
  return async (req) => {
    setCaller(req, await rooms.authorize(accessKeyOf(req), userIdFrom?.(req), namedSchedule(req)));
  };
}

/**
 * The gate every booking route sits behind: the key names its sale (the default sale's keys are bare), that
 * sale admitted the key's holder, and a schedule the request names belongs to that sale (else 403
 * SCHEDULE_NOT_IN_SALE).
 */
export function saleAdmissionGate(rooms: SaleRooms): AdmissionGate {
  return {
    anyAdmitted: requireSaleAdmitted(rooms),
    userAdmitted: requireSaleAdmitted(rooms, namedUser),
  };
}
