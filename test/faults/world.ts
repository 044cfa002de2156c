import {
  abortAllDurableObjects,
  createExecutionContext,
  createScheduledController,
  env,
  runDurableObjectAlarm,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { loadConfig } from "../../src/env";
import worker from "../../src/index";
import { jobRetryScheduleMs } from "../../src/ledger/rules";
import { signPayload } from "../../standins/stripe";
import { type StripeEventRecord, stripeControl, stripeEvents, stripeGet } from "../billing/fixtures";
import { ADMIN, botToken, freshId, type Provisioned, stub } from "../helpers";
import { type SentMessage, sentMessages, webhookSecret } from "../telegram/fixtures";

/**
 * The system under simulation, driven only through its real entry points (Telegram and Stripe webhooks,
 * usage and admin APIs, the scheduled handler, alarms, evictions) and observed through its real state
 * (the CreditAccount's SQLite, D1, the Stripe and Telegram stand-ins). One World per sequence: a fresh
 * instance, bot token and Stripe customer, so sequences never share state.
 */

export const OWNER = 4242001;
export const HOUR_MS = 3_600_000;
const config = loadConfig(env);
export const ANSWER_WORST_CASE = config.answerWorstCaseMicros;
export const BACKGROUND_FLOOR = config.backgroundFloorMicros;
/** `[[usage:100,50]]` at gpt-4o-mini prices: 100 × 0.15 + 50 × 0.6 = 45 micro-USD per answer. */
export const ANSWER_TEXT = "hello [[usage:100,50]]";

export class Violation extends Error {
  constructor(
    readonly invariant: string,
    detail: string,
  ) {
    super(`[${invariant}] ${detail}`);
    this.name = "Violation";
  }
}

/**
 * How long an object may stay busy after a step: a Telegram job's whole retry schedule (consecutive fault
 * steps can refuse every attempt but the last) plus a margin for the sends and their in-request retries.
 * Still busy after that, the object has lost track of its work: a liveness violation.
 */
const QUIET_WITHIN_MS = jobRetryScheduleMs() + 15_000;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- state as read from the stores

export interface LedgerRow {
  seq: number;
  kind: string;
  operation: string | null;
  amount_micros: number;
  balance_after_micros: number;
  idempotency_key: string | null;
  end_user_id: string | null;
  reference: string | null;
  memo: string | null;
  created_at: number;
}

export interface HoldRow {
  id: string;
  idempotency_key: string;
  max_cost_micros: number;
  status: string;
  expires_at: number;
}

export interface RechargeRow {
  id: string;
  kind: string;
  status: string;
  step: string;
  invoice_id: string | null;
  checkout_session_id: string | null;
  amount_micros: number;
  paid_micros: number | null;
  refunded_micros: number;
  failure_code: string | null;
  attempts: number;
  next_attempt_at: number | null;
  updated_at: number;
  /** 0 until the alarm copied the latest change to D1. */
  synced: number;
}

export interface BillingRow {
  customer_id: string | null;
  payment_method_id: string | null;
  top_up_micros: number | null;
  recharge_at_micros: number | null;
  auto_enabled: number;
  status: string;
  pending_session_id: string | null;
}

export interface StripeInvoice {
  id: string;
  status: string;
  amount_due: number;
  amount_paid: number;
  metadata: Record<string, string>;
}

export interface DisputeRecord {
  id: string;
  charge: string;
  invoice: string;
  /** Cents. */
  amount: number;
  outcome: "won" | "lost" | null;
}

export interface StripeView {
  invoices: StripeInvoice[];
  payments: number;
  totalChargedCents: number;
  refundedCents: number;
}

export interface Snapshot {
  at: number;
  balance: number;
  held: number;
  outSince: number | null;
  lastAlertHour: number | null;
  ledger: LedgerRow[];
  holds: HoldRow[];
  outbox: number[];
  recharges: RechargeRow[];
  billing: BillingRow;
  pendingUpdates: number;
  unanswered: number;
  alarm: number | null;
  /** D1 history read before the object (never ahead of it) … */
  d1Ledger: LedgerRow[];
  /** … and after it (nothing lost: every entry is here or still in the outbox). */
  d1LedgerAfter: LedgerRow[];
  d1Projection: { balance_micros: number; out_of_credits: number; projected_seq: number } | null;
  d1Recharges: { id: string; status: string; paid_micros: number | null; refunded_micros: number }[];
  stripe: StripeView | null;
  messages: SentMessage[];
  /** Sends Telegram refused so far (faults injected by the simulation). */
  refusedSends: number;
}

/** Open holds that have not expired by `at`: what the object counts as held once it looks. */
export function effectiveHeld(s: Snapshot): number {
  return s.holds.filter((h) => h.status === "open" && h.expires_at > s.at).reduce((n, h) => n + h.max_cost_micros, 0);
}

export function available(s: Snapshot): number {
  return s.balance - effectiveHeld(s);
}

export function outOfCredits(s: Snapshot): boolean {
  return available(s) < Math.max(1, ANSWER_WORST_CASE);
}

export const HOURLY_ALERT = /^⚠️ Still out of credits/;
export const OUT_NOW = /^⚠️ Out of credits/;
export const BACK = /^✅ Credits are back/;
/** A recharge's or a top-up's own ✅ message: it is the episode's end when the credit ended it. */
export const CREDITED = /^✅ (Auto-recharge added|\$[\d,.]+ of credits added)/;

// ---------------------------------------------------------------- the relay of Stripe deliveries

export interface Delivery {
  event: StripeEventRecord;
  status: number;
}

/**
 * Stripe's side of webhook delivery, held by the test: events wait in `queue` until a step delivers,
 * duplicates, reorders or drops them. A delivery the Worker did not accept goes back to the queue, as
 * Stripe retries it.
 */
export class StripeRelay {
  readonly queue: StripeEventRecord[] = [];
  readonly delivered: StripeEventRecord[] = [];
  readonly dropped: StripeEventRecord[] = [];
  /** Deliveries cut short by an eviction: the object may or may not have taken them (they are queued again). */
  readonly uncertain: StripeEventRecord[] = [];
  readonly #known = new Set<string>();
  readonly #customers = new Set<string>();
  /** Deliveries made (including duplicates) and those the Worker refused with 502 (Stripe retries them). */
  posted = 0;
  refused = 0;

  watch(customer: string): void {
    this.#customers.add(customer);
  }

  async refresh(): Promise<void> {
    for (const customer of this.#customers) {
      for (const e of await stripeEvents(customer)) {
        if (this.#known.has(e.id)) continue;
        this.#known.add(e.id);
        this.queue.push(e);
      }
    }
  }

  async post(event: StripeEventRecord): Promise<number> {
    const body = JSON.stringify(event.payload);
    const signature = await signPayload(body, env.STRIPE_WEBHOOK_SECRET);
    const response = await call("/stripe/webhook", {
      method: "POST",
      headers: { "stripe-signature": signature },
      body,
    });
    if (response.status !== 200 && response.status !== 502) {
      throw new Violation("webhook", `${event.type} ${event.id} answered ${response.status}`);
    }
    this.posted += 1;
    if (response.status !== 200) this.refused += 1;
    return response.status;
  }

  /** Delivers the queued event at `index` (mod length; -1 is the newest); a refused delivery is queued again. */
  async deliver(index: number): Promise<Delivery | null> {
    await this.refresh();
    if (this.queue.length === 0) return null;
    const at = index < 0 ? this.queue.length - 1 : index % this.queue.length;
    const [event] = this.queue.splice(at, 1);
    if (!event) return null;
    const status = await this.post(event);
    if (status === 200) this.delivered.push(event);
    else this.queue.push(event);
    return { event, status };
  }

  /**
   * Delivers while the object may be evicted under it: an answer other than 200 (the object reset mid-request
   * answers 500, or the call throws) queues the event again, as Stripe retries whatever it was not sure of.
   */
  async deliverMayFail(index: number): Promise<Delivery | null> {
    await this.refresh();
    if (this.queue.length === 0) return null;
    const at = index < 0 ? this.queue.length - 1 : index % this.queue.length;
    const [event] = this.queue.splice(at, 1);
    if (!event) return null;
    let status = 0;
    try {
      const body = JSON.stringify(event.payload);
      const signature = await signPayload(body, env.STRIPE_WEBHOOK_SECRET);
      status = (await call("/stripe/webhook", { method: "POST", headers: { "stripe-signature": signature }, body }))
        .status;
    } catch {
      status = 0;
    }
    this.posted += 1;
    if (status === 200) this.delivered.push(event);
    else {
      this.refused += 1;
      this.queue.push(event);
      if (status !== 502) this.uncertain.push(event);
    }
    return { event, status };
  }

  /** An event answered 200 that the object never recorded: queued again, and counted as uncertain. */
  unacknowledge(event: StripeEventRecord): void {
    const at = this.delivered.lastIndexOf(event);
    if (at >= 0) this.delivered.splice(at, 1);
    this.uncertain.push(event);
    this.queue.push(event);
  }

  async redeliver(index: number): Promise<Delivery | null> {
    if (this.delivered.length === 0) return null;
    const event = this.delivered[index % this.delivered.length];
    if (!event) return null;
    return { event, status: await this.post(event) };
  }

  async drop(index: number): Promise<StripeEventRecord | null> {
    await this.refresh();
    if (this.queue.length === 0) return null;
    const [event] = this.queue.splice(index % this.queue.length, 1);
    if (event) this.dropped.push(event);
    return event ?? null;
  }

  /** Everything still queued, in creation order, until nothing is left or Stripe keeps failing. */
  async deliverAll(): Promise<void> {
    for (let round = 0; round < 5; round++) {
      await this.refresh();
      if (this.queue.length === 0) return;
      const batch = this.queue.splice(0, this.queue.length);
      for (const event of batch) {
        const status = await this.post(event);
        if (status === 200) this.delivered.push(event);
        else this.queue.push(event);
      }
    }
  }
}

// ---------------------------------------------------------------- the world

export interface SentUpdate {
  updateId: number;
  body: unknown;
  /** The end user's chat, or null for owner and stranger updates. */
  endUser: number | null;
}

let updateCounter = 5_000_000;
let userCounter = 70_000_000;

export class World {
  readonly relay = new StripeRelay();
  customer: string | null = null;
  readonly updates: SentUpdate[] = [];
  /** Steps done so far, for the failure report; `phase` prefixes the steps of the setup and the final drain. */
  readonly trace: string[] = [];
  phase = "";
  last: Snapshot | null = null;
  /** Hour → hourly alerts seen from cron runs for that hour. */
  readonly alertsByHour = new Map<number, number>();
  simHour = Math.floor(Date.now() / HOUR_MS) + 1;
  /** Recharges once seen paid, with the credits they brought: paid must stay paid. */
  readonly paidRecharges = new Map<string, number>();
  /** Invoices disputed at Stripe, which the model allows once per charge, as Stripe does; `outcome` once closed. */
  readonly disputes = new Map<string, DisputeRecord>();
  /** Charge id → our invoice, learnt from the refund and dispute controls (a charge names no invoice). */
  readonly chargeInvoice = new Map<string, string>();
  /** Per charge, what Stripe has refunded so far (cents), from the refund control's answers. */
  readonly refundedAtStripe = new Map<string, number>();
  /** A card save met a 500 that its idempotency key keeps (a known defect: the card save never changes key). */
  cardSaveKeyKeeps500 = false;
  /** Keys of the debits that late-answer and mid-flight steps use to cross the threshold. */
  triggerKeys = 0;
  /** First successful result per usage key, adjustment key, hold slot and settled hold. */
  readonly usageKeys = new Map<
    string,
    { operation: string; costMicros: number; body: { chargedMicros: number; balanceMicros: number } }
  >();
  readonly adjustKeys = new Map<string, { usd: number; entryId: number }>();
  readonly holdSlots = new Map<number, { holdId: string; maxMicros: number }>();
  readonly settles = new Map<string, { key: string; cost: number; body: string }>();
  /** A Checkout page the bot just linked to, with the card the owner will use (null: abandoned). */
  pendingCheckout: { sessionId: string; card: "succeed" | "decline" | "insufficient" | "authenticate" | null } | null =
    null;
  /** What the sequence exercised (step kinds and outcomes), summed over the run for the report. */
  readonly coverage = new Map<string, number>();
  #secret: string | null = null;

  /** Starts a timer; calling the result adds the elapsed time to `phase` (milliseconds, in the coverage). */
  time(phase: string): () => void {
    const started = Date.now();
    return () => this.count(`ms ${phase}`, Date.now() - started);
  }

  count(what: string, n = 1): void {
    if (n > 0) this.coverage.set(what, (this.coverage.get(what) ?? 0) + n);
  }

  private constructor(readonly inst: Provisioned) {}

  /** Provisions an instance through the admin API, as an operator would. */
  static async create(license: "starter" | "pro"): Promise<World> {
    const id = freshId("sim");
    const token = botToken();
    const res = await call("/admin/instances", {
      method: "POST",
      headers: ADMIN,
      body: JSON.stringify({ id, telegramBotToken: token, ownerTelegramId: OWNER, license }),
    });
    if (res.status !== 201) throw new Error(`provision failed: ${res.status} ${res.text}`);
    const created = res.json as { apiKey: string; webhookUrl: string; balanceMicros: number };
    return new World({
      id,
      apiKey: created.apiKey,
      webhookUrl: created.webhookUrl,
      balanceMicros: created.balanceMicros,
      botToken: token,
      ownerTelegramId: OWNER,
      auth: { authorization: `Bearer ${created.apiKey}` },
    });
  }

  get id(): string {
    return this.inst.id;
  }

  // ------------------------------------------------------------ Telegram

  async sendUpdate(body: { update_id: number }, endUser: number | null): Promise<number> {
    this.#secret ??= await webhookSecret(this.inst.botToken);
    const response = await call(`/telegram/${this.id}`, {
      method: "POST",
      headers: { "x-telegram-bot-api-secret-token": this.#secret },
      body: JSON.stringify(body),
    });
    this.updates.push({ updateId: body.update_id, body, endUser });
    return response.status;
  }

  async resend(update: SentUpdate): Promise<number> {
    this.#secret ??= await webhookSecret(this.inst.botToken);
    const response = await call(`/telegram/${this.id}`, {
      method: "POST",
      headers: { "x-telegram-bot-api-secret-token": this.#secret },
      body: JSON.stringify(update.body),
    });
    return response.status;
  }

  static nextUpdateId(): number {
    updateCounter += 1;
    return updateCounter;
  }

  static nextUser(): number {
    userCounter += 1;
    return userCounter;
  }

  async messages(): Promise<SentMessage[]> {
    return sentMessages(this.inst.botToken);
  }

  async refusedSends(): Promise<number> {
    const url = `${env.TELEGRAM_API_BASE}/__control/sent?token=${encodeURIComponent(this.inst.botToken)}&ok=0`;
    return ((await (await fetch(url)).json()) as { messages: unknown[] }).messages.length;
  }

  // ------------------------------------------------------------ usage and admin APIs

  usage(path: string, method: string, body?: unknown) {
    return call(`/v1/instances/${this.id}${path}`, {
      method,
      headers: this.inst.auth,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  adjust(key: string, amountMicros: number) {
    return call(`/admin/instances/${this.id}/adjustments`, {
      method: "POST",
      headers: ADMIN,
      body: JSON.stringify({ idempotencyKey: key, amountMicros, reason: "simulation" }),
    });
  }

  // ------------------------------------------------------------ Stripe

  /** The Stripe customer behind a Checkout session the bot linked to. */
  async adoptCustomer(sessionId: string): Promise<void> {
    if (this.customer) return;
    const session = await stripeGet<{ customer: string }>(`/v1/checkout/sessions/${sessionId}`);
    this.customer = session.customer;
    this.relay.watch(session.customer);
  }

  async stripe(): Promise<StripeView | null> {
    if (!this.customer) return null;
    return stripeControl<StripeView>(`customers/${this.customer}/summary`);
  }

  // ------------------------------------------------------------ time, alarms, cron, evictions

  async cron(scheduledTime: number): Promise<void> {
    const controller = createScheduledController({ scheduledTime, cron: "0 * * * *" });
    const ctx = createExecutionContext();
    await worker.scheduled(controller, env, ctx);
    await waitOnExecutionContext(ctx);
  }

  async runAlarm(): Promise<boolean> {
    return runDurableObjectAlarm(stub(this.id));
  }

  /**
   * Time passes for the backoff of recharge steps (and, if asked, for the TTL of holds): the due times
   * move to now, as if the clock had jumped, and the object's alarm runs.
   */
  async timePasses(holds: boolean): Promise<void> {
    await this.pullDueTimes(holds);
    await this.runAlarm();
  }

  /** Moves due times to now without running anything (a `Race` runs the alarm itself). */
  async pullDueTimes(holds: boolean): Promise<void> {
    await runInDurableObject(stub(this.id), (_i, state) => {
      const now = Date.now();
      state.storage.sql.exec(
        "UPDATE recharges SET next_attempt_at = ? WHERE status = 'pending' AND next_attempt_at > ?",
        now,
        now,
      );
      if (holds) state.storage.sql.exec("UPDATE holds SET expires_at = ? WHERE status = 'open'", now - 1);
    });
  }

  /** What still runs in the object: inbox jobs not done, recharge steps due now (being driven). */
  async busy(): Promise<{ updates: number; due: number; nextStepAt: number | null; inFlight: number }> {
    return runInDurableObject(stub(this.id), (_i, state) => {
      const sql = state.storage.sql;
      const now = Date.now();
      const updates = sql
        .exec<{ n: number }>("SELECT COUNT(*) AS n FROM telegram_updates WHERE status = 'pending'")
        .one().n;
      const due = sql
        .exec<{ n: number }>(
          "SELECT COUNT(*) AS n FROM recharges WHERE status = 'pending' AND next_attempt_at <= ?",
          now,
        )
        .one().n;
      const next = sql
        .exec<{ t: number | null }>("SELECT MIN(next_attempt_at) AS t FROM recharges WHERE status = 'pending'")
        .one().t;
      const inFlight = sql
        .exec<{ n: number }>(
          "SELECT COUNT(*) AS n FROM recharges WHERE kind = 'auto' AND status IN ('pending', 'open')",
        )
        .one().n;
      return { updates, due, nextStepAt: next, inFlight };
    });
  }

  /** Waits until the object is quiet: no inbox job pending and no recharge step due (being driven). */
  async quiesce(): Promise<void> {
    const timer = this.time("quiesce");
    try {
      await this.#quiesce();
    } finally {
      timer();
    }
  }

  async #quiesce(): Promise<void> {
    const started = Date.now();
    for (;;) {
      const b = await this.busy();
      // I5 is also watched while the object works: two recharges in flight may not last until the snapshot.
      if (b.inFlight > 1) throw new Violation("I5 one recharge", `${b.inFlight} automatic recharges in flight`);
      if (b.updates === 0 && b.due === 0) return;
      if (Date.now() - started > QUIET_WITHIN_MS) {
        const seconds = Math.round(QUIET_WITHIN_MS / 1000);
        throw new Violation("liveness", `work still pending ${seconds} s later: ${JSON.stringify(b)}`);
      }
      await sleep(20);
    }
  }

  /** Owner notifications are sent without being awaited: waits until the bot's chats stop growing. */
  async messagesSettle(): Promise<void> {
    let count = (await this.messages()).length;
    for (let i = 0; i < 60; i++) {
      await sleep(40);
      const now = (await this.messages()).length;
      if (now === count) return;
      count = now;
    }
  }

  /**
   * A quiescent point for an eviction: no recharge step may start while the runtime resets (an eviction
   * during an outbound fetch hangs the runner), so steps due within a few seconds are run first.
   */
  async evict(): Promise<void> {
    for (let i = 0; i < 10; i++) {
      await this.quiesce();
      const b = await this.busy();
      if (b.nextStepAt === null || b.nextStepAt > Date.now() + 6_000) break;
      await this.timePasses(false);
    }
    await this.quiesce();
    await this.messagesSettle();
    await abortAllDurableObjects();
  }

  /** Drives recharges to rest and copies history, so an abandoned world never calls out again. */
  async settleDown(): Promise<void> {
    for (let i = 0; i < 12; i++) {
      await this.quiesce();
      const b = await this.busy();
      if (b.nextStepAt === null) break;
      await this.timePasses(false);
    }
    await this.quiesce();
    for (let i = 0; i < 3 && (await this.runAlarm()); i++) await this.quiesce();
    await this.messagesSettle();
  }

  /** After the sequence: the object's alarm is cleared so an abandoned world stays silent. */
  async retire(): Promise<void> {
    try {
      await this.settleDown();
    } catch {
      // A world that failed may be stuck; silencing it below is what matters.
    }
    await runInDurableObject(stub(this.id), async (_i, state) => {
      await state.storage.deleteAlarm();
    });
    // Out of cron's sight too: later sequences' cron runs should not spend their time visiting old worlds.
    await env.DB.batch([
      env.DB.prepare("UPDATE instances SET out_of_credits = 0 WHERE id = ?").bind(this.id),
      env.DB.prepare("DELETE FROM recharges WHERE instance_id = ?").bind(this.id),
    ]);
  }

  // ------------------------------------------------------------ reading everything

  async #d1Ledger(): Promise<LedgerRow[]> {
    return (
      await env.DB.prepare(
        `SELECT seq, kind, operation, amount_micros, balance_after_micros, idempotency_key, end_user_id, reference, memo, created_at
         FROM ledger_entries WHERE instance_id = ? ORDER BY seq`,
      )
        .bind(this.id)
        .all<LedgerRow>()
    ).results;
  }

  /**
   * D1 is read before and after the object: what D1 held before the object was read must be in the ledger
   * (never ahead), and every ledger entry must be in D1 after it or still in the outbox (never lost), even
   * when a flush runs in between. Stripe is read after the object: whatever the object credited, Stripe
   * had already marked paid.
   */
  async snapshot(): Promise<Snapshot> {
    const timer = this.time("snapshot");
    const d1Ledger = await this.#d1Ledger();
    const d1Projection = await env.DB.prepare(
      "SELECT balance_micros, out_of_credits, projected_seq FROM instances WHERE id = ?",
    )
      .bind(this.id)
      .first<{ balance_micros: number; out_of_credits: number; projected_seq: number }>();
    const d1Recharges = (
      await env.DB.prepare("SELECT id, status, paid_micros, refunded_micros FROM recharges WHERE instance_id = ?")
        .bind(this.id)
        .all<{ id: string; status: string; paid_micros: number | null; refunded_micros: number }>()
    ).results;
    const local = await runInDurableObject(stub(this.id), async (_i, state) => {
      const sql = state.storage.sql;
      const account = sql
        .exec<{
          balance_micros: number;
          held_micros: number;
          out_since: number | null;
          last_alert_hour: number | null;
        }>("SELECT balance_micros, held_micros, out_since, last_alert_hour FROM account")
        .one();
      const read = {
        at: Date.now(),
        account,
        ledger: sql
          .exec<LedgerRow & Record<string, SqlStorageValue>>(
            `SELECT seq, kind, operation, amount_micros, balance_after_micros, idempotency_key, end_user_id, reference, memo, created_at
             FROM ledger ORDER BY seq`,
          )
          .toArray(),
        holds: sql
          .exec<HoldRow & Record<string, SqlStorageValue>>(
            "SELECT id, idempotency_key, max_cost_micros, status, expires_at FROM holds",
          )
          .toArray(),
        outbox: sql
          .exec<{ seq: number }>(
            "SELECT seq FROM ledger WHERE seq > (SELECT seq FROM cursors WHERE name = 'history') ORDER BY seq",
          )
          .toArray()
          .map((r) => r.seq),
        recharges: sql
          .exec<RechargeRow & Record<string, SqlStorageValue>>(
            `SELECT id, kind, status, step, invoice_id, checkout_session_id, amount_micros, paid_micros, refunded_micros,
                    failure_code, attempts, next_attempt_at, updated_at, synced FROM recharges ORDER BY created_at`,
          )
          .toArray(),
        billing: sql
          .exec<BillingRow & Record<string, SqlStorageValue>>(
            "SELECT customer_id, payment_method_id, top_up_micros, recharge_at_micros, auto_enabled, status, pending_session_id FROM billing",
          )
          .one(),
        pendingUpdates: sql
          .exec<{ n: number }>("SELECT COUNT(*) AS n FROM telegram_updates WHERE status = 'pending'")
          .one().n,
        unanswered: sql
          .exec<{ n: number }>("SELECT COALESCE(SUM(count), 0) AS n FROM usage_hourly WHERE operation = 'unanswered'")
          .one().n,
      };
      return { ...read, alarm: await state.storage.getAlarm() };
    });
    const d1LedgerAfter = await this.#d1Ledger();
    const stripe = await this.stripe();
    const messages = await this.messages();
    const refusedSends = await this.refusedSends();
    timer();
    return {
      at: local.at,
      balance: local.account.balance_micros,
      held: local.account.held_micros,
      outSince: local.account.out_since,
      lastAlertHour: local.account.last_alert_hour,
      ledger: local.ledger,
      holds: local.holds,
      outbox: local.outbox,
      recharges: local.recharges,
      billing: local.billing,
      pendingUpdates: local.pendingUpdates,
      unanswered: local.unanswered,
      alarm: local.alarm,
      d1Ledger,
      d1LedgerAfter,
      d1Projection: d1Projection ?? null,
      d1Recharges,
      stripe,
      messages,
      refusedSends,
    };
  }
}

export interface Reply {
  status: number;
  text: string;
  json: Record<string, unknown>;
  headers: Headers;
}

/**
 * A request to the Worker's own fetch handler (the Hono app), called directly. `SELF.fetch` would do the
 * same through a service binding, but in @cloudflare/vitest-pool-workers 0.15.1 every SELF.fetch gets
 * slower than the one before (≈5 ms at first, ≈100 ms after 400 calls), which a long simulation cannot afford.
 */
export async function call(path: string, init: { method: string; headers?: Record<string, string>; body?: string }) {
  const headers: Record<string, string> = { ...init.headers };
  if (init.body !== undefined) headers["content-type"] ??= "application/json";
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(`https://credits.example.test${path}`, { method: init.method, headers, body: init.body }),
    env,
    ctx,
  );
  const text = await response.text();
  await waitOnExecutionContext(ctx);
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = {};
  }
  return { status: response.status, text, json, headers: response.headers } satisfies Reply;
}
