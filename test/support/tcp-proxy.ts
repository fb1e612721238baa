import net from 'node:net';

/**
 * A TCP forwarder on 127.0.0.1 that a test can cut (every socket dropped, port closed) and restore on the same
 * port, or slow down: with `delayMs`, every chunk from the server reaches the client that much later.
 */
export class TcpProxy {
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<net.Socket>();
  #server: net.Server | undefined;
  #port = 0;
  /** Added to every answer from the server, in order; 0 passes them on at once. */
  delayMs = 0;

  constructor(target: { host: string; port: number }) {
    this.#target = target;
  }

  get port(): number {
    return this.#port;
  }

  /** Listens on an ephemeral port first, then on the same port after a cut. */
  async listen(): Promise<number> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.#target);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.on('data', (chunk: Buffer) => {
        if (this.delayMs === 0) client.write(chunk);
        // Timers of one duration fire in the order they were set: the stream stays in order.
        else setTimeout(() => client.write(chunk), this.delayMs);
      });
      upstream.on('end', () => setTimeout(() => client.end(), this.delayMs));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.#port = (server.address() as net.AddressInfo).port;
    return this.#port;
  }

  /** Like the server going away: connections drop and new ones are refused. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async restore(): Promise<void> {
    await this.listen();
  }

  async close(): Promise<void> {
    await this.cut();
  }
}
