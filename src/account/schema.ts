/**
 * SQLite schema of one CreditAccount (see docs/storage-schema.md). Applied in the
 * constructor under blockConcurrencyWhile; each step is idempotent and numbered.
 */
export const ACCOUNT_MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS account (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     instance_id TEXT NOT NULL,
     owner_telegram_id INTEGER NOT NULL,
     license TEXT NOT NULL,
     api_key_hash TEXT NOT NULL,
     webhook_secret_hash TEXT NOT NULL,
     bot_token_sealed TEXT NOT NULL,
     system_prompt TEXT,
     created_at INTEGER NOT NULL,
     balance_micros INTEGER NOT NULL,
     held_micros INTEGER NOT NULL DEFAULT 0 CHECK (held_micros >= 0)
   );
   CREATE TABLE IF NOT EXISTS ledger (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     kind TEXT NOT NULL,
     operation TEXT,
     amount_micros INTEGER NOT NULL,
     balance_after_micros INTEGER NOT NULL,
     idempotency_key TEXT,
     end_user_id TEXT,
     reference TEXT,
     memo TEXT,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE IF NOT EXISTS idempotency (
     key TEXT PRIMARY KEY,
     fingerprint TEXT NOT NULL,
     result TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency (created_at);
   CREATE TABLE IF NOT EXISTS holds (
     id TEXT PRIMARY KEY,
     idempotency_key TEXT NOT NULL UNIQUE,
     operation TEXT NOT NULL,
     max_cost_micros INTEGER NOT NULL CHECK (max_cost_micros > 0),
     end_user_id TEXT,
     status TEXT NOT NULL CHECK (status IN ('open', 'settled', 'released', 'expired')),
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     settled_fingerprint TEXT,
     settled_result TEXT
   );
   CREATE INDEX IF NOT EXISTS holds_open ON holds (status, expires_at);
   CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY);
   CREATE TABLE IF NOT EXISTS usage_daily (
     day INTEGER NOT NULL,
     operation TEXT NOT NULL,
     cost_micros INTEGER NOT NULL,
     count INTEGER NOT NULL,
     PRIMARY KEY (day, operation)
   ) WITHOUT ROWID;
   CREATE TABLE IF NOT EXISTS active_users_daily (
     day INTEGER NOT NULL,
     end_user_id TEXT NOT NULL,
     PRIMARY KEY (day, end_user_id)
   ) WITHOUT ROWID;`,
];
