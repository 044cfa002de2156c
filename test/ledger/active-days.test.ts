import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/env";
import { Ledger } from "../../src/ledger/ledger";
import { ACCOUNT_MIGRATIONS } from "../../src/ledger/schema";
import { newAccount } from "../helpers";

const DAY = 86_400_000;

/**
 * Active users per day (the dashboard's chart): the schema step that added `end_user_days` and `active_users_daily`
 * derives them for an existing object from the entries already summed into the rollups (the last 31 days), and the
 * rollups' catch-up adds the rest; forgetting old pairs keeps the counts.
 */
describe("active users per day", () => {
  it("are derived for an existing object by its schema step, then kept by the rollups", async () => {
    const { s } = await newAccount(100, "days");
    const today = Math.floor(Date.now() / DAY);
    const result = await runInDurableObject(s, (_i, state) => {
      const sql = state.storage.sql;
      const ledger = new Ledger(sql, loadConfig(env));
      const debit = (key: string, day: number, user: string | null) => {
        const input = {
          idempotencyKey: key,
          operation: "response" as const,
          costMicros: 1000,
          fingerprint: key,
          endUserId: user,
        };
        const { outcome } = ledger.debit(input, Math.min(day * DAY + 3_600_000, Date.now() - 1), ledger.account());
        if (!outcome.ok) throw new Error(outcome.reason);
      };
      return state.storage.transactionSync(() => {
        // As before the step: its tables absent, the rollups caught up to these entries.
        sql.exec("DROP TRIGGER end_user_days_insert; DROP TABLE end_user_days; DROP TABLE active_users_daily");
        debit("old", today - 40, "u1"); // older than 31 days: not derived
        debit("a", today - 2, "u1");
        debit("b", today - 2, "u1"); // the same user the same day counts once
        debit("c", today - 2, "u2");
        debit("d", today - 1, "u1");
        debit("e", today - 1, null); // no end user: nobody is active
        sql.exec("UPDATE cursors SET seq = (SELECT MAX(seq) FROM ledger) WHERE name = 'rollups'");
        debit("later", today, "u3"); // after the watermark: the rollups' catch-up adds it
        // The step that made these tables, found by what it creates (not by its position: steps are appended).
        const step = ACCOUNT_MIGRATIONS.find((m) => m.includes("CREATE TABLE IF NOT EXISTS active_users_daily"));
        if (!step) throw new Error("no schema step creates active_users_daily");
        sql.exec(step);
        const derived = sql.exec("SELECT day, users FROM active_users_daily ORDER BY day").toArray();
        const days = () => ledger.rollups.dailyUsage(Date.now(), 3).map((d) => [d.day, d.activeUsers, d.answers]);
        const afterCatchUp = days();
        ledger.rollups.forgetOldActiveDays(Date.now(), 1);
        const pairsLeft = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM end_user_days").one().n;
        return { derived, afterCatchUp, pairsLeft, afterForget: days() };
      });
    });
    expect(result.derived).toEqual([
      { day: today - 2, users: 2 },
      { day: today - 1, users: 1 },
    ]);
    // Answers come from usage_daily, which this test left as it was (the step does not touch it): only `later`.
    expect(result.afterCatchUp).toEqual([
      [today - 2, 2, 0],
      [today - 1, 1, 0],
      [today, 1, 1],
    ]);
    expect(result.pairsLeft).toBe(2); // u1 yesterday, u3 today
    expect(result.afterForget).toEqual(result.afterCatchUp);
  });
});
