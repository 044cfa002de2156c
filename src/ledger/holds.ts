import type { Config } from "../env";
import type { AccountRowStore } from "./account-row";
import { remember, replay } from "./idempotency";
import type { Rollups } from "./rollups";
import { canSpend, settleAmounts } from "./rules";
import type { HoldInput, HoldResult, Operation, Outcome, ReleaseResult, SettleInput, SettleResult } from "./types";

/**
 * Holds: the worst-case cost of an operation whose real cost is known only afterwards, reserved
 * (`held_micros` on the account row is the sum of the open ones), then settled, released or expired.
 * Only a settle moves money, through a ledger entry. Used through the Ledger, inside the object's
 * `transactionSync`.
 */

interface HoldRow extends Record<string, SqlStorageValue> {
  id: string;
  idempotency_key: string;
  operation: string;
  max_cost_micros: number;
  end_user_id: string | null;
  status: "open" | "settled" | "released" | "expired";
  expires_at: number;
  settled_fingerprint: string | null;
  settled_result: string | null;
}

/** The ledger's `append` for a settle entry; returns the balance after it. */
type AppendSettle = (
  now: number,
  entry: {
    kind: "hold_settle";
    amountMicros: number;
    operation: Operation;
    idempotencyKey: string;
    endUserId: string | null;
    reference: string;
  },
) => { balanceAfter: number };

export class Holds {
  constructor(
    private readonly sql: SqlStorage,
    private readonly config: Config,
    private readonly row: AccountRowStore,
    private readonly rollups: Rollups,
    private readonly append: AppendSettle,
  ) {}

  hold(input: HoldInput, now: number): Outcome<HoldResult> {
    const key = `hold:${input.idempotencyKey}`;
    const prior = replay<HoldResult>(this.sql, key, input.fingerprint);
    if (prior) return prior;
    // The key made a hold whose record was purged (kept 30 days): the hold itself is long settled or gone.
    if (this.sql.exec("SELECT 1 FROM holds WHERE idempotency_key = ?", input.idempotencyKey).toArray().length) {
      return {
        ok: false,
        reason: "idempotency_key_reused",
        message: "This idempotencyKey already made a hold more than 30 days ago; use a new key for a new hold.",
      };
    }
    this.expire(now);
    const decision = canSpend(
      this.#available(),
      input.maxCostMicros,
      input.operation,
      this.config.backgroundFloorMicros,
    );
    if (!decision.ok) return decision;
    const holdId = `hold_${crypto.randomUUID().replaceAll("-", "")}`;
    const expiresAt = now + input.ttlMs;
    this.sql.exec(
      `INSERT INTO holds (id, idempotency_key, operation, max_cost_micros, end_user_id, status, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, 'open', ?, ?)`,
      holdId,
      input.idempotencyKey,
      input.operation,
      input.maxCostMicros,
      input.endUserId ?? null,
      now,
      expiresAt,
    );
    this.row.addHeld(input.maxCostMicros);
    const held: HoldResult = { holdId, expiresAt, replayed: false };
    remember(this.sql, key, input.fingerprint, held, now);
    return { ok: true, ...held };
  }

  settle(input: SettleInput, now: number): Outcome<SettleResult> {
    this.expire(now);
    const hold = this.#find(input.holdId);
    if (!hold) return { ok: false, reason: "hold_not_found" };
    if (hold.status === "settled") {
      if (hold.settled_fingerprint === input.fingerprint && hold.settled_result) {
        return { ok: true, ...(JSON.parse(hold.settled_result) as SettleResult), replayed: true };
      }
      return { ok: false, reason: "hold_not_open", message: "This hold was already settled with other values." };
    }
    if (hold.status === "expired") return { ok: false, reason: "hold_expired" };
    if (hold.status === "released") return { ok: false, reason: "hold_not_open", message: "This hold was released." };
    const { charged, released } = settleAmounts(hold.max_cost_micros, input.costMicros);
    this.row.freeHeld(hold.max_cost_micros);
    let balance = this.row.read()?.balance_micros ?? 0;
    if (charged > 0) {
      const operation = hold.operation as Operation;
      balance = this.append(now, {
        kind: "hold_settle",
        amountMicros: -charged,
        operation,
        idempotencyKey: hold.idempotency_key,
        endUserId: hold.end_user_id,
        reference: hold.id,
      }).balanceAfter;
      this.rollups.spent(charged);
    }
    const settled: SettleResult = {
      chargedMicros: charged,
      releasedMicros: released,
      balanceMicros: balance,
      replayed: false,
    };
    this.sql.exec(
      "UPDATE holds SET status = 'settled', settled_fingerprint = ?, settled_result = ? WHERE id = ?",
      input.fingerprint,
      JSON.stringify(settled),
      hold.id,
    );
    return { ok: true, ...settled };
  }

  release(holdId: string, now: number): Outcome<ReleaseResult> {
    this.expire(now);
    const hold = this.#find(holdId);
    if (!hold) return { ok: false, reason: "hold_not_found" };
    if (hold.status === "settled")
      return { ok: false, reason: "hold_not_open", message: "This hold was already settled." };
    let releasedMicros = 0;
    if (hold.status === "open") {
      this.sql.exec("UPDATE holds SET status = 'released' WHERE id = ?", holdId);
      this.row.freeHeld(hold.max_cost_micros);
      releasedMicros = hold.max_cost_micros;
    }
    return {
      ok: true,
      releasedMicros,
      balanceMicros: this.row.read()?.balance_micros ?? 0,
      availableMicros: this.#available(),
    };
  }

  /** Expired holds give their reservation back; returns how much was freed. */
  expire(now: number): number {
    const freed = this.sql
      .exec<{ max_cost_micros: number }>(
        "UPDATE holds SET status = 'expired' WHERE status = 'open' AND expires_at <= ? RETURNING max_cost_micros",
        now,
      )
      .toArray();
    if (freed.length === 0) return 0;
    const total = freed.reduce((sum, row) => sum + row.max_cost_micros, 0);
    this.row.freeHeld(total);
    return total;
  }

  /**
   * An open hold lives on until `until` at least: the bot's answer whose hold was taken when its question
   * arrived keeps it while it waits for the object's own run (docs/telegram.md, "The model's wait").
   */
  extend(holdId: string, until: number): void {
    this.sql.exec("UPDATE holds SET expires_at = MAX(expires_at, ?) WHERE id = ? AND status = 'open'", until, holdId);
  }

  /** What the open holds of one end user reserve, but the one under `exceptKey` (their answers in flight). */
  heldFor(endUserId: string, exceptKey: string): number {
    return this.sql
      .exec<{ micros: number }>(
        `SELECT COALESCE(SUM(max_cost_micros), 0) AS micros FROM holds
         WHERE status = 'open' AND end_user_id = ? AND idempotency_key != ?`,
        endUserId,
        exceptKey,
      )
      .one().micros;
  }

  /** Releases the hold of this idempotency key if it is open (a job that gave up before settling it). */
  releaseByKey(idempotencyKey: string, now: number): void {
    const id = this.sql
      .exec<{ id: string }>("SELECT id FROM holds WHERE idempotency_key = ? AND status = 'open'", idempotencyKey)
      .toArray()[0]?.id;
    if (id) this.release(id, now);
  }

  /** Whether the hold of this idempotency key is open. */
  isOpen(idempotencyKey: string): boolean {
    return (
      this.sql.exec("SELECT 1 FROM holds WHERE idempotency_key = ? AND status = 'open'", idempotencyKey).toArray()
        .length > 0
    );
  }

  nextExpiry(): number | null {
    return this.sql.exec<{ t: number | null }>("SELECT MIN(expires_at) AS t FROM holds WHERE status = 'open'").one().t;
  }

  /** The balance less what open holds reserve, as the ledger's `view` reports it. */
  #available(): number {
    const account = this.row.read();
    return (account?.balance_micros ?? 0) - (account?.held_micros ?? 0);
  }

  #find(id: string): HoldRow | null {
    return (
      this.sql
        .exec<HoldRow>(
          `SELECT id, idempotency_key, operation, max_cost_micros, end_user_id, status, expires_at, settled_fingerprint, settled_result
           FROM holds WHERE id = ?`,
          id,
        )
        .toArray()[0] ?? null
    );
  }
}
