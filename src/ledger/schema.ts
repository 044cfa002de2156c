/**
 * SQLite schema of one CreditAccount (see docs/storage-schema.md). Applied in the
 * constructor under blockConcurrencyWhile by `migrateAccount`; steps are append-only, never edited.
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
     held_micros INTEGER NOT NULL DEFAULT 0 CHECK (held_micros >= 0),
     bot_id INTEGER,
     bot_username TEXT,
     -- When the current out-of-credits episode started (NULL while credits cover an answer),
     -- and when the owner was last told about it.
     out_since INTEGER,
     out_notified_at INTEGER
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
   -- Hourly totals per operation ('unanswered' counts messages dropped while out of credits):
   -- 30 days of stats read at most 720 rows per kind, whatever the size of the ledger.
   CREATE TABLE IF NOT EXISTS usage_hourly (
     hour INTEGER NOT NULL,
     operation TEXT NOT NULL,
     cost_micros INTEGER NOT NULL,
     count INTEGER NOT NULL,
     PRIMARY KEY (hour, operation)
   ) WITHOUT ROWID;
   -- One row per end user: "active over a period" is an index range on last_seen_at.
   CREATE TABLE IF NOT EXISTS end_users (
     end_user_id TEXT PRIMARY KEY,
     last_seen_at INTEGER NOT NULL,
     spend_day INTEGER NOT NULL DEFAULT 0,
     spend_day_micros INTEGER NOT NULL DEFAULT 0
   ) WITHOUT ROWID;
   CREATE INDEX IF NOT EXISTS end_users_seen ON end_users (last_seen_at);
   -- Telegram updates: the primary key makes each update_id count once; pending rows are the inbox.
   CREATE TABLE IF NOT EXISTS telegram_updates (
     update_id INTEGER PRIMARY KEY,
     received_at INTEGER NOT NULL,
     job TEXT,
     status TEXT NOT NULL CHECK (status IN ('pending', 'done')),
     attempts INTEGER NOT NULL DEFAULT 0,
     sent_parts INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX IF NOT EXISTS telegram_updates_pending ON telegram_updates (status, received_at);`,
  // Billing: the Stripe customer, the auto-recharge settings and every recharge or top-up.
  `CREATE TABLE IF NOT EXISTS billing (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     customer_id TEXT,
     payment_method_id TEXT,
     card_brand TEXT,
     card_last4 TEXT,
     top_up_micros INTEGER,
     recharge_at_micros INTEGER,
     auto_enabled INTEGER NOT NULL DEFAULT 0,
     -- 'active' | 'failing' (hard decline) | 'needs_confirmation' | 'daily_limit'
     status TEXT NOT NULL DEFAULT 'active',
     pending_session_id TEXT,
     pending_top_up_micros INTEGER,
     pending_recharge_at_micros INTEGER,
     daily_limit_notified_day INTEGER
   );
   INSERT OR IGNORE INTO billing (id) VALUES (1);
   CREATE TABLE IF NOT EXISTS recharges (
     id TEXT PRIMARY KEY,
     kind TEXT NOT NULL CHECK (kind IN ('auto', 'manual')),
     amount_micros INTEGER NOT NULL,
     -- 'pending' (steps to run) | 'open' (awaiting the owner or Stripe) | 'paid' | 'failed'
     status TEXT NOT NULL,
     step TEXT NOT NULL,
     invoice_id TEXT UNIQUE,
     checkout_session_id TEXT UNIQUE,
     hosted_url TEXT,
     pdf_url TEXT,
     paid_micros INTEGER,
     refunded_micros INTEGER NOT NULL DEFAULT 0,
     failure_code TEXT,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_attempt_at INTEGER,
     pay_key TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     synced INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX IF NOT EXISTS recharges_status ON recharges (status, next_attempt_at);
   CREATE INDEX IF NOT EXISTS recharges_created ON recharges (created_at);
   CREATE INDEX IF NOT EXISTS recharges_unsynced ON recharges (synced);
   -- Each Stripe event and each dispute has effect once.
   CREATE TABLE IF NOT EXISTS stripe_events (event_id TEXT PRIMARY KEY, received_at INTEGER NOT NULL);
   CREATE TABLE IF NOT EXISTS disputes (dispute_id TEXT PRIMARY KEY, recharge_id TEXT NOT NULL, amount_micros INTEGER NOT NULL);`,
  // Hourly alerts: the hour (since the epoch) of the last out-of-credits alert sent to the owner.
  "ALTER TABLE account ADD COLUMN last_alert_hour INTEGER",
  // Early warnings: the kind sent in the current episode and the balance it was sent at (an episode
  // ends when credits come back above it), so an owner is warned once, not on every debit.
  "ALTER TABLE account ADD COLUMN low_warning TEXT",
  "ALTER TABLE account ADD COLUMN low_warning_micros INTEGER",
  // Stats at a cost independent of history: daily totals (a 30-day window reads the partial first day
  // from usage_hourly and the rest from here), and end users counted by the hour and the day of their
  // last activity (active users over a period read one hour's rows of end_users plus these buckets).
  // Triggers keep them, inside the statement that changes usage_hourly or end_users, so every writer
  // keeps them in step without another statement from the debit. Existing objects derive them first.
  `CREATE TABLE IF NOT EXISTS usage_daily (
     day INTEGER NOT NULL,
     operation TEXT NOT NULL,
     cost_micros INTEGER NOT NULL,
     count INTEGER NOT NULL,
     PRIMARY KEY (day, operation)
   ) WITHOUT ROWID;
   INSERT OR REPLACE INTO usage_daily (day, operation, cost_micros, count)
     SELECT hour / 24, operation, SUM(cost_micros), SUM(count) FROM usage_hourly GROUP BY hour / 24, operation;
   CREATE TRIGGER IF NOT EXISTS usage_hourly_insert AFTER INSERT ON usage_hourly BEGIN
     INSERT INTO usage_daily (day, operation, cost_micros, count) VALUES (NEW.hour / 24, NEW.operation, NEW.cost_micros, NEW.count)
       ON CONFLICT (day, operation) DO UPDATE SET cost_micros = cost_micros + excluded.cost_micros, count = count + excluded.count;
   END;
   CREATE TRIGGER IF NOT EXISTS usage_hourly_update AFTER UPDATE ON usage_hourly BEGIN
     UPDATE usage_daily SET cost_micros = cost_micros - OLD.cost_micros, count = count - OLD.count
       WHERE day = OLD.hour / 24 AND operation = OLD.operation;
     INSERT INTO usage_daily (day, operation, cost_micros, count) VALUES (NEW.hour / 24, NEW.operation, NEW.cost_micros, NEW.count)
       ON CONFLICT (day, operation) DO UPDATE SET cost_micros = cost_micros + excluded.cost_micros, count = count + excluded.count;
   END;
   CREATE TRIGGER IF NOT EXISTS usage_hourly_delete AFTER DELETE ON usage_hourly BEGIN
     UPDATE usage_daily SET cost_micros = cost_micros - OLD.cost_micros, count = count - OLD.count
       WHERE day = OLD.hour / 24 AND operation = OLD.operation;
   END;
   CREATE TABLE IF NOT EXISTS end_users_seen_hourly (hour INTEGER PRIMARY KEY, users INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE IF NOT EXISTS end_users_seen_daily (day INTEGER PRIMARY KEY, users INTEGER NOT NULL) WITHOUT ROWID;
   INSERT OR REPLACE INTO end_users_seen_hourly (hour, users)
     SELECT last_seen_at / 3600000, COUNT(*) FROM end_users GROUP BY last_seen_at / 3600000;
   INSERT OR REPLACE INTO end_users_seen_daily (day, users)
     SELECT last_seen_at / 86400000, COUNT(*) FROM end_users GROUP BY last_seen_at / 86400000;
   CREATE TRIGGER IF NOT EXISTS end_users_insert AFTER INSERT ON end_users BEGIN
     INSERT INTO end_users_seen_hourly (hour, users) VALUES (NEW.last_seen_at / 3600000, 1)
       ON CONFLICT (hour) DO UPDATE SET users = users + 1;
     INSERT INTO end_users_seen_daily (day, users) VALUES (NEW.last_seen_at / 86400000, 1)
       ON CONFLICT (day) DO UPDATE SET users = users + 1;
   END;
   CREATE TRIGGER IF NOT EXISTS end_users_seen_hour AFTER UPDATE OF last_seen_at ON end_users
   WHEN OLD.last_seen_at / 3600000 != NEW.last_seen_at / 3600000 BEGIN
     UPDATE end_users_seen_hourly SET users = users - 1 WHERE hour = OLD.last_seen_at / 3600000;
     INSERT INTO end_users_seen_hourly (hour, users) VALUES (NEW.last_seen_at / 3600000, 1)
       ON CONFLICT (hour) DO UPDATE SET users = users + 1;
   END;
   CREATE TRIGGER IF NOT EXISTS end_users_seen_day AFTER UPDATE OF last_seen_at ON end_users
   WHEN OLD.last_seen_at / 86400000 != NEW.last_seen_at / 86400000 BEGIN
     UPDATE end_users_seen_daily SET users = users - 1 WHERE day = OLD.last_seen_at / 86400000;
     INSERT INTO end_users_seen_daily (day, users) VALUES (NEW.last_seen_at / 86400000, 1)
       ON CONFLICT (day) DO UPDATE SET users = users + 1;
   END;
   CREATE TRIGGER IF NOT EXISTS end_users_delete AFTER DELETE ON end_users BEGIN
     UPDATE end_users_seen_hourly SET users = users - 1 WHERE hour = OLD.last_seen_at / 3600000;
     UPDATE end_users_seen_daily SET users = users - 1 WHERE day = OLD.last_seen_at / 86400000;
   END;`,
  // Work derived from the append-only ledger is done in batches after the write, off the debit path, and
  // resumes from a watermark over the ledger's seq (a debit writes only its ledger entry):
  // - 'rollups': the last entry summed into usage_hourly and end_users (the alarm and every reader of the
  //   rollups catch up first); existing objects have their rollups up to date;
  // - 'history': the last entry D1 confirmed. The ledger itself is the outbox: entries above the watermark
  //   are the ones still to copy (this replaces the `outbox` table of seqs, which was a suffix of the
  //   ledger: its lowest seq - 1 is where the copy stands).
  `CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
   INSERT OR IGNORE INTO cursors (name, seq) SELECT 'rollups', COALESCE(MAX(seq), 0) FROM ledger;
   INSERT OR IGNORE INTO cursors (name, seq)
     SELECT 'history', COALESCE((SELECT MIN(seq) - 1 FROM outbox), (SELECT MAX(seq) FROM ledger), 0);
   DROP TABLE IF EXISTS outbox;
   -- A debit's idempotency record is its own ledger entry: the key was already on it; the request's
   -- fingerprint joins it (copied from the separate records for existing entries), found through a partial
   -- index. Other kinds keep their records in the idempotency table.
   ALTER TABLE ledger ADD COLUMN fingerprint TEXT;
   UPDATE ledger SET fingerprint = (SELECT i.fingerprint FROM idempotency AS i WHERE i.key = 'usage:' || ledger.idempotency_key)
     WHERE kind = 'usage';
   CREATE INDEX IF NOT EXISTS ledger_usage_key ON ledger (idempotency_key) WHERE kind = 'usage';
   -- The balance moves only with a ledger entry: each entry carries the balance after it, and inserting it
   -- sets the account's balance (one statement on the debit path instead of two).
   CREATE TRIGGER IF NOT EXISTS ledger_moves_balance AFTER INSERT ON ledger BEGIN
     UPDATE account SET balance_micros = NEW.balance_after_micros;
   END;`,
  // A debit's idempotency key is unique on the ledger: the insert itself refuses a second charge
  // (Ledger.debit: `ON CONFLICT … DO NOTHING`), and no path can record one twice. Existing ledgers hold
  // each key once already: every debit so far was inserted after a lookup of its key in the same
  // transaction (until 2026-12-05 in records kept 30 days; the first ledger dates from 2026-11-25). Were
  // the index ever to fail, the step rolls back whole and the object refuses calls until fixed: nothing is lost.
  `DROP INDEX IF EXISTS ledger_usage_key;
   CREATE UNIQUE INDEX ledger_usage_key ON ledger (idempotency_key) WHERE kind = 'usage';`,
  // Every keyed entry moves money once, for the ledger's life (not only while an idempotency record is
  // kept): an invoice's credit (`stripe:<invoice>`, whether recorded as a recharge or a top-up) is unique,
  // and so is every other key within its kind (adjustments, refunds, disputes, grants, settles). The
  // inserts are `ON CONFLICT DO NOTHING`, so a second path that asks finds the first entry instead.
  // A ledger that already holds a key twice (an invoice credited twice before this step) keeps its first
  // entry's key; later ones are renamed `<key>#duplicate-<seq>`, so the evidence stays and the index holds.
  `UPDATE ledger SET idempotency_key = idempotency_key || '#duplicate-' || seq
     WHERE kind IN ('recharge', 'top_up') AND idempotency_key IS NOT NULL AND seq NOT IN
       (SELECT MIN(seq) FROM ledger WHERE kind IN ('recharge', 'top_up') AND idempotency_key IS NOT NULL
        GROUP BY idempotency_key);
   CREATE UNIQUE INDEX ledger_credit_key ON ledger (idempotency_key) WHERE kind IN ('recharge', 'top_up');
   UPDATE ledger SET idempotency_key = idempotency_key || '#duplicate-' || seq
     WHERE kind NOT IN ('usage', 'recharge', 'top_up') AND idempotency_key IS NOT NULL AND seq NOT IN
       (SELECT MIN(seq) FROM ledger WHERE kind NOT IN ('usage', 'recharge', 'top_up') AND idempotency_key IS NOT NULL
        GROUP BY kind, idempotency_key);
   CREATE UNIQUE INDEX ledger_entry_key ON ledger (kind, idempotency_key) WHERE kind NOT IN ('usage', 'recharge', 'top_up');
   -- A won dispute gives back what it took, once (a win that comes first is recorded with nothing taken).
   ALTER TABLE disputes ADD COLUMN reinstated INTEGER NOT NULL DEFAULT 0;
   -- Stripe saves a 5xx answer under its idempotency key: from the attempt that got one, a step's key
   -- ends in ':<key_attempt>' (0: the step's first key).
   ALTER TABLE recharges ADD COLUMN key_attempt INTEGER NOT NULL DEFAULT 0;
   -- Whether D1 confirmed the instance's registry row (cron finds instances there). The alarm upserts it
   -- until then; existing objects confirm theirs once, so a row lost at provisioning is made again.
   ALTER TABLE account ADD COLUMN registered INTEGER NOT NULL DEFAULT 0;`,
  // Auto-recharge does what the owner was told (docs/billing.md). At most one automatic recharge per crossing
  // of the threshold: 'recharge_armed' is 0 from the start of an automatic recharge until the balance has been
  // above the threshold again (or the owner saved a card or changed the settings). 'card_requested_at' is when
  // the link of the saved card was asked for: a link completed late saves its card only if it is newer.
  `ALTER TABLE billing ADD COLUMN recharge_armed INTEGER NOT NULL DEFAULT 1;
   ALTER TABLE billing ADD COLUMN card_requested_at INTEGER;`,
  // The owner's mailbox and welcome. 'invoice_email': where Stripe emails the invoices (`ownerEmail` at
  // provisioning, else the email Checkout collected, else `/invoiceEmail`), given to the Stripe customer before
  // the first charge. 'welcome': the owner's welcome, 'due' → 'sending' → 'sent', or 'deferred' when Telegram
  // refused it (it goes with the owner's first message); NULL for accounts from before it (nothing owed).
  `ALTER TABLE billing ADD COLUMN invoice_email TEXT;
   ALTER TABLE account ADD COLUMN welcome TEXT;`,
  // Owner controls: the owner's daily limit per client (`/clientLimit`; NULL: END_USER_DAILY_CAP_USD), and the
  // day the owner was last told that background work of a kind was refused by the floor (once a day per kind).
  `ALTER TABLE account ADD COLUMN client_limit_micros INTEGER;
   CREATE TABLE IF NOT EXISTS floor_notices (operation TEXT PRIMARY KEY, day INTEGER NOT NULL) WITHOUT ROWID;`,
  // The owner's language (docs/languages.md): 'owner_lang' is the language the owner is answered in ('en', 'cs';
  // NULL: English), 'owner_lang_chosen' 1 once the owner chose it with /language — then Telegram's language_code
  // of later messages no longer changes it.
  `ALTER TABLE account ADD COLUMN owner_lang TEXT CHECK (owner_lang IN ('en', 'cs'));
   ALTER TABLE account ADD COLUMN owner_lang_chosen INTEGER NOT NULL DEFAULT 0;`,
  // The dashboard's chart (docs/dashboard.md): active end users per UTC day. 'end_user_days' holds each (day, end
  // user) pair once (kept 31 days: Rollups.forgetOldActiveDays); its insert trigger counts the day in
  // 'active_users_daily'. Existing objects derive the last 31 days of entries already summed into the rollups.
  `CREATE TABLE IF NOT EXISTS end_user_days (
     day INTEGER NOT NULL,
     end_user_id TEXT NOT NULL,
     PRIMARY KEY (day, end_user_id)
   ) WITHOUT ROWID;
   CREATE TABLE IF NOT EXISTS active_users_daily (day INTEGER PRIMARY KEY, users INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TRIGGER IF NOT EXISTS end_user_days_insert AFTER INSERT ON end_user_days BEGIN
     INSERT INTO active_users_daily (day, users) VALUES (NEW.day, 1) ON CONFLICT (day) DO UPDATE SET users = users + 1;
   END;
   INSERT OR IGNORE INTO end_user_days (day, end_user_id)
     SELECT DISTINCT created_at / 86400000, end_user_id FROM ledger
     WHERE kind IN ('usage', 'hold_settle') AND end_user_id IS NOT NULL
       AND created_at >= (CAST(strftime('%s', 'now') AS INTEGER) - 31 * 86400) * 1000
       AND seq <= (SELECT seq FROM cursors WHERE name = 'rollups');`,
  // The model's wait outside the object (docs/telegram.md "The model's wait"): a client's question whose hold is
  // taken is leased to the webhook's Worker, which asks the model. 'model_lease' is the lease's token and
  // 'model_lease_until' when the object takes the job back; 'model_completion' the model's answer (JSON) the
  // Worker delivered under its lease. A job with an unexpired lease is not run by the object.
  `ALTER TABLE telegram_updates ADD COLUMN model_lease TEXT;
   ALTER TABLE telegram_updates ADD COLUMN model_lease_until INTEGER;
   ALTER TABLE telegram_updates ADD COLUMN model_completion TEXT;`,
];

/** Applies the steps not applied yet; the applied count is kept in `schema_meta`. */
export function migrateAccount(sql: SqlStorage): void {
  sql.exec("CREATE TABLE IF NOT EXISTS schema_meta (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)");
  const applied = sql.exec<{ version: number }>("SELECT version FROM schema_meta").toArray()[0]?.version ?? 0;
  for (let i = applied; i < ACCOUNT_MIGRATIONS.length; i++) sql.exec(ACCOUNT_MIGRATIONS[i] as string);
  sql.exec("INSERT OR REPLACE INTO schema_meta (id, version) VALUES (1, ?)", ACCOUNT_MIGRATIONS.length);
}
