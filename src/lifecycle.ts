import type { Logger } from './logger.ts';

/** Background work of a composition: started in the order it was added, stopped in reverse. */
export class Lifecycle {
  readonly #starters: Array<() => void> = [];
  readonly #closers: Array<() => Promise<void> | void> = [];

  onStart(start: () => void): void {
    this.#starters.push(start);
  }

  onClose(close: () => Promise<void> | void): void {
    this.#closers.push(close);
  }

  /** Runs `work` every `intervalMs` once started; a failure is logged and the next run tries again. */
  every(intervalMs: number, name: string, work: () => Promise<unknown>, logger: Logger): void {
    let timer: NodeJS.Timeout | undefined;
    this.onStart(() => {
      timer = setInterval(() => {
        work().catch((err) => logger.warn({ err }, `${name} failed`));
      }, intervalMs);
      timer.unref();
    });
    this.onClose(() => clearInterval(timer));
  }

  start(): void {
    for (const start of this.#starters) start();
  }

  async close(): Promise<void> {
    for (const close of [...this.#closers].reverse()) await close();
  }
}
