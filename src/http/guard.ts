import type { FastifyReply, FastifyRequest } from 'fastify';

export type PreHandler = (req: FastifyRequest, reply: FastifyReply) => Promise<void>;

/** Access control from the waiting room (src/http/queue.ts builds it); every booking route is behind it. */
export interface AdmissionGate {
  /** Any admitted key; for routes that name no user. */
  anyAdmitted: PreHandler;
  /** An admitted key of the user the route names (path param or body field `userId`). */
  userAdmitted: PreHandler;
}

/** The user whose admitted key authorised this request, when a gate ran. */
export function callerOf(req: FastifyRequest): number | undefined {
  return (req as FastifyRequest & { admittedUserId?: number }).admittedUserId;
}

/** When the gate let each request through (performance clock): its work is timed from there. */
const admittedAt = new WeakMap<FastifyRequest, number>();

export function setCaller(req: FastifyRequest, userId: number): void {
  (req as FastifyRequest & { admittedUserId?: number }).admittedUserId = userId;
  admittedAt.set(req, performance.now());
}

/**
 * Milliseconds since the gate let this request through; undefined for requests it refused or never saw, so
 * floods of bad keys and slow uploads before the gate say nothing about how the booking path is doing.
 */
export function msSinceAdmitted(req: FastifyRequest): number | undefined {
  const at = admittedAt.get(req);
  return at === undefined ? undefined : performance.now() - at;
}
