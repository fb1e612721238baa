import { randomBytes } from 'node:crypto';
import { request } from 'undici';

/** An operator key for an embedded server started for one run (TR_ADMIN_BOOTSTRAP_KEY takes 32+ characters). */
export const newOperatorKey = (): string => randomBytes(24).toString('base64url');

export interface CreatedSale {
  saleId: number;
  opensAtEpochMs: number;
}

/**
 * Creates the run's sale through the admin API (the runner speaks HTTP only): N schedules from the first, opening
 * `opensInMs` from now, so the crowd joining before then is pre-queued and ordered by the draw.
 */
export async function createOnsaleSale(
  target: string,
  operatorKey: string,
  schedules: { first: number; count: number },
  opensInMs: number,
): Promise<CreatedSale> {
  const opensAt = new Date(Date.now() + opensInMs).toISOString();
  const body = {
    name: `loadtest on-sale ${new Date().toISOString()}`,
    scheduleIds: Array.from({ length: schedules.count }, (_, i) => schedules.first + i),
    opensAt,
  };
  const res = await request(`${target}/admin/api/sales`, {
    method: 'POST',
    headers: { authorization: `Bearer ${operatorKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const json = (await res.body.json().catch(() => undefined)) as
    | { saleId?: unknown; opensAt?: unknown; error?: { code?: string; message?: string } }
    | undefined;
  if (res.statusCode !== 201 || typeof json?.saleId !== 'number')
    throw new Error(
      `creating the sale answered ${res.statusCode} ${json?.error?.code ?? ''} ${json?.error?.message ?? ''}`.trim(),
    );
  const opened = typeof json.opensAt === 'string' ? Date.parse(json.opensAt) : Date.parse(opensAt);
  return { saleId: json.saleId, opensAtEpochMs: opened };
}
