import type Stripe from "stripe";
import type { Ledger } from "../account/ledger";
import { backoffMs, dayOf } from "../account/rules";
import type { Config } from "../env";
import { describeError, log } from "../log";
import { centsToMicros, microsToCents } from "../money";
import * as texts from "../telegram/texts";
import type { AutoRechargeView } from "../telegram/types";
import { classifyStripeError, isPermanentStripeError } from "./stripe";

/**
 * Automatic recharge, top-ups and Stripe events of one CreditAccount. Sync methods run inside the
 * object's transactions; async ones call Stripe and then record the result in one transaction.
 *
 * The recharge state machine (`recharges` table):
 *   pending/invoice → pending/item → pending/finalize → pending/pay → paid
 *                                                            ↘ failed (hard decline)
 *                                                            ↘ open (owner must confirm: authentication)
 * The recharge id is stored before the first Stripe call and every call carries an idempotency key
 * derived from it and the step, so a retry after a crash, a 5xx or a timeout never charges twice.
 * Credit happens once per recharge (status `paid` gates it), from whichever of the pay answer,
 * `invoice.paid` or `checkout.session.completed` arrives first, and only for invoices whose
 * metadata names this instance and a recharge of it.
 */

export interface BillingRow extends Record<string, SqlStorageValue> {
  customer_id: string | null;
  payment_method_id: string | null;
  card_brand: string | null;
  card_last4: string | null;
  top_up_micros: number | null;
  recharge_at_micros: number | null;
  auto_enabled: number;
  status: "active" | "failing" | "needs_confirmation" | "daily_limit";
  pending_session_id: string | null;
  daily_limit_notified_day: number | null;
}

export interface RechargeRow extends Record<string, SqlStorageValue> {
  id: string;
  kind: "auto" | "manual";
  amount_micros: number;
  status: "pending" | "open" | "paid" | "failed";
  step: "invoice" | "item" | "finalize" | "pay" | "checkout" | "done";
  invoice_id: string | null;
  checkout_session_id: string | null;
  hosted_url: string | null;
  pdf_url: string | null;
  paid_micros: number | null;
  refunded_micros: number;
  failure_code: string | null;
  attempts: number;
  next_attempt_at: number | null;
  pay_key: string;
  created_at: number;
  updated_at: number;
}

/** A step that keeps failing for reasons other than the card is given up after this many attempts. */
const MAX_STEP_ATTEMPTS = 8;
/** A step interrupted by an eviction is resumed this long after it started (beyond Stripe's timeout). */
const STEP_RESUME_MS = 30_000;
/** A recharge changed by a webhook is copied to D1 by the alarm this soon after. */
const HISTORY_COPY_DELAY_MS = 1_000;

export interface BillingHost {
  instanceId(): string;
  tx<T>(fn: () => T): T;
  stripe(): Stripe;
  notifyOwner(text: string, options?: { parseMode?: "HTML"; button?: { text: string; url: string } }): Promise<boolean>;
  /** Schedules the object's alarm no later than `at`. */
  wakeAt(at: number): void;
  /** After credits moved: history copy, out-of-credits transitions. */
  afterBalanceChange(now: number): void;
  /** The owner was just told a recharge failed or needs confirmation (it counts as the early warning). */
  troubleNotified(): void;
}

/** An event that arrived before what it depends on: refused (not marked handled) so Stripe delivers it again. */
export class RetryLater extends Error {}

export class Billing {
  /**
   * The billing row as last read (undefined: read it again). Every write goes through `#updateBilling`,
   * and the object forgets the copy when a transaction rolls back (`forgetCachedRow`); every debit reads
   * the settings for the recharge trigger, so this saves the hot path a read.
   */
  #row: BillingRow | undefined;

  constructor(
    private readonly sql: SqlStorage,
    private readonly ledger: Ledger,
    private readonly config: Config,
    private readonly host: BillingHost,
  ) {}

  // ---------------------------------------------------------------- reading

  row(): BillingRow {
    this.#row ??= this.sql
      .exec<BillingRow>(
        `SELECT customer_id, payment_method_id, card_brand, card_last4, top_up_micros, recharge_at_micros, auto_enabled,
                status, pending_session_id, daily_limit_notified_day FROM billing`,
      )
      .one();
    return this.#row;
  }

  /** A transaction rolled back: the cached row may hold values that were never committed. */
  forgetCachedRow(): void {
    this.#row = undefined;
  }

  /** Every change to the billing row goes through here (`set` is what follows `UPDATE billing SET`). */
  #updateBilling(set: string, ...bindings: SqlStorageValue[]): void {
    this.#row = undefined;
    this.sql.exec(`UPDATE billing SET ${set}`, ...bindings);
  }

  recharge(id: string): RechargeRow | null {
    return this.sql.exec<RechargeRow>("SELECT * FROM recharges WHERE id = ?", id).toArray()[0] ?? null;
  }

  /** The auto-recharge as owners see it; null until a card was ever asked for. */
  view(): AutoRechargeView | null {
    const b = this.row();
    const rules = Billing.settingsOf(b);
    if (!rules) return null;
    const open = this.sql
      .exec<{ hosted_url: string | null }>(
        "SELECT hosted_url FROM recharges WHERE kind = 'auto' AND status = 'open' ORDER BY created_at DESC LIMIT 1",
      )
      .toArray()[0];
    return {
      ...rules,
      topUpMicros: b.top_up_micros ?? 0,
      cardBrand: b.card_brand,
      cardLast4: b.card_last4,
      confirmUrl: open?.hosted_url ?? null,
    };
  }

  /** The part of the view the spending rules need, from a row already read (no extra query). */
  static settingsOf(b: BillingRow): Pick<AutoRechargeView, "enabled" | "status" | "rechargeAtMicros"> | null {
    if (b.top_up_micros === null && b.pending_session_id === null) return null;
    return {
      enabled: b.auto_enabled === 1,
      status: b.auto_enabled !== 1 ? "pending_card" : b.status,
      rechargeAtMicros: b.recharge_at_micros ?? 0,
    };
  }

  lastRecharge(): { at: number; amountMicros: number; status: string } | null {
    const row = this.sql
      .exec<{ created_at: number; amount_micros: number; paid_micros: number | null; status: string }>(
        "SELECT created_at, amount_micros, paid_micros, status FROM recharges ORDER BY created_at DESC LIMIT 1",
      )
      .toArray()[0];
    return row ? { at: row.created_at, amountMicros: row.paid_micros ?? row.amount_micros, status: row.status } : null;
  }

  /** Recharges whose Stripe steps are due (for the alarm). */
  nextDueAt(): number | null {
    return this.sql
      .exec<{ t: number | null }>("SELECT MIN(next_attempt_at) AS t FROM recharges WHERE status = 'pending'")
      .one().t;
  }

  // ---------------------------------------------------------------- the trigger rule

  /**
   * After any balance decrease, settings change or card save (inside that transaction): start one
   * recharge if auto-recharge is on, the balance is at or below the threshold, none is in flight and
   * the daily limit allows. Serialized by the object, so a burst of debits starts exactly one.
   */
  startRechargeIfDue(
    now: number,
    known?: { row: BillingRow; balanceMicros: number },
  ): "started" | "daily_limit" | null {
    const b = known?.row ?? this.row();
    if (b.auto_enabled !== 1 || !b.customer_id || !b.payment_method_id) return null;
    if (b.top_up_micros === null || b.recharge_at_micros === null) return null;
    if (b.status === "failing" || b.status === "needs_confirmation") return null;
    if ((known?.balanceMicros ?? this.ledger.view().balanceMicros) > b.recharge_at_micros) return null;
    const inFlight = this.sql
      .exec("SELECT 1 FROM recharges WHERE kind = 'auto' AND status IN ('pending', 'open') LIMIT 1")
      .toArray().length;
    if (inFlight) return null;
    const dayStart = dayOf(now) * 86_400_000;
    const today = this.sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM recharges WHERE kind = 'auto' AND created_at >= ?", dayStart)
      .one().n;
    if (today >= this.config.maxRechargesPerDay) {
      if (b.status !== "daily_limit") this.#updateBilling("status = 'daily_limit'");
      if (b.daily_limit_notified_day === dayOf(now)) return null;
      this.#updateBilling("daily_limit_notified_day = ?", dayOf(now));
      return "daily_limit";
    }
    if (b.status === "daily_limit") this.#updateBilling("status = 'active'");
    const id = `rch_${crypto.randomUUID().replaceAll("-", "")}`;
    this.sql.exec(
      `INSERT INTO recharges (id, kind, amount_micros, status, step, pay_key, next_attempt_at, created_at, updated_at)
       VALUES (?, 'auto', ?, 'pending', 'invoice', ?, ?, ?, ?)`,
      id,
      b.top_up_micros,
      `${id}:pay`,
      now,
      now,
      now,
    );
    log("info", "recharge_started", {
      instanceId: this.host.instanceId(),
      rechargeId: id,
      amountMicros: b.top_up_micros,
    });
    return "started";
  }

  /**
   * Runs the trigger rule in its own transaction and tells the owner about a daily limit. (A debit
   * runs the rule inside its own transaction, passing what it already read, then `triggered`.)
   */
  evaluate(now: number): void {
    this.triggered(
      this.host.tx(() => this.startRechargeIfDue(now)),
      now,
    );
  }

  /** After the trigger rule ran (and its transaction committed): drive the recharge, or tell the owner. */
  triggered(outcome: "started" | "daily_limit" | null, now: number): void {
    if (outcome === "started") this.host.wakeAt(now);
    if (outcome === "daily_limit") void this.host.notifyOwner(texts.dailyLimitReached(this.config.maxRechargesPerDay));
  }

  // ---------------------------------------------------------------- driving recharges (alarm)

  async driveDue(now: number): Promise<void> {
    const due = this.sql
      .exec<RechargeRow>(
        "SELECT * FROM recharges WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY created_at LIMIT 5",
        now,
      )
      .toArray();
    for (const recharge of due) await this.#drive(recharge.id);
  }

  async #drive(id: string): Promise<void> {
    for (let guard = 0; guard < 6; guard++) {
      const r = this.recharge(id);
      if (r?.status !== "pending") return;
      // If the object dies during the call, this alarm resumes the step with the same idempotency key.
      this.host.wakeAt(Date.now() + STEP_RESUME_MS);
      const advanced = await this.#step(r);
      if (!advanced) return;
    }
  }

  /** Performs one Stripe step; true when the recharge moved on and the next step may run now. */
  async #step(r: RechargeRow): Promise<boolean> {
    const b = this.row();
    const stripe = this.host.stripe();
    const metadata = { instance_id: this.host.instanceId(), recharge_id: r.id };
    const cents = microsToCents(r.amount_micros);
    const now = Date.now();
    try {
      switch (r.step) {
        case "invoice": {
          const invoice = await stripe.invoices.create(
            {
              customer: b.customer_id ?? "",
              collection_method: "charge_automatically",
              auto_advance: false,
              currency: "usd",
              description: "AI credits auto-recharge",
              pending_invoice_items_behavior: "exclude",
              metadata,
            },
            { idempotencyKey: `${r.id}:invoice` },
          );
          this.#update(r.id, "invoice_id = ?, step = 'item', attempts = 0", invoice.id ?? null);
          return true;
        }
        case "item":
          await stripe.invoiceItems.create(
            {
              customer: b.customer_id ?? "",
              invoice: r.invoice_id ?? "",
              amount: cents,
              currency: "usd",
              description: `AI credits: ${texts.commandAmount(r.amount_micros)} USD`,
              metadata,
            },
            { idempotencyKey: `${r.id}:item` },
          );
          this.#update(r.id, "step = 'finalize', attempts = 0");
          return true;
        case "finalize": {
          const invoice = await stripe.invoices.finalizeInvoice(
            r.invoice_id ?? "",
            { auto_advance: false },
            { idempotencyKey: `${r.id}:finalize` },
          );
          this.#update(
            r.id,
            "hosted_url = ?, pdf_url = ?, step = 'pay', attempts = 0",
            invoice.hosted_invoice_url ?? null,
            invoice.invoice_pdf ?? null,
          );
          // Below Stripe's minimum the invoice is settled from the customer balance at finalize.
          if (invoice.status === "paid") {
            await this.creditInvoice(invoice, "finalize");
            return false;
          }
          return true;
        }
        case "pay": {
          const invoice = await stripe.invoices.pay(
            r.invoice_id ?? "",
            { off_session: true },
            { idempotencyKey: r.pay_key },
          );
          if (invoice.status === "paid") await this.creditInvoice(invoice, "pay");
          return false;
        }
        default:
          return false;
      }
    } catch (error) {
      return this.#failedStep(r, error, now);
    }
  }

  async #failedStep(r: RechargeRow, error: unknown, now: number): Promise<boolean> {
    const failure = classifyStripeError(error);
    const instanceId = this.host.instanceId();
    if (r.step === "pay" && failure.kind === "declined") {
      this.host.tx(() => {
        this.#update(r.id, "status = 'failed', failure_code = ?", failure.code);
        this.#updateBilling("status = 'failing'");
      });
      log("warn", "recharge_declined", { instanceId, rechargeId: r.id, code: failure.code });
      const b = this.row();
      const told = await this.host.notifyOwner(
        texts.rechargeFailed(failure.code, failure.message, {
          topUpMicros: b.top_up_micros ?? r.amount_micros,
          rechargeAtMicros: b.recharge_at_micros ?? this.config.minRechargeAtMicros,
        }),
      );
      if (told) this.host.troubleNotified();
      return false;
    }
    if (r.step === "pay" && failure.kind === "authentication_required") {
      this.host.tx(() => {
        this.#update(r.id, "status = 'open', failure_code = 'authentication_required'");
        this.#updateBilling("status = 'needs_confirmation'");
      });
      log("info", "recharge_needs_confirmation", { instanceId, rechargeId: r.id });
      if (r.hosted_url && (await this.host.notifyOwner(texts.rechargeNeedsConfirmation(r.hosted_url)))) {
        this.host.troubleNotified();
      }
      return false;
    }
    if (r.step === "pay" && failure.kind === "already_paid") {
      const invoice = await this.host.stripe().invoices.retrieve(r.invoice_id ?? "");
      await this.creditInvoice(invoice, "pay");
      return false;
    }
    const attempts = r.attempts + 1;
    if (attempts >= MAX_STEP_ATTEMPTS || (isPermanentStripeError(error) && r.step !== "pay")) {
      this.host.tx(() =>
        this.#update(r.id, "status = 'failed', failure_code = 'stripe_error', attempts = ?", attempts),
      );
      log("error", "recharge_gave_up", { instanceId, rechargeId: r.id, step: r.step, error: describeError(error) });
      await this.host.notifyOwner(texts.rechargeFailed("processing_error", null));
      return false;
    }
    const at = now + backoffMs(attempts - 1);
    this.host.tx(() => this.#update(r.id, "attempts = ?, next_attempt_at = ?", attempts, at));
    this.host.wakeAt(at);
    log("warn", "recharge_step_retry", {
      instanceId,
      rechargeId: r.id,
      step: r.step,
      attempt: attempts,
      error: describeError(error),
    });
    return false;
  }

  #update(id: string, assignments: string, ...values: SqlStorageValue[]): void {
    this.sql.exec(
      `UPDATE recharges SET ${assignments}, updated_at = ?, synced = 0 WHERE id = ?`,
      ...values,
      Date.now(),
      id,
    );
  }

  /**
   * Cron's safety net: pending recharges whose alarm was lost are driven now, and recharges waiting
   * on the owner or Stripe (open invoices) are checked by retrieving their invoice: a payment whose
   * webhook never arrived is credited once. Returns how many recharges were looked at.
   */
  async reconcile(now: number): Promise<number> {
    await this.driveDue(now);
    const overdue = this.sql
      .exec<RechargeRow>("SELECT * FROM recharges WHERE status = 'open' AND invoice_id IS NOT NULL LIMIT 10")
      .toArray();
    for (const r of overdue) {
      const invoice = await this.host.stripe().invoices.retrieve(r.invoice_id ?? "");
      if (invoice.status === "paid") await this.creditInvoice(invoice, "reconcile");
    }
    const openCheckouts = this.sql
      .exec<RechargeRow>(
        "SELECT * FROM recharges WHERE status = 'open' AND checkout_session_id IS NOT NULL AND invoice_id IS NULL AND created_at > ? LIMIT 10",
        now - 2 * 86_400_000,
      )
      .toArray();
    for (const r of openCheckouts) {
      const session = await this.host.stripe().checkout.sessions.retrieve(r.checkout_session_id ?? "");
      const invoiceId = typeof session.invoice === "string" ? session.invoice : session.invoice?.id;
      if (session.status === "complete" && invoiceId) {
        await this.creditInvoice(await this.host.stripe().invoices.retrieve(invoiceId), "reconcile");
      }
    }
    return overdue.length + openCheckouts.length;
  }

  // ---------------------------------------------------------------- crediting

  /**
   * Credits `amount_paid` of a paid invoice exactly once, if the invoice is ours: its metadata
   * names this instance and one of its recharges, and that recharge is bound to this invoice.
   */
  async creditInvoice(invoice: Stripe.Invoice, source: string): Promise<boolean> {
    const instanceId = this.host.instanceId();
    const meta = invoice.metadata ?? {};
    if (meta.instance_id !== instanceId || !meta.recharge_id || !invoice.id) return false;
    if (invoice.status !== "paid") return false;
    const now = Date.now();
    const result = this.host.tx(() => {
      const r = this.recharge(meta.recharge_id ?? "");
      if (!r || (r.invoice_id !== null && r.invoice_id !== invoice.id)) return null;
      if (r.status === "paid") return null;
      const paidMicros = centsToMicros(invoice.amount_paid);
      this.#update(
        r.id,
        "status = 'paid', step = 'done', invoice_id = ?, paid_micros = ?, hosted_url = COALESCE(?, hosted_url), pdf_url = COALESCE(?, pdf_url), failure_code = NULL",
        invoice.id ?? null,
        paidMicros,
        invoice.hosted_invoice_url ?? null,
        invoice.invoice_pdf ?? null,
      );
      let balance = this.ledger.view().balanceMicros;
      if (paidMicros > 0) {
        balance = this.ledger.append(now, {
          kind: r.kind === "auto" ? "recharge" : "top_up",
          amountMicros: paidMicros,
          idempotencyKey: `stripe:${invoice.id}`,
          reference: invoice.id,
          memo: r.id,
        }).balanceAfter;
      }
      if (r.kind === "auto") this.#updateBilling("status = 'active' WHERE status IN ('failing', 'needs_confirmation')");
      return { r, paidMicros, balance, hostedUrl: invoice.hosted_invoice_url ?? r.hosted_url };
    });
    if (!result) return false;
    log("info", "recharge_credited", { instanceId, rechargeId: result.r.id, paidMicros: result.paidMicros, source });
    this.host.afterBalanceChange(now);
    await this.host.notifyOwner(
      result.r.kind === "auto"
        ? texts.rechargeSucceeded(result.paidMicros, result.balance, result.hostedUrl ?? null)
        : texts.topUpSucceeded(result.paidMicros, result.balance),
    );
    return true;
  }

  // ---------------------------------------------------------------- Stripe events

  /** Handles one verified Stripe event for this instance, once per event id. */
  async handleEvent(event: Stripe.Event): Promise<"processed" | "duplicate" | "ignored"> {
    const seen = this.sql.exec("SELECT 1 FROM stripe_events WHERE event_id = ?", event.id).toArray().length;
    if (seen) return "duplicate";
    let outcome: "processed" | "ignored" = "processed";
    switch (event.type) {
      case "checkout.session.completed":
        outcome = await this.#checkoutCompleted(event.data.object);
        break;
      case "invoice.paid":
      case "invoice.payment_succeeded":
        outcome = (await this.creditInvoice(event.data.object, event.type)) ? "processed" : "ignored";
        break;
      case "invoice.payment_action_required":
        outcome = this.#actionRequired(event.data.object);
        break;
      case "charge.refunded":
        outcome = this.#refunded(event.data.object);
        break;
      case "charge.dispute.created":
        outcome = await this.#disputed(event.data.object);
        break;
      default:
        // invoice.payment_failed and the rest: the pay call's answer already decided the state,
        // and a failure after a payment must never undo it.
        outcome = "ignored";
    }
    this.sql.exec("INSERT OR IGNORE INTO stripe_events (event_id, received_at) VALUES (?, ?)", event.id, Date.now());
    return outcome;
  }

  async #checkoutCompleted(session: Stripe.Checkout.Session): Promise<"processed" | "ignored"> {
    if (session.metadata?.instance_id !== this.host.instanceId()) return "ignored";
    if (session.mode === "payment") {
      const invoiceId = typeof session.invoice === "string" ? session.invoice : session.invoice?.id;
      if (!invoiceId) return "ignored";
      const invoice = await this.host.stripe().invoices.retrieve(invoiceId);
      return (await this.creditInvoice(invoice, "checkout")) ? "processed" : "ignored";
    }
    if (session.mode !== "setup") return "ignored";
    return this.#cardSaved(session);
  }

  async #cardSaved(session: Stripe.Checkout.Session): Promise<"processed" | "ignored"> {
    const b = this.row();
    if (session.id !== b.pending_session_id) {
      log("info", "checkout_session_superseded", { instanceId: this.host.instanceId(), sessionId: session.id });
      return "ignored";
    }
    const setupIntentId = typeof session.setup_intent === "string" ? session.setup_intent : session.setup_intent?.id;
    if (!setupIntentId) return "ignored";
    const stripe = this.host.stripe();
    const intent = await stripe.setupIntents.retrieve(setupIntentId, { expand: ["payment_method"] });
    const pm = intent.payment_method;
    if (!pm || typeof pm === "string") return "ignored";
    await stripe.customers.update(
      b.customer_id ?? "",
      { invoice_settings: { default_payment_method: pm.id } },
      { idempotencyKey: `${session.id}:default-payment-method` },
    );
    const topUp = Number(session.metadata?.top_up_micros);
    const rechargeAt = Number(session.metadata?.recharge_at_micros);
    const now = Date.now();
    const retried = this.host.tx(() => {
      this.#updateBilling(
        `payment_method_id = ?, card_brand = ?, card_last4 = ?, top_up_micros = ?, recharge_at_micros = ?,
           auto_enabled = 1, status = 'active', pending_session_id = NULL`,
        pm.id,
        pm.card?.brand ?? null,
        pm.card?.last4 ?? null,
        topUp,
        rechargeAt,
      );
      // A new card retries the invoice that is still unpaid (declined or awaiting confirmation), unless
      // another recharge is already on its way: at most one is in flight, or the owner is charged twice.
      const pending = this.sql
        .exec("SELECT 1 FROM recharges WHERE kind = 'auto' AND status = 'pending' LIMIT 1")
        .toArray().length;
      const unpaid = pending
        ? undefined
        : this.sql
            .exec<RechargeRow>(
              `SELECT * FROM recharges WHERE kind = 'auto' AND status IN ('open', 'failed') AND invoice_id IS NOT NULL
                 AND hosted_url IS NOT NULL ORDER BY created_at DESC LIMIT 1`,
            )
            .toArray()[0];
      if (unpaid) {
        this.#update(
          unpaid.id,
          "status = 'pending', step = 'pay', pay_key = ?, attempts = 0, next_attempt_at = ?",
          `${unpaid.id}:pay:${pm.id}`,
          now,
        );
        return true;
      }
      return false;
    });
    await this.host.notifyOwner(texts.cardSaved(topUp, rechargeAt, pm.card?.brand ?? null, pm.card?.last4 ?? null));
    if (retried) this.host.wakeAt(now);
    else this.evaluate(now);
    return "processed";
  }

  /**
   * A pay attempt needs the owner's confirmation. A recharge already paid, or failed since (a later attempt
   * with another card was declined), is past this attempt: the event arrived late and changes nothing.
   */
  #actionRequired(invoice: Stripe.Invoice): "processed" | "ignored" {
    const meta = invoice.metadata ?? {};
    if (meta.instance_id !== this.host.instanceId() || !meta.recharge_id) return "ignored";
    const outcome = this.host.tx(() => {
      const r = this.recharge(meta.recharge_id ?? "");
      if (!r || r.status === "paid" || r.status === "failed" || r.invoice_id !== invoice.id) return "ignored";
      this.#update(
        r.id,
        "status = 'open', failure_code = 'authentication_required', hosted_url = COALESCE(?, hosted_url)",
        invoice.hosted_invoice_url ?? null,
      );
      if (r.kind === "auto") this.#updateBilling("status = 'needs_confirmation'");
      return "processed";
    });
    // The alarm copies the change to D1, where cron looks for recharges waiting on the owner.
    if (outcome === "processed") this.host.wakeAt(Date.now() + HISTORY_COPY_DELAY_MS);
    return outcome;
  }

  /**
   * `amount_refunded` is cumulative: take back only what refunds have not taken back yet. Disputes also
   * count in `refunded_micros`, and their event may arrive before an earlier refund's, so they are left
   * out of what refunds took; the total never exceeds what was paid.
   */
  #refunded(charge: Stripe.Charge): "processed" | "ignored" {
    return this.#takeBack(charge, (r) => {
      const paid = r.paid_micros ?? 0;
      const target = Math.min(centsToMicros(charge.amount_refunded), paid);
      const disputed = this.sql
        .exec<{ n: number }>("SELECT COALESCE(SUM(amount_micros), 0) AS n FROM disputes WHERE recharge_id = ?", r.id)
        .one().n;
      return {
        micros: Math.min(target - (r.refunded_micros - disputed), paid - r.refunded_micros),
        reference: `${charge.id}:${target}`,
      };
    });
  }

  async #disputed(dispute: Stripe.Dispute): Promise<"processed" | "ignored"> {
    const chargeId = typeof dispute.charge === "string" ? dispute.charge : dispute.charge?.id;
    if (!chargeId) return "ignored";
    const charge = await this.host.stripe().charges.retrieve(chargeId);
    return this.#takeBack(charge, (r) => {
      const already = this.sql.exec("SELECT 1 FROM disputes WHERE dispute_id = ?", dispute.id).toArray().length;
      const micros = already ? 0 : Math.min(centsToMicros(dispute.amount), (r.paid_micros ?? 0) - r.refunded_micros);
      if (micros > 0) {
        this.sql.exec(
          "INSERT INTO disputes (dispute_id, recharge_id, amount_micros) VALUES (?, ?, ?)",
          dispute.id,
          r.id,
          micros,
        );
      }
      return { micros, reference: dispute.id };
    });
  }

  /**
   * Refunds and disputes take credits back from the paid recharge the charge belongs to (the
   * balance may go below zero). `decide` runs inside the transaction and says how much, once.
   * Stripe may deliver a refund before the payment it returns (a top-up's `checkout.session.completed`,
   * an `invoice.paid` after the owner confirmed): until that credit is recorded the event is refused,
   * not marked handled, so Stripe delivers it again later instead of it being lost.
   */
  #takeBack(
    charge: Stripe.Charge,
    decide: (r: RechargeRow) => { micros: number; reference: string },
  ): "processed" | "ignored" {
    const rechargeId = charge.metadata?.recharge_id;
    if (charge.metadata?.instance_id !== this.host.instanceId() || !rechargeId) return "ignored";
    const now = Date.now();
    const taken = this.host.tx(() => {
      const r = this.recharge(rechargeId);
      if (!r) return 0;
      if (r.status !== "paid") return null;
      const { micros, reference } = decide(r);
      if (micros <= 0) return 0;
      this.ledger.append(now, {
        kind: "refund",
        amountMicros: -micros,
        idempotencyKey: `refund:${reference}`,
        reference,
        memo: r.id,
      });
      this.#update(r.id, "refunded_micros = refunded_micros + ?", micros);
      return micros;
    });
    if (taken === null)
      throw new RetryLater(`charge ${charge.id}: its payment is not credited yet; Stripe will redeliver`);
    if (taken === 0) return "ignored";
    log("info", "recharge_taken_back", { instanceId: this.host.instanceId(), rechargeId, micros: taken });
    this.host.afterBalanceChange(now);
    return "processed";
  }

  // ---------------------------------------------------------------- owner commands

  /** The instance's Stripe customer, created once (the idempotency key makes a retry reuse it). */
  async ensureCustomer(): Promise<string> {
    const existing = this.row().customer_id;
    if (existing) return existing;
    const instanceId = this.host.instanceId();
    const customer = await this.host
      .stripe()
      .customers.create(
        { name: `AI Expert ${instanceId}`, metadata: { instance_id: instanceId } },
        { idempotencyKey: `${instanceId}:customer` },
      );
    this.host.tx(() => this.#updateBilling("customer_id = COALESCE(customer_id, ?)", customer.id));
    return this.row().customer_id ?? customer.id;
  }

  /** `/setupCredits`: a Checkout Session in setup mode; settings take effect when the card is saved. */
  async setupCheckout(topUpMicros: number, rechargeAtMicros: number): Promise<string> {
    const customer = await this.ensureCustomer();
    const instanceId = this.host.instanceId();
    const session = await this.host.stripe().checkout.sessions.create({
      mode: "setup",
      customer,
      currency: "usd",
      success_url: `${this.config.publicBaseUrl}/billing/done`,
      cancel_url: `${this.config.publicBaseUrl}/billing/cancelled`,
      metadata: {
        instance_id: instanceId,
        purpose: "setup",
        top_up_micros: String(topUpMicros),
        recharge_at_micros: String(rechargeAtMicros),
      },
    });
    this.host.tx(() =>
      this.#updateBilling(
        "pending_session_id = ?, pending_top_up_micros = ?, pending_recharge_at_micros = ?",
        session.id,
        topUpMicros,
        rechargeAtMicros,
      ),
    );
    return session.url ?? "";
  }

  /** `/changeCreditsTopUp`: false when no card is saved yet. */
  changeSettings(topUpMicros: number, rechargeAtMicros: number): boolean {
    const changed = this.host.tx(() => {
      const b = this.row();
      if (!b.payment_method_id || b.auto_enabled !== 1) return false;
      this.#updateBilling("top_up_micros = ?, recharge_at_micros = ?", topUpMicros, rechargeAtMicros);
      return true;
    });
    if (changed) this.evaluate(Date.now());
    return changed;
  }

  /** `/topUp`: a Checkout Session in payment mode that creates an invoice; credited once on completion. */
  async topUpCheckout(amountMicros: number): Promise<string> {
    const customer = await this.ensureCustomer();
    const instanceId = this.host.instanceId();
    const id = `rch_${crypto.randomUUID().replaceAll("-", "")}`;
    const metadata = { instance_id: instanceId, recharge_id: id, purpose: "topup" };
    const session = await this.host.stripe().checkout.sessions.create(
      {
        mode: "payment",
        customer,
        line_items: [
          {
            quantity: 1,
            price_data: {
              currency: "usd",
              unit_amount: microsToCents(amountMicros),
              product_data: { name: "AI credits" },
            },
          },
        ],
        invoice_creation: { enabled: true, invoice_data: { metadata } },
        success_url: `${this.config.publicBaseUrl}/billing/done`,
        cancel_url: `${this.config.publicBaseUrl}/billing/cancelled`,
        metadata,
      },
      { idempotencyKey: `${id}:checkout` },
    );
    const now = Date.now();
    this.host.tx(() =>
      this.sql.exec(
        `INSERT INTO recharges (id, kind, amount_micros, status, step, checkout_session_id, pay_key, created_at, updated_at)
         VALUES (?, 'manual', ?, 'open', 'checkout', ?, ?, ?, ?)`,
        id,
        amountMicros,
        session.id,
        `${id}:pay`,
        now,
        now,
      ),
    );
    return session.url ?? "";
  }

  /** Recharges not yet copied to D1 (for `/invoices` and reporting). */
  unsynced(limit: number): RechargeRow[] {
    return this.sql
      .exec<RechargeRow>("SELECT * FROM recharges WHERE synced = 0 ORDER BY created_at LIMIT ?", limit)
      .toArray();
  }

  /** Only rows unchanged since they were read are marked: a change in between is copied next time. */
  markSynced(rows: readonly RechargeRow[]): void {
    for (const r of rows)
      this.sql.exec("UPDATE recharges SET synced = 1 WHERE id = ? AND updated_at = ?", r.id, r.updated_at);
  }
}
