import { isIP } from 'node:net';

/** True for 127.0.0.0/8, ::1, localhost and IPv4-mapped loopback. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
  const v4 = host.startsWith('::ffff:') ? host.slice(7) : host;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return false;
}

/** Validates a --target URL; an error message when it may not be used. */
export function checkTarget(target: string, allowRemote: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return `--target '${target}' is not a URL (expected e.g. http://127.0.0.1:3000)`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return `--target must be http(s), got ${url.protocol}`;
  if (!allowRemote && !isLoopbackHost(url.hostname)) {
    return (
      `refusing to load-test ${url.host}: it is not a loopback address. ` +
      'Pass --allow-remote if you own that server and mean to load it.'
    );
  }
  return undefined;
}
