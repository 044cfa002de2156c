import type { Config } from "../env";
import type { Lang } from "../lang";
import { type AccountRow, AccountRowStore } from "./account-row";
import { Holds } from "./holds";
import { remember, replay, replayAdjustment, replayDebit } from "./idempotency";
import { Rollups } from "./rollups";
import { canSpend, isOutOfCredits } from "./rules";
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

// The account row's type, imported from here by the object's parts.
export type { AccountRow } from "./account-row";

/**
 * The synchronous ledger of one CreditAccount on its SQLite storage. Every method is meant to
 * run inside the object's `transactionSync`, so a balance is never read and written across an
 * `await`. Nothing here does I/O beyond SQLite. Its parts: the account row (account-row.ts), holds
 * (holds.ts), retries' first answers (idempotency.ts) and the stats rollups (rollups.ts).
 */

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

/** Why an insert recorded nothing: an account row is missing, or a debit's key is already on the ledger. */
function notRecorded(kind: LedgerKind): string {
  return `ledger: no ${kind} entry recorded (no account row${kind === "usage" ? ", or a usage entry with this idempotency key is already recorded" : ""})`;
}

export class Ledger {
  /** The account row and its named transitions (the owner's notices, the bot token, the registry mark). */
  readonly row: AccountRowStore;
  /** The stats rollups, derived from the ledger in batches. */
  readonly rollups: Rollups;
  readonly #holds: Holds;

  constructor(
    private readonly sql: SqlStorage,
    private readonly config: Config,
  ) {
    this.row = new AccountRowStore(sql);
    this.rollups = new Rollups(sql, config);
    this.#holds = new Holds(sql, config, this.row, this.rollups, (now, entry) => this.append(now, entry));
  }

  account(): AccountRow | null {
    return this.row.read();
  }

  /** The language the owner is answered in (SPEC "Languages"): their choice or their app's, else English. */
  ownerLang(): Lang {
    return this.account()?.owner_lang ?? "en";
  }

  /** A transaction rolled back: a row read inside it may hold values that were never committed. */
  forgetCachedRows(): void {
    this.row.forget();
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
    this.row.create(input, now);
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
      ownerLanguageChosen: account.owner_lang_chosen === 1 ? (account.owner_lang ?? "en") : null,
      ...this.view(),
    };
  }

  /** A new usage API key (rotation, or a key lost before the operator saved it): the old one stops at once. */
  replaceApiKey(apiKeyHash: string): Outcome<object> {
    if (!this.account()) return { ok: false, reason: "not_found" };
    this.row.replaceApiKeyHash(apiKeyHash);
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
    this.row.replaceBotCredentials(input);
    return { ok: true };
  }

  /**
   * Debits a known cost once per idempotency key, on the hot path: `account` is the row the caller
   * already read in this transaction, and the open holds left after expiry come back, so the caller can
   * decide the out-of-credits transition and the recharge trigger without reading the row again.
   * `expireHolds` runs only when something is held (`held_micros` is the sum of open holds, each > 0).
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
    const retried = () => replayDebit(this.sql, input.idempotencyKey, input.fingerprint);
    if (!decision.ok) return { outcome: retried() ?? decision, heldMicros };
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
      const prior = retried();
      if (!prior) throw new Error(notRecorded("usage"));
      return { outcome: prior, heldMicros };
    }
    const { seq, balanceAfter } = appended;
    this.rollups.spent(input.costMicros);
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
    return this.#holds.hold(input, now);
  }

  /** Charges the actual cost of a held operation (at most the hold) and frees the rest. */
  settle(input: SettleInput, now: number): Outcome<SettleResult> {
    return this.#holds.settle(input, now);
  }

  /** Frees a hold without charging. Releasing twice, or an expired hold, is not an error. */
  release(holdId: string, now: number): Outcome<ReleaseResult> {
    return this.#holds.release(holdId, now);
  }

  /** An operator's grant or correction (negative amounts may take the balance below zero). */
  adjust(input: AdjustInput, fingerprint: string, now: number): Outcome<AdjustResult> {
    const key = `adjust:${input.idempotencyKey}`;
    const prior = replay<AdjustResult>(this.sql, key, fingerprint);
    if (prior) return prior;
    const appended = this.appendOnce(now, {
      kind: "adjustment",
      amountMicros: input.amountMicros,
      idempotencyKey: input.idempotencyKey,
      memo: input.reason,
      fingerprint,
    });
    // The key is on the ledger although its record was purged: the adjustment was made; answer as the first time.
    if (!appended) return replayAdjustment(this.sql, input.idempotencyKey, fingerprint);
    const { seq, balanceAfter } = appended;
    const adjusted: AdjustResult = {
      seq,
      amountMicros: input.amountMicros,
      balanceMicros: balanceAfter,
      replayed: false,
    };
    remember(this.sql, key, fingerprint, adjusted, now);
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

  /** `/stats`: expired holds give their reservations back first, so the report starts from what is available now. */
  stats(now: number): Omit<StatsSnapshot, "autoRecharge" | "lastRecharge"> {
    this.expireHolds(now);
    const capMicros = this.clientLimitMicros();
    return {
      ...this.rollups.stats(now, this.view()),
      clientLimit: { capMicros, reachedToday: capMicros > 0 ? this.rollups.endUsersAtCapToday(now, capMicros) : 0 },
    };
  }

  /** What one end user may cost per UTC day: the owner's `/clientLimit`, else the configured default; 0: no limit. */
  clientLimitMicros(): number {
    return this.account()?.client_limit_micros ?? this.config.endUserDailyCapMicros;
  }

  /** Expired holds give their reservation back; returns how much was freed. */
  expireHolds(now: number): number {
    return this.#holds.expire(now);
  }

  nextHoldExpiry(): number | null {
    return this.#holds.nextExpiry();
  }

  /** See Holds.extend, Holds.heldFor, Holds.isOpen and Holds.releaseByKey. */
  extendHold(holdId: string, until: number): void {
    this.#holds.extend(holdId, until);
  }

  heldFor(endUserId: string, exceptKey: string): number {
    return this.#holds.heldFor(endUserId, exceptKey);
  }

  holdIsOpen(idempotencyKey: string): boolean {
    return this.#holds.isOpen(idempotencyKey);
  }

  releaseHoldOf(idempotencyKey: string, now: number): void {
    this.#holds.releaseByKey(idempotencyKey, now);
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
    this.row.balanceMoved(row.balance_after_micros);
    return { seq: row.seq, balanceAfter: row.balance_after_micros };
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
      this.row.markOut(now);
      return "ran_out";
    }
    if (!out && state.outSince !== null) {
      this.row.markRestored();
      return "restored";
    }
    return null;
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
