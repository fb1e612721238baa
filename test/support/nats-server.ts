import { binariesInstalled, PrivateServer } from './private-server.ts';

export { freePort } from './private-server.ts';

/** The nats-server binary a test may start privately; TR_TEST_NATS_SERVER overrides the path. */
export const natsServerBinary = process.env.TR_TEST_NATS_SERVER ?? '/usr/sbin/nats-server';

/**
 * True when the nats-server binary is installed. Outside CI an absent binary makes the caller skip
 * (the reason is printed); in CI it throws, so the suite fails instead of skipping.
 */
export function natsServerInstalled(): boolean {
  return binariesInstalled('private nats-server suite', [natsServerBinary]);
}

/**
 * A nats-server with JetStream of a test's own: one port and one storage directory for its whole
 * life, so stop() then start() is a real restart that keeps the streams on disk.
 */
export class NatsServerProcess extends PrivateServer {
  constructor() {
    super({
      name: 'nats',
      command: (port, dir) => ({
        file: natsServerBinary,
        args: ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir],
      }),
      ready: /Server is ready/,
    });
  }

  get storeDir(): string {
    return this.dir;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }
}
