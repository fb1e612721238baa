import type { OperatorKeyStore, OperatorKeyTx, StoredOperatorKey } from '../domain/admin/operator-keys.ts';
import { appendAudit } from './audit-repository.ts';
import type { Database, Db } from './database.ts';
import { insertIgnoringDuplicate, inTransaction } from './transaction.ts';
import type { OperatorKeysTable } from './types.ts';

const toKey = (r: OperatorKeysTable): StoredOperatorKey => ({
  id: r.id,
  name: r.name,
  keyHash: r.key_hash,
  createdAt: Number(r.created_at),
  createdBy: r.created_by,
  revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
});

async function findBy(db: Db, column: 'id' | 'name' | 'key_hash', value: string) {
  const r = await db.selectFrom('operator_keys').selectAll().where(column, '=', value).executeTakeFirst();
  return r ? toKey(r) : undefined;
}

function operatorKeyTx(database: Database, trx: Db): OperatorKeyTx {
  return {
    findByName: (name) => findBy(trx, 'name', name),
    findById: (id) => findBy(trx, 'id', id),
    insert: (k) =>
      insertIgnoringDuplicate(database, trx, 'operator_keys', {
        id: k.id,
        name: k.name,
        key_hash: k.keyHash,
        created_at: k.createdAt,
        created_by: k.createdBy,
        revoked_at: k.revokedAt,
      }),
    async setHash(id, keyHash) {
      await trx
        .updateTable('operator_keys')
        .set({ key_hash: keyHash, revoked_at: null })
        .where('id', '=', id)
        .execute();
    },
    async revoke(id, now) {
      const r = await trx
        .updateTable('operator_keys')
        .set({ revoked_at: now })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    audit: (record) => appendAudit(trx, record),
  };
}

export function operatorKeyRepository(database: Database): OperatorKeyStore {
  const { db } = database;
  return {
    transaction: (fn) => inTransaction(database, (trx) => fn(operatorKeyTx(database, trx))),
    findByHash: (keyHash) => findBy(db, 'key_hash', keyHash),
    async list() {
      const rows = await db
        .selectFrom('operator_keys')
        .selectAll()
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toKey).map(({ keyHash: _, ...key }) => key);
    },
  };
}
