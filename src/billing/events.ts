import type Stripe from "stripe";
import { log } from "../log";
import { startRechargeIfDue, topUpExpired, triggered } from "./auto-recharge";
import { type ChargeTrace, creditInvoice, creditInvoiceById, disputed, disputeWon, refunded } from "./credits";
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
 * A card link was completed. The link still pending saves its card and applies the settings it was made
 * with; a `/setupCredits` sent while this runs stays pending (compare-and-set on the session id). An
 * older link completed after a newer one is refused with a message: the newer settings stay.
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
  if (session.id !== settings.row().pending_session_id) {
    // This card is the one saved already (the same completion seen again): nothing to say.
    if (pm.id === settings.row().payment_method_id) return false;
    log("info", "checkout_session_superseded", { instanceId: ports.instanceId(), sessionId: session.id });
    fx.tell({ kind: "card_link_outdated", ...card });
    return false;
  }
  // Setting the default card is idempotent by itself, so it carries no idempotency key: Stripe would keep a
  // 5xx answer under a fixed key for 24 h and refuse every redelivery of this event until then.
  await stripe.customers.update(settings.row().customer_id ?? "", {
    invoice_settings: { default_payment_method: pm.id },
  });
  const topUpMicros = Number(session.metadata?.top_up_micros);
  const rechargeAtMicros = Number(session.metadata?.recharge_at_micros);
  const now = Date.now();
  const saved = ports.tx(() => {
    const { newerPending } = settings.cardSaved({
      sessionId: session.id,
      paymentMethodId: pm.id,
      ...card,
      topUpMicros,
      rechargeAtMicros,
    });
    // A new card retries the invoice that is still unpaid (declined or awaiting confirmation), unless
    // another recharge is already on its way: at most one is in flight, or the owner is charged twice.
    const unpaid = recharges.autoPending() ? null : recharges.unpaidAuto();
    const retried = unpaid ? recharges.retryWithNewCard(unpaid.id, pm.id, now) !== null : false;
    return { newerPending, retried, started: retried ? null : startRechargeIfDue(parts, now) };
  });
  fx.tell({ kind: "card_saved", topUpMicros, rechargeAtMicros, ...card, newerLinkPending: saved.newerPending });
  if (saved.retried) fx.wake(now);
  triggered(parts, fx, saved.started, now);
  return true;
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
