import { abortAllDurableObjects, env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { copyToHistory } from "../../src/ledger/outbox";
import { provision, stub, USD } from "../helpers";

const internal = { kind: "internal" } as const;

async function historyOf(instanceId: string) {
  return (await env.DB.prepare(
    "SELECT COUNT(*) AS n, COUNT(DISTINCT seq) AS distinct_seq, COALESCE(SUM(amount_micros), 0) AS total FROM ledger_entries WHERE instance_id = ?",
  )
    .bind(instanceId)
    .first()) as { n: number; distinct_seq: number; total: number };
}

async function ledgerOf(id: string) {
  return runInDurableObject(stub(id), (_i, state) =>
    state.storage.sql
      .exec<{ n: number; total: number; pending: number }>(
        "SELECT COUNT(*) AS n, SUM(amount_micros) AS total, (SELECT COUNT(*) FROM ledger WHERE seq > (SELECT seq FROM cursors WHERE name = 'history')) AS pending FROM ledger",
      )
      .one(),
  );
}

async function debit(id: string, count: number, from = 0) {
  const s = stub(id);
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      s.charge(internal, {
        idempotencyKey: `d${from + i}`,
        operation: "response",
        costMicros: 1000 + i,
        fingerprint: `${i}`,
      }),
    ),
  );
}

describe("outbox to D1", () => {
  it("copies the ledger to D1 in batches and updates the projection", async () => {
    const inst = await provision();
    await debit(inst.id, 450);
    await runDurableObjectAlarm(stub(inst.id));
    const ledger = await ledgerOf(inst.id);
    expect(ledger.pending).toBe(0);
    expect(await historyOf(inst.id)).toEqual({ n: 451, distinct_seq: 451, total: ledger.total });
    const row = (await env.DB.prepare(
      "SELECT balance_micros, out_of_credits, projected_seq FROM instances WHERE id = ?",
    )
      .bind(inst.id)
      .first()) as { balance_micros: number; out_of_credits: number; projected_seq: number };
    expect(row).toEqual({ balance_micros: ledger.total, out_of_credits: 0, projected_seq: 451 });
  });

  it("survives a failing D1 and an eviction mid-flush: D1 ends equal to the ledger, no duplicates", async () => {
    const inst = await provision();
    const s = stub(inst.id);
    await debit(inst.id, 120);

    // 1. D1 fails: the flush must not move the history cursor.
    await env.DB.exec("ALTER TABLE ledger_entries RENAME TO ledger_entries_offline");
    try {
      await runDurableObjectAlarm(s);
      expect((await ledgerOf(inst.id)).pending).toBe(121);
    } finally {
      await env.DB.exec("ALTER TABLE ledger_entries_offline RENAME TO ledger_entries");
    }
    expect((await historyOf(inst.id)).n).toBe(0);

    // 2. D1 confirms a batch, then the object is evicted before it moves its history cursor.
    await runInDurableObject(s, async (_i, state) => {
      const copied = await copyToHistory(state.storage.sql, env.DB, inst.id, {
        balanceMicros: 0,
        outOfCredits: false,
        seq: 0,
        registry: {
          ownerTelegramId: inst.ownerTelegramId,
          license: "starter",
          botTokenSealed: "sealed",
          webhookSecretHash: "hash",
          apiKeyHash: "hash",
          createdAt: 0,
        },
      });
      expect(copied.copied).toBe(121);
    });
    await abortAllDurableObjects();
    expect((await ledgerOf(inst.id)).pending).toBe(121);

    // 3. More debits arrive, and an eviction hits while a flush is in flight.
    await debit(inst.id, 30, 1000);
    const inFlight = runDurableObjectAlarm(stub(inst.id)).catch(() => "aborted");
    await abortAllDurableObjects();
    await inFlight;

    // 4. The next alarm (on a fresh object) finishes the job exactly once.
    await runDurableObjectAlarm(stub(inst.id));
    await runDurableObjectAlarm(stub(inst.id));
    const ledger = await ledgerOf(inst.id);
    const history = await historyOf(inst.id);
    expect(ledger.pending).toBe(0);
    expect(history).toEqual({ n: ledger.n, distinct_seq: ledger.n, total: ledger.total });
    expect(ledger.n).toBe(151);
    expect(ledger.total).toBe(50 * USD - (120 * 1000 + (119 * 120) / 2) - (30 * 1000 + (29 * 30) / 2));
  });
});
