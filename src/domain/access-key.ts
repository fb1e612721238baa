import { createHmac, createSecretKey, type KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';
import { copyRandomInto } from './random-pool.ts';

/** What a signed access key says about itself; the store still decides whether it is the holder's live key. */
export interface AccessKeyClaims {
  userId: number;
  /** When the key was minted (ms since the epoch). */
  issuedAt: number;
}

const VERSION = 1;
/** version (1) | userId (6) | issuedAt (6) | nonce (10) | HMAC-SHA256 truncated (16): 39 bytes, 52 characters. */
const SIGNED_BYTES = 23;
const MAC_BYTES = 16;
const KEY_BYTES = SIGNED_BYTES + MAC_BYTES;
const KEY_PATTERN = /^[A-Za-z0-9_-]{52}$/;
/** HMAC keys shorter than the hash are guessable (RFC 2104 section 3). */
export const MIN_ACCESS_KEY_SECRET_BYTES = 32;

/**
 * Mints and checks access keys signed with a secret every process shares, so a poll rejects a forged or garbled key
 * and a key shown for another user without asking the store. Keys stay opaque URL-safe strings to clients.
 */
export class AccessKeys {
  #secret: KeyObject | undefined;
  readonly #read: (() => Promise<Buffer>) | undefined;
  #reading: Promise<void> | undefined;

  /**
   * Without a secret: a random one, good for one process only (the embedded store). A function reads the shared
   * secret when first needed and again after a failed read (its error reaches the caller: the store is away).
   */
  constructor(secret: Buffer | (() => Promise<Buffer>) = randomBytes(MIN_ACCESS_KEY_SECRET_BYTES)) {
    if (typeof secret === 'function') this.#read = secret;
    else this.#secret = secretKeyOf(secret);
  }

  get ready(): boolean {
    return this.#secret !== undefined;
  }

  /** Reads the secret unless known (then it returns at once); concurrent callers share one read. */
  async load(): Promise<void> {
    if (this.#secret) return;
    this.#reading ??= this.#read!()
      .then((secret) => {
        this.#secret = secretKeyOf(secret);
      })
      .finally(() => {
        this.#reading = undefined;
      });
    await this.#reading;
  }

  /** Needs the secret: `load()` first unless `ready`. */
  mint(userId: number, now: number): string {
    const key = Buffer.allocUnsafe(KEY_BYTES);
    key[0] = VERSION;
    key.writeUIntBE(userId, 1, 6);
    key.writeUIntBE(now, 7, 6);
    copyRandomInto(key, 13, 10);
    this.#mac(key).copy(key, SIGNED_BYTES, 0, MAC_BYTES);
    return key.toString('base64url');
  }

  /** The key's claims when this secret signed it; undefined for anything else. Needs the secret, as mint. */
  verify(accessKey: string): AccessKeyClaims | undefined {
    if (!KEY_PATTERN.test(accessKey)) return undefined;
    const key = Buffer.from(accessKey, 'base64url');
    if (key.length !== KEY_BYTES || key[0] !== VERSION) return undefined;
    const mac = this.#mac(key);
    if (!timingSafeEqual(mac.subarray(0, MAC_BYTES), key.subarray(SIGNED_BYTES))) return undefined;
    return { userId: key.readUIntBE(1, 6), issuedAt: key.readUIntBE(7, 6) };
  }

  #mac(key: Buffer): Buffer {
    if (!this.#secret) throw new Error('access-key secret not loaded yet');
    return createHmac('sha256', this.#secret).update(key.subarray(0, SIGNED_BYTES)).digest();
  }
}

function secretKeyOf(secret: Buffer): KeyObject {
  if (secret.length < MIN_ACCESS_KEY_SECRET_BYTES)
    throw new RangeError(`an access-key secret needs at least ${MIN_ACCESS_KEY_SECRET_BYTES} bytes`);
  return createSecretKey(secret);
}
