import { CreditAccount } from "../../src/account/credit-account";
import type { Completion } from "../../src/ai/model";
import { loadConfig } from "../../src/env";
import { Ledger } from "../../src/ledger/ledger";

/**
 * The production `CreditAccount`, unchanged, plus what only the benchmark needs:
 * - a switch for the D1 history flush (off: the alarm does nothing, so history is never copied);
 * - a switch that keeps the model's wait inside the object (every lease given back at once: the object asks the
 *   model itself, as it did before the wait moved to the webhook's Worker), for the cost comparison;
 * - a count of the D1 statements and round trips the object issues (D1 writes per debit);
 * - a fast seeding path that bulk-inserts ledger entries in the shape the ledger writes them, then lets the
 *   product's own batch catch-up derive the rollups and end users (stats at scale);
 * - an audit of the ledger's invariants and a page reader to compare the ledger with D1.
 * Bench state lives in its own table, so the product's tables hold only what the product writes.
 */

const BENCH_SCHEMA = `CREATE TABLE IF NOT EXISTS bench_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  history INTEGER NOT NULL DEFAULT 1,
  model_inside INTEGER NOT NULL DEFAULT 0,
  model_delivered INTEGER NOT NULL DEFAULT 0,
  d1_statements INTEGER NOT NULL DEFAULT 0,
  d1_round_trips INTEGER NOT NULL DEFAULT 0,
  d1_rows_read INTEGER NOT NULL DEFAULT 0,
  d1_rows_written INTEGER NOT NULL DEFAULT 0,
  alarms INTEGER NOT NULL DEFAULT 0,
  alarm_ms INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS bench_alarm_spans (started INTEGER NOT NULL, ended INTEGER NOT NULL);
INSERT OR IGNORE INTO bench_state (id) VALUES (1);`;

/**
 * Entries `?1..?2`: 90% answers (`response`, with an end user), 5% each background operation;
 * costs 1,000–9,999 micros; `created_at` evenly spread from `?5` by `?6` ms; balances running down from `?4`.
 */
const SEED_LEDGER = `INSERT INTO ledger (kind, operation, amount_micros, balance_after_micros, idempotency_key, end_user_id, reference, memo, created_at, fingerprint)
  WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2),
  e AS (SELECT i,
               CASE i % 20 WHEN 0 THEN 'knowhow_update' WHEN 1 THEN 'role_update' ELSE 'response' END AS operation,
               1000 + (i * 7919) % 9000 AS cost
        FROM n)
  SELECT 'usage', operation, -cost, ?4 - SUM(cost) OVER (ORDER BY i ROWS UNBOUNDED PRECEDING), 'seed-' || i,
         CASE WHEN operation = 'response' THEN 'user-' || (i % ?3) END, NULL, NULL, ?5 + i * ?6, 'seed'
  FROM e ORDER BY i`;

export interface SeedInput {
  /** First and last entry number of this chunk (1-based over the whole seeding). */
  from: number;
  to: number;
  /** Distinct end users the answers are spread over. */
  users: number;
  /** `created_at` of entry i is startMs + i × stepMs. */
  startMs: number;
  stepMs: number;
}

export interface LedgerAudit {
  balanceMicros: number;
  heldMicros: number;
  ledgerSumMicros: number;
  entries: number;
  lastSeq: number;
  /** Entries whose balance_after_micros differs from the running sum of amounts. */
  runningMismatches: number;
  usageEntries: number;
  usageSumMicros: number;
  /** Usage idempotency keys that appear on more than one entry (a duplicate charge). */
  duplicateUsageKeys: number;
  rechargeEntries: number;
  /** Answers' settlements (`hold_settle`), and their keys recorded more than once (an answer charged twice). */
  settleEntries: number;
  duplicateSettleKeys: number;
  pendingOutbox: number;
}

/** One ledger row as [seq, kind, operation, amount, balance_after, idempotency_key, end_user_id, reference, memo, created_at]. */
export type LedgerRow = [
  number,
  string,
  string | null,
  number,
  number,
  string | null,
  string | null,
  string | null,
  string | null,
  number,
];

export const LEDGER_ROW_COLUMNS =
  "seq, kind, operation, amount_micros, balance_after_micros, idempotency_key, end_user_id, reference, memo, created_at";

export interface BenchCounters {
  history: boolean;
  d1Statements: number;
  d1RoundTrips: number;
  /** D1's own `meta.rows_read` / `meta.rows_written` of the object's batches and runs (what D1 bills). */
  d1RowsRead: number;
  d1RowsWritten: number;
  /** Alarm invocations (each a billed Durable Object request) and their wall time in the object, ms. */
  alarms: number;
  alarmMs: number;
  /** Answers whose model call the webhook's Worker made and delivered (accepted by `modelAnswered`). */
  modelDelivered: number;
}

type Count = (statements: number, rows?: { read: number; written: number }) => void;

/** Sums D1's row counts from whatever a call returned (one result, or a batch's results). */
function rowsOf(result: unknown): { read: number; written: number } {
  const list = Array.isArray(result) ? result : [result];
  let read = 0;
  let written = 0;
  for (const r of list) {
    const meta = (r as { meta?: { rows_read?: number; rows_written?: number } } | null)?.meta;
    read += meta?.rows_read ?? 0;
    written += meta?.rows_written ?? 0;
  }
  return { read, written };
}

/**
 * Wraps the D1 binding so every statement the object sends is counted (in its own SQLite, so the count
 * survives an eviction). `batch()` gets the real statements back, as D1 requires.
 */
function countingD1(db: D1Database, count: Count): D1Database {
  const real = new WeakMap<object, D1PreparedStatement>();
  const wrap = (statement: D1PreparedStatement): D1PreparedStatement => {
    const proxy = new Proxy(statement, {
      get(target, prop) {
        if (prop === "bind") return (...values: unknown[]) => wrap(target.bind(...values));
        if (prop === "run" || prop === "all") {
          return async () => {
            const result = await (target[prop] as () => Promise<unknown>).call(target);
            count(1, rowsOf(result));
            return result;
          };
        }
        if (prop === "first" || prop === "raw") count(1);
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    real.set(proxy, statement);
    return proxy;
  };
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") return (query: string) => wrap(target.prepare(query));
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          const results = await target.batch(statements.map((s) => real.get(s) ?? s));
          count(statements.length, rowsOf(results));
          return results;
        };
      }
      if (prop === "exec") count(1);
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

export class BenchCreditAccount extends CreditAccount {
  readonly #benchSql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    const sql = ctx.storage.sql;
    const count: Count = (statements, rows) =>
      sql.exec(
        `UPDATE bench_state SET d1_statements = d1_statements + ?, d1_round_trips = d1_round_trips + 1,
           d1_rows_read = d1_rows_read + ?, d1_rows_written = d1_rows_written + ?`,
        statements,
        rows?.read ?? 0,
        rows?.written ?? 0,
      );
    super(ctx, { ...env, DB: countingD1(env.DB, count) });
    this.#benchSql = sql;
    sql.exec(BENCH_SCHEMA);
  }

  /** With history off the alarm does nothing: no D1 flush (nor hold expiry, which the benchmark does not use). */
  override async alarm(): Promise<void> {
    if (!this.#historyOn()) return;
    const started = Date.now();
    try {
      await super.alarm();
    } finally {
      const ended = Date.now();
      this.#benchSql.exec("UPDATE bench_state SET alarms = alarms + 1, alarm_ms = alarm_ms + ?", ended - started);
      this.#benchSql.exec("INSERT INTO bench_alarm_spans (started, ended) VALUES (?, ?)", started, ended);
    }
  }

  /** With `model_inside` on, a leased question is given back at once: the object asks the model itself. */
  override receiveUpdate(secretHash: string, body: string): ReturnType<CreditAccount["receiveUpdate"]> {
    const received = super.receiveUpdate(secretHash, body);
    const call = received.modelCall;
    const inside = this.#benchSql.exec<{ m: number }>("SELECT model_inside AS m FROM bench_state").one().m === 1;
    if (!call || !inside) return received;
    this.modelAnswered(call.updateId, call.lease, null);
    return { status: received.status };
  }

  override modelAnswered(updateId: number, lease: string, completion: Completion | null): { accepted: boolean } {
    const answered = super.modelAnswered(updateId, lease, completion);
    if (answered.accepted && completion) {
      this.#benchSql.exec("UPDATE bench_state SET model_delivered = model_delivered + 1");
    }
    return answered;
  }

  benchSetModelInside(enabled: boolean): void {
    this.#benchSql.exec("UPDATE bench_state SET model_inside = ?", enabled ? 1 : 0);
  }

  /** Turns the D1 history flush off or on; on wakes the alarm, which copies everything pending. */
  async benchSetHistory(enabled: boolean): Promise<BenchCounters> {
    this.#benchSql.exec("UPDATE bench_state SET history = ?", enabled ? 1 : 0);
    if (enabled) await this.ctx.storage.setAlarm(Date.now());
    return this.benchCounters();
  }

  benchCounters(): BenchCounters {
    const row = this.#benchSql
      .exec<{
        history: number;
        d1_statements: number;
        d1_round_trips: number;
        d1_rows_read: number;
        d1_rows_written: number;
        alarms: number;
        alarm_ms: number;
        model_delivered: number;
      }>("SELECT * FROM bench_state")
      .one();
    return {
      history: row.history === 1,
      d1Statements: row.d1_statements,
      d1RoundTrips: row.d1_round_trips,
      d1RowsRead: row.d1_rows_read,
      d1RowsWritten: row.d1_rows_written,
      alarms: row.alarms,
      alarmMs: row.alarm_ms,
      modelDelivered: row.model_delivered,
    };
  }

  /** Bulk-seeds one chunk of usage entries in one transaction (the instance must be provisioned and funded). */
  benchSeed(input: SeedInput): { lastSeq: number; balanceMicros: number } {
    const sql = this.#benchSql;
    const ledger = new Ledger(sql, loadConfig(this.env));
    return this.ctx.storage.transactionSync(() => {
      const balance = sql.exec<{ b: number }>("SELECT balance_micros AS b FROM account").one().b;
      // Entries as the ledger writes them (the schema's trigger moves the balance with each one) ...
      sql.exec(SEED_LEDGER, input.from, input.to, input.users, balance, input.startMs, input.stepMs);
      const last = sql
        .exec<{ seq: number; b: number }>(
          "SELECT seq, balance_after_micros AS b FROM ledger WHERE seq = (SELECT MAX(seq) FROM ledger)",
        )
        .one();
      // ... and the product's own batch catch-up derives the rollups and end users from them. The seed wrote
      // behind the object's in-memory copy of the account row, so that copy goes.
      ledger.rollups.catchUpRollups();
      ledger.forgetCachedRows();
      return { lastSeq: last.seq, balanceMicros: last.b };
    });
  }

  /** When the alarm ran (epoch ms), from `since` on: with the answers' spans, the object's active time. */
  benchAlarmSpans(since: number): [number, number][] {
    return this.#benchSql
      .exec<{ started: number; ended: number }>(
        "SELECT started, ended FROM bench_alarm_spans WHERE started >= ? ORDER BY started",
        since,
      )
      .toArray()
      .map((r) => [r.started, r.ended]);
  }

  /** The ledger's invariants, computed from storage (docs/storage-schema.md). */
  benchAudit(): LedgerAudit {
    const sql = this.#benchSql;
    const one = (query: string) => sql.exec<{ n: number | null }>(query).one().n ?? 0;
    const account = sql
      .exec<{ balance_micros: number; held_micros: number }>("SELECT balance_micros, held_micros FROM account")
      .toArray()[0];
    return {
      balanceMicros: account?.balance_micros ?? 0,
      heldMicros: account?.held_micros ?? 0,
      ledgerSumMicros: one("SELECT SUM(amount_micros) AS n FROM ledger"),
      entries: one("SELECT COUNT(*) AS n FROM ledger"),
      lastSeq: one("SELECT MAX(seq) AS n FROM ledger"),
      runningMismatches: one(
        `SELECT COUNT(*) AS n FROM (
           SELECT balance_after_micros AS after, SUM(amount_micros) OVER (ORDER BY seq ROWS UNBOUNDED PRECEDING) AS running
           FROM ledger) WHERE after != running`,
      ),
      usageEntries: one("SELECT COUNT(*) AS n FROM ledger WHERE kind = 'usage'"),
      usageSumMicros: one("SELECT SUM(amount_micros) AS n FROM ledger WHERE kind = 'usage'"),
      duplicateUsageKeys: one(
        "SELECT COUNT(*) AS n FROM (SELECT idempotency_key FROM ledger WHERE kind = 'usage' GROUP BY idempotency_key HAVING COUNT(*) > 1)",
      ),
      rechargeEntries: one("SELECT COUNT(*) AS n FROM ledger WHERE kind = 'recharge'"),
      settleEntries: one("SELECT COUNT(*) AS n FROM ledger WHERE kind = 'hold_settle'"),
      duplicateSettleKeys: one(
        "SELECT COUNT(*) AS n FROM (SELECT idempotency_key FROM ledger WHERE kind = 'hold_settle' GROUP BY idempotency_key HAVING COUNT(*) > 1)",
      ),
      pendingOutbox: one(
        "SELECT COUNT(*) AS n FROM ledger WHERE seq > (SELECT seq FROM cursors WHERE name = 'history')",
      ),
    };
  }

  /** Ledger rows after `afterSeq`, oldest first, to compare with the D1 copy. */
  benchLedgerRows(afterSeq: number, limit: number): LedgerRow[] {
    return [
      ...this.#benchSql
        .exec(`SELECT ${LEDGER_ROW_COLUMNS} FROM ledger WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit)
        .raw(),
    ] as LedgerRow[];
  }

  #historyOn(): boolean {
    return this.#benchSql.exec<{ history: number }>("SELECT history FROM bench_state").one().history === 1;
  }
}
