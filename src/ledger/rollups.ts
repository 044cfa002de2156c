import type { Config } from "../env";
import { DAY_MS, dayOf, HOUR_MS, hourOf, recommendedRechargeAt, runwayHours } from "./rules";
import { type BalanceView, type DayUsage, OPERATIONS, type Operation, type StatsSnapshot } from "./types";

function isOperation(value: string): value is Operation {
  return (OPERATIONS as readonly string[]).includes(value);
}

/**
 * The reporting side of one CreditAccount's storage: the stats rollups (hourly and daily spend per
 * operation, end users' last activity and daily spend) derived from the ledger in batches, and what is
 * read from them. Synchronous SQLite only, run inside the object's `transactionSync` like the ledger.
 */

/** Answers and operations in ledger entries `(?1, ?2]`, summed per hour and operation (`hourOf` in SQL). */
const ROLLUP_USAGE = `INSERT INTO usage_hourly (hour, operation, cost_micros, count)
  SELECT created_at / 3600000, operation, -SUM(amount_micros), COUNT(*) FROM ledger
  WHERE seq > ?1 AND seq <= ?2 AND kind IN ('usage', 'hold_settle')
  GROUP BY created_at / 3600000, operation
  ON CONFLICT (hour, operation) DO UPDATE SET cost_micros = cost_micros + excluded.cost_micros, count = count + excluded.count`;

/**
 * End users in ledger entries `(?1, ?2]`: last seen at their latest entry, and what they spent on that
 * entry's day (added to the stored day's spend when it is the same day, replacing it when a new day began),
 * as the per-entry upsert it replaces did entry by entry. One pass: totals per user and day, then each
 * user's latest day (a window, so the cost grows as n log n with the entries, not with users × entries).
 */
const ROLLUP_END_USERS = `WITH per_day AS (
    SELECT end_user_id AS u, created_at / 86400000 AS d, MAX(created_at) AS t, -SUM(amount_micros) AS c FROM ledger
    WHERE seq > ?1 AND seq <= ?2 AND kind IN ('usage', 'hold_settle') AND end_user_id IS NOT NULL
    GROUP BY end_user_id, created_at / 86400000
  ), latest AS (SELECT u, d, t, c, ROW_NUMBER() OVER (PARTITION BY u ORDER BY d DESC) AS r FROM per_day)
  INSERT INTO end_users (end_user_id, last_seen_at, spend_day, spend_day_micros)
  SELECT u, t, d, c FROM latest WHERE r = 1
  ON CONFLICT (end_user_id) DO UPDATE SET
    last_seen_at = MAX(last_seen_at, excluded.last_seen_at),
    spend_day_micros = CASE WHEN spend_day = excluded.spend_day THEN spend_day_micros + excluded.spend_day_micros
                            ELSE excluded.spend_day_micros END,
    spend_day = excluded.spend_day`;

/**
 * Which end users were active on which UTC day, for entries `(?1, ?2]` (a trigger counts each new pair in
 * `active_users_daily`, see schema.ts): the dashboard's active users per day, which `end_users` (the last
 * activity only) cannot give.
 */
const ROLLUP_ACTIVE_DAYS = `INSERT OR IGNORE INTO end_user_days (day, end_user_id)
  SELECT DISTINCT created_at / 86400000, end_user_id FROM ledger
  WHERE seq > ?1 AND seq <= ?2 AND kind IN ('usage', 'hold_settle') AND end_user_id IS NOT NULL`;

/** How long `daySpendAtMost` trusts its last exact read of the 24-hour spend. */
const DAY_SPEND_REREAD_MS = 60_000;

/**
 * The last exact read of the 24-hour spend (see `daySpendAtMost`), shared by every Rollups on the same
 * storage (the object's own, and one a test builds on the object's storage). A rolled-back rollup
 * leaves it too high, which is still a bound.
 */
const daySpends = new WeakMap<SqlStorage, { read: { micros: number; at: number } | null }>();

export class Rollups {
  readonly #daySpend: { read: { micros: number; at: number } | null };

  constructor(
    private readonly sql: SqlStorage,
    private readonly config: Config,
  ) {
    let daySpend = daySpends.get(sql);
    if (!daySpend) {
      daySpend = { read: null };
      daySpends.set(sql, daySpend);
    }
    this.#daySpend = daySpend;
  }

  /** Keeps `daySpendAtMost` an upper bound as spending happens (the rollups follow later, in a batch). */
  spent(costMicros: number): void {
    if (this.#daySpend.read) this.#daySpend.read.micros += costMicros;
  }

  /**
   * Brings the stats rollups up to the ledger: the answers and operations appended since the last catch-up,
   * summed per hour and operation and per end user, in two statements. A debit writes only its ledger entry;
   * the object's alarm (a second after a debit) and every reader of the rollups call this first, so what
   * they read is exact. Runs inside the caller's transaction, with the watermark moved in the same one.
   * The daily totals and the last-activity histograms follow by trigger (see schema.ts).
   */
  catchUpRollups(): void {
    const { done, last } = this.sql
      .exec<{ done: number; last: number }>(
        "SELECT (SELECT seq FROM cursors WHERE name = 'rollups') AS done, COALESCE((SELECT MAX(seq) FROM ledger), 0) AS last",
      )
      .one();
    if (last <= done) return;
    this.sql.exec(ROLLUP_USAGE, done, last);
    this.sql.exec(ROLLUP_END_USERS, done, last);
    this.sql.exec(ROLLUP_ACTIVE_DAYS, done, last);
    this.sql.exec("UPDATE cursors SET seq = ? WHERE name = 'rollups'", last);
  }

  /**
   * The last `days` UTC days (today included, oldest first, days without use as zeros) from the daily rollups:
   * at most `days` rows per operation plus `days` rows of active users, whatever the size of the ledger.
   */
  dailyUsage(now: number, days: number): DayUsage[] {
    this.catchUpRollups();
    const first = dayOf(now) - days + 1;
    const out = new Map<number, DayUsage>();
    for (let day = first; day < first + days; day++) {
      out.set(day, { day, costMicros: { response: 0, knowhow_update: 0, role_update: 0 }, answers: 0, activeUsers: 0 });
    }
    const spend = this.sql.exec<{ day: number; operation: string; cost_micros: number; count: number }>(
      "SELECT day, operation, cost_micros, count FROM usage_daily WHERE day >= ?",
      first,
    );
    for (const r of spend) {
      const row = out.get(r.day);
      if (!row || !isOperation(r.operation)) continue; // 'unanswered' counts messages, not spend.
      row.costMicros[r.operation] = r.cost_micros;
      if (r.operation === "response") row.answers = r.count;
    }
    for (const r of this.sql.exec<{ day: number; users: number }>(
      "SELECT day, users FROM active_users_daily WHERE day >= ?",
      first,
    )) {
      const row = out.get(r.day);
      if (row) row.activeUsers = r.users;
    }
    return [...out.values()];
  }

  /** Forgets which users were active on days older than the chart shows (their counts per day stay). */
  forgetOldActiveDays(now: number, days: number): void {
    this.sql.exec("DELETE FROM end_user_days WHERE day < ?", dayOf(now) - days);
  }

  /** A message an end user sent while the bot could not pay for an answer. */
  countUnanswered(now: number): void {
    this.sql.exec(
      `INSERT INTO usage_hourly (hour, operation, cost_micros, count) VALUES (?, 'unanswered', 0, 1)
       ON CONFLICT (hour, operation) DO UPDATE SET count = count + 1`,
      hourOf(now),
    );
  }

  /** What one end user spent today, for the per-user daily cap. */
  endUserSpentToday(endUserId: string, now: number): number {
    this.catchUpRollups();
    const row = this.sql
      .exec<{ spend_day: number; spend_day_micros: number }>(
        "SELECT spend_day, spend_day_micros FROM end_users WHERE end_user_id = ?",
        endUserId,
      )
      .toArray()[0];
    return row && row.spend_day === dayOf(now) ? row.spend_day_micros : 0;
  }

  /**
   * End users who reached the daily cap today: one more answer (its worst case) would take them past it, so
   * the bot declines them until tomorrow (the rule of the bot's answers). Only users seen today can have
   * spent today: an index range on `last_seen_at`.
   */
  endUsersAtCapToday(now: number, capMicros: number): number {
    this.catchUpRollups();
    const day = dayOf(now);
    return this.sql
      .exec<{ n: number }>(
        `SELECT COUNT(*) AS n FROM end_users
         WHERE last_seen_at >= ? AND spend_day = ? AND spend_day_micros + ? > ?`,
        day * DAY_MS,
        day,
        this.config.answerWorstCaseMicros,
        capMicros,
      )
      .one().n;
  }

  /**
   * Never less than the last 24 hours' spend: the exact sum read at most a minute ago plus everything
   * spent since (as the window slides it only drops old spend). A balance at or above it has a day of
   * runway, so the debit skips the exact query; below it, the caller asks `spendOverHours`.
   */
  daySpendAtMost(now: number): number {
    const read = this.#daySpend.read;
    if (!read || now - read.at > DAY_SPEND_REREAD_MS || now < read.at) {
      const micros = this.spendOverHours(now, 24);
      this.#daySpend.read = { micros, at: now };
      return micros;
    }
    return read.micros;
  }

  /** Spend (answers and background work, not unanswered counts) over the last `hours` clock hours. */
  spendOverHours(now: number, hours: number): number {
    this.catchUpRollups();
    return this.sql
      .exec<{ s: number }>(
        "SELECT COALESCE(SUM(cost_micros), 0) AS s FROM usage_hourly WHERE hour >= ? AND operation != 'unanswered'",
        hourOf(now) - hours + 1,
      )
      .one().s;
  }

  /**
   * `/stats` from the hourly rollups and the end-user index: cost independent of ledger size. `view` is
   * the balance the report starts from (the ledger's, after expired holds gave their reservations back).
   */
  stats(now: number, view: BalanceView): Omit<StatsSnapshot, "autoRecharge" | "lastRecharge"> {
    this.catchUpRollups();
    const hourNow = hourOf(now);
    const since = (hours: number) => hourNow - hours + 1;
    // Totals from `fromHour` on: the hours before the first whole day from the hourly rollup, the rest
    // from the daily one (at most 23 hourly rows and 31 daily rows per operation).
    const sums = (fromHour: number) => {
      const firstDay = Math.ceil(fromHour / 24);
      const rows = this.sql
        .exec<{ operation: string; cost: number; n: number }>(
          `SELECT operation, SUM(cost) AS cost, SUM(n) AS n FROM (
             SELECT operation, cost_micros AS cost, count AS n FROM usage_hourly WHERE hour >= ?1 AND hour < ?2
             UNION ALL
             SELECT operation, cost_micros AS cost, count AS n FROM usage_daily WHERE day >= ?3
           ) GROUP BY operation`,
          fromHour,
          firstDay * 24,
          firstDay,
        )
        .toArray();
      return new Map(rows.map((r) => [r.operation, r]));
    };
    const spendOf = (m: Map<string, { operation: string; cost: number; n: number }>) =>
      [...m.values()].filter((r) => r.operation !== "unanswered").reduce((s, r) => s + r.cost, 0);
    const startOfDayHour = Math.floor(dayOf(now) * (DAY_MS / HOUR_MS));
    const today = sums(startOfDayHour);
    const h24 = sums(since(24));
    const d7 = sums(since(24 * 7));
    const d30 = sums(since(24 * 30));
    // End users last seen after `now - ms`: the rows of the edge hour itself from the index, the rest
    // of the edge day from the hourly histogram, later days from the daily one: bounded by the users
    // of one hour, not by all of them.
    const activeSince = (ms: number) => {
      const edge = now - ms;
      const edgeHour = hourOf(edge);
      const edgeDay = dayOf(edge);
      return this.sql
        .exec<{ n: number }>(
          `SELECT (SELECT COUNT(*) FROM end_users WHERE last_seen_at > ?1 AND last_seen_at < ?2)
                + (SELECT COALESCE(SUM(users), 0) FROM end_users_seen_hourly WHERE hour > ?3 AND hour < ?4)
                + (SELECT COALESCE(SUM(users), 0) FROM end_users_seen_daily WHERE day > ?5) AS n`,
          edge,
          (edgeHour + 1) * HOUR_MS,
          edgeHour,
          (edgeDay + 1) * 24,
          edgeDay,
        )
        .one().n;
    };
    const answers30 = d30.get("response");
    const costByOperation30d = (["response", "knowhow_update", "role_update"] as const).map((operation) => ({
      operation,
      costMicros: d30.get(operation)?.cost ?? 0,
      count: d30.get(operation)?.n ?? 0,
    }));
    const spend7 = spendOf(d7);
    return {
      now,
      balanceMicros: view.balanceMicros,
      availableMicros: view.availableMicros,
      spend: { todayMicros: spendOf(today), d7Micros: spend7, d30Micros: spendOf(d30) },
      answers: { h24: h24.get("response")?.n ?? 0, d7: d7.get("response")?.n ?? 0, d30: answers30?.n ?? 0 },
      activeUsers: { h24: activeSince(DAY_MS), d7: activeSince(7 * DAY_MS), d30: activeSince(30 * DAY_MS) },
      costByOperation30d,
      avgCostPerAnswerMicros: answers30 && answers30.n > 0 ? Math.round(answers30.cost / answers30.n) : null,
      unansweredWhileOut30d: d30.get("unanswered")?.n ?? 0,
      runwayHours: runwayHours(view.balanceMicros, spend7, 7 * 24),
      // Never above what `/setupCredits` accepts as a threshold, so the suggested command is always accepted.
      recommendedRechargeAtMicros: Math.min(
        recommendedRechargeAt(spend7, 7, this.config.minRechargeAtMicros),
        Math.max(this.config.minRechargeAtMicros, this.config.maxTopUpMicros),
      ),
    };
  }
}
