import Stripe from "stripe";
import { backoffMs, dayOf } from "../ledger/rules";
import { describeError, log } from "../log";
import { microsToCents } from "../money";
import type { ChargeNow } from "../telegram/texts";
import { commandAmount } from "../telegram/texts";
import { creditInvoice } from "./credits";
import type { BillingEffects, BillingParts } from "./notices";
import type { RechargeRow } from "./recharges";
import type { BillingRow } from "./settings";
import { classifyStripeError, isPermanentStripeError } from "./stripe";

/**
 * Automatic recharges: the trigger rule, and the Stripe steps of one recharge, driven by the object's
 * alarm. The recharge id is stored before the first Stripe call and every call carries an idempotency
 * key derived from it and the step, so a retry after a crash or a timeout never charges twice.
 *
 * Stripe saves the answer of the first request with a key once its endpoint began, 500s included, and
 * replays it for 24 h. So a step retried after an error first asks Stripe where the invoice stands (it
 * may have gone through before the error), and a step that got a 5xx is sent again under a new key
 * (`:<attempt>`); a timeout (no answer: maybe still running) keeps its key, which Stripe replays once done.
 */

/** A step that keeps failing for reasons other than the card is given up after this many attempts. */
export const MAX_STEP_ATTEMPTS = 8;
/** A step interrupted by an eviction is resumed this long after it started (beyond Stripe's timeout). */
const STEP_RESUME_MS = 30_000;

/**
 * After any balance change, settings change or card save (inside that transaction): start one recharge if
 * auto-recharge is on, the balance is at or below the threshold, this crossing had no recharge yet, none is
 * in flight and the daily limit allows. Serialized by the object, so a burst of debits starts exactly one.
 *
 * One automatic recharge per crossing: starting one disarms the trigger (`rechargeStarted`), and only a
 * balance seen above the threshold (or the owner's new card or settings, told what they do at once) arms
 * it again. A top-up smaller than the gap therefore never chains recharges back to back; the owner is told
 * instead (`shortOfThreshold`).
 */
export function startRechargeIfDue(
  parts: BillingParts,
  now: number,
  known?: { row: BillingRow; balanceMicros: number },
): "started" | "daily_limit" | null {
  const { settings, recharges, ledger } = parts;
  const b = known?.row ?? settings.row();
  if (b.auto_enabled !== 1 || !b.customer_id || !b.payment_method_id) return null;
  if (b.top_up_micros === null || b.recharge_at_micros === null) return null;
  if ((known?.balanceMicros ?? ledger.view().balanceMicros) > b.recharge_at_micros) {
    // Written only when it changes: the hot path above the threshold stays read-only.
    if (b.recharge_armed !== 1) settings.rechargeArmed();
    return null;
  }
  if (b.recharge_armed !== 1) return null;
  if (b.status === "failing" || b.status === "needs_confirmation") return null;
  if (recharges.autoInFlight()) return null;
  if (dailyLimitHit(parts, now)) return settings.dailyLimitReached(dayOf(now)) ? "daily_limit" : null;
  if (!settings.rechargeStarted()) return null;
  settings.dailyLimitOver();
  const id = recharges.startAuto(b.top_up_micros, now);
  log("info", "recharge_started", {
    instanceId: parts.ports.instanceId(),
    rechargeId: id,
    amountMicros: b.top_up_micros,
  });
  return "started";
}

export function dailyLimitHit(parts: BillingParts, now: number): boolean {
  return parts.recharges.autoStartedSince(dayOf(now) * 86_400_000) >= parts.config.maxRechargesPerDay;
}

/**
 * What saving a card (`newCard`) or new settings would do at once, read in the object's current state:
 * the same rule the card save and the settings change then follow (startRechargeIfDue, and for a new card
 * the unpaid invoice: retried while the balance is at or under the threshold and no other recharge is
 * being charged, voided otherwise). The owner is told this before saving the card and in the confirmation.
 */
export function chargeNow(
  parts: BillingParts,
  settings: { topUpMicros: number; rechargeAtMicros: number; newCard: boolean },
  now: number,
): ChargeNow {
  const { recharges, ledger } = parts;
  const balanceMicros = ledger.view().balanceMicros;
  const under = balanceMicros <= settings.rechargeAtMicros;
  const base: ChargeNow = {
    balanceMicros,
    rechargeAtMicros: settings.rechargeAtMicros,
    charge: null,
    held: null,
    voidsMicros: null,
  };
  const unpaid = settings.newCard ? recharges.unpaidAuto() : null;
  if (unpaid) {
    if (under && !recharges.autoPending()) {
      return { ...base, charge: { kind: "unpaid_invoice", amountMicros: unpaid.amount_micros } };
    }
    return { ...base, voidsMicros: unpaid.amount_micros, held: under ? "in_flight" : null };
  }
  if (!under) return base;
  if (recharges.autoInFlight()) return { ...base, held: "in_flight" };
  const status = parts.settings.row().status;
  if (!settings.newCard && (status === "failing" || status === "needs_confirmation")) {
    return { ...base, held: "card_trouble" };
  }
  if (dailyLimitHit(parts, now)) return { ...base, held: "daily_limit" };
  return { ...base, charge: { kind: "top_up", amountMicros: settings.topUpMicros } };
}

/** After the trigger rule ran (and its transaction committed): drive the recharge, or tell the owner. */
export function triggered(
  parts: BillingParts,
  fx: BillingEffects,
  outcome: "started" | "daily_limit" | null,
  now: number,
) {
  if (outcome === "started") fx.wake(now);
  if (outcome === "daily_limit") fx.tell({ kind: "daily_limit", maxPerDay: parts.config.maxRechargesPerDay });
}

/** Drives the recharges whose steps are due (the alarm). */
export async function driveDue(parts: BillingParts, fx: BillingEffects, now: number): Promise<void> {
  for (const recharge of parts.recharges.due(now, 5)) await drive(parts, fx, recharge.id);
}

async function drive(parts: BillingParts, fx: BillingEffects, id: string): Promise<void> {
  for (let guard = 0; guard < 6; guard++) {
    const r = parts.recharges.get(id);
    if (r?.status !== "pending") return;
    // If the object dies during the call, this alarm resumes the step with the same idempotency key.
    fx.wake(Date.now() + STEP_RESUME_MS);
    if (!(await step(parts, fx, r))) return;
  }
}

/** The key of a step's call: the first attempts share one; after a 5xx answer (saved by Stripe) a new one. */
function keyOf(r: RechargeRow, step: string): string {
  const base = step === "pay" ? r.pay_key : `${r.id}:${step}`;
  return r.key_attempt > 0 ? `${base}:${r.key_attempt}` : base;
}

/** Performs one Stripe step; true when the recharge moved on and the next step may run now. */
async function step(parts: BillingParts, fx: BillingEffects, r: RechargeRow): Promise<boolean> {
  const { recharges, ports } = parts;
  const stripe = ports.stripe();
  const customer = parts.settings.row().customer_id ?? "";
  const metadata = { instance_id: ports.instanceId(), recharge_id: r.id };
  try {
    // A retried step first looks at what Stripe already has: an earlier attempt may have gone through.
    const current = r.attempts > 0 ? await whereItStands(parts, r) : null;
    switch (r.step) {
      case "invoice": {
        const invoice =
          current ??
          (await stripe.invoices.create(
            {
              customer,
              collection_method: "charge_automatically",
              auto_advance: false,
              currency: "usd",
              description: "AI credits auto-recharge",
              pending_invoice_items_behavior: "exclude",
              metadata,
            },
            { idempotencyKey: keyOf(r, "invoice") },
          ));
        return ports.tx(() => recharges.invoiceCreated(r, invoice.id ?? "")) !== null;
      }
      case "item": {
        const hasItem = (current?.lines?.data.length ?? 0) > 0;
        if (!hasItem) {
          await stripe.invoiceItems.create(
            {
              customer,
              invoice: r.invoice_id ?? "",
              amount: microsToCents(r.amount_micros),
              currency: "usd",
              description: `AI credits: ${commandAmount(r.amount_micros)} USD`,
              metadata,
            },
            { idempotencyKey: keyOf(r, "item") },
          );
        }
        return ports.tx(() => recharges.itemAdded(r)) !== null;
      }
      case "finalize": {
        const invoice =
          current && current.status !== "draft"
            ? current
            : await stripe.invoices.finalizeInvoice(
                r.invoice_id ?? "",
                { auto_advance: false },
                { idempotencyKey: keyOf(r, "finalize") },
              );
        const moved = ports.tx(() =>
          recharges.finalized(r, {
            hostedUrl: invoice.hosted_invoice_url ?? null,
            pdfUrl: invoice.invoice_pdf ?? null,
          }),
        );
        // Below Stripe's minimum the invoice is settled from the customer balance at finalize.
        if (moved && invoice.status === "paid") {
          creditInvoice(parts, fx, invoice, "finalize");
          return false;
        }
        return moved !== null;
      }
      case "pay": {
        const invoice =
          current && current.status !== "open"
            ? current
            : await stripe.invoices.pay(r.invoice_id ?? "", { off_session: true }, { idempotencyKey: keyOf(r, "pay") });
        if (invoice.status === "paid") {
          creditInvoice(parts, fx, invoice, "pay");
        } else if (invoice.status === "void" || invoice.status === "uncollectible") {
          // Voided or written off at Stripe (by the operator): nothing will be paid.
          if (ports.tx(() => recharges.gaveUp(r))) fx.tell({ kind: "recharge_gave_up" });
        } else {
          // Still processing at Stripe: ask again later rather than in a loop.
          const at = Date.now() + backoffMs(r.attempts);
          if (ports.tx(() => recharges.retryLater(r, at, false))) fx.wake(at);
        }
        return false;
      }
      default:
        return false;
    }
  } catch (error) {
    await failedStep(parts, fx, r, error);
    return false;
  }
}

/**
 * Where a retried step stands at Stripe: for the invoice step, the invoice an earlier attempt created
 * (found by its recharge id among the customer's newest invoices); later, the invoice itself.
 */
async function whereItStands(parts: BillingParts, r: RechargeRow): Promise<Stripe.Invoice | null> {
  const stripe = parts.ports.stripe();
  if (r.invoice_id) return stripe.invoices.retrieve(r.invoice_id);
  const customer = parts.settings.row().customer_id ?? "";
  const recent = await stripe.invoices.list({ customer, limit: 20 });
  return recent.data.find((i) => i.metadata?.recharge_id === r.id) ?? null;
}

async function failedStep(parts: BillingParts, fx: BillingEffects, r: RechargeRow, error: unknown): Promise<void> {
  const { recharges, settings, ports, config } = parts;
  const failure = classifyStripeError(error);
  const instanceId = ports.instanceId();
  if (r.step === "pay" && failure.kind === "declined") {
    const failed = ports.tx(() => {
      if (!recharges.declined(r, failure.code)) return false;
      settings.failing();
      return true;
    });
    if (!failed) return; // a late answer: the recharge moved on meanwhile
    log("warn", "recharge_declined", { instanceId, rechargeId: r.id, code: failure.code });
    const b = settings.row();
    fx.tell({
      kind: "recharge_declined",
      code: failure.code,
      message: failure.message,
      topUpMicros: b.top_up_micros ?? r.amount_micros,
      rechargeAtMicros: b.recharge_at_micros ?? config.minRechargeAtMicros,
    });
    return;
  }
  if (r.step === "pay" && failure.kind === "authentication_required") {
    const open = ports.tx(() => {
      if (!recharges.needsConfirmation(r)) return false;
      settings.needsConfirmation();
      return true;
    });
    if (!open) return;
    log("info", "recharge_needs_confirmation", { instanceId, rechargeId: r.id });
    if (r.hosted_url) fx.tell({ kind: "needs_confirmation", url: r.hosted_url });
    return;
  }
  if (r.step === "pay" && failure.kind === "already_paid") {
    creditInvoice(parts, fx, await ports.stripe().invoices.retrieve(r.invoice_id ?? ""), "pay");
    return;
  }
  const attempts = r.attempts + 1;
  if (attempts >= MAX_STEP_ATTEMPTS || (isPermanentStripeError(error) && r.step !== "pay")) {
    if (!ports.tx(() => recharges.gaveUp(r))) return;
    log("error", "recharge_gave_up", { instanceId, rechargeId: r.id, step: r.step, error: describeError(error) });
    fx.tell({ kind: "recharge_gave_up" });
    return;
  }
  const at = Date.now() + backoffMs(attempts - 1);
  // A 5xx answer is saved under its key by Stripe: the next attempt needs a new key (see the top of this file).
  const answered5xx = error instanceof Stripe.errors.StripeError && (error.statusCode ?? 0) >= 500;
  if (!ports.tx(() => recharges.retryLater(r, at, answered5xx))) return;
  fx.wake(at);
  log("warn", "recharge_step_retry", {
    instanceId,
    rechargeId: r.id,
    step: r.step,
    attempt: attempts,
    error: describeError(error),
  });
}

/**
 * The hourly safety net: pending recharges whose alarm was lost are driven now; recharges waiting on
 * the owner or Stripe are checked by retrieving their invoice (a payment whose webhook never arrived is
 * credited once), and top-ups by retrieving their Checkout session (completed: credited; expired: ended).
 * Returns how many recharges were looked at.
 */
export async function reconcile(parts: BillingParts, fx: BillingEffects, now: number): Promise<number> {
  await driveDue(parts, fx, now);
  const stripe = parts.ports.stripe();
  const open = parts.recharges.openInvoices(10, now);
  for (const r of open) {
    const invoice = await stripe.invoices.retrieve(r.invoice_id ?? "");
    if (invoice.status === "paid") creditInvoice(parts, fx, invoice, "reconcile");
    else if (r.status === "failed" && (invoice.status === "void" || invoice.status === "uncollectible")) {
      parts.ports.tx(() => parts.recharges.invoiceClosed(r));
    }
  }
  const checkouts = parts.recharges.openCheckouts(10);
  for (const r of checkouts) {
    const session = await stripe.checkout.sessions.retrieve(r.checkout_session_id ?? "");
    const invoiceId = typeof session.invoice === "string" ? session.invoice : session.invoice?.id;
    if (session.status === "complete" && invoiceId) {
      creditInvoice(parts, fx, await stripe.invoices.retrieve(invoiceId), "reconcile");
    } else if (session.status === "expired") {
      topUpExpired(parts, fx, r.id);
    }
  }
  return open.length + checkouts.length;
}

/** A top-up whose Checkout session expired: ended, and the owner told that nothing was charged. */
export function topUpExpired(parts: BillingParts, fx: BillingEffects, rechargeId: string): boolean {
  const ended = parts.ports.tx(() => parts.recharges.expired(rechargeId));
  if (!ended) return false;
  log("info", "top_up_expired", { instanceId: parts.ports.instanceId(), rechargeId });
  fx.tell({ kind: "top_up_expired", amountMicros: ended.amount_micros });
  return true;
}
