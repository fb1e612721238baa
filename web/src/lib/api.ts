/** One call to the API: never throws; a failure carries the server's error code (or NETWORK) and its Retry-After. */
export type ApiResult<T> =
  | { ok: true; status: number; data: T; retryAfterMs?: number }
  | {
      ok: false;
      status: number;
      code: string;
      message: string;
      retryAfterMs?: number;
      details?: Record<string, unknown>;
    };

export interface ApiOptions {
  /** The waiting room's access key, or an operator key. */
  key?: string;
  body?: unknown;
  /** A body sent as it is (a CSV file) instead of JSON. */
  text?: { type: string; body: string };
  /** Retry-safe writes: the same key replays the first answer. */
  idempotencyKey?: string;
}

function retryAfterMs(res: Response): number | undefined {
  const raw = res.headers.get('retry-after');
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

export async function api<T>(method: string, path: string, opts: ApiOptions = {}): Promise<ApiResult<T>> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (opts.idempotencyKey) headers['idempotency-key'] = opts.idempotencyKey;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.text) headers['content-type'] = opts.text.type;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: opts.text ? opts.text.body : opts.body === undefined ? undefined : JSON.stringify(opts.body),
      cache: 'no-store',
      credentials: 'same-origin',
    });
  } catch {
    return { ok: false, status: 0, code: 'NETWORK', message: 'network error' };
  }
  const wait = retryAfterMs(res);
  const body = res.status === 204 ? undefined : await res.json().catch(() => undefined);
  if (res.ok) return { ok: true, status: res.status, data: body as T, retryAfterMs: wait };
  const error = (
    body as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined
  )?.error;
  return {
    ok: false,
    status: res.status,
    code: error?.code ?? (res.status >= 500 ? 'INTERNAL' : 'UNKNOWN'),
    message: error?.message ?? res.statusText,
    retryAfterMs: wait,
    details: error?.details,
  };
}

/** Codes meaning the caller's place or turn is gone: the page sends the fan back to the line. */
export const lostTurn = (code: string): boolean => code.startsWith('TOKEN_') || code === 'NOT_ADMITTED';

/**
 * The next wait after `failures` failures in a row: the server's Retry-After when it gave one, never shorter
 * than the last advice, doubling from there (capped at a minute), with jitter so a crowd does not return at once.
 */
export function backoffMs(failures: number, lastAdviceMs: number, retryAfter?: number): number {
  const doubled = Math.min(60_000, Math.max(lastAdviceMs, 1000) * 2 ** Math.min(failures, 6));
  const base = Math.max(doubled, retryAfter ?? 0);
  return Math.round(base * (1 + Math.random() * 0.2));
}
