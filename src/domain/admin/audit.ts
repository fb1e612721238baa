import { DomainError } from '../errors.ts';

/** Who made a change: an operator key, or the server itself (CLI, bootstrap) with no key id. */
export interface Actor {
  id: string | null;
  name: string;
}

export type AuditEntityType = 'concert' | 'schedule' | 'seat' | 'seat-map' | 'operator-key' | 'sale';

/** One change, written in the same transaction as the change itself. */
export interface AuditRecord {
  at: number;
  actor: Actor;
  /** `<entity>.<verb>`, e.g. concert.create, seat.reprice, seat-map.import. */
  action: string;
  entityType: AuditEntityType;
  entityId: string;
  before: unknown;
  after: unknown;
}

export interface AuditEntry extends AuditRecord {
  seq: number;
}

export interface AuditQuery {
  entityType?: string;
  entityId?: string;
  /** Entries older than this sequence number. */
  beforeSeq?: number;
  limit: number;
}

/** What reading the audit log needs from storage; writing happens through each store's transaction. */
export interface AuditReader {
  /** Newest first. */
  entries(q: AuditQuery): Promise<AuditEntry[]>;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as `before` for the next (older) page; null on the last page. */
  nextBefore: number | null;
}

export const MAX_AUDIT_PAGE = 200;

export class AuditLog {
  readonly #reader: AuditReader;
  constructor(reader: AuditReader) {
    this.#reader = reader;
  }

  /** `entity` is a type (`concert`) or a type and id (`concert:12`). */
  async page(opts: { entity?: string; before?: number; limit: number }): Promise<AuditPage> {
    const { entityType, entityId } = parseEntity(opts.entity);
    const rows = await this.#reader.entries({
      entityType,
      entityId,
      beforeSeq: opts.before,
      limit: opts.limit + 1,
    });
    const entries = rows.slice(0, opts.limit);
    return { entries, nextBefore: rows.length > opts.limit ? entries[entries.length - 1].seq : null };
  }
}

function parseEntity(entity: string | undefined): { entityType?: string; entityId?: string } {
  if (entity === undefined || entity === '') return {};
  const m = /^([a-z-]{1,32})(?::(.{1,64}))?$/.exec(entity);
  if (!m)
    throw new DomainError('VALIDATION_FAILED', 'entity is a type (concert) or a type and id (concert:12)');
  return { entityType: m[1], entityId: m[2] };
}
