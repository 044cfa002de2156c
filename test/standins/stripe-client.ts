import { env } from "cloudflare:test";
import Stripe from "stripe";

/** stripe-node 23 pointed at the stand-in, as the Worker builds it (fetch client, no SDK retries). */
export function stripe(): Stripe {
  const base = new URL(env.STRIPE_API_BASE);
  return new Stripe(env.STRIPE_SECRET_KEY, {
    host: base.hostname,
    port: Number(base.port),
    protocol: "http",
    httpClient: Stripe.createFetchHttpClient(),
    maxNetworkRetries: 0,
  });
}

/** A raw API call, for what the SDK hides (exact query strings, headers). */
export async function raw(
  method: "GET" | "POST",
  path: string,
  opts: { form?: Record<string, string>; idempotencyKey?: string } = {},
): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { authorization: `Bearer ${env.STRIPE_SECRET_KEY}` };
  if (opts.form) headers["content-type"] = "application/x-www-form-urlencoded";
  if (opts.idempotencyKey) headers["idempotency-key"] = opts.idempotencyKey;
  const res = await fetch(`${env.STRIPE_API_BASE}${path}`, {
    method,
    headers,
    body: opts.form ? new URLSearchParams(opts.form).toString() : undefined,
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

export async function control<T = Record<string, unknown>>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${env.STRIPE_API_BASE}/__control/${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`stripe control ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** The control answer's status and body, for controls expected to refuse. */
export async function controlStatus(path: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${env.STRIPE_API_BASE}/__control/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

export interface EventView {
  id: string;
  type: string;
  payload: { type: string; data: { object: Record<string, unknown> } };
}

export async function events(customer: string): Promise<EventView[]> {
  return (await control<{ events: EventView[] }>(`events?customer=${encodeURIComponent(customer)}`)).events;
}

/** A customer with a default card that behaves like `card` (a Stripe test payment method id). */
export async function customerWithCard(card = "pm_card_visa"): Promise<string> {
  const customer = await stripe().customers.create({ email: "owner@example.test" });
  await control(`customers/${customer.id}/card`, { paymentMethod: card });
  return customer.id;
}

/** An open invoice of `cents` for `customer`, as the product builds one (create, add the item, finalize). */
export async function openInvoice(
  customer: string,
  cents: number,
  metadata: Record<string, string> = {},
): Promise<Stripe.Invoice> {
  const api = stripe();
  const draft = await api.invoices.create({ customer, metadata, collection_method: "charge_automatically" });
  await api.invoiceItems.create({ customer, invoice: draft.id, amount: cents, currency: "usd", metadata });
  return api.invoices.finalizeInvoice(draft.id);
}

/** A paid invoice and its payment intent id (from its InvoicePayment). */
export async function paidInvoice(
  customer: string,
  cents: number,
  metadata: Record<string, string> = {},
): Promise<{ invoice: Stripe.Invoice; paymentIntent: string }> {
  const api = stripe();
  const open = await openInvoice(customer, cents, metadata);
  const invoice = await api.invoices.pay(open.id);
  const payments = await api.invoicePayments.list({ invoice: invoice.id });
  const paymentIntent = payments.data[0]?.payment.payment_intent;
  if (typeof paymentIntent !== "string") throw new Error(`no payment intent on ${invoice.id}`);
  return { invoice, paymentIntent };
}
