import { account } from "../api/shared";
import { PAYABLE_AFTER_FAILURE_MS } from "../billing/recharges";
import { describeError, log } from "../log";

/** Instances read from D1 per page, and object visits in flight at once. */
const PAGE_SIZE = 500;
const CONCURRENCY = 25;
/** Tries per object when the Durable Object runtime reports a retryable error. */
const VISIT_ATTEMPTS = 3;
/** A recharge untouched this long is checked with Stripe. */
const STALE_RECHARGE_MS = 5 * 60_000;

async function pages(db: D1Database, sql: string, extra: unknown[], report: HourlyReport): Promise<string[]> {
  const ids: string[] = [];
  let after = "";
  for (;;) {
    report.subrequests += 1;
    const { results } = await db
      .prepare(sql)
      .bind(after, ...extra, PAGE_SIZE)
      .all<{ id: string }>();
    for (const row of results) ids.push(row.id);
    if (results.length < PAGE_SIZE) return ids;
    after = results.at(-1)?.id ?? after;
  }
}

async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(runners);
}

export interface HourlyReport {
  visited: number;
  alerted: number;
  failed: number;
  /**
   * D1 queries and Durable Object calls this invocation made: what Workers counts against its
   * subrequest limit (10,000 by default on Workers Paid). The objects' own Telegram and Stripe calls
   * are theirs, not the cron's.
   */
  subrequests: number;
}

/**
 * The hourly run: every instance that is out of credits (D1 projection, indexed, paginated) and
 * every instance with a recharge still waiting on Stripe is visited; its CreditAccount decides
 * whether to alert (at most once per hour) and reconciles. One failing owner never stops the rest.
 */
export async function runHourly(env: Env, scheduledTime: number): Promise<HourlyReport> {
  const report: HourlyReport = { visited: 0, alerted: 0, failed: 0, subrequests: 0 };
  const out = await pages(
    env.DB,
    "SELECT id FROM instances WHERE out_of_credits = 1 AND id > ? ORDER BY id LIMIT ?",
    [],
    report,
  );
  // Waiting on Stripe: pending and open recharges, and failed ones whose invoice the owner may still pay
  // (the object asks Stripe only about those that failed at the pay step).
  const waiting = await pages(
    env.DB,
    `SELECT DISTINCT instance_id AS id FROM recharges
     WHERE instance_id > ? AND updated_at < ?
       AND (status IN ('pending', 'open') OR (status = 'failed' AND invoice_id IS NOT NULL AND updated_at > ?
            AND failure_code NOT IN ('currency_mismatch', 'amount_mismatch')))
     ORDER BY instance_id LIMIT ?`,
    [scheduledTime - STALE_RECHARGE_MS, scheduledTime - PAYABLE_AFTER_FAILURE_MS],
    report,
  );
  const ids = [...new Set([...out, ...waiting])];
  await pool(ids, CONCURRENCY, async (id) => {
    for (let attempt = 1; ; attempt++) {
      report.subrequests += 1;
      try {
        // A fresh stub per attempt: a stub whose object was reset stays broken.
        const result = await account(env, id).hourly(scheduledTime);
        report.visited += 1;
        if (result.ok && result.alerted) report.alerted += 1;
        if (!result.ok && result.reason !== "not_found") report.failed += 1;
        return;
      } catch (error) {
        // Transient Durable Object errors (reset, overloaded, connection lost) say `retryable`; the
        // visit is safe to repeat because the object decides and claims the hour itself.
        const retryable = (error as { retryable?: boolean } | null)?.retryable === true;
        if (retryable && attempt < VISIT_ATTEMPTS) continue;
        report.failed += 1;
        log("warn", "hourly_visit_failed", { instanceId: id, attempt, error: describeError(error) });
        return;
      }
    }
  });
  log("info", "hourly_run", { ...report, scheduledTime });
  return report;
}
