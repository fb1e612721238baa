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

export function setCaller(req: FastifyRequest, userId: number): void {
  (req as FastifyRequest & { admittedUserId?: number }).admittedUserId = userId;
}
