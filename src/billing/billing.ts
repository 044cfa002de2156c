import type Stripe from "stripe";
import type { Config } from "../env";
import type { Ledger } from "../ledger/ledger";
import type { AutoRechargeView } from "../ledger/types";
import { describeError, log } from "../log";
import type { ChargeNow, InvoiceRow } from "../telegram/texts";
import { driveDue, reconcile, startRechargeIfDue, triggered } from "./auto-recharge";
import { billingPortal, changeSettings, setInvoiceEmail, setupCheckout, topUpCheckout } from "./checkout";
import type { ChargeTrace } from "./credits";
import { type EventOutcome, handleEvent, markHandled } from "./events";
import { copyRecharges, invoiceRowOf } from "./history";
import { currentInvoiceEmail } from "./invoice-email";
import { type BillingEffects, type BillingParts, type BillingPorts, RetryLater } from "./notices";
import { type RechargeRow, Recharges } from "./recharges";
import { type BillingRow, BillingSettings } from "./settings";
import { isTemporaryStripeFailure } from "./stripe";

/**
 * Billing of one CreditAccount, as its object uses it: automatic recharges (auto-recharge.ts, on the
 * state machine of recharges.ts), Stripe events (events.ts, credits.ts) and Checkout (checkout.ts).
 * Sync methods run inside the object's transactions. Every async method returns the effects it decided
 * (what to tell the owner, when to wake, whether credits moved); the object words, sends and re-arms.
 */
export class Billing {
  readonly #parts: BillingParts;

  constructor(sql: SqlStorage, ledger: Ledger, config: Config, ports: BillingPorts) {
    this.#parts = {
      sql,
      ledger,
      config,
      recharges: new Recharges(sql),
      settings: new BillingSettings(sql),
      ports,
    };
  }

  // ---------------------------------------------------------------- reading

  row(): BillingRow {
    return this.#parts.settings.row();
  }

  /** A transaction rolled back: the cached row may hold values that were never committed. */
  forgetCachedRow(): void {
    this.#parts.settings.forgetCachedRow();
  }

  /** The auto-recharge as owners see it; null until a card was ever asked for. */
  view(): AutoRechargeView | null {
    const b = this.row();
    const rules = BillingSettings.settingsOf(b);
    if (!rules) return null;
    // While the card is pending, the settings shown are the ones that apply once it is saved.
    const topUp = BillingSettings.showsPending(b) ? (b.pending_top_up_micros ?? b.top_up_micros) : b.top_up_micros;
    return {
      ...rules,
      topUpMicros: topUp ?? 0,
      cardBrand: b.card_brand,
      cardLast4: b.card_last4,
      confirmUrl: this.#parts.recharges.confirmUrl(),
      cardSaved: b.payment_method_id !== null,
      armed: b.recharge_armed === 1,
      // Read only when it can change the out-of-credits reason (after a recharge, before the next crossing).
      ...(b.recharge_armed === 1 ? {} : { inFlight: this.#parts.recharges.autoInFlight() }),
    };
  }

  /** `/stopCredits`: false when auto-recharge was not on. */
  stopAutoRecharge(): boolean {
    const stopped = this.#parts.ports.tx(() => this.#parts.settings.autoStopped());
    if (stopped) log("info", "auto_recharge_stopped", { instanceId: this.#parts.ports.instanceId() });
    return stopped;
  }

  lastRecharge(): { at: number; amountMicros: number; status: string } | null {
    const r = this.#parts.recharges.latest();
    return r ? { at: r.created_at, amountMicros: r.paid_micros ?? r.amount_micros, status: r.status } : null;
  }

  /**
   * The latest recharges and top-ups with their invoice links, from the object's own table: the dashboard reads
   * no D1 (`/invoices` reads the D1 copy, which is the same rows once the alarm copied them).
   */
  invoices(limit = 10): InvoiceRow[] {
    return this.#parts.recharges.newest(limit).map((r) =>
      invoiceRowOf({
        createdAt: r.created_at,
        amountMicros: r.amount_micros,
        paidMicros: r.paid_micros,
        refundedMicros: r.refunded_micros,
        status: r.status,
        hostedUrl: r.hosted_url,
        pdfUrl: r.pdf_url,
      }),
    );
  }

  /** When the next recharge step is due (for the alarm). */
  nextDueAt(): number | null {
    return this.#parts.recharges.nextDueAt();
  }

  unsynced(limit: number): RechargeRow[] {
    return this.#parts.recharges.unsynced(limit);
  }

  markSynced(rows: readonly RechargeRow[]): void {
    this.#parts.recharges.markSynced(rows);
  }

  /** Copies recharges changed since the last copy to D1 (where cron and `/invoices` read them). */
  async copyHistory(db: D1Database): Promise<void> {
    const changed = this.unsynced(100);
    if (changed.length === 0) return;
    await copyRecharges(db, this.#parts.ports.instanceId(), changed);
    this.markSynced(changed);
  }

  // ---------------------------------------------------------------- the trigger rule (inside the caller's transaction)

  startRechargeIfDue(
    now: number,
    known?: { row: BillingRow; balanceMicros: number },
  ): "started" | "daily_limit" | null {
    return startRechargeIfDue(this.#parts, now, known);
  }

  /** After the trigger rule's transaction committed: what follows from its outcome. */
  triggered(fx: BillingEffects, outcome: "started" | "daily_limit" | null, now: number): void {
    triggered(this.#parts, fx, outcome, now);
  }

  // ---------------------------------------------------------------- async work
  // Each takes the effects collector of its caller, who applies it also when the work failed halfway
  // (what committed before the failure is still to be told).

  driveDue(fx: BillingEffects, now: number): Promise<void> {
    return driveDue(this.#parts, fx, now);
  }

  /** The hourly safety net; returns how many recharges were checked with Stripe. */
  reconcile(fx: BillingEffects, now: number): Promise<number> {
    return reconcile(this.#parts, fx, now);
  }

  /**
   * A verified Stripe event; each event id has effect once. Only a temporary failure is worth Stripe's
   * retries (for days): "retry_later". An event naming an object Stripe does not have, or one we refuse,
   * would fail the same way every time: it is logged, recorded as handled and let go ("ignored").
   */
  async receiveEvent(
    fx: BillingEffects,
    event: Stripe.Event,
    trace: ChargeTrace | null,
  ): Promise<EventOutcome | "retry_later"> {
    try {
      return await handleEvent(this.#parts, fx, event, trace);
    } catch (error) {
      const permanent = !(isTemporaryStripeFailure(error) || error instanceof RetryLater);
      log(permanent ? "error" : "warn", permanent ? "stripe_event_unprocessable" : "stripe_event_failed", {
        instanceId: this.#parts.ports.instanceId(),
        eventId: event.id,
        error: describeError(error),
      });
      if (!permanent) return "retry_later";
      // Let go only once recorded: an object reset mid-event throws here, so Stripe is not told "done".
      markHandled(this.#parts.sql, event.id);
      return "ignored";
    }
  }

  /** `/billing`: a Customer Portal link for the instance's customer that returns to `returnUrl`. */
  billingPortal(returnUrl: string): Promise<string> {
    return billingPortal(this.#parts, returnUrl);
  }

  /** Where Stripe emails the invoices: the customer's email (the owner may change it in the portal), else ours. */
  invoiceEmail(): Promise<string | null> {
    return currentInvoiceEmail(this.#parts);
  }

  /** `ownerEmail` at provisioning (inside the caller's transaction): the customer is made with it. */
  ownerEmailProvisioned(email: string): void {
    this.#parts.settings.invoiceEmailSet(email);
  }

  /** `/invoiceEmail`: set on the Stripe customer (when there is one) and kept for the one made later. */
  setInvoiceEmail(email: string): Promise<void> {
    return setInvoiceEmail(this.#parts, email);
  }

  /** `/setupCredits`: the card link, and what saving the card will do at once (told before saving it). */
  setupCheckout(topUpMicros: number, rechargeAtMicros: number): Promise<{ url: string; onSave: ChargeNow }> {
    return setupCheckout(this.#parts, topUpMicros, rechargeAtMicros);
  }

  topUpCheckout(amountMicros: number): Promise<string> {
    return topUpCheckout(this.#parts, amountMicros);
  }

  /** `/changeCreditsTopUp`: null when no card is saved yet; else what the new settings did at once. */
  changeSettings(fx: BillingEffects, topUpMicros: number, rechargeAtMicros: number): ChargeNow | null {
    return changeSettings(this.#parts, fx, topUpMicros, rechargeAtMicros);
  }
}
