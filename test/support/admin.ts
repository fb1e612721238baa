import type { TestApp } from './app.ts';

/** The operator key every admin test app starts with (TR_ADMIN_BOOTSTRAP_KEY). */
export const BOOTSTRAP_KEY = 'test-bootstrap-operator-key-0123456789abcdef';

export const adminEnv = { TR_ADMIN_BOOTSTRAP_KEY: BOOTSTRAP_KEY };

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Calls /admin/api/<path> with an operator key (the bootstrap one unless given). */
export function adminClient(t: () => TestApp) {
  return (method: Method, path: string, body?: unknown, key: string | null = BOOTSTRAP_KEY) => {
    const headers: Record<string, string> = key === null ? {} : { authorization: `Bearer ${key}` };
    if (typeof body === 'string') headers['content-type'] = 'text/csv';
    return t().app.inject({
      method,
      url: `/admin/api${path}`,
      headers,
      ...(body === undefined ? {} : { payload: body as string | object }),
    });
  };
}
