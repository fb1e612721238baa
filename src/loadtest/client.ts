import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { Connections } from './connections.ts';
import { BUSINESS_CODES, type Outcome, outcomeOfStatus, SHARED_USER_401 } from './outcomes.ts';
import type { Recorder } from './recorder.ts';

export interface Answer {
  ok: boolean;
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies of a foreign server, read defensively
  json: any;
  /** performance.now() when the answer was complete. */
  endAt: number;
  /** The Retry-After header in seconds, when the answer had one. */
  retryAfterS?: number;
  /** The run was cut while this request was in flight: no answer, and not recorded. */
  cut?: boolean;
}

export interface CallOptions {
  body?: unknown;
  auth?: string;
  /** When the request was meant to start (performance.now() ms); latency counts from here. */
  intendedAt?: number;
  idempotencyKey?: string;
}

interface RawAnswer {
  status: number;
  json: boolean;
  body: Buffer[];
  error: Error | undefined;
  retryAfterS?: number;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
const JSON_HEADERS = { 'content-type': 'application/json' };

/**
 * What ended a request that failed, as the report counts it: the status and the error's code ('503 OVERLOADED',
 * '500 -' without one), 'timeout', or 'conn' and the socket error's code.
 */
function failureKind(outcome: Outcome, status: number, code: unknown, error: Error | undefined): string {
  if (outcome === 'timeout') return 'timeout';
  if (error) return `conn ${(error as { code?: string }).code ?? error.name}`;
  return `${status} ${typeof code === 'string' ? code.slice(0, 40) : '-'}`;
}

/** Keep-alive connections to the target, used in turn; every call is recorded under its route template. */
export class LoadClient {
  private readonly connections: Connections;
  private readonly recorder: Recorder;
  private readonly epochOffset = performance.timeOrigin;
  /** Whether a key belongs to a flow whose user id another running flow drew too (its 401s are counted apart). */
  sharedKey: (key: string) => boolean = () => false;
  /** Requests in flight or queued when the run was cut (not recorded: the run ended them, not the target). */
  cutRequests = 0;
  private cutting = false;

  constructor(target: string, connections: number, timeoutMs: number, recorder: Recorder) {
    this.connections = new Connections(target, connections, {
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connect: { timeout: Math.min(timeoutMs, 10_000) },
    });
    this.recorder = recorder;
  }

  async call(
    route: string,
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    opts: CallOptions = {},
  ): Promise<Answer> {
    const startedAt = opts.intendedAt ?? performance.now();
    let headers: Record<string, string> | undefined;
    if (opts.body !== undefined)
      headers = opts.auth ? { ...JSON_HEADERS, authorization: opts.auth } : JSON_HEADERS;
    else if (opts.auth) headers = { authorization: opts.auth };
    if (opts.idempotencyKey) headers = { ...headers, 'idempotency-key': opts.idempotencyKey };
    const raw = await this.send(
      method,
      path,
      headers,
      opts.body === undefined ? undefined : JSON.stringify(opts.body),
    );
    if (raw.error && this.cutting) {
      this.cutRequests++;
      return { ok: false, status: 0, json: undefined, endAt: performance.now(), cut: true };
    }
    let json: unknown;
    let outcome: Outcome;
    const status = raw.status;
    if (raw.error) {
      outcome = TIMEOUT_CODES.has((raw.error as { code?: string }).code ?? '') ? 'timeout' : 'connError';
    } else {
      outcome = outcomeOfStatus(status);
      if (raw.json && raw.body.length) {
        try {
          json = JSON.parse(
            raw.body.length === 1 ? raw.body[0].toString() : Buffer.concat(raw.body).toString(),
          );
        } catch {
          json = undefined;
        }
      }
    }
    const endAt = performance.now();
    // An error answer's code, as the target's one error format carries it; read once, for business and failure.
    const code =
      status >= 400 ? (json as { error?: { code?: unknown } } | undefined)?.error?.code : undefined;
    let business: string | undefined;
    if (status >= 400 && status < 500) {
      if (typeof code === 'string' && BUSINESS_CODES.has(code)) business = code;
      else if (status === 401 && opts.auth !== undefined && this.sharedKey(opts.auth))
        business = SHARED_USER_401;
    }
    const failed = outcome !== 's2xx' && business === undefined;
    this.recorder.request(
      route,
      endAt - startedAt,
      outcome,
      business,
      this.epochOffset + endAt,
      failed ? failureKind(outcome, status, code, raw.error) : undefined,
    );
    const answer: Answer = { ok: outcome === 's2xx', status, json, endAt };
    if (raw.retryAfterS !== undefined) answer.retryAfterS = raw.retryAfterS;
    return answer;
  }

  /** undici's dispatch with a plain handler: no streams per request, the cheapest path it offers. */
  private send(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    headers: Record<string, string> | undefined,
    body: string | undefined,
  ): Promise<RawAnswer> {
    return new Promise((resolve) => {
      const answer: RawAnswer = { status: 0, json: false, body: [], error: undefined };
      const { slot, client } = this.connections.acquire();
      const connections = this.connections;
      const fail = (error: Error) => {
        connections.release(slot);
        answer.error = error;
        resolve(answer);
      };
      try {
        // The legacy handler shape: the one Client.dispatch accepts without an interceptor.
        client.dispatch({ method, path, headers, body }, {
          onConnect() {},
          onHeaders(statusCode: number, rawHeaders: Buffer[]) {
            answer.status = statusCode;
            for (let i = 0; i < rawHeaders.length; i += 2) {
              if (
                rawHeaders[i].length === 12 &&
                rawHeaders[i].toString('latin1').toLowerCase() === 'content-type'
              ) {
                answer.json = rawHeaders[i + 1].includes('json');
              } else if (
                rawHeaders[i].length === 11 &&
                rawHeaders[i].toString('latin1').toLowerCase() === 'retry-after'
              ) {
                const seconds = Number(rawHeaders[i + 1].toString('latin1'));
                if (Number.isFinite(seconds) && seconds >= 0) answer.retryAfterS = seconds;
              }
            }
            return true;
          },
          onData(chunk: Buffer) {
            if (answer.json) answer.body.push(chunk);
            return true;
          },
          onComplete() {
            connections.release(slot);
            resolve(answer);
          },
          onError: fail,
        } as unknown as Dispatcher.DispatchHandler);
      } catch (err) {
        fail(err as Error);
      }
    });
  }

  close(): Promise<void> {
    return this.connections.destroy();
  }

  /** Ends every request in flight or queued at once, unrecorded: the run was halted and must report now. */
  cut(): Promise<void> {
    this.cutting = true;
    return this.connections.destroy().catch(() => undefined);
  }
}
