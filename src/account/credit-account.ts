import { DurableObject } from "cloudflare:workers";
import { type Config, loadConfig } from "../env";
import { describeError, log } from "../log";
import { flushOutbox, logFlushFailure } from "./outbox";
import { backoffMs, canSpend, dayOf, isOutOfCredits, settleAmounts } from "./rules";
import { ACCOUNT_MIGRATIONS } from "./schema";
import type {
  AccountStatus,
  AdjustInput,
  AdjustResult,
  BalanceView,
  Caller,
  ChargeInput,
  ChargeResult,
  HoldInput,
  HoldResult,
  LedgerEntry,
  LedgerKind,
  LedgerPage,
  Operation,
  Outcome,
  ProvisionInput,
  ReleaseResult,
  SettleInput,
  SettleResult,
} from "./types";

/** History is copied to D1 this long after the first unflushed write, so debits batch up. */
const FLUSH_DELAY_MS = 1_000;
/** Idempotency records are kept this long; Stripe keeps its keys 24 h, we keep ours longer. */
const IDEMPOTENCY_RETENTION_MS = 30 * 86_400_000;

interface AccountRow extends Record<string, SqlStorageValue> {
  instance_id: string;
  owner_telegram_id: number;
  license: string;
  api_key_hash: string;
  system_prompt: string | null;
  created_at: number;
  balance_micros: number;
  held_micros: number;
}

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

interface NewEntry {
  kind: LedgerKind;
  amountMicros: number;
  operation?: Operation | null;
  idempotencyKey?: string | null;
  endUserId?: string | null;
  reference?: string | null;
  memo?: string | null;
}

type Authorized = { ok: true; account: AccountRow } | { ok: false; reason: "not_found" | "unauthorized" };

const encoder = new TextEncoder();

/** Constant-time comparison of two hex digests (sync, so it fits inside a transaction). */
function sameDigest(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  if (x.byteLength !== y.byteLength) return false;
  return crypto.subtle.timingSafeEqual(x, y);
}

/**
 * One instance's credits. Every balance change runs inside one `transactionSync` (balance,
 * ledger entry with balance_after, idempotency record, outbox row, rollups) with no `await`,
 * so concurrent requests are serialized by the object and each change commits atomically
 * before the reply. Only the methods below without `#` are the RPC contract.
 */
export class CreditAccount extends DurableObject<Env> {
  readonly #sql: SqlStorage;
  readonly #config: Config;
  /** Cached alarm time so the debit path never awaits `getAlarm()`. */
  #alarmAt: number | null = null;
  #flushFailures = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#config = loadConfig(env);
    void ctx.blockConcurrencyWhile(async () => {
      for (const step of ACCOUNT_MIGRATIONS) this.#sql.exec(step);
      this.#alarmAt = await ctx.storage.getAlarm();
    });
  }

  // ---------------------------------------------------------------- RPC contract

  /** Creates the account with its license bonus. Refuses if the instance already exists. */
  provision(input: ProvisionInput): Outcome<{ balanceMicros: number }> {
    const now = Date.now();
    const result = this.ctx.storage.transactionSync((): Outcome<{ balanceMicros: number }> => {
      if (this.#account()) return { ok: false, reason: "already_provisioned" };
      this.#sql.exec(
        `INSERT INTO account (id, instance_id, owner_telegram_id, license, api_key_hash, webhook_secret_hash,
           bot_token_sealed, system_prompt, created_at, balance_micros, held_micros)
         VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0)`,
        input.instanceId,
        input.ownerTelegramId,
        input.license,
        input.apiKeyHash,
        input.webhookSecretHash,
        input.botTokenSealed,
        input.systemPrompt,
        now,
      );
      let balance = 0;
      if (input.bonusMicros > 0) {
        balance = this.#append(now, {
          kind: "grant",
          amountMicros: input.bonusMicros,
          idempotencyKey: "license-bonus",
          memo: `license bonus (${input.license})`,
        }).balanceAfter;
      }
      return { ok: true, balanceMicros: balance };
    });
    if (result.ok) {
      this.#scheduleFlush(now);
      log("info", "instance_provisioned", { instanceId: input.instanceId, license: input.license });
    }
    return result;
  }

  /** Balance, available balance (balance minus open holds) and out-of-credits state. */
  balance(caller: Caller): Outcome<BalanceView> {
    const now = Date.now();
    return this.ctx.storage.transactionSync((): Outcome<BalanceView> => {
      const auth = this.#authorize(caller);
      if (!auth.ok) return auth;
      this.#expireHolds(now);
      return { ok: true, ...this.#view() };
    });
  }

  /** Everything the operator sees about the account. */
  status(): Outcome<AccountStatus> {
    const now = Date.now();
    return this.ctx.storage.transactionSync((): Outcome<AccountStatus> => {
      const account = this.#account();
      if (!account) return { ok: false, reason: "not_found" };
      this.#expireHolds(now);
      const lastSeq = this.#sql.exec<{ s: number | null }>("SELECT MAX(seq) AS s FROM ledger").one().s ?? 0;
      const pendingOutbox = this.#sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbox").one().n;
      return {
        ok: true,
        instanceId: account.instance_id,
        ownerTelegramId: account.owner_telegram_id,
        license: account.license,
        systemPrompt: account.system_prompt,
        createdAt: account.created_at,
        lastSeq,
        pendingOutbox,
        ...this.#view(),
      };
    });
  }

  /** Debits a known cost once per idempotency key. */
  charge(caller: Caller, input: ChargeInput): Outcome<ChargeResult> {
    const now = Date.now();
    const result = this.ctx.storage.transactionSync((): Outcome<ChargeResult> => {
      const auth = this.#authorize(caller);
      if (!auth.ok) return auth;
      const key = `usage:${input.idempotencyKey}`;
      const prior = this.#replay<ChargeResult>(key, input.fingerprint);
      if (prior) return prior;
      this.#expireHolds(now);
      const view = this.#view();
      const decision = canSpend(
        view.availableMicros,
        input.costMicros,
        input.operation,
        this.#config.backgroundFloorMicros,
      );
      if (!decision.ok) return decision;
      const { seq, balanceAfter } = this.#append(now, {
        kind: "usage",
        amountMicros: -input.costMicros,
        operation: input.operation,
        idempotencyKey: input.idempotencyKey,
        endUserId: input.endUserId ?? null,
      });
      this.#rollup(now, input.operation, input.costMicros, input.endUserId ?? null);
      const charged: ChargeResult = {
        chargedMicros: input.costMicros,
        balanceMicros: balanceAfter,
        seq,
        replayed: false,
      };
      this.#remember(key, input.fingerprint, charged, now);
      return { ok: true, ...charged };
    });
    if (result.ok && !result.replayed) this.#scheduleFlush(now);
    return result;
  }

  /** Reserves the worst-case cost of an operation whose real cost is known only afterwards. */
  hold(caller: Caller, input: HoldInput): Outcome<HoldResult> {
    const now = Date.now();
    const result = this.ctx.storage.transactionSync((): Outcome<HoldResult> => {
      const auth = this.#authorize(caller);
      if (!auth.ok) return auth;
      const key = `hold:${input.idempotencyKey}`;
      const prior = this.#replay<HoldResult>(key, input.fingerprint);
      if (prior) return prior;
      this.#expireHolds(now);
      const view = this.#view();
      const decision = canSpend(
        view.availableMicros,
        input.maxCostMicros,
        input.operation,
        this.#config.backgroundFloorMicros,
      );
      if (!decision.ok) return decision;
      const holdId = `hold_${crypto.randomUUID().replaceAll("-", "")}`;
      const expiresAt = now + input.ttlMs;
      this.#sql.exec(
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
      this.#sql.exec("UPDATE account SET held_micros = held_micros + ?", input.maxCostMicros);
      const held: HoldResult = { holdId, expiresAt, replayed: false };
      this.#remember(key, input.fingerprint, held, now);
      return { ok: true, ...held };
    });
    if (result.ok && !result.replayed) this.#armAlarm(result.expiresAt);
    return result;
  }

  /** Charges the actual cost of a held operation (at most the hold) and frees the rest. */
  settle(caller: Caller, input: SettleInput): Outcome<SettleResult> {
    const now = Date.now();
    const result = this.ctx.storage.transactionSync((): Outcome<SettleResult> => {
      const auth = this.#authorize(caller);
      if (!auth.ok) return auth;
      this.#expireHolds(now);
      const hold = this.#hold(input.holdId);
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
      this.#sql.exec("UPDATE account SET held_micros = held_micros - ?", hold.max_cost_micros);
      let balance = this.#account()?.balance_micros ?? 0;
      if (charged > 0) {
        const operation = hold.operation as Operation;
        balance = this.#append(now, {
          kind: "hold_settle",
          amountMicros: -charged,
          operation,
          idempotencyKey: hold.idempotency_key,
          endUserId: hold.end_user_id,
          reference: hold.id,
        }).balanceAfter;
        this.#rollup(now, operation, charged, hold.end_user_id);
      }
      const settled: SettleResult = {
        chargedMicros: charged,
        releasedMicros: released,
        balanceMicros: balance,
        replayed: false,
      };
      this.#sql.exec(
        "UPDATE holds SET status = 'settled', settled_fingerprint = ?, settled_result = ? WHERE id = ?",
        input.fingerprint,
        JSON.stringify(settled),
        hold.id,
      );
      return { ok: true, ...settled };
    });
    if (result.ok && !result.replayed && result.chargedMicros > 0) this.#scheduleFlush(now);
    return result;
  }

  /** Frees a hold without charging. Releasing twice, or an expired hold, is not an error. */
  release(caller: Caller, holdId: string): Outcome<ReleaseResult> {
    const now = Date.now();
    return this.ctx.storage.transactionSync((): Outcome<ReleaseResult> => {
      const auth = this.#authorize(caller);
      if (!auth.ok) return auth;
      this.#expireHolds(now);
      const hold = this.#hold(holdId);
      if (!hold) return { ok: false, reason: "hold_not_found" };
      if (hold.status === "settled")
        return { ok: false, reason: "hold_not_open", message: "This hold was already settled." };
      let releasedMicros = 0;
      if (hold.status === "open") {
        this.#sql.exec("UPDATE holds SET status = 'released' WHERE id = ?", holdId);
        this.#sql.exec("UPDATE account SET held_micros = held_micros - ?", hold.max_cost_micros);
        releasedMicros = hold.max_cost_micros;
      }
      const view = this.#view();
      return { ok: true, releasedMicros, balanceMicros: view.balanceMicros, availableMicros: view.availableMicros };
    });
  }

  /** An operator's grant or correction (negative amounts may take the balance below zero). */
  adjust(input: AdjustInput, fingerprint: string): Outcome<AdjustResult> {
    const now = Date.now();
    const result = this.ctx.storage.transactionSync((): Outcome<AdjustResult> => {
      if (!this.#account()) return { ok: false, reason: "not_found" };
      const key = `adjust:${input.idempotencyKey}`;
      const prior = this.#replay<AdjustResult>(key, fingerprint);
      if (prior) return prior;
      const { seq, balanceAfter } = this.#append(now, {
        kind: "adjustment",
        amountMicros: input.amountMicros,
        idempotencyKey: input.idempotencyKey,
        memo: input.reason,
      });
      const adjusted: AdjustResult = {
        seq,
        amountMicros: input.amountMicros,
        balanceMicros: balanceAfter,
        replayed: false,
      };
      this.#remember(key, fingerprint, adjusted, now);
      return { ok: true, ...adjusted };
    });
    if (result.ok && !result.replayed) {
      this.#scheduleFlush(now);
      log("info", "balance_adjusted", { instanceId: this.#account()?.instance_id, amountMicros: input.amountMicros });
    }
    return result;
  }

  /** Ledger entries, newest first; `cursor` is the `seq` to continue below. */
  ledger(cursor: number | null, limit: number): Outcome<LedgerPage> {
    if (!this.#account()) return { ok: false, reason: "not_found" };
    const rows = this.#sql
      .exec<Record<string, SqlStorageValue>>(
        `SELECT seq, kind, operation, amount_micros, balance_after_micros, idempotency_key, end_user_id, reference, memo, created_at
         FROM ledger WHERE seq < ? ORDER BY seq DESC LIMIT ?`,
        cursor ?? Number.MAX_SAFE_INTEGER,
        limit + 1,
      )
      .toArray();
    const page = rows.slice(0, limit).map(toEntry);
    const nextCursor = rows.length > limit ? (page.at(-1)?.seq ?? null) : null;
    return { ok: true, entries: page, nextCursor };
  }

  /** Expires holds, copies the outbox to D1 and re-arms itself; safe to run any number of times. */
  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    const now = Date.now();
    const account = this.#account();
    if (!account) return;
    this.ctx.storage.transactionSync(() => {
      this.#expireHolds(now);
      this.#sql.exec("DELETE FROM idempotency WHERE created_at < ?", now - IDEMPOTENCY_RETENTION_MS);
    });
    let retryAt: number | null = null;
    if (this.#hasOutbox()) {
      try {
        const view = this.#view();
        const lastSeq = this.#sql.exec<{ s: number | null }>("SELECT MAX(seq) AS s FROM ledger").one().s ?? 0;
        const flushed = await flushOutbox(this.#sql, this.env.DB, account.instance_id, {
          balanceMicros: view.balanceMicros,
          outOfCredits: view.outOfCredits,
          seq: lastSeq,
        });
        this.#flushFailures = 0;
        if (flushed.more) retryAt = Date.now();
      } catch (error) {
        this.#flushFailures += 1;
        logFlushFailure(account.instance_id, this.#flushFailures, error);
        retryAt = Date.now() + backoffMs(this.#flushFailures);
      }
    }
    this.#rearm(retryAt);
  }

  // ---------------------------------------------------------------- internals

  #account(): AccountRow | null {
    return (
      this.#sql
        .exec<AccountRow>(
          "SELECT instance_id, owner_telegram_id, license, api_key_hash, system_prompt, created_at, balance_micros, held_micros FROM account",
        )
        .toArray()[0] ?? null
    );
  }

  #authorize(caller: Caller): Authorized {
    const account = this.#account();
    if (!account) return { ok: false, reason: "not_found" };
    if (caller.kind === "api" && !sameDigest(caller.keyHash, account.api_key_hash)) {
      return { ok: false, reason: "unauthorized" };
    }
    return { ok: true, account };
  }

  #view(): BalanceView {
    const account = this.#account();
    const balanceMicros = account?.balance_micros ?? 0;
    const heldMicros = account?.held_micros ?? 0;
    const availableMicros = balanceMicros - heldMicros;
    return {
      balanceMicros,
      heldMicros,
      availableMicros,
      outOfCredits: isOutOfCredits(availableMicros, this.#config.answerWorstCaseMicros),
    };
  }

  #hold(id: string): HoldRow | null {
    return (
      this.#sql
        .exec<HoldRow>(
          `SELECT id, idempotency_key, operation, max_cost_micros, end_user_id, status, expires_at, settled_fingerprint, settled_result
           FROM holds WHERE id = ?`,
          id,
        )
        .toArray()[0] ?? null
    );
  }

  /** Expired holds give their reservation back. Runs inside the caller's transaction. */
  #expireHolds(now: number): void {
    const freed = this.#sql
      .exec<{ max_cost_micros: number }>(
        "UPDATE holds SET status = 'expired' WHERE status = 'open' AND expires_at <= ? RETURNING max_cost_micros",
        now,
      )
      .toArray();
    if (freed.length === 0) return;
    const total = freed.reduce((sum, row) => sum + row.max_cost_micros, 0);
    this.#sql.exec("UPDATE account SET held_micros = held_micros - ?", total);
  }

  /** Appends a ledger entry, moves the balance and queues the entry for D1, in the caller's transaction. */
  #append(now: number, entry: NewEntry): { seq: number; balanceAfter: number } {
    const balanceAfter = this.#sql
      .exec<{ balance_micros: number }>(
        "UPDATE account SET balance_micros = balance_micros + ? RETURNING balance_micros",
        entry.amountMicros,
      )
      .one().balance_micros;
    const seq = this.#sql
      .exec<{ seq: number }>(
        `INSERT INTO ledger (kind, operation, amount_micros, balance_after_micros, idempotency_key, end_user_id, reference, memo, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
        entry.kind,
        entry.operation ?? null,
        entry.amountMicros,
        balanceAfter,
        entry.idempotencyKey ?? null,
        entry.endUserId ?? null,
        entry.reference ?? null,
        entry.memo ?? null,
        now,
      )
      .one().seq;
    this.#sql.exec("INSERT INTO outbox (seq) VALUES (?)", seq);
    return { seq, balanceAfter };
  }

  /** Per-day totals, so stats over 30 days read 30 rows whatever the size of the ledger. */
  #rollup(now: number, operation: Operation, costMicros: number, endUserId: string | null): void {
    const day = dayOf(now);
    this.#sql.exec(
      `INSERT INTO usage_daily (day, operation, cost_micros, count) VALUES (?, ?, ?, 1)
       ON CONFLICT (day, operation) DO UPDATE SET cost_micros = cost_micros + excluded.cost_micros, count = count + 1`,
      day,
      operation,
      costMicros,
    );
    if (endUserId) {
      this.#sql.exec("INSERT OR IGNORE INTO active_users_daily (day, end_user_id) VALUES (?, ?)", day, endUserId);
    }
  }

  /** A stored result for this key: the same request replays it, another request is refused. */
  #replay<T extends { replayed: boolean }>(key: string, fingerprint: string): Outcome<T> | null {
    const row = this.#sql
      .exec<{ fingerprint: string; result: string }>("SELECT fingerprint, result FROM idempotency WHERE key = ?", key)
      .toArray()[0];
    if (!row) return null;
    if (row.fingerprint !== fingerprint) {
      return {
        ok: false,
        reason: "idempotency_key_reused",
        message: "This idempotencyKey was already used with different parameters.",
      };
    }
    return { ok: true, ...(JSON.parse(row.result) as T), replayed: true };
  }

  #remember(key: string, fingerprint: string, result: unknown, now: number): void {
    this.#sql.exec(
      "INSERT INTO idempotency (key, fingerprint, result, created_at) VALUES (?, ?, ?, ?)",
      key,
      fingerprint,
      JSON.stringify(result),
      now,
    );
  }

  #hasOutbox(): boolean {
    return this.#sql.exec("SELECT 1 FROM outbox LIMIT 1").toArray().length > 0;
  }

  #scheduleFlush(now: number): void {
    this.#armAlarm(now + FLUSH_DELAY_MS);
  }

  /** Sets the alarm if `at` is earlier than the one pending; never awaited on the request path. */
  #armAlarm(at: number): void {
    if (this.#alarmAt !== null && this.#alarmAt <= at) return;
    this.#alarmAt = at;
    this.ctx.storage.setAlarm(at).catch((error: unknown) => {
      log("error", "set_alarm_failed", { error: describeError(error) });
    });
  }

  /** After an alarm: the next reason to wake up (pending history, the next hold expiry). */
  #rearm(retryAt: number | null): void {
    const candidates: number[] = [];
    if (retryAt !== null) candidates.push(retryAt);
    else if (this.#hasOutbox()) candidates.push(Date.now() + FLUSH_DELAY_MS);
    const nextExpiry = this.#sql
      .exec<{ t: number | null }>("SELECT MIN(expires_at) AS t FROM holds WHERE status = 'open'")
      .one().t;
    if (nextExpiry !== null) candidates.push(nextExpiry);
    if (candidates.length > 0) this.#armAlarm(Math.min(...candidates));
  }
}

function toEntry(row: Record<string, SqlStorageValue>): LedgerEntry {
  return {
    seq: row.seq as number,
    kind: row.kind as LedgerKind,
    operation: (row.operation as Operation | null) ?? null,
    amountMicros: row.amount_micros as number,
    balanceAfterMicros: row.balance_after_micros as number,
    idempotencyKey: (row.idempotency_key as string | null) ?? null,
    endUserId: (row.end_user_id as string | null) ?? null,
    reference: (row.reference as string | null) ?? null,
    memo: (row.memo as string | null) ?? null,
    createdAt: row.created_at as number,
  };
}
