import { inspect } from 'node:util';

/** A setting that must never reach a log: it prints and serialises as [redacted]; `reveal()` is the only way in. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  /** Empty when unset, so `--help` and the README show no default. */
  toString(): string {
    return this.#value === '' ? '' : '[redacted]';
  }
  toJSON(): string {
    return this.toString();
  }
  [inspect.custom](): string {
    return 'Secret([redacted])';
  }
}
