import type { AuditEntityType, AuditEntry, AuditReader, AuditRecord } from '../domain/admin/audit.ts';
import type { Db } from './database.ts';

/** MySQL's TEXT holds 64 KiB; a larger before/after is kept as a marker with its size. */
const MAX_JSON = 60_000;

function json(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const text = JSON.stringify(value);
  return text.length <= MAX_JSON ? text : JSON.stringify({ truncated: true, length: text.length });
}

/** Written with the change it describes, on the same transaction. */
export async function appendAudit(trx: Db, r: AuditRecord): Promise<void> {
  await trx
    .insertInto('audit_log')
    .values({
      at: r.at,
      actor_id: r.actor.id,
      actor_name: r.actor.name,
      action: r.action,
      entity_type: r.entityType,
      entity_id: r.entityId,
      before_json: json(r.before),
      after_json: json(r.after),
    })
    .execute();
}

export function auditRepository(db: Db): AuditReader {
  return {
    async entries(q) {
      let query = db.selectFrom('audit_log').selectAll().orderBy('seq', 'desc').limit(q.limit);
      if (q.entityType !== undefined) query = query.where('entity_type', '=', q.entityType);
      if (q.entityId !== undefined) query = query.where('entity_id', '=', q.entityId);
      if (q.beforeSeq !== undefined) query = query.where('seq', '<', q.beforeSeq);
      const rows = await query.execute();
      return rows.map(
        (r): AuditEntry => ({
          seq: Number(r.seq),
          at: Number(r.at),
          actor: { id: r.actor_id, name: r.actor_name },
          action: r.action,
          entityType: r.entity_type as AuditEntityType,
          entityId: r.entity_id,
          before: r.before_json === null ? null : JSON.parse(r.before_json),
          after: r.after_json === null ? null : JSON.parse(r.after_json),
        }),
      );
    },
  };
}
