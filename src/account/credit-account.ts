import { DurableObject } from "cloudflare:workers";
import type Stripe from "stripe";
import { Billing } from "../billing/billing";
import { billingCommand } from "../billing/commands";
import type { ChargeTrace } from "../billing/credits";
import { markHandled } from "../billing/events";
import { copyRecharges, latestInvoices } from "../billing/history";
import { BillingEffects, isTroubleNotice, RetryLater } from "../billing/notices";
import { isTemporaryStripeFailure, stripeClient } from "../billing/stripe";
import { sameDigest } from "../crypto";
import { type Config, loadConfig } from "../env";
import { type AccountRow, Ledger } from "../ledger/ledger";
import { flushOutbox, hasPendingHistory, logFlushFailure, type Projection, writeProjection } from "../ledger/outbox";
import { backoffMs, FLUSH_DELAY_MS, internalKey, MAX_JOB_ATTEMPTS } from "../ledger/rules";
import { migrateAccount } from "../ledger/schema";
import type {
  AccountStatus,
  AdjustInput,
  AdjustResult,
  AutoRechargeView,
  BalanceView,
  BotCredentials,
  Caller,
  ChargeInput,
  ChargeResult,
  HoldInput,
  HoldResult,
  LedgerPage,
  Outcome,
  ProvisionInput,
  ReleaseResult,
  SettleInput,
  SettleResult,
  StatsSnapshot,
} from "../ledger/types";
import { describeError, log } from "../log";
import { type AccountPort, handleJob } from "../telegram/bot";
import { sendText } from "../telegram/sender";
import { type Job, routeUpdate, updateIdOf } from "../telegram/updates";
import { Alerts, type BalanceEffects } from "./alerts";
import { noticeText } from "./billing-notices";
import { BotToken } from "./bot-token";
import { Inbox, InboxPool } from "./inbox";

/** Idempotency records are kept this long; Stripe keeps its keys 24 h, we keep ours longer. */
const IDEMPOTENCY_RETENTION_MS = 30 * 86_400_000;
/** Telegram redelivers for at most a day; handled update ids are kept a week. */
const UPDATE_RETENTION_MS = 7 * 86_400_000;
/** If the in-memory drain of the inbox dies with the object, the alarm picks the job up after this. */
const INBOX_SAFETY_DELAY_MS = 30_000;
/** An alarm still pending this long after its time is treated as stuck: the hourly visit arms it again. */
const OVERDUE_ALARM_MS = 10 * 60_000;
/** Jobs run at once: clients' answers (each may wait on the model), and the owner's own lane beside them. */
const INBOX_SLOTS = { client: 8, owner: 2 };
/** An answer's hold outlives the model's timeout, so it cannot expire under a slow answer. */
const ANSWER_HOLD_TTL_MS = 5 * 60_000;

interface NotifyOptions {
  parseMode?: "HTML";
  button?: { text: string; url: string };
}

function sendOptions(options: NotifyOptions) {
  return {
    ...(options.parseMode ? { parseMode: options.parseMode } : {}),
    ...(options.button
      ? { keyboard: { inline_keyboard: [[{ text: options.button.text, url: options.button.url }]] } }
      : {}),
  };
}

type Authorized = { ok: true } | { ok: false; reason: "not_found" | "unauthorized" };

/**
 * One instance's credits and bot. Every balance change runs inside one `transactionSync`
 * (see Ledger) with no `await`, so concurrent requests are serialized by the object and each
 * change is durable before the reply. Only the methods without `#` are the RPC contract.
 */
export class CreditAccount extends DurableObject<Env> {
  readonly #sql: SqlStorage;
  readonly #config: Config;
  readonly #ledger: Ledger;
  /** Cached alarm time so the debit path never awaits `getAlarm()`. */
  #alarmAt: number | null = null;
  #flushFailures = 0;
  #draining: Promise<void> | null = null;
  readonly #inbox: Inbox;
  readonly #pool: InboxPool;
  readonly #botToken: BotToken;
  #stripe: Stripe | null = null;
  readonly #billing: Billing;
  readonly #alerts: Alerts;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#config = loadConfig(env);
    this.#ledger = new Ledger(this.#sql, this.#config);
    this.#inbox = new Inbox(this.#sql);
    this.#pool = new InboxPool(this.#inbox, INBOX_SLOTS);
    this.#billing = new Billing(this.#sql, this.#ledger, this.#config, {
      instanceId: () => this.#ledger.account()?.instance_id ?? "",
      tx: (fn) => this.#tx(fn),
      stripe: () => {
        this.#stripe ??= stripeClient(this.env.STRIPE_SECRET_KEY, this.#config);
        return this.#stripe;
      },
    });
    this.#botToken = new BotToken(env, this.#config, this.#ledger, (fn) => this.#tx(fn));
    this.#alerts = new Alerts(this.#sql, this.#ledger, this.#billing, this.#config, {
      tx: (fn) => this.#tx(fn),
      notify: (text) => this.#notifyOwner(text),
    });
    void ctx.blockConcurrencyWhile(async () => {
      this.ctx.storage.transactionSync(() => migrateAccount(this.#sql));
      this.#alarmAt = await ctx.storage.getAlarm();
    });
  }

  // ---------------------------------------------------------------- RPC contract

  /** Creates the account with its license bonus. Refuses if the instance already exists. */
  provision(input: ProvisionInput): Outcome<{ balanceMicros: number }> {
    const now = Date.now();
    const result = this.#tx(() => this.#ledger.provision(input, now));
    if (result.ok) {
      this.#armAlarm(now + FLUSH_DELAY_MS);
      log("info", "instance_provisioned", { instanceId: input.instanceId, license: input.license });
    }
    return result;
  }

  /** A new usage API key's hash; the old key is refused from the next request on. */
  replaceApiKey(apiKeyHash: string): Outcome<object> {
    const result = this.#tx(() => this.#ledger.replaceApiKey(apiKeyHash));
    if (result.ok) log("info", "api_key_replaced", { instanceId: this.#ledger.account()?.instance_id });
    return result;
  }

  /** New credentials for this instance's bot (see Ledger.replaceBotCredentials); the next send uses them. */
  replaceBotCredentials(input: BotCredentials): Outcome<object> {
    const result = this.#tx(() => this.#ledger.replaceBotCredentials(input));
    if (result.ok) {
      this.#botToken.forget();
      log("info", "bot_token_replaced", { instanceId: this.#ledger.account()?.instance_id, bot: input.botUsername });
    }
    return result;
  }

  /**
   * Finishes a `TOKEN_ENCRYPTION_KEY` rotation for this instance (POST /admin/bot-tokens/reseal):
   * "resealed" if the previous key sealed the bot token, "current" if the current key already did,
   * "unreadable" if no configured key opens it.
   */
  async resealBotToken(): Promise<Outcome<{ token: "current" | "resealed" | "unreadable" }>> {
    if (!this.#ledger.account()) return { ok: false, reason: "not_found" };
    try {
      return { ok: true, token: (await this.#botToken.open()).resealed ? "resealed" : "current" };
    } catch {
      return { ok: true, token: "unreadable" };
    }
  }

  /** Balance, available balance (balance minus open holds) and out-of-credits state. */
  balance(caller: Caller): Outcome<BalanceView> {
    const now = Date.now();
    return this.#tx(() => {
      const auth = this.#authorize(caller);
      if (!auth.ok) return auth;
      this.#ledger.expireHolds(now);
      return { ok: true, ...this.#ledger.view() };
    });
  }

  /** Everything the operator sees about the account. */
  status(): Outcome<AccountStatus> {
    const status = this.#tx(() => this.#ledger.status(Date.now()));
    return status ? { ok: true, ...status, autoRecharge: this.#billing.view() } : { ok: false, reason: "not_found" };
  }

  /** `/stats` figures, from rollups. */
  stats(): Outcome<StatsSnapshot> {
    if (!this.#ledger.account()) return { ok: false, reason: "not_found" };
    return { ok: true, ...this.#statsSnapshot(Date.now()) };
  }

  /**
   * Debits a known cost once per idempotency key. The hot path: one transaction reads the account
   * row once and holds the charge, the out-of-credits transition, the recharge trigger and the
   * early-warning check; only the owner's notifications run after it.
   */
  charge(caller: Caller, input: ChargeInput): Outcome<ChargeResult> {
    const now = Date.now();
    const after: { effects?: BalanceEffects } = {};
    const result = this.#tx((): Outcome<ChargeResult> => {
      const account = this.#ledger.account();
      const auth = this.#authorizeRow(account, caller);
      if (!auth.ok || !account) return auth.ok ? { ok: false, reason: "not_found" } : auth;
      const { outcome, heldMicros } = this.#ledger.debit(input, now, account);
      if (outcome.ok && !outcome.replayed) {
        after.effects = this.#alerts.balanceChanged(now, { account, balanceMicros: outcome.balanceMicros, heldMicros });
      }
      return outcome;
    });
    if (after.effects) this.#applyBalanceEffects(now, after.effects);
    return result;
  }

  /** Reserves the worst-case cost of an operation whose real cost is known only afterwards. */
  hold(caller: Caller, input: HoldInput): Outcome<HoldResult> {
    const now = Date.now();
    const result = this.#tx(() => {
      const auth = this.#authorize(caller);
      return auth.ok ? this.#ledger.hold(input, now) : auth;
    });
    if (result.ok && !result.replayed) this.#armAlarm(result.expiresAt);
    return result;
  }

  /** Charges the actual cost of a held operation (at most the hold) and frees the rest. */
  settle(caller: Caller, input: SettleInput): Outcome<SettleResult> {
    const now = Date.now();
    const result = this.#tx(() => {
      const auth = this.#authorize(caller);
      return auth.ok ? this.#ledger.settle(input, now) : auth;
    });
    if (result.ok && !result.replayed) this.#afterBalanceChange(now);
    return result;
  }

  /** Frees a hold without charging. Releasing twice, or an expired hold, is not an error. */
  release(caller: Caller, holdId: string): Outcome<ReleaseResult> {
    const now = Date.now();
    return this.#tx(() => {
      const auth = this.#authorize(caller);
      return auth.ok ? this.#ledger.release(holdId, now) : auth;
    });
  }

  /** An operator's grant or correction (negative amounts may take the balance below zero). */
  adjust(input: AdjustInput, fingerprint: string): Outcome<AdjustResult> {
    const now = Date.now();
    const result = this.#tx((): Outcome<AdjustResult> => {
      if (!this.#ledger.account()) return { ok: false, reason: "not_found" };
      return this.#ledger.adjust(input, fingerprint, now);
    });
    if (result.ok && !result.replayed) {
      this.#afterBalanceChange(now);
      log("info", "balance_adjusted", {
        instanceId: this.#ledger.account()?.instance_id,
        amountMicros: input.amountMicros,
      });
    }
    return result;
  }

  /** Ledger entries, newest first; `cursor` is the `seq` to continue below. */
  ledger(cursor: number | null, limit: number): Outcome<LedgerPage> {
    if (!this.#ledger.account()) return { ok: false, reason: "not_found" };
    return { ok: true, ...this.#ledger.page(cursor, limit) };
  }

  /**
   * A Telegram webhook delivery. Verifies the secret, records the update once per `update_id`
   * and answers at once; the work (an AI answer may take a minute) runs after the reply, so
   * Telegram never times out and redelivers. See docs/telegram.md.
   */
  receiveUpdate(secretHash: string, body: string): { status: 200 | 400 | 401 | 404 } {
    const account = this.#ledger.account();
    if (!account) return { status: 404 };
    if (!sameDigest(secretHash, account.webhook_secret_hash)) return { status: 401 };
    let update: unknown;
    try {
      update = JSON.parse(body);
    } catch {
      return { status: 400 };
    }
    const updateId = updateIdOf(update);
    if (updateId === null) {
      log("warn", "telegram_update_unusable", { instanceId: account.instance_id });
      return { status: 200 };
    }
    const route = routeUpdate(update, account.owner_telegram_id, account.bot_username);
    const now = Date.now();
    const inserted = this.#inbox.record(updateId, route, now);
    if (!inserted) {
      log("info", "telegram_update_duplicate", { instanceId: account.instance_id, updateId });
    } else if (route.kind === "ignore") {
      log("info", "telegram_update_ignored", { instanceId: account.instance_id, updateId, why: route.why });
    } else {
      this.#armAlarm(now + INBOX_SAFETY_DELAY_MS);
      this.#kickInbox();
    }
    return { status: 200 };
  }

  /**
   * A verified Stripe event for this instance (routed by the webhook); each event id has effect once.
   * `trace` is the invoice a charge (refund, dispute) belongs to, which the route found by asking Stripe.
   */
  async stripeEvent(
    event: Stripe.Event,
    trace: ChargeTrace | null = null,
  ): Promise<Outcome<{ outcome: "processed" | "duplicate" | "ignored" }>> {
    if (!this.#ledger.account()) return { ok: false, reason: "not_found" };
    const fx = new BillingEffects();
    try {
      return { ok: true, outcome: await this.#billing.handleEvent(fx, event, trace) };
    } catch (error) {
      // Only a temporary failure is worth Stripe's retries (for days). An event naming an object Stripe
      // does not have, or one we refuse, would fail the same way every time: log it and let it go.
      const permanent = !(isTemporaryStripeFailure(error) || error instanceof RetryLater);
      log(permanent ? "error" : "warn", permanent ? "stripe_event_unprocessable" : "stripe_event_failed", {
        instanceId: this.#ledger.account()?.instance_id,
        eventId: event.id,
        error: describeError(error),
      });
      if (!permanent) return { ok: false, reason: "upstream_unavailable" };
      // Let go only once recorded: an object reset mid-event throws here, so Stripe is not told "done".
      markHandled(this.#sql, event.id);
      return { ok: true, outcome: "ignored" };
    } finally {
      await this.#applyBilling(fx);
    }
  }

  /**
   * The hourly cron's visit. The object decides: at most one out-of-credits alert per clock hour
   * (a retried, overlapping or late cron run finds the hour taken), recorded before sending and
   * given back if Telegram fails, so a later run tries again. Also re-arms overdue work and
   * re-checks recharges still waiting on Stripe (a lost webhook loses nothing).
   */
  async hourly(nowMs: number): Promise<Outcome<{ alerted: boolean; reconciled: number }>> {
    const account = this.#ledger.account();
    if (!account) return { ok: false, reason: "not_found" };
    const fx = new BillingEffects();
    const reconciled = await this.#billing.reconcile(fx, nowMs).catch((error: unknown) => {
      log("warn", "reconcile_failed", { instanceId: account.instance_id, error: describeError(error) });
      return 0;
    });
    await this.#applyBilling(fx);
    // Anything due (history copy, hold expiry, recharge steps) gets its alarm back if it was lost. The visit
    // asks storage, not the in-memory copy: a failed setAlarm, or an alarm dropped after its retries, leaves
    // that copy wrong, and one long overdue is armed again.
    const pending = await this.ctx.storage.getAlarm();
    this.#alarmAt = pending !== null && pending > Date.now() - OVERDUE_ALARM_MS ? pending : null;
    if (this.#hasOutbox()) this.#armAlarm(Date.now() + FLUSH_DELAY_MS);
    this.#rearm(null);
    const alert = await this.#alerts.hourly(nowMs);
    if (alert === "failed") return { ok: false, reason: "upstream_unavailable" };
    if (alert === "alerted") return { ok: true, alerted: true, reconciled };
    await this.#repairProjection(account.instance_id);
    await this.#alerts.earlyWarning(Date.now());
    return { ok: true, alerted: false, reconciled };
  }

  /**
   * Cron found this object through the D1 projection; if the object is not out of credits after all
   * (the row lags, or a released hold changed it without a ledger entry), the row is corrected now so
   * the next run does not visit it again. With history pending, the alarm's copy carries it instead.
   */
  async #repairProjection(instanceId: string): Promise<void> {
    if (this.#hasOutbox()) return;
    try {
      await writeProjection(this.env.DB, instanceId, this.#projection());
      this.#ledger.markRegistered();
    } catch (error) {
      log("warn", "projection_repair_failed", { instanceId, error: describeError(error) });
    }
  }

  /** Flushes history, expires holds, finishes inbox jobs and re-arms itself; safe to run any number of times. */
  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    const now = Date.now();
    const account = this.#ledger.account();
    if (!account) return;
    this.#tx(() => {
      this.#ledger.expireHolds(now);
      // The debits since the last alarm are summed into the stats rollups in one batch.
      this.#ledger.catchUpRollups();
      this.#sql.exec("DELETE FROM idempotency WHERE created_at < ?", now - IDEMPOTENCY_RETENTION_MS);
      this.#inbox.forgetDone(now - UPDATE_RETENTION_MS);
    });
    this.#kickInbox();
    let retryAt: number | null = null;
    // A registry row D1 has not confirmed yet (provisioning's write failed) is upserted with the copy.
    if (this.#hasOutbox() || account.registered !== 1) {
      try {
        const flushed = await flushOutbox(this.#sql, this.env.DB, account.instance_id, this.#projection());
        this.#tx(() => this.#ledger.markRegistered());
        this.#flushFailures = 0;
        if (flushed.more) retryAt = Date.now();
      } catch (error) {
        this.#flushFailures += 1;
        logFlushFailure(account.instance_id, this.#flushFailures, error);
        retryAt = Date.now() + backoffMs(this.#flushFailures);
      }
    }
    const fx = new BillingEffects();
    try {
      await this.#billing.driveDue(fx, Date.now());
      await this.#applyBilling(fx);
      const changed = this.#billing.unsynced(100);
      if (changed.length > 0) {
        await copyRecharges(this.env.DB, account.instance_id, changed);
        this.#billing.markSynced(changed);
      }
    } catch (error) {
      log("warn", "billing_alarm_failed", { instanceId: account.instance_id, error: describeError(error) });
      retryAt = Math.min(retryAt ?? Number.POSITIVE_INFINITY, Date.now() + backoffMs(this.#flushFailures + 1));
      await this.#applyBilling(fx);
    }
    await this.#draining;
    this.#rearm(retryAt);
  }

  // ---------------------------------------------------------------- internals

  #tx<T>(fn: () => T): T {
    try {
      return this.ctx.storage.transactionSync(fn);
    } catch (error) {
      // Rolled back: rows cached inside the transaction may hold values that were never committed.
      this.#ledger.forgetCachedRows();
      this.#billing.forgetCachedRow();
      throw error;
    }
  }

  /** What D1's registry row says of this instance (see outbox.ts). */
  #projection(): Projection {
    const account = this.#ledger.account();
    if (!account) throw new Error("instance not provisioned");
    const view = this.#ledger.view();
    return {
      balanceMicros: view.balanceMicros,
      outOfCredits: view.outOfCredits,
      seq: this.#ledger.lastSeq(),
      registry: {
        ownerTelegramId: account.owner_telegram_id,
        license: account.license,
        botTokenSealed: account.bot_token_sealed,
        webhookSecretHash: account.webhook_secret_hash,
        apiKeyHash: account.api_key_hash,
        createdAt: account.created_at,
      },
    };
  }

  #authorize(caller: Caller): Authorized {
    return this.#authorizeRow(this.#ledger.account(), caller);
  }

  #authorizeRow(account: AccountRow | null, caller: Caller): Authorized {
    if (!account) return { ok: false, reason: "not_found" };
    if (caller.kind === "api" && !sameDigest(caller.keyHash, account.api_key_hash)) {
      return { ok: false, reason: "unauthorized" };
    }
    return { ok: true };
  }

  #autoRecharge(): AutoRechargeView | null {
    return this.#billing.view();
  }

  #statsSnapshot(now: number): StatsSnapshot {
    return {
      ...this.#tx(() => this.#ledger.stats(now)),
      autoRecharge: this.#autoRecharge(),
      lastRecharge: this.#billing.lastRecharge(),
    };
  }

  /**
   * After a balance moved: schedule the history copy, and tell the owner when credits just ran
   * out or came back. Not awaited: the caller's reply does not wait for Telegram.
   */
  #afterBalanceChange(now: number): void {
    this.#applyBalanceEffects(
      now,
      this.#tx(() => this.#alerts.balanceChanged(now)),
    );
  }

  /**
   * What billing decided, after it committed: credits moved (re-check out-of-credits, warnings, the
   * trigger), the alarm, and the owner's messages in order. A trouble notice that reached the owner
   * counts as this episode's early warning. Applying the same effects twice is never needed: each call
   * takes its own collector.
   */
  async #applyBilling(fx: BillingEffects): Promise<void> {
    const notices = fx.notices.splice(0);
    if (fx.balanceChanged) {
      fx.balanceChanged = false;
      this.#afterBalanceChange(Date.now());
    }
    if (fx.wakeAt !== null) this.#armAlarm(fx.wakeAt);
    // Any recharge changed and not yet copied to D1 (where cron and /invoices read it) has the alarm armed,
    // whatever transition changed it.
    if (this.#billing.unsynced(1).length > 0) this.#armAlarm(Date.now() + FLUSH_DELAY_MS);
    for (const notice of notices) {
      const sent = await this.#notifyOwner(noticeText(notice));
      if (sent && isTroubleNotice(notice)) this.#alerts.troubleNotified();
    }
  }

  /** After the balance change committed: the alarm for the history copy, the recharge, the owner's messages. */
  #applyBalanceEffects(now: number, effects: BalanceEffects): void {
    this.#armAlarm(now + FLUSH_DELAY_MS);
    const fx = new BillingEffects();
    this.#billing.triggered(fx, effects.recharge, now);
    void this.#applyBilling(fx);
    this.#alerts.announce(now, effects);
  }

  async #notifyOwner(text: string, options: NotifyOptions = {}): Promise<boolean> {
    const account = this.#ledger.account();
    if (!account) return false;
    try {
      const result = await sendText(
        await this.#botToken.telegram(),
        account.owner_telegram_id,
        text,
        sendOptions(options),
      );
      return result.ok;
    } catch (error) {
      log("warn", "owner_notification_failed", { instanceId: account.instance_id, error: describeError(error) });
      return false;
    }
  }

  /** Starts draining the inbox, or makes the running drain look for the new job at once. */
  #kickInbox(): void {
    if (this.#draining) {
      this.#pool.wake();
      return;
    }
    this.#draining = this.#pool
      .drain((p) => this.#runJob(p.updateId, p.job, p.attempts))
      .catch((error: unknown) => log("error", "inbox_drain_failed", { error: describeError(error) }))
      .finally(() => {
        this.#draining = null;
      });
  }

  async #runJob(updateId: number, job: Job, attempts: number): Promise<void> {
    const account = this.#ledger.account();
    if (!account) return;
    this.#inbox.attempted(updateId);
    try {
      await handleJob(job, {
        api: await this.#botToken.telegram(),
        config: this.#config,
        aiApiKey: this.env.AI_API_KEY,
        systemPrompt: account.system_prompt,
        ownerChatId: account.owner_telegram_id,
        endUserDailyCapMicros: this.#config.endUserDailyCapMicros,
        account: this.#port(updateId),
        billing: (ownerJob) =>
          billingCommand(ownerJob, {
            billing: this.#billing,
            config: this.#config,
            instanceId: account.instance_id,
            reply: async (text, options = {}) =>
              sendText(await this.#botToken.telegram(), ownerJob.chatId, text, sendOptions(options)),
            invoices: () => latestInvoices(this.env.DB, account.instance_id),
            apply: (fx) => void this.#applyBilling(fx),
          }),
      });
      this.#inbox.done(updateId);
    } catch (error) {
      const giveUp = attempts + 1 >= MAX_JOB_ATTEMPTS;
      log(giveUp ? "error" : "warn", "telegram_job_failed", {
        instanceId: account.instance_id,
        updateId,
        attempt: attempts + 1,
        gaveUp: giveUp,
        error: describeError(error),
      });
      if (giveUp) this.#inbox.done(updateId);
      else this.#armAlarm(Date.now() + backoffMs(attempts));
    }
  }

  /** The bot's view of this account for one update; every call is one synchronous transaction. */
  #port(updateId: number): AccountPort {
    const key = internalKey("telegram-update", updateId);
    return {
      instanceId: this.#ledger.account()?.instance_id ?? "",
      updateId,
      holdAnswer: (endUserId) => {
        const now = Date.now();
        const result = this.#tx(() =>
          this.#ledger.hold(
            {
              idempotencyKey: key,
              operation: "response",
              maxCostMicros: this.#config.answerWorstCaseMicros,
              ttlMs: ANSWER_HOLD_TTL_MS,
              fingerprint: key,
              endUserId,
            },
            now,
          ),
        );
        if (result.ok) this.#armAlarm(result.expiresAt);
        return result;
      },
      settleAnswer: (holdId, costMicros, answer) => {
        const now = Date.now();
        const result = this.#tx(() => {
          const settled = this.#ledger.settle({ holdId, costMicros, fingerprint: key }, now);
          if (settled.ok) this.#inbox.storeAnswer(updateId, answer);
          return settled;
        });
        if (result.ok && !result.replayed) this.#afterBalanceChange(now);
        return result;
      },
      releaseAnswer: (holdId) => {
        this.#tx(() => this.#ledger.release(holdId, Date.now()));
      },
      storedAnswer: () => this.#inbox.storedAnswer(updateId),
      markSent: (parts) => this.#inbox.sent(updateId, parts),
      spentToday: (endUserId) => this.#tx(() => this.#ledger.endUserSpentToday(endUserId, Date.now())),
      recordUnanswered: () => {
        const now = Date.now();
        this.#tx(() => {
          this.#ledger.countUnanswered(now);
          this.#ledger.trackOutOfCredits(now);
        });
        void this.#alerts.ranOut(now);
      },
      balance: () => this.#ledger.view(),
      autoRecharge: () => this.#autoRecharge(),
      stats: () => this.#statsSnapshot(Date.now()),
    };
  }

  #hasOutbox(): boolean {
    return hasPendingHistory(this.#sql);
  }

  /** Sets the alarm if `at` is earlier than the one pending; never awaited on the request path. */
  #armAlarm(at: number): void {
    if (this.#alarmAt !== null && this.#alarmAt <= at) return;
    this.#alarmAt = at;
    this.ctx.storage.setAlarm(at).catch((error: unknown) => {
      if (this.#alarmAt === at) this.#alarmAt = null; // the next change tries again
      log("error", "set_alarm_failed", { error: describeError(error) });
    });
  }

  /** After an alarm: the next reason to wake up (pending history, the next hold expiry, unfinished jobs). */
  #rearm(retryAt: number | null): void {
    const candidates: number[] = [];
    if (retryAt !== null) candidates.push(retryAt);
    else if (this.#hasOutbox()) candidates.push(Date.now() + FLUSH_DELAY_MS);
    const nextExpiry = this.#ledger.nextHoldExpiry();
    if (nextExpiry !== null) candidates.push(nextExpiry);
    const rechargeDue = this.#billing.nextDueAt();
    if (rechargeDue !== null) candidates.push(rechargeDue);
    if (this.#billing.unsynced(1).length > 0) candidates.push(Date.now() + FLUSH_DELAY_MS);
    if (this.#inbox.hasPending()) candidates.push(Date.now() + INBOX_SAFETY_DELAY_MS);
    if (candidates.length > 0) this.#armAlarm(Math.min(...candidates));
  }
}
