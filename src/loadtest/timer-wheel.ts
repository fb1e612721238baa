import { performance } from 'node:perf_hooks';

/**
 * Sleepers by due time in 10 ms slots, driven by one timer: 100,000 waiting users cost an array slot each,
 * not a timer, a promise and a suspended function each.
 */
export class TimerWheel<T> {
  private readonly slots = new Map<number, T[]>();
  private readonly slotMs: number;
  private readonly wake: (item: T) => void;
  private timer: NodeJS.Timeout | undefined;
  /** The next slot not yet run. */
  private cursor: number;
  size = 0;

  constructor(wake: (item: T) => void, slotMs = 10) {
    this.wake = wake;
    this.slotMs = slotMs;
    this.cursor = Math.floor(performance.now() / slotMs);
  }

  /** Wakes `item` at `dueAt` (performance ms), in the slot that holds it; at the next tick if due already. */
  at(dueAt: number, item: T): void {
    const slot = Math.max(this.cursor, Math.ceil(dueAt / this.slotMs));
    let items = this.slots.get(slot);
    if (!items) {
      items = [];
      this.slots.set(slot, items);
    }
    items.push(item);
    this.size++;
    this.timer ??= setInterval(this.tick, this.slotMs);
  }

  /** Wakes every sleeper now (the run is ending), then stops the timer. */
  flush(): void {
    const pending = [...this.slots].sort(([a], [b]) => a - b);
    this.slots.clear();
    this.size = 0;
    for (const [, items] of pending) for (const item of items) this.wake(item);
    this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private readonly tick = (): void => {
    const now = Math.floor(performance.now() / this.slotMs);
    while (this.cursor <= now) {
      // The cursor moves first, so a sleeper scheduled while this slot runs lands in a later one.
      const slot = this.cursor++;
      const items = this.slots.get(slot);
      if (!items) continue;
      this.slots.delete(slot);
      this.size -= items.length;
      for (const item of items) this.wake(item);
    }
    if (this.size === 0) this.stop();
  };
}
