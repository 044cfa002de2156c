import { DurableObject } from "cloudflare:workers";
import type Stripe from "stripe";
import type { Completion } from "../ai/model";
import { Billing } from "../billing/billing";
import type { ChargeTrace } from "../billing/credits";
import { BillingEffects } from "../billing/notices";
import { stripeClient } from "../billing/stripe";
import { type Config, loadConfig } from "../env";
import { forgetOldRecords } from "../ledger/idempotency";
import { Ledger } from "../ledger/ledger";
import { backoffMs, FLUSH_DELAY_MS } from "../ledger/rules";
import { migrateAccount } from "../ledger/schema";
import type * as T from "../ledger/types";
import { describeError, log } from "../log";
import { AfterChange } from "./after-change";
import { AlarmClock } from "./alarm";
import { Alerts, type BalanceEffects } from "./alerts";
import { BotJobs, type ModelCall } from "./bot-jobs";
import { BotToken } from "./bot-token";
import { type Authorized, authorize } from "./callers";
import { type AppCommandName, type AppCommandResult, DASHBOARD_DAYS, Dashboard, type DashboardView } from "./dashboard";
import { HistoryCopy } from "./history-copy";
import { hourlyVisit } from "./hourly-visit";
import { INBOX_SAFETY_DELAY_MS, Inbox } from "./inbox";
import { Welcome } from "./welcome";

/**
 * One instance's credits and bot. Every balance change runs inside one `transactionSync`
 * (see Ledger) with no `await`, so concurrent requests are serialized by the object and each
 * change is durable before the reply. Only the methods without `#` are the RPC contract.
 */
export class CreditAccount extends DurableObject<Env> {
  readonly #sql: SqlStorage;
  readonly #config: Config;
  readonly #ledger: Ledger;
  readonly #alarm: AlarmClock;
  readonly #history: HistoryCopy;
  readonly #inbox: Inbox;
  readonly #jobs: BotJobs;
  readonly #botToken: BotToken;
  #stripe: Stripe | null = null;
  readonly #billing: Billing;
  readonly #alerts: Alerts;
  readonly #after: AfterChange;
  readonly #welcome: Welcome;
  readonly #dashboard: Dashboard;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#config = loadConfig(env);
    this.#ledger = new Ledger(this.#sql, this.#config);
    this.#alarm = new AlarmClock(ctx.storage, this.#ledger);
    this.#history = new HistoryCopy(this.#sql, env.DB, this.#ledger, (fn) => this.#tx(fn));
    this.#inbox = new Inbox(this.#sql);
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
      notify: (text, stillTrue) => this.#jobs.notifyOwner(text, stillTrue),
    });
    this.#after = new AfterChange(
      (fn) => this.#tx(fn),
      this.#alarm,
      this.#billing,
      this.#alerts,
      (text) => this.#jobs.notifyOwner(text),
    );
    this.#welcome = new Welcome(this.#sql, this.#ledger, this.#config, {
      tx: (fn) => this.#tx(fn),
      notify: (text) => this.#jobs.notifyOwner(text),
    });
    this.#jobs = new BotJobs(
      env,
      this.#config,
      this.#ledger,
      this.#inbox,
      this.#billing,
      this.#alerts,
      this.#botToken,
      {
        tx: (fn) => this.#tx(fn),
        armAlarm: (at) => this.#alarm.arm(at),
        after: this.#after,
        stats: (now) => this.#statsSnapshot(now),
        welcomeWithFirstMessage: () => this.#welcome.withFirstMessage(),
      },
    );
    const tx = <T>(fn: () => T) => this.#tx(fn);
    this.#dashboard = new Dashboard(this.#config, this.#ledger, this.#billing, this.#botToken, this.#jobs, tx);
    void ctx.blockConcurrencyWhile(async () => {
      this.ctx.storage.transactionSync(() => {
        migrateAccount(this.#sql);
        // A welcome being sent when the object stopped is owed still: it goes with the owner's next message.
        this.#ledger.row.welcomeDeferred();
      });
      await this.#alarm.load();
      // An alarm can be lost (a setAlarm that failed, an eviction before it was written): whatever is due
      // when the object starts gets its alarm back now, not at the next hourly visit.
      if (this.#ledger.account()) this.#rearm(null);
    });
  }

  // ---------------------------------------------------------------- RPC contract

  /** Creates the account with its license bonus. Refuses if the instance already exists. */
  provision(input: T.ProvisionInput): T.Outcome<{ balanceMicros: number }> {
    const now = Date.now();
    const result = this.#tx(() => {
      const provisioned = this.#ledger.provision(input, now);
      if (provisioned.ok) {
        this.#ledger.row.welcomeDue();
        if (input.ownerEmail) this.#billing.ownerEmailProvisioned(input.ownerEmail);
      }
      return provisioned;
    });
    if (result.ok) {
      this.#alarm.arm(now + FLUSH_DELAY_MS);
      log("info", "instance_provisioned", { instanceId: input.instanceId, license: input.license });
    }
    return result;
  }

  /**
   * The owner's welcome, right after provisioning: sent once. "deferred" when Telegram refused it (the owner has
   * not started the bot): it goes with the owner's first message. "none": sent already, or being sent.
   */
  async welcome(): Promise<T.Outcome<{ welcome: "sent" | "deferred" | "none" }>> {
    if (!this.#ledger.account()) return { ok: false, reason: "not_found" };
    return { ok: true, welcome: await this.#welcome.send() };
  }

  /** A new usage API key's hash; the old key is refused from the next request on. */
  replaceApiKey(apiKeyHash: string): T.Outcome<object> {
    const result = this.#tx(() => this.#ledger.replaceApiKey(apiKeyHash));
    if (result.ok) log("info", "api_key_replaced", { instanceId: this.#ledger.account()?.instance_id });
    return result;
  }

  /** New credentials for this instance's bot (see Ledger.replaceBotCredentials); the next send uses them. */
  replaceBotCredentials(input: T.BotCredentials): T.Outcome<object> {
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
  async resealBotToken(): Promise<T.Outcome<{ token: "current" | "resealed" | "unreadable" }>> {
    if (!this.#ledger.account()) return { ok: false, reason: "not_found" };
    return { ok: true, token: await this.#botToken.resealIfOld() };
  }

  /** Balance, available balance (balance minus open holds) and out-of-credits state. */
  balance(caller: T.Caller): T.Outcome<T.BalanceView> {
    const now = Date.now();
    return this.#tx(() => {
      const auth = this.#authorize(caller);
      if (!auth.ok) return auth;
      this.#ledger.expireHolds(now);
      return { ok: true, ...this.#ledger.view() };
    });
  }

  /** Everything the operator sees about the account. */
  status(): T.Outcome<T.AccountStatus> {
    const status = this.#tx(() => this.#ledger.status(Date.now()));
    return status ? { ok: true, ...status, autoRecharge: this.#billing.view() } : { ok: false, reason: "not_found" };
  }

  /** `/stats` figures, from rollups. */
  stats(): T.Outcome<T.StatsSnapshot> {
    if (!this.#ledger.account()) return { ok: false, reason: "not_found" };
    return { ok: true, ...this.#statsSnapshot(Date.now()) };
  }

  /**
   * Debits a known cost once per idempotency key. The hot path: one transaction reads the account
   * row once and holds the charge, the out-of-credits transition, the recharge trigger and the
   * early-warning check; only the owner's notifications run after it.
   */
  charge(caller: T.Caller, input: T.ChargeInput): T.Outcome<T.ChargeResult> {
    const now = Date.now();
    const after: { effects?: BalanceEffects } = {};
    const result = this.#tx((): T.Outcome<T.ChargeResult> => {
      const account = this.#ledger.account();
      const auth = authorize(account, caller);
      if (!auth.ok || !account) return auth.ok ? { ok: false, reason: "not_found" } : auth;
      const { outcome, heldMicros } = this.#ledger.debit(input, now, account);
      if (outcome.ok && !outcome.replayed) {
        after.effects = this.#alerts.balanceChanged(now, { account, balanceMicros: outcome.balanceMicros, heldMicros });
      }
      return outcome;
    });
    if (after.effects) this.#after.balanceEffects(now, after.effects);
    if (!result.ok && result.reason === "background_floor") {
      this.#alerts.backgroundRefused(now, input.operation, input.costMicros);
    }
    return result;
  }

  /** Reserves the worst-case cost of an operation whose real cost is known only afterwards. */
  hold(caller: T.Caller, input: T.HoldInput): T.Outcome<T.HoldResult> {
    const now = Date.now();
    const result = this.#tx(() => {
      const auth = this.#authorize(caller);
      return auth.ok ? this.#ledger.hold(input, now) : auth;
    });
    if (result.ok && !result.replayed) this.#alarm.arm(result.expiresAt);
    if (!result.ok && result.reason === "background_floor") {
      this.#alerts.backgroundRefused(now, input.operation, input.maxCostMicros);
    }
    return result;
  }

  /** Charges the actual cost of a held operation (at most the hold) and frees the rest. */
  settle(caller: T.Caller, input: T.SettleInput): T.Outcome<T.SettleResult> {
    const now = Date.now();
    const result = this.#tx(() => {
      const auth = this.#authorize(caller);
      return auth.ok ? this.#ledger.settle(input, now) : auth;
    });
    if (result.ok && !result.replayed) this.#after.balanceChanged(now);
    return result;
  }

  /** Frees a hold without charging. Releasing twice, or an expired hold, is not an error. */
  release(caller: T.Caller, holdId: string): T.Outcome<T.ReleaseResult> {
    const now = Date.now();
    return this.#tx(() => {
      const auth = this.#authorize(caller);
      return auth.ok ? this.#ledger.release(holdId, now) : auth;
    });
  }

  /** An operator's grant or correction (negative amounts may take the balance below zero). */
  adjust(input: T.AdjustInput, fingerprint: string): T.Outcome<T.AdjustResult> {
    const now = Date.now();
    const result = this.#tx((): T.Outcome<T.AdjustResult> => {
      if (!this.#ledger.account()) return { ok: false, reason: "not_found" };
      return this.#ledger.adjust(input, fingerprint, now);
    });
    if (result.ok && !result.replayed) {
      this.#after.balanceChanged(now);
      log("info", "balance_adjusted", {
        instanceId: this.#ledger.account()?.instance_id,
        amountMicros: input.amountMicros,
      });
    }
    return result;
  }

  /** The owner's Mini App's data (docs/dashboard.md), for `initData` Telegram signed for the owner within the hour. */
  async dashboard(initData: string): Promise<T.Outcome<DashboardView>> {
    const owner = await this.#dashboard.owner(initData, Date.now());
    return owner.ok ? { ok: true, ...this.#dashboard.view(Date.now()) } : owner;
  }

  /** A settings change from the Mini App, run as the owner's command (the bot confirms it in the chat). */
  async dashboardCommand(initData: string, name: AppCommandName, args: string[]): Promise<T.Outcome<AppCommandResult>> {
    const owner = await this.#dashboard.owner(initData, Date.now());
    return owner.ok ? { ok: true, ...(await this.#dashboard.command(name, args)) } : owner;
  }

  /** Ledger entries, newest first; `cursor` is the `seq` to continue below. */
  ledger(cursor: number | null, limit: number): T.Outcome<T.LedgerPage> {
    if (!this.#ledger.account()) return { ok: false, reason: "not_found" };
    return { ok: true, ...this.#ledger.page(cursor, limit) };
  }

  /**
   * A Telegram webhook delivery. Verifies the secret, records the update once per `update_id`
   * and answers at once; the work (an AI answer may take a minute) runs after the reply, so
   * Telegram never times out and redelivers. A client's question may come back as `modelCall`: the
   * webhook's Worker asks the model and delivers the answer to `modelAnswered`. See docs/telegram.md.
   */
  receiveUpdate(secretHash: string, body: string): { status: 200 | 400 | 401 | 404; modelCall?: ModelCall } {
    const account = this.#ledger.account();
    if (!account) return { status: 404 };
    const now = Date.now();
    const { status, queued } = this.#inbox.receive(account, secretHash, body, now);
    if (!queued) return { status };
    this.#alarm.arm(now + INBOX_SAFETY_DELAY_MS);
    const modelCall = this.#jobs.received(queued, now);
    return modelCall ? { status, modelCall } : { status };
  }

  /** The model's answer to a `modelCall`, under its lease (null: the Worker gives the job back). */
  modelAnswered(updateId: number, lease: string, completion: Completion | null): { accepted: boolean } {
    return { accepted: this.#jobs.modelAnswered(updateId, lease, completion) };
  }

  /**
   * A verified Stripe event for this instance (routed by the webhook); each event id has effect once.
   * `trace` is the invoice a charge (refund, dispute) belongs to, which the route found by asking Stripe.
   */
  async stripeEvent(
    event: Stripe.Event,
    trace: ChargeTrace | null = null,
  ): Promise<T.Outcome<{ outcome: "processed" | "duplicate" | "ignored" }>> {
    if (!this.#ledger.account()) return { ok: false, reason: "not_found" };
    const fx = new BillingEffects();
    try {
      const outcome = await this.#billing.receiveEvent(fx, event, trace);
      return outcome === "retry_later" ? { ok: false, reason: "upstream_unavailable" } : { ok: true, outcome };
    } finally {
      await this.#after.billingDecided(fx);
    }
  }

  /** The hourly cron's visit: reconciliation, lost alarms, at most one alert per hour (see hourly-visit.ts). */
  async hourly(nowMs: number): Promise<T.Outcome<{ alerted: boolean; reconciled: number }>> {
    const account = this.#ledger.account();
    if (!account) return { ok: false, reason: "not_found" };
    return hourlyVisit(nowMs, {
      instanceId: account.instance_id,
      billing: this.#billing,
      after: this.#after,
      alarm: this.#alarm,
      alerts: this.#alerts,
      history: this.#history,
      rearm: () => this.#rearm(null),
    });
  }

  /** Flushes history, expires holds, finishes inbox jobs and re-arms itself; safe to run any number of times. */
  override async alarm(): Promise<void> {
    this.#alarm.fired();
    const now = Date.now();
    const account = this.#ledger.account();
    if (!account) return;
    this.#tx(() => {
      this.#ledger.expireHolds(now);
      // The debits since the last alarm are summed into the stats rollups in one batch.
      this.#ledger.rollups.catchUpRollups();
      forgetOldRecords(this.#sql, now);
      this.#ledger.rollups.forgetOldActiveDays(now, DASHBOARD_DAYS + 1);
      this.#inbox.forgetDone(now);
    });
    this.#jobs.kick();
    let retryAt = await this.#history.flush();
    const fx = new BillingEffects();
    try {
      await this.#billing.driveDue(fx, Date.now());
      await this.#after.billingDecided(fx);
      await this.#billing.copyHistory(this.env.DB);
    } catch (error) {
      log("warn", "billing_alarm_failed", { instanceId: account.instance_id, error: describeError(error) });
      retryAt = Math.min(retryAt ?? Number.POSITIVE_INFINITY, Date.now() + backoffMs(this.#history.failures() + 1));
      await this.#after.billingDecided(fx);
    }
    await this.#jobs.drained();
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

  #authorize(caller: T.Caller): Authorized {
    return authorize(this.#ledger.account(), caller);
  }

  #statsSnapshot(now: number): T.StatsSnapshot {
    return {
      ...this.#tx(() => this.#ledger.stats(now)),
      autoRecharge: this.#billing.view(),
      lastRecharge: this.#billing.lastRecharge(),
    };
  }

  /** After an alarm: the next reason to wake up (pending history, the next hold expiry, unfinished or leased jobs). */
  #rearm(retryAt: number | null): void {
    const now = Date.now();
    this.#alarm.armEarliest([
      retryAt ?? (this.#history.pending() ? now + FLUSH_DELAY_MS : null),
      this.#ledger.nextHoldExpiry(),
      this.#billing.nextDueAt(),
      this.#billing.unsynced(1).length > 0 ? now + FLUSH_DELAY_MS : null,
      this.#inbox.wakeAt(now, now + INBOX_SAFETY_DELAY_MS),
    ]);
  }
}
