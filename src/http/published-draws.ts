import type { SaleDraw } from '../domain/sales/model.ts';

/** Published draws kept serialized: the most recent sales fans ask about. */
const KEPT = 8;

/**
 * A recorded draw never changes (the first record wins), so its JSON is built once per process and sent as is:
 * with a million entrants, reading the order and serializing two arrays of a million costs about a second,
 * which every request for it would otherwise pay. A draw not yet complete (no order or no seed yet in this
 * process's copy of the sale) is read afresh each time.
 */
export class PublishedDraws {
  readonly #kept = new Map<number, string>();
  readonly #read: (saleId: number) => Promise<SaleDraw>;

  constructor(read: (saleId: number) => Promise<SaleDraw>) {
    this.#read = read;
  }

  /** The draw as JSON, and whether it is final (recorded, seed revealed) or may still change. */
  async json(saleId: number): Promise<{ body: string; final: boolean }> {
    const kept = this.#kept.get(saleId);
    if (kept !== undefined) return { body: kept, final: true };
    const draw = await this.#read(saleId);
    const body = JSON.stringify(draw);
    if (draw.order === null || draw.seed === null) return { body, final: false };
    if (this.#kept.size >= KEPT) this.#kept.delete(this.#kept.keys().next().value as number);
    this.#kept.set(saleId, body);
    return { body, final: true };
  }
}
