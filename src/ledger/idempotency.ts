import type { AdjustResult, ChargeResult, Outcome } from "./types";

/**
 * How a retried request gets its first answer. A hold or an adjustment keeps its result in the
 * `idempotency` table under its key with the request's fingerprint (kept 30 days); a debit's or an
 * adjustment's ledger entry carries the key and fingerprint itself, so it is answered from the ledger
 * even after the record is gone. The same key with another fingerprint is refused, never charged.
 */

function reusedKey(): { ok: false; reason: "idempotency_key_reused"; message: string } {
  return {
    ok: false,
    reason: "idempotency_key_reused",
    message: "This idempotencyKey was already used with different parameters.",
  };
}

/** The result kept under `key`, or null when there is none (a first request, or a record past retention). */
export function replay<T extends { replayed: boolean }>(
  sql: SqlStorage,
  key: string,
  fingerprint: string,
): Outcome<T> | null {
  const row = sql
    .exec<{ fingerprint: string; result: string }>("SELECT fingerprint, result FROM idempotency WHERE key = ?", key)
    .toArray()[0];
  if (!row) return null;
  if (row.fingerprint !== fingerprint) return reusedKey();
  return { ok: true, ...(JSON.parse(row.result) as T), replayed: true };
}

export function remember(sql: SqlStorage, key: string, fingerprint: string, result: unknown, now: number): void {
  sql.exec(
    "INSERT INTO idempotency (key, fingerprint, result, created_at) VALUES (?, ?, ?, ?)",
    key,
    fingerprint,
    JSON.stringify(result),
    now,
  );
}

/** A debit retried with its idempotency key: the first result, read back from its ledger entry. */
export function replayDebit(sql: SqlStorage, key: string, fingerprint: string): Outcome<ChargeResult> | null {
  const row = sql
    .exec<{ seq: number; amount_micros: number; balance_after_micros: number; fingerprint: string | null }>(
      `SELECT seq, amount_micros, balance_after_micros, fingerprint FROM ledger
       WHERE kind = 'usage' AND idempotency_key = ? ORDER BY seq LIMIT 1`,
      key,
    )
    .toArray()[0];
  if (!row) return null;
  // An entry from before fingerprints were kept on the ledger (and past the old records' retention)
  // cannot be compared: the key has been charged once, so it is answered as a retry, never charged again.
  if (row.fingerprint !== null && row.fingerprint !== fingerprint) return reusedKey();
  return {
    ok: true,
    chargedMicros: -row.amount_micros,
    balanceMicros: row.balance_after_micros,
    seq: row.seq,
    replayed: true,
  };
}

/** An adjustment retried after its record was purged: the first result, read back from its ledger entry. */
export function replayAdjustment(sql: SqlStorage, key: string, fingerprint: string): Outcome<AdjustResult> {
  const row = sql
    .exec<{ seq: number; amount_micros: number; balance_after_micros: number; fingerprint: string | null }>(
      `SELECT seq, amount_micros, balance_after_micros, fingerprint FROM ledger
       WHERE kind = 'adjustment' AND idempotency_key = ?`,
      key,
    )
    .one();
  if (row.fingerprint !== null && row.fingerprint !== fingerprint) return reusedKey();
  return {
    ok: true,
    seq: row.seq,
    amountMicros: row.amount_micros,
    balanceMicros: row.balance_after_micros,
    replayed: true,
  };
}

/** Idempotency records are kept this long; Stripe keeps its keys 24 h, we keep ours longer. */
const IDEMPOTENCY_RETENTION_MS = 30 * 86_400_000;

/**
 * Forgets idempotency records older than `IDEMPOTENCY_RETENTION_MS`. A key that moved money keeps its
 * meaning after this: debits, credits and adjustments are unique in the ledger itself.
 */
export function forgetOldRecords(sql: SqlStorage, now: number): void {
  sql.exec("DELETE FROM idempotency WHERE created_at < ?", now - IDEMPOTENCY_RETENTION_MS);
}
