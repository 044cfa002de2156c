import { Hono } from "hono";
import { z } from "zod";
import { timingSafeEqualStrings } from "../../src/crypto";
import {
  type BenchCreditAccount,
  LEDGER_ROW_COLUMNS,
  type LedgerAudit,
  type LedgerRow,
  type SeedInput,
} from "./account";
import { cronApi } from "./cron";

/** Routes only the benchmark uses; every one needs the admin token. */
export const benchApi = new Hono<{ Bindings: Env }>().basePath("/__bench");

const PAGE = 5_000;

function stub(env: Env, id: string): DurableObjectStub<BenchCreditAccount> {
  const namespace = env.CREDIT_ACCOUNT as unknown as DurableObjectNamespace<BenchCreditAccount>;
  return namespace.get(namespace.idFromName(id));
}

benchApi.use("*", async (c, next) => {
  const token = /^Bearer (.+)$/.exec(c.req.header("authorization") ?? "")?.[1] ?? "";
  if (!c.env.ADMIN_TOKEN || !(await timingSafeEqualStrings(token, c.env.ADMIN_TOKEN))) {
    return c.json({ error: { code: "unauthorized", message: "The admin token is not valid." } }, 401);
  }
  await next();
});

benchApi.route("/cron", cronApi);

benchApi.post("/instances/:id/history", async (c) => {
  const { enabled } = z.strictObject({ enabled: z.boolean() }).parse(await c.req.json());
  return c.json(await stub(c.env, c.req.param("id")).benchSetHistory(enabled));
});

benchApi.post("/instances/:id/model-inside", async (c) => {
  const { enabled } = z.strictObject({ enabled: z.boolean() }).parse(await c.req.json());
  await stub(c.env, c.req.param("id")).benchSetModelInside(enabled);
  return c.json({ enabled });
});

benchApi.get("/instances/:id/counters", async (c) => c.json(await stub(c.env, c.req.param("id")).benchCounters()));

benchApi.get("/instances/:id/alarm-spans", async (c) =>
  c.json(await stub(c.env, c.req.param("id")).benchAlarmSpans(Number(c.req.query("since") ?? "0"))),
);

const SeedBody = z.strictObject({
  from: z.number().int().positive(),
  to: z.number().int().positive(),
  users: z.number().int().positive(),
  startMs: z.number().int().nonnegative(),
  stepMs: z.number().int().nonnegative(),
});

benchApi.post("/instances/:id/seed", async (c) => {
  const input: SeedInput = SeedBody.parse(await c.req.json());
  if (input.to < input.from || input.to - input.from >= 1_000_000) return c.json({ error: "bad range" }, 400);
  return c.json(await stub(c.env, c.req.param("id")).benchSeed(input));
});

/** The RPC behind `/stats`, exactly as the bot calls it. */
benchApi.get("/instances/:id/stats", async (c) => c.json(await stub(c.env, c.req.param("id")).stats()));

interface HistoryComparison {
  d1Entries: number;
  compared: number;
  mismatches: { seq: number; field: string; object: unknown; d1: unknown }[];
  projection: { balanceMicros: number; projectedSeq: number } | null;
}

const FIELDS = LEDGER_ROW_COLUMNS.split(", ");

/**
 * The ledger's invariants, and with `?d1=1` the D1 history compared with the object's ledger
 * row by row and field by field (plus the row count and the projection).
 */
benchApi.get("/instances/:id/audit", async (c) => {
  const id = c.req.param("id");
  const account = stub(c.env, id);
  const audit: LedgerAudit = { ...(await account.benchAudit()) };
  if (c.req.query("d1") !== "1") return c.json({ audit, history: null });
  const history: HistoryComparison = { d1Entries: 0, compared: 0, mismatches: [], projection: null };
  history.d1Entries =
    (await c.env.DB.prepare("SELECT COUNT(*) AS n FROM ledger_entries WHERE instance_id = ?")
      .bind(id)
      .first<number>("n")) ?? 0;
  const projection = await c.env.DB.prepare("SELECT balance_micros, projected_seq FROM instances WHERE id = ?")
    .bind(id)
    .first<{ balance_micros: number; projected_seq: number }>();
  history.projection = projection
    ? { balanceMicros: projection.balance_micros, projectedSeq: projection.projected_seq }
    : null;
  let after = 0;
  for (;;) {
    // RPC types widen tuples to arrays; the rows are LedgerRow by construction.
    const ours = (await account.benchLedgerRows(after, PAGE)) as unknown as LedgerRow[];
    if (ours.length === 0) break;
    const last = ours.at(-1)?.[0] ?? after;
    const theirs = await c.env.DB.prepare(
      `SELECT ${LEDGER_ROW_COLUMNS} FROM ledger_entries WHERE instance_id = ? AND seq > ? AND seq <= ? ORDER BY seq`,
    )
      .bind(id, after, last)
      .raw<LedgerRow>();
    const bySeq = new Map(theirs.map((row) => [row[0], row]));
    for (const row of ours) {
      const copy = bySeq.get(row[0]);
      history.compared += 1;
      if (history.mismatches.length >= 10) continue;
      if (!copy) {
        history.mismatches.push({ seq: row[0], field: "(missing in D1)", object: row, d1: null });
        continue;
      }
      row.forEach((value, i) => {
        if ((value ?? null) !== (copy[i] ?? null) && history.mismatches.length < 10) {
          history.mismatches.push({ seq: row[0], field: FIELDS[i] ?? String(i), object: value, d1: copy[i] });
        }
      });
    }
    after = last;
  }
  return c.json({ audit, history });
});
