import type Stripe from "stripe";
import { log } from "../log";
import type { ChargeNow } from "../telegram/texts";
import { chargeNow, dailyLimitHit, startRechargeIfDue, topUpExpired, triggered } from "./auto-recharge";
import { type ChargeTrace, creditInvoice, creditInvoiceById, disputed, disputeWon, refunded } from "./credits";
import { emailCollected } from "./invoice-email";
import type { BillingEffects, BillingParts } from "./notices";

/**
 * Verified Stripe events of one instance. Each event id has effect once (`stripe_events`), in any
 * order: what an event depends on and has not happened yet is refused with RetryLater (Stripe
 * delivers it again), and what it would undo is refused by the guarded transitions.
 */
export type EventOutcome = "processed" | "duplicate" | "ignored";

export async function handleEvent(
  parts: BillingParts,
  fx: BillingEffects,
  event: Stripe.Event,
  trace: ChargeTrace | null,
): Promise<EventOutcome> {
  const seen = parts.sql.exec("SELECT 1 FROM stripe_events WHERE event_id = ?", event.id).toArray().length;
  if (seen) return "duplicate";
  const done = await dispatch(parts, fx, event, trace);
  markHandled(parts.sql, event.id);
  return done ? "processed" : "ignored";
}

/**
 * Records the event as handled: only then may Stripe be answered 2xx. If the object is reset or evicted
 * before this write, the write throws, the webhook answers an error and Stripe delivers the event again
 * (the guarded transitions and the ledger's unique keys make the second pass change nothing done twice).
 */
export function markHandled(sql: SqlStorage, eventId: string): void {
  sql.exec("INSERT OR IGNORE INTO stripe_events (event_id, received_at) VALUES (?, ?)", eventId, Date.now());
}

async function dispatch(
  parts: BillingParts,
  fx: BillingEffects,
  event: Stripe.Event,
  trace: ChargeTrace | null,
): Promise<boolean> {
  switch (event.type) {
    case "checkout.session.completed":
      return checkoutCompleted(parts, fx, event.data.object);
    case "checkout.session.expired":
      return checkoutExpired(parts, fx, event.data.object);
    case "invoice.paid":
    case "invoice.payment_succeeded":
      return creditInvoice(parts, fx, event.data.object, event.type);
    case "invoice.payment_action_required":
      return actionRequired(parts, event.data.object);
    case "charge.refunded":
      return trace !== null && refunded(parts, fx, event.data.object, trace);
    case "charge.dispute.created":
    case "charge.dispute.funds_withdrawn":
      return trace !== null && disputed(parts, fx, event.data.object, trace);
    // Funds come back also for the part of a lost dispute above what was still unrefunded: only a win
    // gives the credits back.
    case "charge.dispute.funds_reinstated":
    case "charge.dispute.closed":
      return trace !== null && event.data.object.status === "won" && disputeWon(parts, fx, event.data.object, trace);
    default:
      // invoice.payment_failed and the rest: the pay call's answer already decided the state,
      // and a failure after a payment must never undo it.
      return false;
  }
}

function ours(parts: BillingParts, object: { metadata?: Stripe.Metadata | null }): boolean {
  return object.metadata?.instance_id === parts.ports.instanceId();
}

async function checkoutCompleted(
  parts: BillingParts,
  fx: BillingEffects,
  session: Stripe.Checkout.Session,
): Promise<boolean> {
  if (!ours(parts, session)) return false;
  // Before the card is saved (which may charge at once): the customer has the email Checkout collected.
  await emailCollected(parts, session);
  if (session.mode === "payment") {
    const invoiceId = typeof session.invoice === "string" ? session.invoice : session.invoice?.id;
    return invoiceId ? creditInvoiceById(parts, fx, invoiceId, "checkout") : false;
  }
  return session.mode === "setup" && cardSaved(parts, fx, session);
}

/** A Checkout session expired unused: its top-up ends; a card link that was still the pending one is dropped. */
function checkoutExpired(parts: BillingParts, fx: BillingEffects, session: Stripe.Checkout.Session): boolean {
  if (!ours(parts, session)) return false;
  if (session.mode === "payment") {
    const r = parts.recharges.byCheckoutSession(session.id);
    return r !== null && topUpExpired(parts, fx, r.id);
  }
  const dropped = parts.ports.tx(() => parts.settings.cardLinkExpired(session.id));
  if (dropped) fx.tell({ kind: "card_link_expired" });
  return dropped;
}

/**
 * A card link was completed. The newest link saves its card and applies the settings it was made with; a
 * `/setupCredits` sent while this runs stays pending (compare-and-set on the session id). An older link
 * completed while a newer one is still open saves its card with its own settings, and the owner is told
 * which; a link older than the saved card's is refused with a message (guarded on `card_requested_at`), so
 * the order Stripe delivers the events in never decides. Never silent, except for the same completion again.
 *
 * What saving the card does at once is what the link said (`chargeNow`): an unpaid invoice is retried with
 * the new card only while the balance is at or under the threshold and no other recharge is being charged;
 * otherwise it is voided at Stripe first (so the owner can no longer pay it twice) and the owner is told.
 */
async function cardSaved(parts: BillingParts, fx: BillingEffects, session: Stripe.Checkout.Session): Promise<boolean> {
  const { settings, recharges, ports } = parts;
  const stripe = ports.stripe();
  const setupIntentId = typeof session.setup_intent === "string" ? session.setup_intent : session.setup_intent?.id;
  if (!setupIntentId) return false;
  const intent = await stripe.setupIntents.retrieve(setupIntentId, { expand: ["payment_method"] });
  const pm = intent.payment_method;
  if (!pm || typeof pm === "string") return false;
  const card = { brand: pm.card?.brand ?? null, last4: pm.card?.last4 ?? null };
  const requestedAt = linkRequestedAt(session);
  const b = settings.row();
  const olderLink = session.id !== b.pending_session_id;
  if (olderLink) {
    // This card is the one saved already (the same completion seen again): nothing to say.
    if (pm.id === b.payment_method_id) return false;
    if (b.card_requested_at !== null && requestedAt < b.card_requested_at) return outdated(parts, fx, session, card);
  }
  const customer = b.customer_id ?? "";
  // Setting the default card is idempotent by itself, so it carries no idempotency key: Stripe would keep a
  // 5xx answer under a fixed key for 24 h and refuse every redelivery of this event until then.
  await stripe.customers.update(customer, { invoice_settings: { default_payment_method: pm.id } });
  const topUpMicros = Number(session.metadata?.top_up_micros);
  const rechargeAtMicros = Number(session.metadata?.recharge_at_micros);
  const plan = chargeNow(parts, { topUpMicros, rechargeAtMicros, newCard: true }, Date.now());
  const voidedId = plan.voidsMicros !== null ? await voidUnpaid(parts, fx) : null;
  const now = Date.now();
  const saved = ports.tx(() => {
    const voided = voidedId ? recharges.voided(voidedId) : null;
    const result = settings.cardSaved({
      sessionId: session.id,
      paymentMethodId: pm.id,
      ...card,
      topUpMicros,
      rechargeAtMicros,
      requestedAt,
    });
    if (!result) return null;
    const balanceMicros = parts.ledger.view().balanceMicros;
    const under = balanceMicros <= rechargeAtMicros;
    // A new card retries the invoice that is still unpaid (declined or awaiting confirmation) while the
    // balance is at or under the threshold, unless another recharge is already being charged: at most one
    // is in flight, or the owner is charged twice.
    const unpaid = recharges.unpaidAuto();
    const retried =
      unpaid && under && !recharges.autoPending() ? recharges.retryWithNewCard(unpaid.id, pm.id, now) : null;
    const started = retried ? null : startRechargeIfDue(parts, now);
    const charge: ChargeNow["charge"] = retried
      ? { kind: "unpaid_invoice", amountMicros: retried.amount_micros }
      : started === "started"
        ? { kind: "top_up", amountMicros: topUpMicros }
        : null;
    const held: ChargeNow["held"] =
      !under || charge
        ? null
        : recharges.autoInFlight()
          ? "in_flight"
          : started === "daily_limit" || dailyLimitHit(parts, now)
            ? "daily_limit"
            : null;
    const told: ChargeNow = {
      balanceMicros,
      rechargeAtMicros,
      charge,
      held,
      voidsMicros: voided ? voided.amount_micros : null,
    };
    return { newerPending: result.newerPending, retried: retried !== null, started, told };
  });
  if (!saved) {
    // A newer link's card was saved while this one was on its way: it stays Stripe's default, and this
    // link changed nothing.
    const current = settings.row().payment_method_id;
    if (current) await stripe.customers.update(customer, { invoice_settings: { default_payment_method: current } });
    return outdated(parts, fx, session, card);
  }
  fx.tell({
    kind: "card_saved",
    topUpMicros,
    rechargeAtMicros,
    ...card,
    newerLinkPending: saved.newerPending,
    now: saved.told,
    olderLink,
  });
  if (saved.retried) fx.wake(now);
  triggered(parts, fx, saved.started, now);
  return true;
}

/** When the card link was asked for: recorded in its metadata; links made before that by their creation. */
function linkRequestedAt(session: Stripe.Checkout.Session): number {
  const recorded = Number(session.metadata?.requested_at);
  return Number.isSafeInteger(recorded) && recorded > 0 ? recorded : session.created * 1000;
}

function outdated(
  parts: BillingParts,
  fx: BillingEffects,
  session: Stripe.Checkout.Session,
  card: { brand: string | null; last4: string | null },
): false {
  log("info", "checkout_session_superseded", { instanceId: parts.ports.instanceId(), sessionId: session.id });
  fx.tell({ kind: "card_link_outdated", ...card });
  return false;
}

/**
 * Voids at Stripe the unpaid automatic invoice that a new card will not pay, and returns its recharge (the
 * caller records the transition). An invoice the owner paid meanwhile (on its hosted page) is credited
 * instead. Voiding is idempotent by itself (a void invoice is left as it is), so it carries no key.
 */
async function voidUnpaid(parts: BillingParts, fx: BillingEffects): Promise<string | null> {
  const r = parts.recharges.unpaidAuto();
  if (!r?.invoice_id) return null;
  const stripe = parts.ports.stripe();
  const invoiceId = r.invoice_id;
  const settle = async (): Promise<string | null | "open"> => {
    const invoice = await stripe.invoices.retrieve(invoiceId);
    if (invoice.status === "paid") {
      creditInvoice(parts, fx, invoice, "card_saved");
      return null;
    }
    return invoice.status === "void" ? r.id : "open";
  };
  const before = await settle();
  if (before !== "open") return before;
  try {
    await stripe.invoices.voidInvoice(invoiceId);
  } catch (error) {
    // Paid or voided between the two calls: Stripe refuses the void; the invoice says which.
    const after = await settle();
    if (after === "open") throw error;
    return after;
  }
  log("info", "recharge_invoice_voided", { instanceId: parts.ports.instanceId(), rechargeId: r.id, invoiceId });
  return r.id;
}

/**
 * A pay attempt needs the owner's confirmation. A recharge already paid, or failed since (a later attempt
 * with another card was declined), is past this attempt: the event arrived late and changes nothing.
 */
function actionRequired(parts: BillingParts, invoice: Stripe.Invoice): boolean {
  const meta = invoice.metadata ?? {};
  if (!ours(parts, invoice) || !meta.recharge_id || !invoice.id) return false;
  const rechargeId = meta.recharge_id;
  const invoiceId = invoice.id;
  const open = parts.ports.tx(() => {
    const r = parts.recharges.confirmationRequested(rechargeId, invoiceId, invoice.hosted_invoice_url ?? null);
    if (r?.kind === "auto") parts.settings.needsConfirmation();
    return r !== null;
  });
  return open;
}
