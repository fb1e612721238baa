import { performance } from 'node:perf_hooks';
import { Client } from 'undici';

/** A new connection is opened when every open one is busy, else at most one per this many ms. */
const OPEN_EVERY_MS = 10;

/**
 * Keep-alive connections to the target, each request sent on the next idle one in turn. undici's Pool sends on
 * the first idle connection in the order they were opened, so the first few carry nearly every request; behind
 * several server processes sharing a port, the process that accepted those few took the load (47 % busy against
 * 12 % in an on-sale run). A crowd of users spreads over its connections, and so does this. Connections are
 * opened as they are needed and, up to `size`, one per OPEN_EVERY_MS besides, so a run does not begin with
 * hundreds of handshakes at once and still ends up spread over many connections (and so over server processes).
 */
export class Connections {
  readonly #target: string;
  readonly #options: Client.Options;
  /** Most connections to open. */
  readonly #size: number;
  /** The open connections, by slot, in the order they were opened. */
  readonly #clients: Client[] = [];
  /** Requests sent and not yet answered, per slot. */
  readonly #inFlight: Uint32Array;
  #next = 0;
  #openedAt = Number.NEGATIVE_INFINITY;

  constructor(target: string, size: number, options: Client.Options) {
    this.#target = target;
    this.#options = options;
    this.#size = Math.max(1, size);
    this.#inFlight = new Uint32Array(this.#size);
  }

  /** The connection to send the next request on; pass its slot to `release`. */
  acquire(): { slot: number; client: Client } {
    const slot = this.#pick();
    this.#inFlight[slot]++;
    return { slot, client: this.#clients[slot] };
  }

  /** The request sent on `slot` was answered or failed. */
  release(slot: number): void {
    if (this.#inFlight[slot] > 0) this.#inFlight[slot]--;
  }

  /**
   * A new connection when one is due (see OPEN_EVERY_MS), else the next idle open one from the cursor on, else
   * the open one with the fewest requests in flight.
   */
  #pick(): number {
    const n = this.#clients.length;
    let idle = -1;
    let least = n > 0 ? this.#next % n : 0;
    for (let k = 0; k < n; k++) {
      const i = (this.#next + k) % n;
      if (this.#inFlight[i] === 0) {
        idle = i;
        break;
      }
      if (this.#inFlight[i] < this.#inFlight[least]) least = i;
    }
    if (n < this.#size) {
      const now = performance.now();
      if (idle < 0 || now - this.#openedAt >= OPEN_EVERY_MS) {
        this.#openedAt = now;
        this.#clients.push(new Client(this.#target, this.#options));
        return n;
      }
    }
    const slot = idle >= 0 ? idle : least;
    this.#next = slot + 1;
    return slot;
  }

  /** Closes every connection at once, failing what is in flight. */
  async destroy(): Promise<void> {
    await Promise.all(this.#clients.map((c) => c.destroy()));
  }
}
