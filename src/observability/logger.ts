import cluster from 'node:cluster';
import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import type { LogFormat } from '../config.ts';
import { redactUrl } from '../redact.ts';

/** Pretty lines for a person at a terminal; JSON lines for log shippers and whenever asked. */
export function prettyLogs(format: LogFormat, stdoutIsTTY: boolean): boolean {
  return format === 'pretty' || (format === 'auto' && stdoutIsTTY);
}

/** The server's logger: JSON lines on stdout, or pino-pretty when `prettyLogs` says so. */
export function createLogger(
  options: { level: string; format: LogFormat },
  stdoutIsTTY = process.stdout.isTTY === true,
): Logger {
  const common = {
    level: options.level,
    base: { pid: process.pid },
    // Backend URLs logged under these keys (start-up lines) may carry a password.
    serializers: { db: redactUrl, queue: redactUrl, events: redactUrl },
  };
  if (!prettyLogs(options.format, stdoutIsTTY)) return pino(common);
  // Loaded only when chosen. A synchronous stream, not a worker-thread transport: the seed runs without
  // yielding to the event loop, which holds a transport's lines back until it ends, and an early exit loses
  // them. Requests log nothing on success, so the formatting never sits on the hot path.
  const pretty: typeof import('pino-pretty') = createRequire(import.meta.url)('pino-pretty');
  return pino(
    common,
    pretty({
      sync: true,
      translateTime: 'SYS:HH:MM:ss',
      ignore: cluster.isWorker ? 'hostname' : 'pid,hostname',
      singleLine: true,
    }),
  );
}
