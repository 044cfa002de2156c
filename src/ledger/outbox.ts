import { describeError, log } from "../log";

/**
 * The transactional outbox. The append-only ledger is its own outbox: the `history` cursor holds the
 * last seq D1 confirmed, and every entry above it is still to copy (an entry and its place in the outbox
 * are one row, written in one transaction, so nothing is queued apart from the money). The alarm copies
 * the oldest pending entries to D1 and moves the cursor only after D1 confirmed the batch. Inserts are
 * `ON CONFLICT DO NOTHING` on (instance, seq), so a flush repeated after a crash or eviction never
 * duplicates history.
 */

/** Entries above the `history` cursor: not confirmed by D1 yet. */
const PENDING = "seq > (SELECT seq FROM cursors WHERE name = 'history')";

/** Rows per D1 statement: the whole batch travels as one JSON parameter. */
const ROWS_PER_STATEMENT = 200;
/** Statements per D1 batch (one round trip, one D1 transaction). */
const STATEMENTS_PER_FLUSH = 5;

interface OutboxRow extends Record<string, SqlStorageValue> {
  seq: number;
  kind: string;
  operation: string | null;
  amount_micros: number;
  balance_after_micros: number;
  idempotency_key: string | null;
  end_user_id: string | null;
  reference: string | null;
  memo: string | null;
  created_at: number;
}

const INSERT_HISTORY = `INSERT INTO ledger_entries
  (instance_id, seq, kind, operation, amount_micros, balance_after_micros, idempotency_key, end_user_id, reference, memo, created_at)
  SELECT ?1, e.value ->> '$.seq', e.value ->> '$.kind', e.value ->> '$.operation', e.value ->> '$.amount_micros',
         e.value ->> '$.balance_after_micros', e.value ->> '$.idempotency_key', e.value ->> '$.end_user_id',
         e.value ->> '$.reference', e.value ->> '$.memo', e.value ->> '$.created_at'
  FROM json_each(?2) AS e WHERE true
  ON CONFLICT (instance_id, seq) DO NOTHING`;

/**
 * The registry row with its projection. Upserted, so a row that provisioning failed to write is made here;
 * an existing row takes only the projection (credentials are copied by the admin routes that change them).
 */
const UPSERT_PROJECTION = `INSERT INTO instances
  (id, balance_micros, out_of_credits, projected_seq, projected_at,
   owner_telegram_id, license, bot_token_sealed, webhook_secret_hash, api_key_hash, created_at)
  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
  ON CONFLICT (id) DO UPDATE SET balance_micros = ?2, out_of_credits = ?3, projected_seq = ?4, projected_at = ?5
  WHERE instances.projected_seq <= ?4`;

export interface Projection {
  balanceMicros: number;
  outOfCredits: boolean;
  seq: number;
  /** The registry row's own columns, for the first write of a row that is missing. */
  registry: {
    ownerTelegramId: number;
    license: string;
    botTokenSealed: string;
    webhookSecretHash: string;
    apiKeyHash: string;
    createdAt: number;
  };
}

function projectionStatement(db: D1Database, instanceId: string, p: Projection): D1PreparedStatement {
  const r = p.registry;
  return db
    .prepare(UPSERT_PROJECTION)
    .bind(
      instanceId,
      p.balanceMicros,
      p.outOfCredits ? 1 : 0,
      p.seq,
      Date.now(),
      r.ownerTelegramId,
      r.license,
      r.botTokenSealed,
      r.webhookSecretHash,
      r.apiKeyHash,
      r.createdAt,
    );
}

export interface FlushResult {
  copied: number;
  more: boolean;
  /** Highest seq D1 confirmed in this batch, or null when there was nothing to copy. */
  lastSeq: number | null;
}

/** Copies the oldest pending entries (and the projection) to D1 in one batch; deletes nothing. */
export async function copyToHistory(
  sql: SqlStorage,
  db: D1Database,
  instanceId: string,
  projection: Projection,
): Promise<FlushResult> {
  const limit = ROWS_PER_STATEMENT * STATEMENTS_PER_FLUSH;
  const rows = sql
    .exec<OutboxRow>(
      `SELECT seq, kind, operation, amount_micros, balance_after_micros, idempotency_key,
              end_user_id, reference, memo, created_at
       FROM ledger WHERE ${PENDING} ORDER BY seq LIMIT ?`,
      limit + 1,
    )
    .toArray();
  const more = rows.length > limit;
  const batch = more ? rows.slice(0, limit) : rows;
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < batch.length; i += ROWS_PER_STATEMENT) {
    const chunk = batch.slice(i, i + ROWS_PER_STATEMENT);
    statements.push(db.prepare(INSERT_HISTORY).bind(instanceId, JSON.stringify(chunk)));
  }
  statements.push(projectionStatement(db, instanceId, projection));
  await db.batch(statements);
  return { copied: batch.length, more, lastSeq: batch.at(-1)?.seq ?? null };
}

/**
 * Writes only the projection: the hourly visit repairs a D1 row that disagrees with the object (say a
 * hold released after the last copy made the row say "out of credits"). Never older over newer.
 */
export async function writeProjection(db: D1Database, instanceId: string, projection: Projection): Promise<void> {
  await projectionStatement(db, instanceId, projection).run();
}

export async function flushOutbox(
  sql: SqlStorage,
  db: D1Database,
  instanceId: string,
  projection: Projection,
): Promise<FlushResult> {
  const result = await copyToHistory(sql, db, instanceId, projection);
  // Only now, with D1's confirmation in hand, may the cursor move. Entries added meanwhile have higher seq.
  if (result.lastSeq !== null) {
    sql.exec("UPDATE cursors SET seq = MAX(seq, ?) WHERE name = 'history'", result.lastSeq);
  }
  return result;
}

export function hasPendingHistory(sql: SqlStorage): boolean {
  return sql.exec(`SELECT 1 FROM ledger WHERE ${PENDING} LIMIT 1`).toArray().length > 0;
}

export function logFlushFailure(instanceId: string, attempt: number, error: unknown): void {
  log("warn", "outbox_flush_failed", { instanceId, attempt, error: describeError(error) });
}
