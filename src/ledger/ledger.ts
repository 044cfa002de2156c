import type { Config } from "../env";
import {
  canSpend,
  DAY_MS,
  dayOf,
  HOUR_MS,
  hourOf,
  isOutOfCredits,
  recommendedRechargeAt,
  runwayHours,
  settleAmounts,
} from "./rules";
import type {
  AccountStatus,
  AdjustInput,
  AdjustResult,
  BalanceView,
  BotCredentials,
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
  StatsSnapshot,
} from "./types";

/**
 * The synchronous ledger of one CreditAccount on its SQLite storage. Every method is meant to
 * run inside the object's `transactionSync`, so a balance is never read and written across an
 * `await`. Nothing here does I/O beyond SQLite.
 */

export interface AccountRow extends Record<string, SqlStorageValue> {
  instance_id: string;
  owner_telegram_id: number;
  license: string;
  api_key_hash: string;
  webhook_secret_hash: string;
  bot_token_sealed: string;
  bot_id: number | null;
  bot_username: string | null;
  system_prompt: string | null;
  created_at: number;
  balance_micros: number;
  held_micros: number;
  out_since: number | null;
  out_notified_at: number | null;
  last_alert_hour: number | null;
  low_warning: string | null;
  low_warning_micros: number | null;
  registered: number;
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

export interface NewEntry {
  kind: LedgerKind;
  amountMicros: number;
  operation?: Operation | null;
  idempotencyKey?: string | null;
  endUserId?: string | null;
  reference?: string | null;
  memo?: string | null;
  /** A debit's request fingerprint: its entry is its idempotency record. */
  fingerprint?: string | null;
}

const ACCOUNT_COLUMNS =
  "instance_id, owner_telegram_id, license, api_key_hash, webhook_secret_hash, bot_token_sealed, bot_id, bot_username, system_prompt, created_at, balance_micros, held_micros, out_since, out_notified_at, last_alert_hour, low_warning, low_warning_micros, registered";

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

/** Why an insert recorded nothing: an account row is missing, or a debit's key is already on the ledger. */
function notRecorded(kind: LedgerKind): string {
  return `ledger: no ${kind} entry recorded (no account row${kind === "usage" ? ", or a usage entry with this idempotency key is already recorded" : ""})`;
}

function reusedKey(): { ok: false; reason: "idempotency_key_reused"; message: string } {
  return {
    ok: false,
    reason: "idempotency_key_reused",
    message: "This idempotencyKey was already used with different parameters.",
  };
}

/** How long `daySpendAtMost` trusts its last exact read of the 24-hour spend. */
const DAY_SPEND_REREAD_MS = 60_000;

/**
 * What a Ledger keeps in memory about its storage, shared by every Ledger on the same storage (the
 * object's own, and one a test builds on the object's storage).
 *
 * - `account`: the account row as last read, or undefined when it must be read again. The object is the
 *   only writer of its storage and every write to the row goes through `updateAccount` or `append`, so the
 *   copy is exact; it saves the hot path a 16-column read on every debit. A transaction that throws rolls
 *   back what it wrote, so the object forgets the copy then (`forgetCachedRows`).
 * - `daySpend`: see `daySpendAtMost`; a rolled-back rollup leaves it too high, which is still a bound.
 */
interface Memory {
  account: AccountRow | null | undefined;
  daySpend: { micros: number; at: number } | null;
}

const memories = new WeakMap<SqlStorage, Memory>();

export class Ledger {
  readonly #memory: Memory;

  constructor(
    private readonly sql: SqlStorage,
    private readonly config: Config,
  ) {
    let memory = memories.get(sql);
    if (!memory) {
      memory = { account: undefined, daySpend: null };
      memories.set(sql, memory);
    }
    this.#memory = memory;
  }

  account(): AccountRow | null {
    const memory = this.#memory;
    if (memory.account === undefined) {
      memory.account = this.sql.exec<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM account`).toArray()[0] ?? null;
    }
    return memory.account;
  }

  /** Every change to the account row goes through here (`set` is what follows `UPDATE account SET`). */
  updateAccount(set: string, ...bindings: SqlStorageValue[]): void {
    this.#memory.account = undefined;
    this.sql.exec(`UPDATE account SET ${set}`, ...bindings);
  }

  /** A transaction rolled back: a row read inside it may hold values that were never committed. */
  forgetCachedRows(): void {
    this.#memory.account = undefined;
  }

  view(): BalanceView {
    const account = this.account();
    const balanceMicros = account?.balance_micros ?? 0;
    const heldMicros = account?.held_micros ?? 0;
    const availableMicros = balanceMicros - heldMicros;
    return {
      balanceMicros,
      heldMicros,
      availableMicros,
      outOfCredits: isOutOfCredits(availableMicros, this.config.answerWorstCaseMicros),
    };
  }

  lastSeq(): number {
    return this.sql.exec<{ s: number | null }>("SELECT MAX(seq) AS s FROM ledger").one().s ?? 0;
  }

  provision(input: ProvisionInput, now: number): Outcome<{ balanceMicros: number }> {
    if (this.account()) return { ok: false, reason: "already_provisioned" };
    this.#memory.account = undefined;
    this.sql.exec(
      `INSERT INTO account (id, instance_id, owner_telegram_id, license, api_key_hash, webhook_secret_hash,
         bot_token_sealed, bot_username, bot_id, system_prompt, created_at, balance_micros, held_micros)
       VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0)`,
      input.instanceId,
      input.ownerTelegramId,
      input.license,
      input.apiKeyHash,
      input.webhookSecretHash,
      input.botTokenSealed,
      input.botUsername,
      input.botId,
      input.systemPrompt,
      now,
    );
    let balance = 0;
    if (input.bonusMicros > 0) {
      balance = this.append(now, {
        kind: "grant",
        amountMicros: input.bonusMicros,
        idempotencyKey: "license-bonus",
        memo: `license bonus (${input.license})`,
      }).balanceAfter;
    }
    this.trackOutOfCredits(now);
    return { ok: true, balanceMicros: balance };
  }

  status(now: number): Omit<AccountStatus, "autoRecharge"> | null {
    const account = this.account();
    if (!account) return null;
    this.expireHolds(now);
    const pendingOutbox = this.sql
      .exec<{ n: number }>(
        "SELECT COUNT(*) AS n FROM ledger WHERE seq > (SELECT seq FROM cursors WHERE name = 'history')",
      )
      .one().n;
    return {
      instanceId: account.instance_id,
      ownerTelegramId: account.owner_telegram_id,
      license: account.license,
      botId: account.bot_id,
      botUsername: account.bot_username,
      systemPrompt: account.system_prompt,
      createdAt: account.created_at,
      lastSeq: this.lastSeq(),
      pendingOutbox,
      ...this.view(),
    };
  }

  /** A new usage API key (rotation, or a key lost before the operator saved it): the old one stops at once. */
  replaceApiKey(apiKeyHash: string): Outcome<object> {
    if (!this.account()) return { ok: false, reason: "not_found" };
    this.updateAccount("api_key_hash = ?", apiKeyHash);
    return { ok: true };
  }

  /**
   * New credentials for the same bot: a token revoked with @BotFather, or one sealed again under a new
   * encryption key, with the fresh webhook secret it was registered with. Another bot is refused: the
   * owner's and end users' chats belong to this one.
   */
  replaceBotCredentials(input: BotCredentials): Outcome<object> {
    const account = this.account();
    if (!account) return { ok: false, reason: "not_found" };
    if (account.bot_id !== null && account.bot_id !== input.botId) return { ok: false, reason: "different_bot" };
    this.updateAccount(
      "bot_token_sealed = ?, webhook_secret_hash = ?, bot_id = ?, bot_username = ?",
      input.botTokenSealed,
      input.webhookSecretHash,
      input.botId,
      input.botUsername,
    );
    return { ok: true };
  }

  /** Debits a known cost once per idempotency key. */
  charge(input: ChargeInput, now: number): Outcome<ChargeResult> {
    return this.debit(input, now, this.account()).outcome;
  }

  /**
   * `charge` for the hot path: `account` is the row the caller already read in this transaction,
   * and the open holds left after expiry come back, so the caller can decide the out-of-credits
   * transition and the recharge trigger without reading the row again. `expireHolds` runs only
   * when something is held (`held_micros` is the sum of open holds, each > 0).
   */
  debit(
    input: ChargeInput,
    now: number,
    account: AccountRow | null,
  ): { outcome: Outcome<ChargeResult>; heldMicros: number } {
    let heldMicros = account?.held_micros ?? 0;
    if (heldMicros > 0) heldMicros -= this.expireHolds(now);
    const decision = canSpend(
      (account?.balance_micros ?? 0) - heldMicros,
      input.costMicros,
      input.operation,
      this.config.backgroundFloorMicros,
    );
    // A retry is answered from its first entry, even when the balance has run down since.
    const replay = () => this.#replayDebit(input.idempotencyKey, input.fingerprint);
    if (!decision.ok) return { outcome: replay() ?? decision, heldMicros };
    // A fresh debit (nearly every one) is this one statement; only a key already charged reads its entry.
    const appended = this.#insert(now, {
      kind: "usage",
      amountMicros: -input.costMicros,
      operation: input.operation,
      idempotencyKey: input.idempotencyKey,
      endUserId: input.endUserId ?? null,
      fingerprint: input.fingerprint,
    });
    if (!appended) {
      // Nothing inserted and no entry for the key: there is no account row (a caller's bug, never a retry).
      const prior = replay();
      if (!prior) throw new Error(notRecorded("usage"));
      return { outcome: prior, heldMicros };
    }
    const { seq, balanceAfter } = appended;
    this.#spent(input.costMicros);
    const charged: ChargeResult = {
      chargedMicros: input.costMicros,
      balanceMicros: balanceAfter,
      seq,
      replayed: false,
    };
    return { outcome: { ok: true, ...charged }, heldMicros };
  }

  /** Reserves the worst-case cost of an operation whose real cost is known only afterwards. */
  hold(input: HoldInput, now: number): Outcome<HoldResult> {
    const key = `hold:${input.idempotencyKey}`;
    const prior = this.replay<HoldResult>(key, input.fingerprint);
    if (prior) return prior;
    // The key made a hold whose record was purged (kept 30 days): the hold itself is long settled or gone.
    if (this.sql.exec("SELECT 1 FROM holds WHERE idempotency_key = ?", input.idempotencyKey).toArray().length) {
      return {
        ok: false,
        reason: "idempotency_key_reused",
        message: "This idempotencyKey already made a hold more than 30 days ago; use a new key for a new hold.",
      };
    }
    this.expireHolds(now);
    const decision = canSpend(
      this.view().availableMicros,
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
    this.updateAccount("held_micros = held_micros + ?", input.maxCostMicros);
    const held: HoldResult = { holdId, expiresAt, replayed: false };
    this.remember(key, input.fingerprint, held, now);
    return { ok: true, ...held };
  }

  /** Charges the actual cost of a held operation (at most the hold) and frees the rest. */
  settle(input: SettleInput, now: number): Outcome<SettleResult> {
    this.expireHolds(now);
    const hold = this.findHold(input.holdId);
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
    this.updateAccount("held_micros = held_micros - ?", hold.max_cost_micros);
    let balance = this.account()?.balance_micros ?? 0;
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
      this.#spent(charged);
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

  /** Frees a hold without charging. Releasing twice, or an expired hold, is not an error. */
  release(holdId: string, now: number): Outcome<ReleaseResult> {
    this.expireHolds(now);
    const hold = this.findHold(holdId);
    if (!hold) return { ok: false, reason: "hold_not_found" };
    if (hold.status === "settled")
      return { ok: false, reason: "hold_not_open", message: "This hold was already settled." };
    let releasedMicros = 0;
    if (hold.status === "open") {
      this.sql.exec("UPDATE holds SET status = 'released' WHERE id = ?", holdId);
      this.updateAccount("held_micros = held_micros - ?", hold.max_cost_micros);
      releasedMicros = hold.max_cost_micros;
    }
    const view = this.view();
    return { ok: true, releasedMicros, balanceMicros: view.balanceMicros, availableMicros: view.availableMicros };
  }

  /** An operator's grant or correction (negative amounts may take the balance below zero). */
  adjust(input: AdjustInput, fingerprint: string, now: number): Outcome<AdjustResult> {
    const key = `adjust:${input.idempotencyKey}`;
    const prior = this.replay<AdjustResult>(key, fingerprint);
    if (prior) return prior;
    const appended = this.appendOnce(now, {
      kind: "adjustment",
      amountMicros: input.amountMicros,
      idempotencyKey: input.idempotencyKey,
      memo: input.reason,
      fingerprint,
    });
    // The key is on the ledger although its record was purged: the adjustment was made; answer as the first time.
    if (!appended) return this.#replayAdjustment(input.idempotencyKey, fingerprint);
    const { seq, balanceAfter } = appended;
    const adjusted: AdjustResult = {
      seq,
      amountMicros: input.amountMicros,
      balanceMicros: balanceAfter,
      replayed: false,
    };
    this.remember(key, fingerprint, adjusted, now);
    return { ok: true, ...adjusted };
  }

  page(cursor: number | null, limit: number): LedgerPage {
    const rows = this.sql
      .exec<Record<string, SqlStorageValue>>(
        `SELECT seq, kind, operation, amount_micros, balance_after_micros, idempotency_key, end_user_id, reference, memo, created_at
         FROM ledger WHERE seq < ? ORDER BY seq DESC LIMIT ?`,
        cursor ?? Number.MAX_SAFE_INTEGER,
        limit + 1,
      )
      .toArray();
    const entries = rows.slice(0, limit).map(toEntry);
    return { entries, nextCursor: rows.length > limit ? (entries.at(-1)?.seq ?? null) : null };
  }

  /** Expired holds give their reservation back; returns how much was freed. */
  expireHolds(now: number): number {
    const freed = this.sql
      .exec<{ max_cost_micros: number }>(
        "UPDATE holds SET status = 'expired' WHERE status = 'open' AND expires_at <= ? RETURNING max_cost_micros",
        now,
      )
      .toArray();
    if (freed.length === 0) return 0;
    const total = freed.reduce((sum, row) => sum + row.max_cost_micros, 0);
    this.updateAccount("held_micros = held_micros - ?", total);
    return total;
  }

  nextHoldExpiry(): number | null {
    return this.sql.exec<{ t: number | null }>("SELECT MIN(expires_at) AS t FROM holds WHERE status = 'open'").one().t;
  }

  /** Appends a ledger entry and moves the balance; the alarm copies the entry to D1 (see outbox.ts). */
  append(now: number, entry: NewEntry): { seq: number; balanceAfter: number } {
    const appended = this.#insert(now, entry);
    if (!appended) throw new Error(notRecorded(entry.kind));
    return appended;
  }

  /**
   * Appends an entry whose key may already be on the ledger (a credit, a refund, a dispute): null when it
   * is, and nothing changes. Every keyed entry is unique in the ledger (indexes `ledger_usage_key`,
   * `ledger_credit_key`, `ledger_entry_key`), so money keyed once moves once, whatever path asks twice.
   */
  appendOnce(now: number, entry: NewEntry & { idempotencyKey: string }): { seq: number; balanceAfter: number } | null {
    return this.#insert(now, entry) ?? null;
  }

  /**
   * Inserts an entry, or nothing when its key is already on the ledger: the unique indexes make the insert
   * itself the check (a debit's key in `ledger_usage_key`, an invoice's credit in `ledger_credit_key`, any
   * other keyed entry per kind in `ledger_entry_key`), so a key never moves money twice.
   * (Nothing is inserted without an account row either; the callers rule that out first.)
   */
  #insert(now: number, entry: NewEntry): { seq: number; balanceAfter: number } | undefined {
    // The entry takes its balance_after from the account row, and inserting it moves the balance
    // (trigger ledger_moves_balance): one statement, and no way to move one without the other.
    // (`WHERE true` lets SQLite tell the SELECT's end from the upsert clause.)
    const row = this.sql
      .exec<{ seq: number; balance_after_micros: number }>(
        `INSERT INTO ledger (kind, operation, amount_micros, balance_after_micros, idempotency_key, end_user_id,
                             reference, memo, created_at, fingerprint)
         SELECT ?1, ?2, ?3, balance_micros + ?3, ?4, ?5, ?6, ?7, ?8, ?9 FROM account WHERE true
         ON CONFLICT DO NOTHING
         RETURNING seq, balance_after_micros`,
        entry.kind,
        entry.operation ?? null,
        entry.amountMicros,
        entry.idempotencyKey ?? null,
        entry.endUserId ?? null,
        entry.reference ?? null,
        entry.memo ?? null,
        now,
        entry.fingerprint ?? null,
      )
      .toArray()[0];
    if (!row) return undefined;
    const balanceAfter = row.balance_after_micros;
    // The one write that keeps the cached row instead of dropping it: the hot path's own.
    const cached = this.#memory.account;
    if (cached) this.#memory.account = { ...cached, balance_micros: balanceAfter };
    return { seq: row.seq, balanceAfter };
  }

  /**
   * Keeps `out_since` in step with the balance. Returns the transition, so the caller can tell
   * the owner at once when credits run out and once when they come back. `known` is the state the
   * caller already holds in this transaction (the row's `out_since` and the available balance).
   */
  trackOutOfCredits(
    now: number,
    known?: { outSince: number | null; availableMicros: number },
  ): "ran_out" | "restored" | null {
    let state = known;
    if (!state) {
      const account = this.account();
      if (!account) return null;
      state = { outSince: account.out_since, availableMicros: account.balance_micros - account.held_micros };
    }
    const out = isOutOfCredits(state.availableMicros, this.config.answerWorstCaseMicros);
    if (out && state.outSince === null) {
      this.updateAccount("out_since = ?, out_notified_at = NULL", now);
      return "ran_out";
    }
    if (!out && state.outSince !== null) {
      this.updateAccount("out_since = NULL, out_notified_at = NULL");
      return "restored";
    }
    return null;
  }

  // ---------------------------------------------------------------- named transitions of the account row

  /** The hourly alert of `hour` is this run's to send: null when an alert of this hour (or later) went out. */
  claimAlertHour(hour: number): { previous: number | null } | null {
    const previous = this.account()?.last_alert_hour ?? null;
    if (previous !== null && previous >= hour) return null;
    this.updateAccount("last_alert_hour = ?", hour);
    return { previous };
  }

  /** Telegram refused the hourly alert: the hour is given back (unless another run took it meanwhile). */
  releaseAlertHour(hour: number, previous: number | null): void {
    this.updateAccount("last_alert_hour = ? WHERE last_alert_hour = ?", previous, hour);
  }

  /** The early warning of this episode, claimed at the balance it is sent at. */
  claimLowWarning(kind: string, balanceMicros: number): void {
    this.updateAccount("low_warning = ?, low_warning_micros = ?", kind, balanceMicros);
  }

  /** The episode is over: the next one is warned again. */
  endLowWarning(): void {
    this.updateAccount("low_warning = NULL, low_warning_micros = NULL");
  }

  /** Telegram refused the warning: given back, unless another kind was claimed since. */
  releaseLowWarning(kind: string): void {
    this.updateAccount("low_warning = NULL, low_warning_micros = NULL WHERE low_warning = ?", kind);
  }

  /** The owner was not told after all that credits ran out: the next trigger (or the hourly alert) tries again. */
  releaseOwnerNotified(): void {
    this.updateAccount("out_notified_at = NULL");
  }

  /** The bot token sealed again under the current key, only over the value that was opened. */
  resealToken(resealed: string, opened: string): void {
    this.updateAccount("bot_token_sealed = ? WHERE bot_token_sealed = ?", resealed, opened);
  }

  /** D1 confirmed the instance's registry row (see outbox.ts). */
  markRegistered(): void {
    if (this.account()?.registered !== 1) this.updateAccount("registered = 1");
  }

  markOwnerNotified(now: number): void {
    this.updateAccount("out_notified_at = ?", now);
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
   * Hourly totals and the end user's last activity, so stats never scan the ledger. The daily
   * totals and the last-activity histograms follow by trigger (see schema.ts).
   */
  /** Keeps `daySpendAtMost` an upper bound as spending happens (the rollups follow later, in a batch). */
  #spent(costMicros: number): void {
    if (this.#memory.daySpend) this.#memory.daySpend.micros += costMicros;
  }

  /**
   * Brings the stats rollups up to the ledger: the answers and operations appended since the last catch-up,
   * summed per hour and operation and per end user, in two statements. A debit writes only its ledger entry;
   * the object's alarm (a second after a debit) and every reader of the rollups call this first, so what
   * they read is exact. Runs inside the caller's transaction, with the watermark moved in the same one.
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
    this.sql.exec("UPDATE cursors SET seq = ? WHERE name = 'rollups'", last);
  }

  /** Spend (answers and background work, not unanswered counts) over the last `hours` clock hours. */
  /**
   * Never less than the last 24 hours' spend: the exact sum read at most a minute ago plus everything
   * spent since (as the window slides it only drops old spend). A balance at or above it has a day of
   * runway, so the debit skips the exact query; below it, the caller asks `spendOverHours`.
   */
  daySpendAtMost(now: number): number {
    const read = this.#memory.daySpend;
    if (!read || now - read.at > DAY_SPEND_REREAD_MS || now < read.at) {
      const micros = this.spendOverHours(now, 24);
      this.#memory.daySpend = { micros, at: now };
      return micros;
    }
    return read.micros;
  }

  spendOverHours(now: number, hours: number): number {
    this.catchUpRollups();
    return this.sql
      .exec<{ s: number }>(
        "SELECT COALESCE(SUM(cost_micros), 0) AS s FROM usage_hourly WHERE hour >= ? AND operation != 'unanswered'",
        hourOf(now) - hours + 1,
      )
      .one().s;
  }

  /** `/stats` from the hourly rollups and the end-user index: cost independent of ledger size. */
  stats(now: number): Omit<StatsSnapshot, "autoRecharge" | "lastRecharge"> {
    this.expireHolds(now);
    this.catchUpRollups();
    const view = this.view();
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
      recommendedRechargeAtMicros: recommendedRechargeAt(spend7, 7, this.config.minRechargeAtMicros),
    };
  }

  /** An adjustment retried after its record was purged: the first result, read back from its ledger entry. */
  #replayAdjustment(key: string, fingerprint: string): Outcome<AdjustResult> {
    const row = this.sql
      .exec<{ seq: number; amount_micros: number; balance_after_micros: number; fingerprint: string | null }>(
        `SELECT seq, amount_micros, balance_after_micros, fingerprint FROM ledger
         WHERE kind = 'adjustment' AND idempotency_key = ?`,
        key,
      )
      .one();
    if (row.fingerprint !== null && row.fingerprint !== fingerprint) return reusedKey();
    return {
      ok: true,
      seq: row.seq,
      amountMicros: row.amount_micros,
      balanceMicros: row.balance_after_micros,
      replayed: true,
    };
  }

  /** A debit retried with its idempotency key: the first result, read back from its ledger entry. */
  #replayDebit(key: string, fingerprint: string): Outcome<ChargeResult> | null {
    const row = this.sql
      .exec<{ seq: number; amount_micros: number; balance_after_micros: number; fingerprint: string | null }>(
        `SELECT seq, amount_micros, balance_after_micros, fingerprint FROM ledger
         WHERE kind = 'usage' AND idempotency_key = ? ORDER BY seq LIMIT 1`,
        key,
      )
      .toArray()[0];
    if (!row) return null;
    // An entry from before fingerprints were kept on the ledger (and past the old records' retention)
    // cannot be compared: the key has been charged once, so it is answered as a retry, never charged again.
    if (row.fingerprint !== null && row.fingerprint !== fingerprint) return reusedKey();
    return {
      ok: true,
      chargedMicros: -row.amount_micros,
      balanceMicros: row.balance_after_micros,
      seq: row.seq,
      replayed: true,
    };
  }

  replay<T extends { replayed: boolean }>(key: string, fingerprint: string): Outcome<T> | null {
    const row = this.sql
      .exec<{ fingerprint: string; result: string }>("SELECT fingerprint, result FROM idempotency WHERE key = ?", key)
      .toArray()[0];
    if (!row) return null;
    if (row.fingerprint !== fingerprint) return reusedKey();
    return { ok: true, ...(JSON.parse(row.result) as T), replayed: true };
  }

  remember(key: string, fingerprint: string, result: unknown, now: number): void {
    this.sql.exec(
      "INSERT INTO idempotency (key, fingerprint, result, created_at) VALUES (?, ?, ?, ?)",
      key,
      fingerprint,
      JSON.stringify(result),
      now,
    );
  }

  private findHold(id: string): HoldRow | null {
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
