import { Hono } from "hono";
import type Stripe from "stripe";
import type { ChargeTrace } from "../billing/credits";
import { cryptoProvider, stripeClient } from "../billing/stripe";
import { loadConfig } from "../env";
import { errorResponse } from "../errors";
import { isLang, type Lang } from "../lang";
import { describeError, log } from "../log";
import { escapeHtml, textsIn } from "../telegram/texts";
import { type AppEnv, account } from "./shared";

/** Stripe's default tolerance: older signatures are replays. Event ids are deduplicated as well. */
const SIGNATURE_TOLERANCE_S = 300;

export const stripeWebhook = new Hono<AppEnv>();

/** The envelope of every Stripe event. A signed body without it cannot be routed or processed. */
function isEventEnvelope(value: unknown): value is Stripe.Event {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const { id, type, data } = value as { id?: unknown; type?: unknown; data?: unknown };
  if (typeof id !== "string" || id === "" || typeof type !== "string") return false;
  const object = typeof data === "object" && data !== null ? (data as { object?: unknown }).object : undefined;
  return typeof object === "object" && object !== null && !Array.isArray(object);
}

/** Stripe objects nest about a dozen levels; a far deeper body is no event and would overflow the RPC to the object. */
const MAX_EVENT_DEPTH = 64;

/** Iterative, so that the check itself cannot overflow the stack. */
function nestedDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [node, depth] = next;
    if (typeof node !== "object" || node === null) continue;
    if (depth >= limit) return true;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}

function metadataOf(value: unknown): Record<string, string> {
  const meta = (value as { metadata?: unknown } | null)?.metadata;
  return typeof meta === "object" && meta !== null ? (meta as Record<string, string>) : {};
}

function idOf(ref: unknown): string | null {
  if (typeof ref === "string") return ref || null;
  const id = (ref as { id?: unknown } | null | undefined)?.id;
  return typeof id === "string" && id !== "" ? id : null;
}

/** Where a verified event goes: its instance, and for a charge's event the paid invoice it traces to. */
interface Route {
  instanceId: string | null;
  trace: ChargeTrace | null;
}

/**
 * The instance an event belongs to, from the metadata this system put on customers, sessions and
 * invoices. A charge carries no invoice metadata (API 2026-10-28), so a refund or a dispute is traced
 * through its payment intent to the invoice payment and the invoice it paid; the verified event itself
 * is passed on unchanged, with the trace beside it.
 */
async function routeOf(stripe: Stripe, event: Stripe.Event): Promise<Route> {
  const none: Route = { instanceId: null, trace: null };
  const object = event.data.object as unknown;
  const direct = metadataOf(object).instance_id;
  if (direct) return { instanceId: direct, trace: null };
  let intent: string | null = null;
  if (event.type === "charge.refunded") intent = idOf((object as { payment_intent?: unknown }).payment_intent);
  if (event.type.startsWith("charge.dispute.")) {
    const dispute = object as { payment_intent?: unknown; charge?: unknown };
    intent = idOf(dispute.payment_intent);
    const chargeId = idOf(dispute.charge);
    if (!intent && chargeId) intent = idOf((await stripe.charges.retrieve(chargeId)).payment_intent);
  }
  if (!intent) return none;
  const payments = await stripe.invoicePayments.list({
    payment: { type: "payment_intent", payment_intent: intent },
    limit: 1,
  });
  const invoiceRef = payments.data[0]?.invoice;
  if (!invoiceRef) return none;
  const invoice = typeof invoiceRef === "string" ? await stripe.invoices.retrieve(invoiceRef) : invoiceRef;
  const meta = metadataOf(invoice);
  if (!meta.instance_id || !meta.recharge_id || !invoice.id) return none;
  return { instanceId: meta.instance_id, trace: { invoiceId: invoice.id, rechargeId: meta.recharge_id } };
}

stripeWebhook.post("/stripe/webhook", async (c) => {
  const signature = c.req.header("stripe-signature");
  if (!signature) return errorResponse("invalid_signature", "Missing Stripe-Signature header.");
  const body = await c.req.text();
  const stripe = stripeClient(c.env.STRIPE_SECRET_KEY, loadConfig(c.env));
  let event: Stripe.Event;
  try {
    event = await stripe.webhooks.constructEventAsync(
      body,
      signature,
      c.env.STRIPE_WEBHOOK_SECRET,
      SIGNATURE_TOLERANCE_S,
      cryptoProvider,
    );
  } catch {
    return errorResponse("invalid_signature", "The Stripe signature does not match this body, or it is too old.");
  }
  if (!isEventEnvelope(event) || nestedDeeperThan(event, MAX_EVENT_DEPTH)) {
    log("warn", "stripe_event_malformed", {});
    return errorResponse("invalid_request", "The signed body is not a Stripe event (id, type, data.object).");
  }
  let routed: Route;
  try {
    routed = await routeOf(stripe, event);
  } catch (error) {
    log("warn", "stripe_event_unroutable", { eventId: event.id, type: event.type, error: describeError(error) });
    return errorResponse("upstream_unavailable", "Stripe could not be reached to route this event; retry later.");
  }
  if (!routed.instanceId || !/^[A-Za-z0-9_-]{1,64}$/.test(routed.instanceId)) {
    log("info", "stripe_event_ignored", { eventId: event.id, type: event.type });
    return c.json({ received: true }, 200);
  }
  let outcome: Awaited<ReturnType<ReturnType<typeof account>["stripeEvent"]>>;
  try {
    outcome = await account(c.env, routed.instanceId).stripeEvent(event, routed.trace);
  } catch (error) {
    // The object was reset or evicted mid-event: nothing says it was recorded, so Stripe must send it again.
    log("warn", "stripe_event_interrupted", {
      instanceId: routed.instanceId,
      eventId: event.id,
      error: describeError(error),
    });
    return errorResponse("upstream_unavailable", "The event could not be processed yet; Stripe will retry.");
  }
  if (!outcome.ok) {
    if (outcome.reason === "not_found") return c.json({ received: true }, 200);
    return errorResponse("upstream_unavailable", "The event could not be processed yet; Stripe will retry.");
  }
  log("info", "stripe_event", {
    instanceId: routed.instanceId,
    eventId: event.id,
    type: event.type,
    outcome: outcome.outcome,
  });
  return c.json({ received: true }, 200);
});

/** Our page after Stripe's hosted page, in the language the link was made for (`?lang=cs`; English otherwise). */
function page(lang: Lang, words: { title: string; text: string }): string {
  const title = escapeHtml(words.title);
  return (
    `<!doctype html><html lang="${lang}"><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
    `<title>${title}</title><body style="font-family:system-ui;max-width:32rem;margin:4rem auto;padding:0 1rem">` +
    `<h1>${title}</h1><p>${escapeHtml(words.text)}</p></body></html>`
  );
}

function pageLang(query: string | undefined): Lang {
  return isLang(query) ? query : "en";
}

stripeWebhook.get("/billing/done", (c) => {
  const lang = pageLang(c.req.query("lang"));
  return c.html(page(lang, textsIn(lang).checkoutDonePage()));
});
stripeWebhook.get("/billing/cancelled", (c) => {
  const lang = pageLang(c.req.query("lang"));
  return c.html(page(lang, textsIn(lang).checkoutCancelledPage()));
});
