import { Hono } from "hono";
import { z } from "zod";
import { runHourly } from "../../src/cron/hourly";

/**
 * The hourly run at scale (docs/benchmarks.md, item 4), behind the bench routes' admin token:
 * - `POST /d1/instances` seeds D1 projection rows directly (no objects behind them), every `outEvery`-th out of credits;
 * - `POST /hourly` runs the product's `runHourly` as the cron trigger does (real objects);
 * - `POST /hourly-dry` runs the same `runHourly` over the same D1 with each object visit answered at once by a
 *   stand-in namespace: the D1 paging, the fan-out and the subrequest count of one invocation, without the objects.
 */
export const cronApi = new Hono<{ Bindings: Env }>();

const SEED_INSTANCES = `INSERT INTO instances (id, owner_telegram_id, license, bot_token_sealed, webhook_secret_hash,
    api_key_hash, created_at, balance_micros, out_of_credits)
  WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
  SELECT printf('seed-%07d', i), 1000 + i, 'starter', 'sealed', 'hash', 'hash', 0,
         CASE WHEN i % ?3 = 0 THEN 0 ELSE 5000000 END, CASE WHEN i % ?3 = 0 THEN 1 ELSE 0 END
  FROM n`;

const SeedBody = z.strictObject({
  from: z.number().int().positive(),
  to: z.number().int().positive(),
  outEvery: z.number().int().positive(),
});

cronApi.post("/d1/instances", async (c) => {
  const { from, to, outEvery } = SeedBody.parse(await c.req.json());
  const result = await c.env.DB.prepare(SEED_INSTANCES).bind(from, to, outEvery).run();
  return c.json({ rowsWritten: result.meta.rows_written });
});

cronApi.get("/d1/instances", async (c) => {
  const row = await c.env.DB.prepare(
    "SELECT COUNT(*) AS n, COALESCE(SUM(out_of_credits), 0) AS out FROM instances",
  ).first<{ n: number; out: number }>();
  return c.json({ rows: row?.n ?? 0, out: row?.out ?? 0 });
});

cronApi.post("/hourly", async (c) => {
  const started = Date.now();
  const report = await runHourly(c.env, started);
  return c.json({ report, ms: Date.now() - started });
});

cronApi.post("/hourly-dry", async (c) => {
  let visits = 0;
  const namespace = {
    idFromName: (name: string) => name,
    get: () => ({
      hourly: async () => {
        visits += 1;
        return { ok: true, alerted: true, reconciled: 0 };
      },
    }),
  };
  const env = { ...c.env, CREDIT_ACCOUNT: namespace as unknown as Env["CREDIT_ACCOUNT"] };
  const started = Date.now();
  const report = await runHourly(env, started);
  // Date.now() moves only across I/O in workerd: this is the D1 paging's time (the stand-in visits do no I/O).
  return c.json({ report, visits, d1Ms: Date.now() - started });
});
