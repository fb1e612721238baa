import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { DomainError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Actor, AuditRecord } from './audit.ts';

export interface OperatorKey {
  id: string;
  name: string;
  createdAt: number;
  /** The actor that created it: an operator's name, `cli` or `bootstrap`. */
  createdBy: string;
  revokedAt: number | null;
}

export interface StoredOperatorKey extends OperatorKey {
  /** SHA-256 of the key, hex. */
  keyHash: string;
}

export interface OperatorKeyTx {
  findByName(name: string): Promise<StoredOperatorKey | undefined>;
  findById(id: string): Promise<StoredOperatorKey | undefined>;
  /** False when the name or hash is already taken. */
  insert(key: StoredOperatorKey): Promise<boolean>;
  /** Replaces the hash and lifts a revocation (the bootstrap key follows its setting). */
  setHash(id: string, keyHash: string): Promise<void>;
  /** False when it was already revoked. */
  revoke(id: string, now: number): Promise<boolean>;
  audit(record: AuditRecord): Promise<void>;
}

export interface OperatorKeyStore {
  transaction<T>(fn: (tx: OperatorKeyTx) => Promise<T>): Promise<T>;
  findByHash(keyHash: string): Promise<StoredOperatorKey | undefined>;
  list(): Promise<OperatorKey[]>;
}

export type KeyRef = { id: string } | { name: string };

export const BOOTSTRAP_KEY_NAME = 'bootstrap';
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$/;
/** Keys are 256 random bits; the prefix lets secret scanners recognise one. */
const KEY_PREFIX = 'trk_';

export const hashOperatorKey = (key: string): string => createHash('sha256').update(key).digest('hex');

const publicView = ({ keyHash: _, ...key }: StoredOperatorKey): OperatorKey => key;

/** Operator credentials: created once with their secret shown, stored only as a hash, revocable. */
export class OperatorKeys {
  readonly #store: OperatorKeyStore;
  readonly #clock: Clock;

  constructor(store: OperatorKeyStore, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  /** The new key and its secret; the secret is not kept and cannot be shown again. */
  async create(name: string, actor: Actor): Promise<{ key: OperatorKey; secret: string }> {
    if (!NAME.test(name))
      throw new DomainError(
        'VALIDATION_FAILED',
        'A key name is 1 to 100 letters, digits, _ . @ or -, starting with a letter or digit',
      );
    const now = this.#clock.now();
    const secret = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const stored: StoredOperatorKey = {
      id: newId(now),
      name,
      keyHash: hashOperatorKey(secret),
      createdAt: now,
      createdBy: actor.name,
      revokedAt: null,
    };
    const key = publicView(stored);
    await this.#store.transaction(async (tx) => {
      if (!(await tx.insert(stored)))
        throw new DomainError('OPERATOR_KEY_NAME_TAKEN', `An operator key named ${name} already exists`);
      await tx.audit(keyAudit(now, actor, 'operator-key.create', key.id, null, key));
    });
    return { key, secret };
  }

  async revoke(ref: KeyRef, actor: Actor): Promise<OperatorKey> {
    const now = this.#clock.now();
    return this.#store.transaction(async (tx) => {
      const found = 'id' in ref ? await tx.findById(ref.id) : await tx.findByName(ref.name);
      if (!found) {
        const which = 'id' in ref ? `id ${ref.id}` : `name ${ref.name}`;
        throw new DomainError('OPERATOR_KEY_NOT_FOUND', `No operator key with ${which}`);
      }
      const before = publicView(found);
      if (!(await tx.revoke(found.id, now))) return before;
      const after = { ...before, revokedAt: now };
      await tx.audit(keyAudit(now, actor, 'operator-key.revoke', found.id, before, after));
      return after;
    });
  }

  list(): Promise<OperatorKey[]> {
    return this.#store.list();
  }

  /** The operator a presented key belongs to; 401 for none or an unknown one, 403 for a revoked one. */
  async authenticate(presented: string | undefined): Promise<Actor> {
    if (!presented)
      throw new DomainError('OPERATOR_KEY_REQUIRED', 'Send Authorization: Bearer <operator key>');
    const hash = hashOperatorKey(presented);
    const found = await this.#store.findByHash(hash);
    if (!found || !timingSafeEqual(Buffer.from(found.keyHash, 'hex'), Buffer.from(hash, 'hex')))
      throw new DomainError('OPERATOR_KEY_INVALID', 'This operator key is not known');
    if (found.revokedAt !== null)
      throw new DomainError('OPERATOR_KEY_REVOKED', `Operator key ${found.name} was revoked`);
    return { id: found.id, name: found.name };
  }

  /** Makes the configured bootstrap key valid under the name `bootstrap`; its secret is only ever hashed. */
  async ensureBootstrap(secret: string): Promise<void> {
    const now = this.#clock.now();
    const keyHash = hashOperatorKey(secret);
    const actor: Actor = { id: null, name: BOOTSTRAP_KEY_NAME };
    await this.#store.transaction(async (tx) => {
      const found = await tx.findByName(BOOTSTRAP_KEY_NAME);
      if (found?.keyHash === keyHash) return;
      if (found) {
        await tx.setHash(found.id, keyHash);
        const before = publicView(found);
        await tx.audit(
          keyAudit(now, actor, 'operator-key.rotate', found.id, before, { ...before, revokedAt: null }),
        );
        return;
      }
      const stored: StoredOperatorKey = {
        id: newId(now),
        name: BOOTSTRAP_KEY_NAME,
        keyHash,
        createdAt: now,
        createdBy: BOOTSTRAP_KEY_NAME,
        revokedAt: null,
      };
      if (!(await tx.insert(stored))) {
        // Another process starting at the same time stored it first.
        if ((await tx.findByName(BOOTSTRAP_KEY_NAME))?.keyHash === keyHash) return;
        throw new DomainError(
          'OPERATOR_KEY_NAME_TAKEN',
          'The bootstrap key is already stored under another name',
        );
      }
      await tx.audit(keyAudit(now, actor, 'operator-key.create', stored.id, null, publicView(stored)));
    });
  }
}

function keyAudit(
  at: number,
  actor: Actor,
  action: string,
  id: string,
  before: OperatorKey | null,
  after: OperatorKey,
): AuditRecord {
  return { at, actor, action, entityType: 'operator-key', entityId: id, before, after };
}
