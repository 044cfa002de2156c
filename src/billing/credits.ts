import type Stripe from "stripe";
import { log } from "../log";
import { centsToMicros, MICROS_PER_USD, microsToCents } from "../money";
import type { ShortOfThreshold } from "../telegram/texts";
import { type BillingEffects, type BillingParts, RetryLater } from "./notices";
import type { RechargeRow } from "./recharges";

/**
 * Money in and out of the ledger through Stripe: an invoice's payment credited once, refunds and
 * disputes taken back once, a won dispute given back once. Each runs in one transaction; each ledger
 * entry carries a key that is unique in the ledger (`stripe:<invoice>`, `refund:<charge>:<total>`,
 * `dispute:<id>`, `dispute-won:<id>`), so no path can record one twice.
 */

/** The paid invoice a charge belongs to, traced by the webhook route (charge → payment intent → invoice payment → invoice). */
export interface ChargeTrace {
  invoiceId: string;
  rechargeId: string;
}

/**
 * Credits `amount_paid` of a paid invoice exactly once, if the invoice is ours: its metadata names this
 * instance and one of its recharges, and that recharge is bound to this invoice. An invoice in another
 * currency or for another amount than its recharge is never credited: it is logged for the operator.
 */
export function creditInvoice(
  parts: BillingParts,
  fx: BillingEffects,
  invoice: Stripe.Invoice,
  source: string,
): boolean {
  const { ports, recharges, ledger, settings } = parts;
  const instanceId = ports.instanceId();
  const meta = invoice.metadata ?? {};
  const invoiceId = invoice.id;
  const rechargeId = meta.recharge_id;
  if (meta.instance_id !== instanceId || !rechargeId || !invoiceId) return false;
  if (invoice.status !== "paid") return false;
  const now = Date.now();
  const result = ports.tx(() => {
    const r = recharges.get(rechargeId);
    if (!r || (r.invoice_id !== null && r.invoice_id !== invoiceId)) return null;
    const mismatch =
      invoice.currency !== "usd"
        ? ("currency_mismatch" as const)
        : invoice.total !== microsToCents(r.amount_micros)
          ? ("amount_mismatch" as const)
          : null;
    if (mismatch) return recharges.refused(r.id, mismatch) ? { refused: mismatch, r } : null;
    const paid = recharges.markPaid(r.id, {
      id: invoiceId,
      paidMicros: centsToMicros(invoice.amount_paid),
      hostedUrl: invoice.hosted_invoice_url ?? null,
      pdfUrl: invoice.invoice_pdf ?? null,
    });
    if (!paid) return null;
    const paidMicros = paid.paid_micros ?? 0;
    let balance = ledger.view().balanceMicros;
    if (paidMicros > 0) {
      const credited = ledger.appendOnce(now, {
        kind: r.kind === "auto" ? "recharge" : "top_up",
        amountMicros: paidMicros,
        idempotencyKey: `stripe:${invoiceId}`,
        reference: invoiceId,
        memo: r.id,
      });
      // Unreachable while the recharge was unpaid; if it ever happens, nothing of this transaction stays.
      if (!credited) throw new Error(`invoice ${invoiceId} is already credited in the ledger`);
      balance = credited.balanceAfter;
    }
    if (r.kind === "auto") settings.paymentWentThrough();
    // A recharge that leaves the balance at or under the threshold arms no other (one per crossing): say so.
    return { r: paid, paidMicros, balance, short: r.kind === "auto" ? shortOfThreshold(parts, balance) : null };
  });
  if (!result) return false;
  if ("refused" in result) {
    log("error", "recharge_invoice_mismatch", {
      instanceId,
      rechargeId: result.r.id,
      invoiceId,
      why: result.refused,
      currency: invoice.currency,
      totalCents: invoice.total,
      expectedCents: microsToCents(result.r.amount_micros),
    });
    return false;
  }
  log("info", "recharge_credited", { instanceId, rechargeId: result.r.id, paidMicros: result.paidMicros, source });
  fx.moved();
  fx.tell(
    result.r.kind === "auto"
      ? {
          kind: "recharge_succeeded",
          paidMicros: result.paidMicros,
          balanceMicros: result.balance,
          invoiceUrl: result.r.hosted_url,
          short: result.short,
        }
      : { kind: "top_up_succeeded", paidMicros: result.paidMicros, balanceMicros: result.balance },
  );
  return true;
}

/**
 * After an automatic recharge was credited: null when the balance is above the threshold; otherwise the
 * top-up was smaller than the gap, and the owner is told how to close it: a one-off purchase that takes
 * the balance above the threshold (whole dollars), or a top-up setting that covers the gap.
 */
export function shortOfThreshold(parts: BillingParts, balanceMicros: number): ShortOfThreshold | null {
  const b = parts.settings.row();
  if (b.auto_enabled !== 1 || b.top_up_micros === null || b.recharge_at_micros === null) return null;
  if (balanceMicros > b.recharge_at_micros) return null;
  const { config } = parts;
  // Strictly above the threshold: the next whole dollar over the gap.
  const gap = b.recharge_at_micros - balanceMicros;
  const needed = (Math.floor(gap / MICROS_PER_USD) + 1) * MICROS_PER_USD;
  const topUpNeededMicros = Math.min(Math.max(needed, config.minManualTopUpMicros), config.maxTopUpMicros);
  const bigger = Math.max(needed, config.minTopUpMicros);
  return {
    topUpMicros: b.top_up_micros,
    rechargeAtMicros: b.recharge_at_micros,
    topUpNeededMicros,
    biggerTopUpMicros: bigger <= config.maxTopUpMicros ? bigger : null,
  };
}

/** Credits a Checkout top-up's invoice, or the invoice the hourly run found paid. */
export async function creditInvoiceById(
  parts: BillingParts,
  fx: BillingEffects,
  invoiceId: string,
  source: string,
): Promise<boolean> {
  return creditInvoice(parts, fx, await parts.ports.stripe().invoices.retrieve(invoiceId), source);
}

/** The paid recharge a traced charge belongs to; an unpaid one means the event came first: Stripe redelivers it. */
function paidRecharge(parts: BillingParts, trace: ChargeTrace, what: string): RechargeRow | null {
  const r = parts.recharges.get(trace.rechargeId);
  if (!r || (r.invoice_id !== null && r.invoice_id !== trace.invoiceId)) return null;
  if (r.status !== "paid") throw new RetryLater(`${what}: its payment is not credited yet; Stripe will redeliver`);
  return r;
}

function disputedMicros(parts: BillingParts, rechargeId: string): number {
  return parts.sql
    .exec<{ n: number }>(
      "SELECT COALESCE(SUM(amount_micros), 0) AS n FROM disputes WHERE recharge_id = ? AND reinstated = 0",
      rechargeId,
    )
    .one().n;
}

/**
 * `charge.refunded`: `amount_refunded` is cumulative, so only what refunds have not taken back yet is
 * taken (a dispute's share is left out: its event may come before an earlier refund's). The total
 * never exceeds what was paid; the balance may go below zero.
 */
export function refunded(parts: BillingParts, fx: BillingEffects, charge: Stripe.Charge, trace: ChargeTrace): boolean {
  const now = Date.now();
  const taken = parts.ports.tx(() => {
    const r = paidRecharge(parts, trace, `charge ${charge.id}`);
    if (!r) return 0;
    const paid = r.paid_micros ?? 0;
    const target = Math.min(centsToMicros(charge.amount_refunded), paid);
    const micros = Math.min(target - (r.refunded_micros - disputedMicros(parts, r.id)), paid - r.refunded_micros);
    if (micros <= 0) return 0;
    const reference = `${charge.id}:${target}`;
    if (!parts.ledger.appendOnce(now, takeBack(-micros, `refund:${reference}`, reference, r.id))) return 0;
    parts.recharges.tookBack(r.id, micros);
    return micros;
  });
  return moved(parts, fx, trace, taken, "refund");
}

/**
 * `charge.dispute.created` / `.funds_withdrawn`: the disputed amount (at most what is left after refunds)
 * is taken back once per dispute. A dispute already decided for the owner (its win arrived first) takes nothing.
 */
export function disputed(
  parts: BillingParts,
  fx: BillingEffects,
  dispute: Stripe.Dispute,
  trace: ChargeTrace,
): boolean {
  const now = Date.now();
  const taken = parts.ports.tx(() => {
    const r = paidRecharge(parts, trace, `dispute ${dispute.id}`);
    if (!r) return 0;
    const micros = Math.min(centsToMicros(dispute.amount), (r.paid_micros ?? 0) - r.refunded_micros);
    const recorded = parts.sql
      .exec(
        "INSERT INTO disputes (dispute_id, recharge_id, amount_micros) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
        dispute.id,
        r.id,
        Math.max(0, micros),
      )
      .toArray().length;
    if (!recorded || micros <= 0) return 0;
    if (!parts.ledger.appendOnce(now, takeBack(-micros, `dispute:${dispute.id}`, dispute.id, r.id))) return 0;
    parts.recharges.tookBack(r.id, micros);
    return micros;
  });
  return moved(parts, fx, trace, taken, "dispute");
}

/**
 * `charge.dispute.funds_reinstated`, or `charge.dispute.closed` with status `won`: what the dispute took
 * comes back, once. A win that arrives before the dispute itself is recorded, so the dispute takes nothing.
 */
export function disputeWon(
  parts: BillingParts,
  fx: BillingEffects,
  dispute: Stripe.Dispute,
  trace: ChargeTrace,
): boolean {
  const now = Date.now();
  const given = parts.ports.tx(() => {
    const r = paidRecharge(parts, trace, `dispute ${dispute.id}`);
    if (!r) return 0;
    const row = parts.sql
      .exec<{ amount_micros: number }>(
        `INSERT INTO disputes (dispute_id, recharge_id, amount_micros, reinstated) VALUES (?, ?, 0, 1)
         ON CONFLICT (dispute_id) DO UPDATE SET reinstated = 1 WHERE reinstated = 0
         RETURNING amount_micros`,
        dispute.id,
        r.id,
      )
      .toArray()[0];
    if (!row || row.amount_micros <= 0) return 0;
    const micros = row.amount_micros;
    if (
      !parts.ledger.appendOnce(now, {
        ...takeBack(micros, `dispute-won:${dispute.id}`, dispute.id, r.id),
        kind: "dispute_won",
      })
    )
      return 0;
    parts.recharges.gaveBack(r.id, micros);
    return micros;
  });
  return moved(parts, fx, trace, -given, "dispute_won");
}

function takeBack(amountMicros: number, key: string, reference: string, rechargeId: string) {
  return { kind: "refund" as const, amountMicros, idempotencyKey: key, reference, memo: rechargeId };
}

function moved(parts: BillingParts, fx: BillingEffects, trace: ChargeTrace, micros: number, why: string): boolean {
  if (micros === 0) return false;
  log("info", micros > 0 ? "recharge_taken_back" : "recharge_given_back", {
    instanceId: parts.ports.instanceId(),
    rechargeId: trace.rechargeId,
    micros: Math.abs(micros),
    why,
  });
  fx.moved();
  return true;
}
