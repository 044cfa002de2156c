/**
 * Stripe API stand-in.
 *
 * Behaves like https://api.stripe.com where the product depends on it, as stripe-node 23 (API version
 * `2026-10-28.endive`) calls it: bracket-encoded form bodies, bearer-key auth, idempotency keys (replay, mismatch,
 * in flight), customers, Checkout sessions (setup and payment mode, expiry), invoices with invoice items, finalize
 * and off-session pay with Stripe's test cards, invoice payments, charges, payment intents, disputes, and signed
 * webhook events. Tests and the demo inspect and steer it through `/__control/*`.
 *
 * Where money depends on it, it is as unkind as Stripe:
 * - A Charge and its PaymentIntent carry only their own metadata (`payment_intent_data[metadata]` of a
 *   payment-mode Checkout session, nothing for an invoice's payment); never the invoice's or the session's, and
 *   neither has an `invoice` field. Trace a charge with
 *   `GET /v1/invoice_payments?payment[type]=payment_intent&payment[payment_intent]=pi_…` → `invoice` (an id).
 * - Paying a paid invoice answers 400 `invalid_request_error` "Invoice is already paid" (no `code`).
 * - Idempotency (docs.stripe.com/api/idempotent_requests): the first result of a key is saved once execution
 *   began, 4xx included, and replayed with `Idempotent-Replayed: true`; a parameter that fails validation saves
 *   nothing; the same key with other parameters is an `idempotency_error`; a key in flight answers 409.
 *
 * Control endpoints (JSON bodies; every answer is JSON):
 * - `GET  /__control/events?customer=cus_…` → `{ events: [{ id, type, created, delivered, lastStatus, payload }] }`
 * - `GET  /__control/customers/:id/summary` → invoices, payments, totalChargedCents, refundedCents, default card
 * - `POST /__control/webhook-endpoint {url, customer?}`; `POST /__control/auto-deliver {customer, enabled}`;
 *   `POST /__control/deliver {eventId, times?, signature?: "valid" | "forged" | "old"}` → `{ statuses }`
 * - `POST /__control/checkout/:id/complete {paymentMethod?}` → the session (what the customer does on the page)
 * - `POST /__control/checkout/:id/expire-now {}` → the session, `status: "expired"`, and a
 *   `checkout.session.expired` event: as if its `expires_at` (24 h by default) had passed. A session that is
 *   not open answers Stripe's 400. (A session whose `expires_at` passes on the stand-in's clock also expires
 *   when next retrieved.)
 * - `POST /__control/invoices/:id/pay {paymentMethod?}` → the invoice (the owner paying on the hosted page)
 * - `POST /__control/customers/:id/card {paymentMethod}` → swaps the default card's behaviour (a test card id)
 * - `POST /__control/refund {invoice | charge | paymentIntent, amount?}` → `{ refund, charge }`; events
 *   `charge.refunded`, `refund.created`. A charged-back charge answers 400 `charge_disputed`.
 * - `POST /__control/dispute {invoice | charge | paymentIntent, amount?, reason?}` → `{ dispute }`; events
 *   `charge.dispute.created` then `charge.dispute.funds_withdrawn` (status `needs_response`, one withdrawal
 *   balance transaction, `charge` and `payment_intent` as ids); the charge becomes `disputed: true`. `amount`
 *   defaults to what is still unrefunded; one dispute per charge.
 * - `POST /__control/disputes/:id/close {outcome: "won" | "lost"}` → `{ dispute }`; won: events
 *   `charge.dispute.funds_reinstated` then `charge.dispute.closed` (status `won`); lost: `charge.dispute.closed`
 *   (status `lost`), preceded by `funds_reinstated` only for the part of a dispute above what was unrefunded.
 *   (`POST /v1/disputes/:id/close`, the merchant accepting, loses it the same way.)
 * - `POST /__control/fault {match: {customer?, pathPrefix?, pathSuffix?, idempotencyKeyPrefix?, method?}, kind,
 *   count?, delayMs?, replay?}` (match needs customer, pathPrefix or idempotencyKeyPrefix). Kinds:
 *   `500` (nothing runs, the key stays free), `409` (`idempotency_key_in_use`, nothing runs), `timeout` (hangs
 *   `delayMs`, default 15 s, holding the key in flight, then 500; nothing runs), `timeout_after_success` (the
 *   request commits and its events go out, then the answer hangs `delayMs`, default 15 s, and is a 500),
 *   `500_after_success` (commits and sends its events, then answers 500 `api_error` after `delayMs`, default 0).
 *   After a committed fault a retry with the same key replays the committed answer; with
 *   `replay: "error"` a `500_after_success` key keeps the 500 instead, as Stripe documents for a 500 raised
 *   during execution ("retries return the saved response, including 500 errors"). After-success faults strike
 *   replayed answers too. `customer` matches the request's `customer` parameter or the customer of the
 *   invoice, session, charge, payment intent, dispute or payment method in its path.
 *
 * Many test files run in parallel against one process, so everything a test can change is scoped by customer id or
 * idempotency-key prefix: one test's faults, card changes or delivery switches never touch another test's customer.
 */

type Json = Record<string, unknown>;

export interface StripeStandinOptions {
  /** Secret that signs webhook deliveries (`whsec_…`); the Worker verifies with the same value. */
  webhookSecret: string;
  /** When set, only this exact secret key is accepted; otherwise any `sk_test_…` key is. */
  apiKey?: string;
  /** Clock in epoch milliseconds; every `created` and status timestamp comes from it. */
  now?: () => number;
}

export interface StripeStandin {
  handle(request: Request): Promise<Response>;
}

export interface EventRecordView {
  id: string;
  type: string;
  created: number;
  delivered: number;
  lastStatus: number | null;
  payload: unknown;
}

const API_VERSION = "2026-10-28.endive";
/** Stripe's minimum charge for USD; a smaller invoice is settled from the customer balance instead of the card. */
const MINIMUM_CHARGE_CENTS = 50;
const DEFAULT_TIMEOUT_DELAY_MS = 15_000;
/** What Stripe charges (USD) for a dispute, on top of the withdrawn amount. */
const DISPUTE_FEE_CENTS = 1500;
/** Webhook tolerance is 300 s, so ten minutes is safely "old". */
const OLD_SIGNATURE_AGE_SEC = 600;

type CardOutcome = "success" | "decline" | "authentication_required";

interface TestCard {
  brand: string;
  last4: string;
  outcome: CardOutcome;
  code?: string;
  declineCode?: string;
  message?: string;
}

/** Stripe's documented test payment methods; each use materializes a new customer-attached PaymentMethod. */
const TEST_CARDS = new Map<string, TestCard>([
  ["pm_card_visa", { brand: "visa", last4: "4242", outcome: "success" }],
  [
    "pm_card_chargeDeclined",
    {
      brand: "visa",
      last4: "0002",
      outcome: "decline",
      code: "card_declined",
      declineCode: "generic_decline",
      message: "Your card was declined.",
    },
  ],
  [
    "pm_card_chargeDeclinedInsufficientFunds",
    {
      brand: "visa",
      last4: "9995",
      outcome: "decline",
      code: "card_declined",
      declineCode: "insufficient_funds",
      message: "Your card has insufficient funds.",
    },
  ],
  [
    "pm_card_chargeDeclinedExpiredCard",
    {
      brand: "visa",
      last4: "0069",
      outcome: "decline",
      code: "expired_card",
      declineCode: "expired_card",
      message: "Your card has expired.",
    },
  ],
  ["pm_card_authenticationRequired", { brand: "visa", last4: "3155", outcome: "authentication_required" }],
]);

/** Every field of a Dispute's `evidence`, all null until evidence is submitted. */
const DISPUTE_EVIDENCE_FIELDS = [
  "access_activity_log",
  "billing_address",
  "cancellation_policy",
  "cancellation_policy_disclosure",
  "cancellation_rebuttal",
  "customer_communication",
  "customer_email_address",
  "customer_name",
  "customer_purchase_ip",
  "customer_signature",
  "duplicate_charge_documentation",
  "duplicate_charge_explanation",
  "duplicate_charge_id",
  "product_description",
  "receipt",
  "refund_policy",
  "refund_policy_disclosure",
  "refund_refusal_explanation",
  "service_date",
  "service_documentation",
  "shipping_address",
  "shipping_carrier",
  "shipping_date",
  "shipping_documentation",
  "shipping_tracking_number",
  "uncategorized_file",
  "uncategorized_text",
] as const;

interface Customer {
  id: string;
  created: number;
  email: string | null;
  name: string | null;
  description: string | null;
  metadata: Record<string, string>;
  defaultPaymentMethod: string | null;
  balance: number;
}

interface PaymentMethod {
  id: string;
  created: number;
  customer: string | null;
  /** Test card whose behaviour this method follows; `/__control/customers/:id/card` can swap it. */
  testCard: string;
}

interface LineItem {
  name: string;
  unitAmount: number;
  quantity: number;
  currency: string;
}

interface Session {
  id: string;
  created: number;
  mode: "setup" | "payment";
  customer: string | null;
  metadata: Record<string, string>;
  successUrl: string | null;
  cancelUrl: string | null;
  clientReferenceId: string | null;
  status: "open" | "complete" | "expired";
  paymentStatus: "unpaid" | "paid" | "no_payment_required";
  setupIntent: string | null;
  invoice: string | null;
  paymentIntent: string | null;
  currency: string | null;
  lineItems: LineItem[];
  paymentMethodTypes: string[];
  invoiceCreation: boolean;
  invoiceMetadata: Record<string, string>;
  invoiceDescription: string | null;
  setupIntentMetadata: Record<string, string>;
  /** `payment_intent_data[metadata]`: the only metadata a payment-mode session's PaymentIntent (and charge) gets. */
  paymentIntentMetadata: Record<string, string>;
  expiresAt: number;
  url: string;
}

interface SetupIntent {
  id: string;
  created: number;
  customer: string | null;
  paymentMethod: string;
  metadata: Record<string, string>;
}

interface InvoiceItem {
  id: string;
  created: number;
  customer: string;
  invoice: string | null;
  amount: number;
  currency: string;
  description: string | null;
  metadata: Record<string, string>;
}

type InvoiceStatus = "draft" | "open" | "paid" | "void" | "uncollectible";

interface Invoice {
  id: string;
  created: number;
  /** Creation order; `created` has one-second resolution, so lists sort by this. */
  seq: number;
  customer: string;
  status: InvoiceStatus;
  currency: string;
  description: string | null;
  metadata: Record<string, string>;
  collectionMethod: string;
  autoAdvance: boolean;
  defaultPaymentMethod: string | null;
  number: string | null;
  hostedUrl: string | null;
  pdfUrl: string | null;
  finalizedAt: number | null;
  paidAt: number | null;
  voidedAt: number | null;
  attemptCount: number;
  amountPaid: number;
  items: string[];
  payments: string[];
}

interface InvoicePayment {
  id: string;
  created: number;
  invoice: string;
  amount: number;
  currency: string;
  paymentIntent: string;
  charge: string;
}

interface PaymentIntentRecord {
  id: string;
  created: number;
  amount: number;
  currency: string;
  customer: string;
  paymentMethod: string;
  latestCharge: string;
  description: string | null;
  /** Only what was set on the intent itself: Stripe copies no invoice or session metadata here. */
  metadata: Record<string, string>;
}

interface Charge {
  id: string;
  created: number;
  amount: number;
  amountRefunded: number;
  currency: string;
  customer: string;
  paymentIntent: string;
  paymentMethod: string;
  /** The stand-in's own bookkeeping (summary, refunds); a real Charge has no `invoice` field since 2025-03-31. */
  invoice: string | null;
  balanceTransaction: string;
  /** Copied from the PaymentIntent when the charge is created, as Stripe does; never the invoice's metadata. */
  metadata: Record<string, string>;
  disputed: boolean;
}

type DisputeStatus = "needs_response" | "under_review" | "won" | "lost";

interface BalanceTransaction {
  id: string;
  created: number;
  amount: number;
  fee: number;
  currency: string;
  description: string;
  reportingCategory: string;
}

interface Dispute {
  id: string;
  created: number;
  charge: string;
  paymentIntent: string;
  customer: string;
  amount: number;
  currency: string;
  reason: string;
  status: DisputeStatus;
  /** What of the charge was not refunded when the dispute opened; a lost dispute reinstates any excess over it. */
  unrefundedAtOpen: number;
  balanceTransactions: BalanceTransaction[];
}

interface EventRecord {
  id: string;
  type: string;
  created: number;
  customer: string;
  /** Serialized once so every redelivery carries byte-identical JSON, as Stripe's do. */
  payload: string;
  delivered: number;
  lastStatus: number | null;
}

const FAULT_KINDS = ["500", "409", "timeout", "timeout_after_success", "500_after_success"] as const;
type FaultKind = (typeof FAULT_KINDS)[number];

interface Fault {
  pathPrefix: string | null;
  /** e.g. "/finalize" or "/pay", whose paths carry an invoice id the test does not know in advance. */
  pathSuffix: string | null;
  idempotencyKeyPrefix: string | null;
  customer: string | null;
  /** Only requests with this method (e.g. "POST"); any method when null. */
  method: string | null;
  kind: FaultKind;
  remaining: number;
  delayMs: number;
  /**
   * For `500_after_success`: what the idempotency key keeps. "success" (default): a retry with the key replays
   * the committed answer. "error": the key keeps the 500, as Stripe documents for a 500 raised once the endpoint
   * began executing, so only reading the objects (or the webhooks) tells the request committed.
   */
  replay: "success" | "error";
}

type IdempotencyEntry =
  | { fingerprint: string; state: "in_flight" }
  | { fingerprint: string; state: "done"; status: number; body: string };

interface Ctx {
  origin: string;
  now: number;
  params: Json;
  /** Events raised while handling one request; delivered only after the response is formed. */
  outbox: EventRecord[];
}

class ApiError extends Error {
  readonly status: number;
  readonly body: Json;
  /**
   * A parameter that failed validation: Stripe saves an idempotency key's result only once the endpoint began
   * executing, so such an error is not replayed and the same key may be retried with corrected parameters.
   */
  readonly validation: boolean;
  constructor(status: number, body: Json, validation = false) {
    super(typeof body.message === "string" ? body.message : "Stripe error");
    this.status = status;
    this.body = body;
    this.validation = validation;
  }
}

function invalid(message: string, param?: string, code?: string): ApiError {
  return new ApiError(400, {
    type: "invalid_request_error",
    message,
    ...(param ? { param } : {}),
    ...(code ? { code } : {}),
  });
}

/** A malformed or missing parameter (see ApiError.validation). */
function invalidParam(message: string, param: string, code = "parameter_invalid"): ApiError {
  return new ApiError(400, { type: "invalid_request_error", code, message, param }, true);
}

function missing(kind: string, id: string, param = "id"): ApiError {
  return new ApiError(404, {
    type: "invalid_request_error",
    code: "resource_missing",
    message: `No such ${kind}: '${id}'`,
    param,
  });
}

function isRecord(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function newId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  let out = "";
  for (const byte of bytes) out += ID_ALPHABET[byte % ID_ALPHABET.length];
  return `${prefix}_${out}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Form decoding: stripe-node sends `a[b][0][c]=v`; numeric keys become arrays, `[]` appends.

function splitKey(key: string): string[] {
  const open = key.indexOf("[");
  if (open <= 0 || !key.endsWith("]")) return [key];
  const segments = [key.slice(0, open)];
  const pattern = /\[([^\]]*)\]/g;
  for (let match = pattern.exec(key); match; match = pattern.exec(key)) segments.push(match[1] ?? "");
  return segments;
}

function arrayify(value: unknown): unknown {
  if (!isRecord(value)) return value;
  const keys = Object.keys(value);
  for (const key of keys) value[key] = arrayify(value[key]);
  if (keys.length > 0 && keys.every((k) => /^\d+$/.test(k))) {
    return keys.sort((a, b) => Number(a) - Number(b)).map((k) => value[k]);
  }
  return value;
}

export function decodeForm(text: string): Json {
  const root: Json = {};
  for (const [rawKey, value] of new URLSearchParams(text)) {
    const segments = splitKey(rawKey);
    let current = root;
    segments.forEach((segment, index) => {
      const key = segment === "" ? String(Object.keys(current).length) : segment;
      if (index === segments.length - 1) {
        current[key] = value;
        return;
      }
      const next = current[key];
      if (isRecord(next)) {
        current = next;
      } else {
        const created: Json = {};
        current[key] = created;
        current = created;
      }
    });
  }
  const result = arrayify(root);
  return isRecord(result) ? result : {};
}

/** Key-sorted JSON, so the same parameters in another order still count as the same idempotent request. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

// ---------------------------------------------------------------------------------------------------------------
// Parameter helpers: every form value arrives as a string.

function str(params: Json, name: string): string | null {
  const value = params[name];
  if (value === undefined || value === "") return null;
  if (typeof value !== "string") throw invalidParam(`Invalid string: ${name}`, name);
  return value;
}

function requireStr(params: Json, name: string, label = name): string {
  const value = str(params, name);
  if (value === null) throw invalidParam(`Missing required param: ${label}.`, label, "parameter_missing");
  return value;
}

function int(params: Json, name: string): number | null {
  const value = str(params, name);
  if (value === null) return null;
  if (!/^-?\d+$/.test(value)) throw invalidParam(`Invalid integer: ${value}`, name, "parameter_invalid_integer");
  return Number(value);
}

function bool(params: Json, name: string): boolean | null {
  const value = str(params, name);
  if (value === null) return null;
  if (value !== "true" && value !== "false") throw invalidParam(`Invalid boolean: ${value}`, name);
  return value === "true";
}

function sub(params: Json, name: string): Json {
  const value = params[name];
  return isRecord(value) ? value : {};
}

function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** Stripe merges metadata keys and deletes a key sent with an empty value. */
function mergeMetadata(current: Record<string, string>, update: unknown): Record<string, string> {
  if (update === "") return {};
  if (!isRecord(update)) return current;
  const merged = { ...current };
  for (const [key, value] of Object.entries(update)) {
    if (value === "" || value === null) delete merged[key];
    else merged[key] = String(value);
  }
  return merged;
}

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

function errorResponse(error: ApiError): Response {
  return json({ error: error.body }, error.status);
}

function html(body: string, status = 200): Response {
  return new Response(`<!doctype html><meta charset="utf-8"><title>Stripe stand-in</title>${body}`, {
    status,
    headers: { "content-type": "text/html; charset=utf-8" },
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const encoder = new TextEncoder();

/** A `Stripe-Signature` header value for `payload`, exactly as Stripe computes it. */
export async function signPayload(payload: string, secret: string, timestampSec?: number): Promise<string> {
  const timestamp = timestampSec ?? Math.floor(Date.now() / 1000);
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestamp}.${payload}`)));
  let hex = "";
  for (const byte of mac) hex += byte.toString(16).padStart(2, "0");
  return `t=${timestamp},v1=${hex}`;
}

export function createStripeStandin(options: StripeStandinOptions): StripeStandin {
  const clock = options.now ?? Date.now;
  const customers = new Map<string, Customer>();
  const paymentMethods = new Map<string, PaymentMethod>();
  const sessions = new Map<string, Session>();
  const setupIntents = new Map<string, SetupIntent>();
  const invoiceItems = new Map<string, InvoiceItem>();
  const invoices = new Map<string, Invoice>();
  const invoicePayments = new Map<string, InvoicePayment>();
  const charges = new Map<string, Charge>();
  const paymentIntents = new Map<string, PaymentIntentRecord>();
  const disputes = new Map<string, Dispute>();
  const events = new Map<string, EventRecord>();
  const eventsByCustomer = new Map<string, EventRecord[]>();
  const idempotency = new Map<string, IdempotencyEntry>();
  const faults: Fault[] = [];
  const autoDeliverOff = new Set<string>();
  const deliveryQueues = new Map<string, Promise<void>>();
  const customerEndpoints = new Map<string, string>();
  let webhookUrl: string | null = null;
  let invoiceSeq = 0;

  const seconds = (now: number) => Math.floor(now / 1000);

  // -------------------------------------------------------------------------------------------------------------
  // Lookups and rendering

  function getCustomer(id: string, param = "id"): Customer {
    const customer = customers.get(id);
    if (!customer) throw missing("customer", id, param);
    return customer;
  }

  function getInvoice(id: string, param = "id"): Invoice {
    const invoice = invoices.get(id);
    if (!invoice) throw missing("invoice", id, param);
    return invoice;
  }

  function cardOf(pm: PaymentMethod): TestCard {
    return TEST_CARDS.get(pm.testCard) ?? { brand: "visa", last4: "4242", outcome: "success" };
  }

  /** Test-card ids (`pm_card_visa`) become a fresh PaymentMethod, as Stripe does when one is attached or used. */
  function materialize(idOrTestCard: string, customer: string | null, now: number, param: string): PaymentMethod {
    if (TEST_CARDS.has(idOrTestCard)) {
      const pm: PaymentMethod = { id: newId("pm"), created: seconds(now), customer, testCard: idOrTestCard };
      paymentMethods.set(pm.id, pm);
      return pm;
    }
    const pm = paymentMethods.get(idOrTestCard);
    if (!pm) throw missing("PaymentMethod", idOrTestCard, param);
    if (customer && pm.customer && pm.customer !== customer) {
      throw invalid(`The payment method you provided is not attached to this customer (${customer}).`, param);
    }
    if (customer && !pm.customer) pm.customer = customer;
    return pm;
  }

  function renderCustomer(c: Customer): Json {
    return {
      id: c.id,
      object: "customer",
      created: c.created,
      livemode: false,
      email: c.email,
      name: c.name,
      description: c.description,
      metadata: c.metadata,
      balance: c.balance,
      currency: null,
      delinquent: false,
      invoice_prefix: "SI",
      invoice_settings: {
        custom_fields: null,
        default_payment_method: c.defaultPaymentMethod,
        footer: null,
        rendering_options: null,
      },
    };
  }

  function renderPaymentMethod(pm: PaymentMethod): Json {
    const card = cardOf(pm);
    return {
      id: pm.id,
      object: "payment_method",
      created: pm.created,
      livemode: false,
      type: "card",
      customer: pm.customer,
      metadata: {},
      billing_details: { address: null, email: null, name: null, phone: null },
      card: {
        brand: card.brand,
        last4: card.last4,
        exp_month: 12,
        exp_year: new Date(pm.created * 1000).getUTCFullYear() + 3,
        funding: "credit",
        country: "US",
      },
    };
  }

  function renderSetupIntent(si: SetupIntent): Json {
    return {
      id: si.id,
      object: "setup_intent",
      created: si.created,
      livemode: false,
      status: "succeeded",
      usage: "off_session",
      customer: si.customer,
      payment_method: si.paymentMethod,
      payment_method_types: ["card"],
      metadata: si.metadata,
    };
  }

  function sessionTotal(s: Session): number | null {
    if (s.mode === "setup") return null;
    return s.lineItems.reduce((sum, item) => sum + item.unitAmount * item.quantity, 0);
  }

  function renderSession(s: Session): Json {
    const total = sessionTotal(s);
    return {
      id: s.id,
      object: "checkout.session",
      created: s.created,
      livemode: false,
      url: s.status === "open" ? s.url : null,
      status: s.status,
      mode: s.mode,
      customer: s.customer,
      client_reference_id: s.clientReferenceId,
      metadata: s.metadata,
      success_url: s.successUrl,
      cancel_url: s.cancelUrl,
      setup_intent: s.setupIntent,
      invoice: s.invoice,
      payment_intent: s.paymentIntent,
      amount_total: total,
      amount_subtotal: total,
      currency: s.currency,
      payment_status: s.paymentStatus,
      payment_method_types: s.paymentMethodTypes,
      invoice_creation:
        s.mode === "payment"
          ? {
              enabled: s.invoiceCreation,
              invoice_data: { metadata: s.invoiceMetadata, description: s.invoiceDescription },
            }
          : null,
      expires_at: s.expiresAt,
    };
  }

  function invoiceTotal(inv: Invoice): number {
    let total = 0;
    for (const itemId of inv.items) total += invoiceItems.get(itemId)?.amount ?? 0;
    return total;
  }

  function renderInvoiceItem(item: InvoiceItem): Json {
    return {
      id: item.id,
      object: "invoiceitem",
      date: item.created,
      livemode: false,
      customer: item.customer,
      invoice: item.invoice,
      amount: item.amount,
      currency: item.currency,
      description: item.description,
      metadata: item.metadata,
      quantity: 1,
      proration: false,
    };
  }

  function renderInvoicePayment(p: InvoicePayment): Json {
    return {
      id: p.id,
      object: "invoice_payment",
      created: p.created,
      livemode: false,
      invoice: p.invoice,
      amount_paid: p.amount,
      amount_requested: p.amount,
      currency: p.currency,
      is_default: true,
      status: "paid",
      payment: { type: "payment_intent", payment_intent: p.paymentIntent },
      status_transitions: { canceled_at: null, paid_at: p.created },
    };
  }

  function renderInvoice(inv: Invoice): Json {
    const total = invoiceTotal(inv);
    const customer = customers.get(inv.customer);
    const settled = inv.status === "paid" || inv.status === "void";
    return {
      id: inv.id,
      object: "invoice",
      created: inv.created,
      livemode: false,
      customer: inv.customer,
      customer_email: customer?.email ?? null,
      customer_name: customer?.name ?? null,
      status: inv.status,
      currency: inv.currency,
      description: inv.description,
      metadata: inv.metadata,
      collection_method: inv.collectionMethod,
      auto_advance: inv.autoAdvance,
      default_payment_method: inv.defaultPaymentMethod,
      amount_due: total,
      amount_paid: inv.amountPaid,
      amount_remaining: settled ? 0 : total - inv.amountPaid,
      amount_overpaid: 0,
      subtotal: total,
      total,
      attempt_count: inv.attemptCount,
      attempted: inv.attemptCount > 0,
      hosted_invoice_url: inv.hostedUrl,
      invoice_pdf: inv.pdfUrl,
      number: inv.number,
      period_start: inv.created,
      period_end: inv.created,
      effective_at: inv.finalizedAt,
      due_date: null,
      next_payment_attempt: null,
      status_transitions: {
        finalized_at: inv.finalizedAt,
        paid_at: inv.paidAt,
        voided_at: inv.voidedAt,
        marked_uncollectible_at: null,
      },
      lines: {
        object: "list",
        data: inv.items.flatMap((itemId) => {
          const item = invoiceItems.get(itemId);
          if (!item) return [];
          return [
            {
              id: `il_${item.id.slice(3)}`,
              object: "line_item",
              amount: item.amount,
              currency: item.currency,
              description: item.description,
              invoice: inv.id,
              metadata: item.metadata,
              quantity: 1,
              parent: { type: "invoice_item_details", invoice_item_details: { invoice_item: item.id } },
            },
          ];
        }),
        has_more: false,
        total_count: inv.items.length,
        url: `/v1/invoices/${inv.id}/lines`,
      },
    };
  }

  function renderCharge(ch: Charge): Json {
    const pm = paymentMethods.get(ch.paymentMethod);
    const card = pm ? cardOf(pm) : { brand: "visa", last4: "4242" };
    return {
      id: ch.id,
      object: "charge",
      created: ch.created,
      livemode: false,
      amount: ch.amount,
      amount_captured: ch.amount,
      amount_refunded: ch.amountRefunded,
      refunded: ch.amountRefunded >= ch.amount,
      captured: true,
      paid: true,
      status: "succeeded",
      disputed: ch.disputed,
      currency: ch.currency,
      customer: ch.customer,
      description: null,
      payment_intent: ch.paymentIntent,
      payment_method: ch.paymentMethod,
      balance_transaction: ch.balanceTransaction,
      billing_details: { address: null, email: null, name: null, phone: null },
      failure_code: null,
      failure_message: null,
      outcome: {
        network_status: "approved_by_network",
        reason: null,
        risk_level: "normal",
        seller_message: "Payment complete.",
        type: "authorized",
      },
      payment_method_details: {
        type: "card",
        card: { brand: card.brand, last4: card.last4, country: "US", funding: "credit", network: card.brand },
      },
      receipt_email: null,
      receipt_url: null,
      // Only metadata set on the charge (or its PaymentIntent) itself: Stripe copies no invoice metadata here.
      metadata: ch.metadata,
    };
  }

  function renderPaymentIntent(pi: PaymentIntentRecord): Json {
    return {
      id: pi.id,
      object: "payment_intent",
      created: pi.created,
      livemode: false,
      amount: pi.amount,
      amount_capturable: 0,
      amount_received: pi.amount,
      currency: pi.currency,
      customer: pi.customer,
      description: pi.description,
      capture_method: "automatic",
      confirmation_method: "automatic",
      client_secret: `${pi.id}_secret_standin`,
      canceled_at: null,
      cancellation_reason: null,
      last_payment_error: null,
      next_action: null,
      payment_method: pi.paymentMethod,
      payment_method_types: ["card"],
      latest_charge: pi.latestCharge,
      setup_future_usage: null,
      status: "succeeded",
      metadata: pi.metadata,
    };
  }

  function renderBalanceTransaction(bt: BalanceTransaction, source: string): Json {
    return {
      id: bt.id,
      object: "balance_transaction",
      amount: bt.amount,
      available_on: bt.created,
      created: bt.created,
      currency: bt.currency,
      description: bt.description,
      exchange_rate: null,
      fee: bt.fee,
      fee_details: bt.fee
        ? [{ amount: bt.fee, application: null, currency: bt.currency, description: "Dispute fee", type: "stripe_fee" }]
        : [],
      net: bt.amount - bt.fee,
      reporting_category: bt.reportingCategory,
      source,
      status: "pending",
      type: "adjustment",
    };
  }

  function renderDispute(dp: Dispute): Json {
    const charge = charges.get(dp.charge);
    const pm = charge ? paymentMethods.get(charge.paymentMethod) : undefined;
    const card = pm ? cardOf(pm) : { brand: "visa" };
    return {
      id: dp.id,
      object: "dispute",
      created: dp.created,
      livemode: false,
      amount: dp.amount,
      currency: dp.currency,
      // An id string, as in every event; `expand[]=charge` expands it.
      charge: dp.charge,
      payment_intent: dp.paymentIntent,
      balance_transactions: dp.balanceTransactions.map((bt) => renderBalanceTransaction(bt, dp.id)),
      enhanced_eligibility_types: [],
      evidence: { ...Object.fromEntries(DISPUTE_EVIDENCE_FIELDS.map((field) => [field, null])), enhanced_evidence: {} },
      evidence_details: {
        due_by: dp.created + 21 * 24 * 3600,
        enhanced_eligibility: {},
        has_evidence: false,
        past_due: false,
        submission_count: 0,
      },
      intended_submission_method: null,
      // Once funds are withdrawn the payment can no longer be refunded.
      is_charge_refundable: false,
      metadata: {},
      payment_method_details: {
        type: "card",
        card: { brand: card.brand, case_type: "chargeback", network: card.brand, network_reason_code: "10.4" },
      },
      reason: dp.reason,
      status: dp.status,
    };
  }

  /** Renders any stored object by id prefix, for `expand[]`. */
  function renderById(id: string): Json | null {
    const prefix = id.slice(0, id.indexOf("_") + 1);
    switch (prefix) {
      case "cus_": {
        const c = customers.get(id);
        return c ? renderCustomer(c) : null;
      }
      case "pm_": {
        const pm = paymentMethods.get(id);
        return pm ? renderPaymentMethod(pm) : null;
      }
      case "seti_": {
        const si = setupIntents.get(id);
        return si ? renderSetupIntent(si) : null;
      }
      case "in_": {
        const inv = invoices.get(id);
        return inv ? renderInvoice(inv) : null;
      }
      case "cs_": {
        const s = sessions.get(id);
        return s ? renderSession(s) : null;
      }
      case "ch_": {
        const ch = charges.get(id);
        return ch ? renderCharge(ch) : null;
      }
      case "pi_": {
        const pi = paymentIntents.get(id);
        return pi ? renderPaymentIntent(pi) : null;
      }
      case "dp_":
      case "du_": {
        const dp = disputes.get(id);
        return dp ? renderDispute(dp) : null;
      }
    }
    return null;
  }

  function expandPath(object: Json, path: string[]): void {
    const [field, ...rest] = path;
    if (field === undefined) return;
    if (field === "data" && Array.isArray(object.data)) {
      for (const item of object.data) if (isRecord(item)) expandPath(item, rest);
      return;
    }
    if (field === "payments" && object.object === "invoice" && typeof object.id === "string") {
      const invoice = invoices.get(object.id);
      const data = (invoice?.payments ?? []).flatMap((pid) => {
        const payment = invoicePayments.get(pid);
        return payment ? [renderInvoicePayment(payment)] : [];
      });
      object.payments = { object: "list", data, has_more: false, url: "/v1/invoice_payments" };
    } else {
      const value = object[field];
      if (typeof value === "string") {
        const rendered = renderById(value);
        if (rendered) object[field] = rendered;
      }
    }
    const next = object[field];
    if (isRecord(next)) expandPath(next, rest);
  }

  function withExpand(object: Json, params: Json): Json {
    for (const path of strings(params.expand)) expandPath(object, path.split("."));
    return object;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Events and webhook delivery

  function emit(ctx: Ctx, customer: string, type: string, object: Json): void {
    const created = seconds(ctx.now);
    const id = newId("evt");
    const event = {
      id,
      object: "event",
      api_version: API_VERSION,
      created,
      type,
      data: { object },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
    };
    const record: EventRecord = {
      id,
      type,
      created,
      customer,
      payload: JSON.stringify(event),
      delivered: 0,
      lastStatus: null,
    };
    events.set(id, record);
    const list = eventsByCustomer.get(customer) ?? [];
    list.push(record);
    eventsByCustomer.set(customer, list);
    ctx.outbox.push(record);
  }

  function endpointFor(customer: string): string | null {
    return customerEndpoints.get(customer) ?? webhookUrl;
  }

  async function deliver(record: EventRecord, signature: "valid" | "forged" | "old" = "valid"): Promise<number> {
    const url = endpointFor(record.customer);
    if (!url) throw invalid("No webhook endpoint is registered (POST /__control/webhook-endpoint).");
    const nowSec = seconds(clock());
    const timestamp = signature === "old" ? nowSec - OLD_SIGNATURE_AGE_SEC : nowSec;
    const secret = signature === "forged" ? `${options.webhookSecret}_forged` : options.webhookSecret;
    const header = await signPayload(record.payload, secret, timestamp);
    let status = 0;
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "stripe-signature": header, "user-agent": "Stripe/1.0" },
        body: record.payload,
        signal: AbortSignal.timeout(30_000),
      });
      await response.arrayBuffer();
      status = response.status;
    } catch {
      // 0 stands for "no HTTP answer" (refused, reset or timed out), like Stripe's dashboard shows no status.
      status = 0;
    }
    record.delivered += 1;
    record.lastStatus = status;
    return status;
  }

  /** Queues auto-delivery per customer so one customer's events arrive in creation order, never blocking the API. */
  function flush(outbox: EventRecord[]): void {
    for (const record of outbox) {
      if (autoDeliverOff.has(record.customer) || !endpointFor(record.customer)) continue;
      const previous = deliveryQueues.get(record.customer) ?? Promise.resolve();
      const next = previous.then(async () => {
        try {
          await deliver(record);
        } catch {
          // The endpoint was removed meanwhile; the event stays undelivered for /__control/deliver.
        }
      });
      deliveryQueues.set(record.customer, next);
    }
    outbox.length = 0;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Operations shared by the API and the control endpoints

  function createInvoice(ctx: Ctx, fields: Partial<Invoice> & { customer: string }): Invoice {
    invoiceSeq += 1;
    const invoice: Invoice = {
      id: newId("in"),
      created: seconds(ctx.now),
      seq: invoiceSeq,
      customer: fields.customer,
      status: "draft",
      currency: fields.currency ?? "usd",
      description: fields.description ?? null,
      metadata: fields.metadata ?? {},
      collectionMethod: fields.collectionMethod ?? "charge_automatically",
      autoAdvance: fields.autoAdvance ?? false,
      defaultPaymentMethod: fields.defaultPaymentMethod ?? null,
      number: null,
      hostedUrl: null,
      pdfUrl: null,
      finalizedAt: null,
      paidAt: null,
      voidedAt: null,
      attemptCount: 0,
      amountPaid: 0,
      items: [],
      payments: [],
    };
    invoices.set(invoice.id, invoice);
    emit(ctx, invoice.customer, "invoice.created", renderInvoice(invoice));
    return invoice;
  }

  function addItem(ctx: Ctx, fields: Omit<InvoiceItem, "id" | "created">): InvoiceItem {
    const item: InvoiceItem = { id: newId("ii"), created: seconds(ctx.now), ...fields };
    invoiceItems.set(item.id, item);
    if (item.invoice) invoices.get(item.invoice)?.items.push(item.id);
    return item;
  }

  function markPaid(ctx: Ctx, invoice: Invoice, amount: number): void {
    invoice.status = "paid";
    invoice.amountPaid = amount;
    invoice.paidAt = seconds(ctx.now);
  }

  function finalize(ctx: Ctx, invoice: Invoice): void {
    if (invoice.status !== "draft") {
      throw invalid(`This invoice is already finalized, you can't re-finalize a non-draft invoice.`, "invoice");
    }
    invoice.status = "open";
    invoice.number = `SI-${String(invoice.seq).padStart(4, "0")}`;
    invoice.hostedUrl = `${ctx.origin}/invoice/${invoice.id}`;
    invoice.pdfUrl = `${ctx.origin}/invoice/${invoice.id}/pdf`;
    invoice.finalizedAt = seconds(ctx.now);
    emit(ctx, invoice.customer, "invoice.finalized", renderInvoice(invoice));
    // Stripe marks a zero-total invoice paid as soon as it is finalized.
    if (invoiceTotal(invoice) === 0) {
      markPaid(ctx, invoice, 0);
      emit(ctx, invoice.customer, "invoice.paid", renderInvoice(invoice));
    }
  }

  interface PayOptions {
    paymentMethod: string | null;
    /** The owner confirming on the hosted page or Checkout passes 3-D Secure; off-session attempts cannot. */
    onSession: boolean;
  }

  interface CardPayment {
    customer: Customer;
    pm: PaymentMethod;
    amount: number;
    currency: string;
    onSession: boolean;
    /** The PaymentIntent's own metadata (`payment_intent_data[metadata]`); an invoice's intent gets none. */
    metadata: Record<string, string>;
    description: string | null;
    invoice: string | null;
  }

  /** The card's verdict: a declined (or, off-session, 3-D Secure) card answers Stripe's card_error. */
  function cardError(pm: PaymentMethod, onSession: boolean, invoice: string | null): ApiError | null {
    const card = cardOf(pm);
    if (card.outcome === "success" || (card.outcome === "authentication_required" && onSession)) return null;
    const auth = card.outcome === "authentication_required";
    return new ApiError(402, {
      type: "card_error",
      code: auth ? "authentication_required" : (card.code ?? "card_declined"),
      ...(auth ? {} : { decline_code: card.declineCode ?? "generic_decline" }),
      message: auth ? "This payment requires authentication" : (card.message ?? "Your card was declined."),
      ...(invoice ? { invoice } : {}),
      payment_method: { id: pm.id, object: "payment_method", type: "card" },
    });
  }

  /** A successful card payment: one PaymentIntent and its Charge, the charge carrying the intent's metadata. */
  function chargeCard(ctx: Ctx, p: CardPayment): Charge {
    const created = seconds(ctx.now);
    const intent: PaymentIntentRecord = {
      id: newId("pi"),
      created,
      amount: p.amount,
      currency: p.currency,
      customer: p.customer.id,
      paymentMethod: p.pm.id,
      latestCharge: newId("ch"),
      description: p.description,
      metadata: { ...p.metadata },
    };
    paymentIntents.set(intent.id, intent);
    const charge: Charge = {
      id: intent.latestCharge,
      created,
      amount: p.amount,
      amountRefunded: 0,
      currency: p.currency,
      customer: p.customer.id,
      paymentIntent: intent.id,
      paymentMethod: p.pm.id,
      invoice: p.invoice,
      balanceTransaction: newId("txn"),
      metadata: { ...p.metadata },
      disputed: false,
    };
    charges.set(charge.id, charge);
    return charge;
  }

  /** Records `charge` as the invoice's payment (an InvoicePayment) and marks the invoice paid. */
  function settleInvoice(ctx: Ctx, invoice: Invoice, charge: Charge): void {
    const payment: InvoicePayment = {
      id: newId("inpay"),
      created: seconds(ctx.now),
      invoice: invoice.id,
      amount: charge.amount,
      currency: charge.currency,
      paymentIntent: charge.paymentIntent,
      charge: charge.id,
    };
    invoicePayments.set(payment.id, payment);
    invoice.payments.push(payment.id);
    markPaid(ctx, invoice, charge.amount);
    emit(ctx, invoice.customer, "invoice.paid", renderInvoice(invoice));
    emit(ctx, invoice.customer, "invoice.payment_succeeded", renderInvoice(invoice));
  }

  function pay(ctx: Ctx, invoice: Invoice, opts: PayOptions): void {
    // Stripe's answer, word for word, with no `code` (stripe-node's error codes have no "already paid").
    if (invoice.status === "paid") throw invalid("Invoice is already paid");
    if (invoice.status === "draft") {
      throw invalid("This invoice can't be paid because it is a draft. Finalize it first.", "invoice");
    }
    if (invoice.status !== "open") throw invalid(`This invoice can't be paid because it is ${invoice.status}.`);
    const total = invoiceTotal(invoice);
    if (total < MINIMUM_CHARGE_CENTS) {
      // Below the card minimum Stripe debits the customer balance and marks the invoice paid with nothing charged.
      const customer = customers.get(invoice.customer);
      if (customer) customer.balance += total;
      markPaid(ctx, invoice, 0);
      emit(ctx, invoice.customer, "invoice.paid", renderInvoice(invoice));
      emit(ctx, invoice.customer, "invoice.payment_succeeded", renderInvoice(invoice));
      return;
    }
    const customer = getCustomer(invoice.customer, "customer");
    const chosen = opts.paymentMethod ?? invoice.defaultPaymentMethod ?? customer.defaultPaymentMethod;
    if (!chosen) {
      throw invalid(
        "Cannot charge a customer that has no default payment method. Pass `payment_method` or set " +
          "`invoice_settings[default_payment_method]` on the customer.",
        "payment_method",
      );
    }
    const pm = materialize(chosen, customer.id, ctx.now, "payment_method");
    invoice.attemptCount += 1;
    const declined = cardError(pm, opts.onSession, invoice.id);
    if (declined) {
      emit(ctx, invoice.customer, "invoice.payment_failed", renderInvoice(invoice));
      if (declined.body.code === "authentication_required") {
        emit(ctx, invoice.customer, "invoice.payment_action_required", renderInvoice(invoice));
      }
      throw declined;
    }
    // An invoice's PaymentIntent and charge get no metadata: the invoice keeps its own.
    const charge = chargeCard(ctx, {
      customer,
      pm,
      amount: total,
      currency: invoice.currency,
      onSession: opts.onSession,
      metadata: {},
      description: invoice.number ? `Payment for Invoice ${invoice.number}` : null,
      invoice: invoice.id,
    });
    settleInvoice(ctx, invoice, charge);
  }

  function completeSession(ctx: Ctx, session: Session, paymentMethod: string): void {
    expireIfDue(ctx, session);
    if (session.status !== "open") throw invalid(`This Checkout Session is ${session.status}.`, "session");
    const pm = materialize(paymentMethod, session.customer, ctx.now, "paymentMethod");
    const customerId = session.customer ?? "";
    if (session.mode === "setup") {
      const si: SetupIntent = {
        id: newId("seti"),
        created: seconds(ctx.now),
        customer: session.customer,
        paymentMethod: pm.id,
        metadata: session.setupIntentMetadata,
      };
      setupIntents.set(si.id, si);
      session.setupIntent = si.id;
      session.status = "complete";
      emit(ctx, customerId, "checkout.session.completed", renderSession(session));
      return;
    }
    if (!session.customer) throw invalid("This stand-in needs `customer` on payment-mode sessions.", "customer");
    const customer = getCustomer(session.customer, "customer");
    const currency = session.currency ?? session.lineItems[0]?.currency ?? "usd";
    // In the browser the customer completes 3-D Secure, so only real declines fail here; a declined card leaves
    // the session open for another try (and no invoice), like Checkout's page does.
    const declined = cardError(pm, true, null);
    if (declined) throw declined;
    const charge = chargeCard(ctx, {
      customer,
      pm,
      amount: sessionTotal(session) ?? 0,
      currency,
      onSession: true,
      // `payment_intent_data[metadata]` only: neither the session's metadata nor the invoice's.
      metadata: session.paymentIntentMetadata,
      description: null,
      invoice: null,
    });
    session.paymentIntent = charge.paymentIntent;
    if (session.invoiceCreation) {
      // The post-purchase invoice carries `invoice_creation[invoice_data]` (its metadata), and is paid by the
      // session's PaymentIntent (an InvoicePayment links them).
      const invoice = createInvoice(ctx, {
        customer: customer.id,
        currency,
        description: session.invoiceDescription,
        metadata: { ...session.invoiceMetadata },
      });
      for (const line of session.lineItems) {
        addItem(ctx, {
          customer: customer.id,
          invoice: invoice.id,
          amount: line.unitAmount * line.quantity,
          currency: line.currency,
          description: line.name,
          metadata: {},
        });
      }
      charge.invoice = invoice.id;
      finalize(ctx, invoice);
      if (invoice.status === "open") settleInvoice(ctx, invoice, charge);
      session.invoice = invoice.id;
    }
    session.status = "complete";
    session.paymentStatus = "paid";
    session.currency = currency;
    emit(ctx, customerId, "checkout.session.completed", renderSession(session));
  }

  /** Stripe expires an open session at `expires_at` (24 h by default) and sends `checkout.session.expired`. */
  function expireSession(ctx: Ctx, session: Session): void {
    if (session.status !== "open") {
      // Stripe's wording, backticks included.
      throw invalid(
        `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of \`${session.status}\`.`,
      );
    }
    session.status = "expired";
    emit(ctx, session.customer ?? "", "checkout.session.expired", renderSession(session));
  }

  /** A session whose `expires_at` has passed on the stand-in's clock expires when next looked at. */
  function expireIfDue(ctx: Ctx, session: Session): void {
    if (session.status === "open" && seconds(ctx.now) >= session.expiresAt) expireSession(ctx, session);
  }

  function chargeOfInvoice(invoice: Invoice): Charge {
    const payment = invoicePayments.get(invoice.payments[0] ?? "");
    const charge = payment ? charges.get(payment.charge) : undefined;
    if (!charge) throw invalid(`Invoice ${invoice.id} has no successful payment to refund or dispute.`, "invoice");
    return charge;
  }

  function getDispute(id: string): Dispute {
    const dispute = disputes.get(id);
    if (!dispute) throw missing("dispute", id, "dispute");
    return dispute;
  }

  /** The dispute a charge has, if any (Stripe allows one per charge). */
  function disputeOf(charge: Charge): Dispute | undefined {
    for (const dispute of disputes.values()) if (dispute.charge === charge.id) return dispute;
    return undefined;
  }

  /** The cardholder's bank opens a chargeback: the funds (and a $15 fee) are withdrawn at once. */
  function openDispute(ctx: Ctx, charge: Charge, amount: number, reason: string): Dispute {
    if (charge.disputed || disputeOf(charge)) throw invalid(`Charge ${charge.id} has already been disputed.`, "charge");
    const created = seconds(ctx.now);
    const id = newId("dp");
    const dispute: Dispute = {
      id,
      created,
      charge: charge.id,
      paymentIntent: charge.paymentIntent,
      customer: charge.customer,
      amount,
      currency: charge.currency,
      reason,
      status: "needs_response",
      unrefundedAtOpen: charge.amount - charge.amountRefunded,
      balanceTransactions: [
        {
          id: newId("txn"),
          created,
          amount: -amount,
          fee: DISPUTE_FEE_CENTS,
          currency: charge.currency,
          description: `Chargeback withdrawal for ${charge.id}`,
          reportingCategory: "dispute",
        },
      ],
    };
    disputes.set(id, dispute);
    charge.disputed = true;
    emit(ctx, charge.customer, "charge.dispute.created", renderDispute(dispute));
    emit(ctx, charge.customer, "charge.dispute.funds_withdrawn", renderDispute(dispute));
    return dispute;
  }

  function reinstate(ctx: Ctx, dispute: Dispute, amount: number): void {
    dispute.balanceTransactions.push({
      id: newId("txn"),
      created: seconds(ctx.now),
      amount,
      fee: 0,
      currency: dispute.currency,
      description: `Chargeback reversal for ${dispute.charge}`,
      reportingCategory: "dispute_reversal",
    });
  }

  /**
   * The bank decides. Won: the funds come back (`funds_reinstated`), then `closed`. Lost: `closed`, and only if
   * the dispute was for more than what was still unrefunded when it opened (a partially refunded payment) does
   * the excess come back first, which is why Stripe's `funds_reinstated` "includes partially refunded payments".
   */
  function closeDispute(ctx: Ctx, dispute: Dispute, outcome: "won" | "lost"): void {
    if (dispute.status === "won" || dispute.status === "lost") {
      throw invalid(`This dispute is already closed (status: ${dispute.status}).`, "dispute");
    }
    dispute.status = outcome;
    const back = outcome === "won" ? dispute.amount : Math.max(0, dispute.amount - dispute.unrefundedAtOpen);
    if (back > 0) {
      reinstate(ctx, dispute, back);
      emit(ctx, dispute.customer, "charge.dispute.funds_reinstated", renderDispute(dispute));
    }
    emit(ctx, dispute.customer, "charge.dispute.closed", renderDispute(dispute));
  }

  // -------------------------------------------------------------------------------------------------------------
  // REST API routes

  type Route = { method: string; pattern: RegExp; run: (ctx: Ctx, ids: string[]) => Json };

  function list(data: Json[], url: string, limit: number): Json {
    return { object: "list", data: data.slice(0, limit), has_more: data.length > limit, url };
  }

  function limitOf(params: Json): number {
    const limit = int(params, "limit") ?? 10;
    if (limit < 1 || limit > 100) throw invalidParam("Invalid integer: limit must be between 1 and 100", "limit");
    return limit;
  }

  const routes: Route[] = [
    {
      method: "POST",
      pattern: /^\/v1\/customers$/,
      run: ({ params, now }) => {
        const customer: Customer = {
          id: newId("cus"),
          created: seconds(now),
          email: str(params, "email"),
          name: str(params, "name"),
          description: str(params, "description"),
          metadata: mergeMetadata({}, params.metadata),
          defaultPaymentMethod: null,
          balance: 0,
        };
        customers.set(customer.id, customer);
        return renderCustomer(customer);
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/customers\/([^/]+)$/,
      run: ({ params }, [id = ""]) => withExpand(renderCustomer(getCustomer(id)), params),
    },
    {
      method: "POST",
      pattern: /^\/v1\/customers\/([^/]+)$/,
      run: ({ params, now }, [id = ""]) => {
        const customer = getCustomer(id);
        if (params.email !== undefined) customer.email = str(params, "email");
        if (params.name !== undefined) customer.name = str(params, "name");
        if (params.description !== undefined) customer.description = str(params, "description");
        customer.metadata = mergeMetadata(customer.metadata, params.metadata);
        const settings = params.invoice_settings;
        if (isRecord(settings) && settings.default_payment_method !== undefined) {
          const pmId = str(settings, "default_payment_method");
          customer.defaultPaymentMethod = pmId
            ? materialize(pmId, customer.id, now, "invoice_settings[default_payment_method]").id
            : null;
        }
        return withExpand(renderCustomer(customer), params);
      },
    },
    {
      method: "POST",
      pattern: /^\/v1\/checkout\/sessions$/,
      run: ({ params, now, origin }) => {
        const mode = requireStr(params, "mode");
        if (mode !== "setup" && mode !== "payment") {
          throw invalidParam("Invalid mode: must be one of payment, setup, or subscription", "mode");
        }
        const customerId = str(params, "customer");
        if (customerId) getCustomer(customerId, "customer");
        const uiMode = str(params, "ui_mode") ?? "hosted";
        if (uiMode === "hosted" && !str(params, "success_url")) {
          throw invalidParam("Missing required param: success_url.", "success_url", "parameter_missing");
        }
        const lineItems: LineItem[] = [];
        const rawItems = params.line_items;
        if (Array.isArray(rawItems)) {
          rawItems.forEach((raw, index) => {
            const item = isRecord(raw) ? raw : {};
            const priceData = sub(item, "price_data");
            const unitAmount = int(priceData, "unit_amount");
            const currency = str(priceData, "currency");
            if (unitAmount === null || !currency) {
              throw invalid(
                "This stand-in supports line items with price_data only.",
                `line_items[${index}][price_data]`,
              );
            }
            lineItems.push({
              name: str(sub(priceData, "product_data"), "name") ?? "Item",
              unitAmount,
              quantity: int(item, "quantity") ?? 1,
              currency,
            });
          });
        }
        if (mode === "payment" && lineItems.length === 0) {
          throw invalidParam("You must specify `line_items` in `payment` mode.", "line_items", "parameter_missing");
        }
        if (mode === "setup" && lineItems.length > 0) {
          throw invalidParam("You cannot pass `line_items` in `setup` mode.", "line_items");
        }
        const invoiceCreation = sub(params, "invoice_creation");
        const invoiceData = sub(invoiceCreation, "invoice_data");
        if (mode !== "payment" && params.invoice_creation !== undefined) {
          throw invalidParam("You can only specify `invoice_creation` in `payment` mode.", "invoice_creation");
        }
        if (mode !== "payment" && params.payment_intent_data !== undefined) {
          throw invalidParam("You can only specify `payment_intent_data` in `payment` mode.", "payment_intent_data");
        }
        const createdSec = seconds(now);
        const expiresAt = int(params, "expires_at") ?? createdSec + 24 * 3600;
        if (expiresAt < createdSec + 30 * 60 || expiresAt > createdSec + 24 * 3600) {
          throw invalidParam(
            "The `expires_at` timestamp must be between 30 minutes and 24 hours after the Checkout Session is created.",
            "expires_at",
          );
        }
        const id = newId("cs_test");
        const session: Session = {
          id,
          created: createdSec,
          mode,
          customer: customerId,
          metadata: mergeMetadata({}, params.metadata),
          successUrl: str(params, "success_url"),
          cancelUrl: str(params, "cancel_url"),
          clientReferenceId: str(params, "client_reference_id"),
          status: "open",
          paymentStatus: mode === "setup" ? "no_payment_required" : "unpaid",
          setupIntent: null,
          invoice: null,
          paymentIntent: null,
          currency: str(params, "currency") ?? lineItems[0]?.currency ?? null,
          lineItems,
          paymentMethodTypes: strings(params.payment_method_types).length
            ? strings(params.payment_method_types)
            : ["card"],
          invoiceCreation: bool(invoiceCreation, "enabled") ?? false,
          invoiceMetadata: mergeMetadata({}, invoiceData.metadata),
          invoiceDescription: str(invoiceData, "description"),
          setupIntentMetadata: mergeMetadata({}, sub(params, "setup_intent_data").metadata),
          paymentIntentMetadata: mergeMetadata({}, sub(params, "payment_intent_data").metadata),
          expiresAt,
          url: `${origin}/pay/${id}`,
        };
        sessions.set(id, session);
        return renderSession(session);
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/checkout\/sessions\/([^/]+)$/,
      run: (ctx, [id = ""]) => {
        const session = getSession(id);
        expireIfDue(ctx, session);
        return withExpand(renderSession(session), ctx.params);
      },
    },
    {
      method: "POST",
      pattern: /^\/v1\/checkout\/sessions\/([^/]+)\/expire$/,
      run: (ctx, [id = ""]) => {
        const session = getSession(id);
        expireIfDue(ctx, session);
        expireSession(ctx, session);
        return withExpand(renderSession(session), ctx.params);
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/setup_intents\/([^/]+)$/,
      run: ({ params }, [id = ""]) => {
        const si = setupIntents.get(id);
        if (!si) throw missing("setupintent", id, "intent");
        return withExpand(renderSetupIntent(si), params);
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/payment_methods\/([^/]+)$/,
      run: (_ctx, [id = ""]) => {
        const pm = paymentMethods.get(id);
        if (!pm) throw missing("PaymentMethod", id, "payment_method");
        return renderPaymentMethod(pm);
      },
    },
    {
      method: "POST",
      pattern: /^\/v1\/payment_methods\/([^/]+)\/attach$/,
      run: ({ params, now }, [id = ""]) => {
        const customer = getCustomer(requireStr(params, "customer"), "customer");
        return renderPaymentMethod(materialize(id, customer.id, now, "payment_method"));
      },
    },
    {
      method: "POST",
      pattern: /^\/v1\/invoices$/,
      run: (ctx) => {
        const { params } = ctx;
        const customer = getCustomer(requireStr(params, "customer"), "customer");
        const pmId = str(params, "default_payment_method");
        const invoice = createInvoice(ctx, {
          customer: customer.id,
          currency: (str(params, "currency") ?? "usd").toLowerCase(),
          description: str(params, "description"),
          metadata: mergeMetadata({}, params.metadata),
          collectionMethod: str(params, "collection_method") ?? "charge_automatically",
          autoAdvance: bool(params, "auto_advance") ?? false,
          defaultPaymentMethod: pmId ? materialize(pmId, customer.id, ctx.now, "default_payment_method").id : null,
        });
        // Since 2022-08-01 pending items stay out of a new invoice unless asked for explicitly.
        if (str(params, "pending_invoice_items_behavior") === "include") {
          for (const item of invoiceItems.values()) {
            if (item.customer === customer.id && item.invoice === null) {
              item.invoice = invoice.id;
              invoice.items.push(item.id);
            }
          }
        }
        return withExpand(renderInvoice(invoice), params);
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/invoices$/,
      run: ({ params }) => {
        const customer = str(params, "customer");
        const status = str(params, "status");
        const data = [...invoices.values()]
          .filter((inv) => (!customer || inv.customer === customer) && (!status || inv.status === status))
          .sort((a, b) => b.seq - a.seq)
          .map(renderInvoice);
        return list(data, "/v1/invoices", limitOf(params));
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/invoices\/([^/]+)$/,
      run: ({ params }, [id = ""]) => withExpand(renderInvoice(getInvoice(id)), params),
    },
    {
      method: "POST",
      pattern: /^\/v1\/invoices\/([^/]+)$/,
      run: ({ params }, [id = ""]) => {
        const invoice = getInvoice(id);
        invoice.metadata = mergeMetadata(invoice.metadata, params.metadata);
        if (params.description !== undefined) invoice.description = str(params, "description");
        return withExpand(renderInvoice(invoice), params);
      },
    },
    {
      method: "POST",
      pattern: /^\/v1\/invoices\/([^/]+)\/finalize$/,
      run: (ctx, [id = ""]) => {
        const invoice = getInvoice(id);
        finalize(ctx, invoice);
        return withExpand(renderInvoice(invoice), ctx.params);
      },
    },
    {
      method: "POST",
      pattern: /^\/v1\/invoices\/([^/]+)\/pay$/,
      run: (ctx, [id = ""]) => {
        const invoice = getInvoice(id);
        pay(ctx, invoice, { paymentMethod: str(ctx.params, "payment_method"), onSession: false });
        return withExpand(renderInvoice(invoice), ctx.params);
      },
    },
    {
      method: "POST",
      pattern: /^\/v1\/invoices\/([^/]+)\/void$/,
      run: (ctx, [id = ""]) => {
        const invoice = getInvoice(id);
        if (invoice.status !== "open" && invoice.status !== "uncollectible") {
          throw invalid(`You can only void an open or uncollectible invoice; this one is ${invoice.status}.`);
        }
        invoice.status = "void";
        invoice.voidedAt = seconds(ctx.now);
        emit(ctx, invoice.customer, "invoice.voided", renderInvoice(invoice));
        return withExpand(renderInvoice(invoice), ctx.params);
      },
    },
    {
      method: "POST",
      pattern: /^\/v1\/invoiceitems$/,
      run: (ctx) => {
        const { params } = ctx;
        const customer = getCustomer(requireStr(params, "customer"), "customer");
        const invoiceId = str(params, "invoice");
        const invoice = invoiceId ? getInvoice(invoiceId, "invoice") : null;
        if (invoice && invoice.customer !== customer.id) {
          throw invalid(`Invoice ${invoice.id} belongs to another customer.`, "invoice");
        }
        if (invoice && invoice.status !== "draft") {
          throw invalid("Invoice items can only be added to draft invoices.", "invoice");
        }
        const amount = int(params, "amount");
        if (amount === null) throw invalidParam("Missing required param: amount.", "amount", "parameter_missing");
        const item = addItem(ctx, {
          customer: customer.id,
          invoice: invoice?.id ?? null,
          amount,
          currency: (str(params, "currency") ?? invoice?.currency ?? "usd").toLowerCase(),
          description: str(params, "description"),
          metadata: mergeMetadata({}, params.metadata),
        });
        return renderInvoiceItem(item);
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/invoice_payments$/,
      run: ({ params }) => {
        const invoiceId = str(params, "invoice");
        const status = str(params, "status");
        if (status !== null && status !== "open" && status !== "paid" && status !== "canceled") {
          throw invalidParam(`Invalid status: must be one of canceled, open, or paid`, "status");
        }
        let paymentIntent: string | null = null;
        if (params.payment !== undefined) {
          // `payment[type]` is required with `payment`, and names the one field that filters.
          const payment = sub(params, "payment");
          const type = requireStr(payment, "type", "payment[type]");
          if (type !== "payment_intent" && type !== "payment_record") {
            throw invalidParam(
              "Invalid payment[type]: must be one of payment_intent or payment_record",
              "payment[type]",
            );
          }
          if (type === "payment_intent") {
            paymentIntent = requireStr(payment, "payment_intent", "payment[payment_intent]");
          }
        }
        const limit = limitOf(params);
        const data = [...invoicePayments.values()]
          .filter(
            (p) =>
              (!invoiceId || p.invoice === invoiceId) &&
              (!paymentIntent || p.paymentIntent === paymentIntent) &&
              (!status || status === "paid") &&
              (params.payment === undefined || paymentIntent !== null),
          )
          .reverse()
          .map(renderInvoicePayment);
        return withExpand(list(data, "/v1/invoice_payments", limit), params);
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/invoice_payments\/([^/]+)$/,
      run: ({ params }, [id = ""]) => {
        const payment = invoicePayments.get(id);
        if (!payment) throw missing("invoice_payment", id);
        return withExpand(renderInvoicePayment(payment), params);
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/charges\/([^/]+)$/,
      run: ({ params }, [id = ""]) => {
        const charge = charges.get(id);
        if (!charge) throw missing("charge", id);
        return withExpand(renderCharge(charge), params);
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/payment_intents\/([^/]+)$/,
      run: ({ params }, [id = ""]) => {
        const intent = paymentIntents.get(id);
        if (!intent) throw missing("payment_intent", id, "intent");
        return withExpand(renderPaymentIntent(intent), params);
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/disputes$/,
      run: ({ params }) => {
        const charge = str(params, "charge");
        const paymentIntent = str(params, "payment_intent");
        const limit = limitOf(params);
        const data = [...disputes.values()]
          .filter((d) => (!charge || d.charge === charge) && (!paymentIntent || d.paymentIntent === paymentIntent))
          .reverse()
          .map(renderDispute);
        return withExpand(list(data, "/v1/disputes", limit), params);
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/disputes\/([^/]+)$/,
      run: ({ params }, [id = ""]) => withExpand(renderDispute(getDispute(id)), params),
    },
    {
      method: "POST",
      pattern: /^\/v1\/disputes\/([^/]+)\/close$/,
      run: (ctx, [id = ""]) => {
        // Closing a dispute is accepting it: it is lost, as the API reference says.
        const dispute = getDispute(id);
        closeDispute(ctx, dispute, "lost");
        return withExpand(renderDispute(dispute), ctx.params);
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/events\/([^/]+)$/,
      run: (_ctx, [id = ""]) => {
        const record = events.get(id);
        if (!record) throw missing("event", id);
        const event: unknown = JSON.parse(record.payload);
        return isRecord(event) ? event : {};
      },
    },
  ];

  // -------------------------------------------------------------------------------------------------------------
  // API request pipeline: auth → fault injection → idempotency → route

  function authorize(request: Request): void {
    const header = request.headers.get("authorization") ?? "";
    const key = header.startsWith("Bearer ") ? header.slice(7).trim() : "";
    const ok = options.apiKey !== undefined ? key === options.apiKey : key.startsWith("sk_test_");
    if (!ok) {
      // Stripe masks all but the last four characters; the stand-in never echoes any of the key.
      throw new ApiError(401, {
        type: "invalid_request_error",
        message: key ? "Invalid API Key provided: sk_test_****" : "You did not provide an API key.",
      });
    }
  }

  /** The customer a request concerns, so that a fault scoped to one test's customer hits only that test. */
  function customerOfRequest(path: string, params: Json): string | null {
    const fromParams = typeof params.customer === "string" ? params.customer : null;
    if (fromParams) return fromParams;
    const [, , resource, id] = path.split("/");
    if (!id) return null;
    switch (resource) {
      case "customers":
        return id;
      case "invoices":
        return invoices.get(id)?.customer ?? null;
      case "checkout":
        return sessions.get(path.split("/")[4] ?? "")?.customer ?? null;
      case "charges":
        return charges.get(id)?.customer ?? null;
      case "payment_intents":
        return paymentIntents.get(id)?.customer ?? null;
      case "disputes":
        return disputes.get(id)?.customer ?? null;
      case "payment_methods":
        return paymentMethods.get(id)?.customer ?? null;
      default:
        return null;
    }
  }

  function takeFault(method: string, path: string, params: Json, idempotencyKey: string | null): Fault | null {
    const customer = customerOfRequest(path, params);
    const index = faults.findIndex(
      (f) =>
        f.remaining > 0 &&
        (f.method === null || f.method === method) &&
        (f.pathPrefix === null || path.startsWith(f.pathPrefix)) &&
        (f.pathSuffix === null || path.endsWith(f.pathSuffix)) &&
        (f.idempotencyKeyPrefix === null || (idempotencyKey ?? "").startsWith(f.idempotencyKeyPrefix)) &&
        (f.customer === null || f.customer === customer),
    );
    const fault = faults[index];
    if (!fault) return null;
    fault.remaining -= 1;
    if (fault.remaining <= 0) faults.splice(index, 1);
    return fault;
  }

  const SERVER_ERROR_BODY = JSON.stringify({ error: { type: "api_error", message: "An unknown error occurred" } });
  const serverError = () => json(JSON.parse(SERVER_ERROR_BODY), 500);

  function keyInUse(key: string): Response {
    return json(
      {
        error: {
          type: "idempotency_error",
          code: "idempotency_key_in_use",
          message: `There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): ${key}. Please try again later.`,
        },
      },
      409,
    );
  }

  function findRoute(method: string, path: string): { route: Route; ids: string[] } {
    for (const route of routes) {
      if (route.method !== method) continue;
      const match = route.pattern.exec(path);
      if (match) return { route, ids: match.slice(1).map((s) => decodeURIComponent(s ?? "")) };
    }
    throw new ApiError(404, {
      type: "invalid_request_error",
      message: `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
    });
  }

  function answer(status: number, body: string, idempotencyKey: string | null, replayed = false): Response {
    const headers: Record<string, string> = { "content-type": "application/json", "request-id": newId("req") };
    if (idempotencyKey) headers["idempotency-key"] = idempotencyKey;
    if (replayed) headers["idempotent-replayed"] = "true";
    return new Response(body, { status, headers });
  }

  /**
   * Faults that strike once the request committed: its writes are applied and its events sent, and only the
   * answer is lost (`timeout_after_success`: the client gives up or sees a 500 late) or replaced by a 500
   * (`500_after_success`). They strike a replayed answer the same way.
   */
  async function afterSuccess(fault: Fault | null, fresh: Response): Promise<Response> {
    if (fault?.kind !== "timeout_after_success" && fault?.kind !== "500_after_success") return fresh;
    if (fault.delayMs > 0) await sleep(fault.delayMs);
    return serverError();
  }

  async function api(request: Request, url: URL): Promise<Response> {
    authorize(request);
    const method = request.method.toUpperCase();
    const params = decodeForm(url.search.slice(1));
    if (method !== "GET") Object.assign(params, decodeForm(await request.text()));
    const path = url.pathname;
    const { route, ids } = findRoute(method, path);
    const idempotencyKey = method === "POST" ? request.headers.get("idempotency-key") : null;
    const storeKey = idempotencyKey ? `${request.headers.get("authorization") ?? ""}\n${idempotencyKey}` : null;
    const fingerprint = `${method} ${path} ${canonical(params)}`;
    const fault = takeFault(method, path, params, idempotencyKey);
    // Before execution: nothing runs and the key stays free, so a retry with it runs afresh.
    if (fault?.kind === "500") return serverError();
    if (fault?.kind === "409") return keyInUse(idempotencyKey ?? "");

    if (storeKey && idempotencyKey) {
      if (idempotencyKey.length > 255) {
        throw invalid("Idempotency keys can be no longer than 255 characters.", "idempotency_key");
      }
      const existing = idempotency.get(storeKey);
      if (existing && existing.fingerprint !== fingerprint) {
        throw new ApiError(400, {
          type: "idempotency_error",
          message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
        });
      }
      if (existing?.state === "in_flight") return keyInUse(idempotencyKey);
    }

    if (fault?.kind === "timeout") {
      // Stripe never got to run the request: a fresh key is busy while it hangs, then free again; a key that
      // already has a result keeps it.
      const hold = storeKey !== null && !idempotency.has(storeKey);
      if (hold) idempotency.set(storeKey, { fingerprint, state: "in_flight" });
      await sleep(fault.delayMs);
      if (hold) idempotency.delete(storeKey);
      return serverError();
    }

    const existing = storeKey ? idempotency.get(storeKey) : undefined;
    if (existing?.state === "done") {
      return afterSuccess(fault, answer(existing.status, existing.body, idempotencyKey, true));
    }

    const ctx: Ctx = { origin: url.origin, now: clock(), params, outbox: [] };
    let status = 200;
    let body: string;
    let saved = true;
    try {
      body = JSON.stringify(route.run(ctx, ids));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      status = error.status;
      body = JSON.stringify({ error: error.body });
      // Parameters that fail validation never reach execution, so Stripe saves no result for the key.
      saved = !error.validation;
    }
    if (storeKey) {
      if (!saved) idempotency.delete(storeKey);
      else if (fault?.kind === "500_after_success" && fault.replay === "error") {
        // Stripe saves a 500 raised during execution as the key's result, and replays it.
        idempotency.set(storeKey, { fingerprint, state: "done", status: 500, body: SERVER_ERROR_BODY });
      } else {
        // Stripe stores 4xx outcomes too (a replayed decline declines again).
        idempotency.set(storeKey, { fingerprint, state: "done", status, body });
      }
    }
    flush(ctx.outbox);
    return afterSuccess(fault, answer(status, body, idempotencyKey));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Control endpoints (tests and the demo) and the pages a human would see

  async function readControlBody(request: Request): Promise<Json> {
    const text = await request.text();
    if (!text) return {};
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw invalid("control body must be JSON");
    }
    if (!isRecord(body)) throw invalid("control body must be a JSON object");
    return body;
  }

  function controlStr(body: Json, name: string): string | null {
    const value = body[name];
    if (value === undefined || value === null) return null;
    if (typeof value !== "string" || value === "") throw invalid(`${name} must be a non-empty string`, name);
    return value;
  }

  function requireControlStr(body: Json, name: string): string {
    const value = controlStr(body, name);
    if (value === null) throw invalid(`${name} is required`, name);
    return value;
  }

  /** Runs an operation outside the API pipeline, then delivers its events the same way. */
  function operate<T>(url: URL, run: (ctx: Ctx) => T): T {
    const ctx: Ctx = { origin: url.origin, now: clock(), params: {}, outbox: [] };
    try {
      return run(ctx);
    } finally {
      // Events raised before a failure (e.g. invoice.payment_failed) happened and must still go out.
      flush(ctx.outbox);
    }
  }

  function getSession(id: string): Session {
    const session = sessions.get(id);
    if (!session) throw missing("checkout.session", id, "session");
    return session;
  }

  /** The charge a refund or dispute control names: `charge`, `paymentIntent` or the paid `invoice`. */
  function chargeOfControl(body: Json): Charge {
    const chargeId = controlStr(body, "charge");
    if (chargeId) {
      const charge = charges.get(chargeId);
      if (!charge) throw missing("charge", chargeId, "charge");
      return charge;
    }
    const intentId = controlStr(body, "paymentIntent");
    if (intentId) {
      const charge = charges.get(paymentIntents.get(intentId)?.latestCharge ?? "");
      if (!charge) throw missing("payment_intent", intentId, "paymentIntent");
      return charge;
    }
    const invoiceId = controlStr(body, "invoice");
    if (!invoiceId) throw invalid("one of charge, paymentIntent or invoice is required", "invoice");
    return chargeOfInvoice(getInvoice(invoiceId, "invoice"));
  }

  function summary(customerId: string): Json {
    const own = [...invoices.values()].filter((inv) => inv.customer === customerId).sort((a, b) => a.seq - b.seq);
    let payments = 0;
    let totalChargedCents = 0;
    let refundedCents = 0;
    for (const inv of own) {
      for (const pid of inv.payments) {
        const payment = invoicePayments.get(pid);
        if (!payment) continue;
        payments += 1;
        totalChargedCents += payment.amount;
        refundedCents += charges.get(payment.charge)?.amountRefunded ?? 0;
      }
    }
    return {
      invoices: own.map((inv) => ({
        id: inv.id,
        status: inv.status,
        amount_due: invoiceTotal(inv),
        amount_paid: inv.amountPaid,
        metadata: inv.metadata,
      })),
      payments,
      totalChargedCents,
      refundedCents,
      defaultPaymentMethod: customers.get(customerId)?.defaultPaymentMethod ?? null,
    };
  }

  async function control(request: Request, url: URL): Promise<Response> {
    const path = url.pathname.slice("/__control/".length);
    if (request.method === "GET") {
      if (path === "events") {
        const customer = url.searchParams.get("customer") ?? "";
        const list: EventRecordView[] = (eventsByCustomer.get(customer) ?? []).map((e) => ({
          id: e.id,
          type: e.type,
          created: e.created,
          delivered: e.delivered,
          lastStatus: e.lastStatus,
          payload: JSON.parse(e.payload),
        }));
        return json({ events: list });
      }
      const summaryMatch = /^customers\/([^/]+)\/summary$/.exec(path);
      if (summaryMatch?.[1]) return json(summary(decodeURIComponent(summaryMatch[1])));
      if (path === "webhook-endpoint") return json({ url: webhookUrl });
    } else if (request.method === "POST") {
      const body = await readControlBody(request);
      if (path === "webhook-endpoint") {
        const target = controlStr(body, "url");
        const customer = controlStr(body, "customer");
        // A per-customer endpoint lets one test file receive events without redirecting everyone else's.
        if (customer) {
          if (target) customerEndpoints.set(customer, target);
          else customerEndpoints.delete(customer);
        } else {
          webhookUrl = target;
        }
        return json({ ok: true, url: target });
      }
      if (path === "auto-deliver") {
        const customer = requireControlStr(body, "customer");
        if (typeof body.enabled !== "boolean") throw invalid("enabled must be a boolean", "enabled");
        if (body.enabled) autoDeliverOff.delete(customer);
        else autoDeliverOff.add(customer);
        return json({ ok: true, customer, enabled: body.enabled });
      }
      if (path === "deliver") {
        const record = events.get(requireControlStr(body, "eventId"));
        if (!record) throw missing("event", String(body.eventId), "eventId");
        const times = body.times === undefined ? 1 : Number(body.times);
        if (!Number.isInteger(times) || times < 1 || times > 20) throw invalid("times must be 1..20", "times");
        const signature = body.signature ?? "valid";
        if (signature !== "valid" && signature !== "forged" && signature !== "old") {
          throw invalid('signature must be "valid", "forged" or "old"', "signature");
        }
        const statuses: number[] = [];
        for (let i = 0; i < times; i += 1) statuses.push(await deliver(record, signature));
        return json({ statuses });
      }
      const checkoutMatch = /^checkout\/([^/]+)\/(complete|expire-now)$/.exec(path);
      if (checkoutMatch?.[1]) {
        const session = getSession(decodeURIComponent(checkoutMatch[1]));
        if (checkoutMatch[2] === "expire-now") {
          // As if `expires_at` had passed: the same `checkout.session.expired` as the API's expire.
          operate(url, (ctx) => expireSession(ctx, session));
        } else {
          const paymentMethod = controlStr(body, "paymentMethod") ?? "pm_card_visa";
          operate(url, (ctx) => completeSession(ctx, session, paymentMethod));
        }
        return json(renderSession(session));
      }
      const payMatch = /^invoices\/([^/]+)\/pay$/.exec(path);
      if (payMatch?.[1]) {
        const invoice = getInvoice(decodeURIComponent(payMatch[1]));
        const paymentMethod = controlStr(body, "paymentMethod");
        operate(url, (ctx) => pay(ctx, invoice, { paymentMethod, onSession: true }));
        return json(renderInvoice(invoice));
      }
      if (path === "refund") {
        const charge = chargeOfControl(body);
        if (charge.disputed && disputeOf(charge)?.status !== "won") {
          // Stripe refuses to refund a charged-back payment: the dispute already returned the money.
          throw invalid(
            `Charge ${charge.id} has been charged back; cannot issue a refund.`,
            "charge",
            "charge_disputed",
          );
        }
        const left = charge.amount - charge.amountRefunded;
        const amount = body.amount === undefined ? left : Number(body.amount);
        if (left === 0)
          throw invalid(`Charge ${charge.id} has already been refunded.`, "charge", "charge_already_refunded");
        if (!Number.isInteger(amount) || amount < 1 || amount > left) {
          throw invalid(`amount must be an integer between 1 and ${left}`, "amount");
        }
        const refund = operate(url, (ctx) => {
          charge.amountRefunded += amount;
          const created: Json = {
            id: newId("re"),
            object: "refund",
            created: seconds(ctx.now),
            amount,
            balance_transaction: newId("txn"),
            charge: charge.id,
            payment_intent: charge.paymentIntent,
            currency: charge.currency,
            reason: null,
            status: "succeeded",
            metadata: {},
          };
          emit(ctx, charge.customer, "charge.refunded", renderCharge(charge));
          emit(ctx, charge.customer, "refund.created", created);
          return created;
        });
        return json({ refund, charge: renderCharge(charge) });
      }
      if (path === "dispute") {
        const charge = chargeOfControl(body);
        // By default the dispute is for what is still unrefunded; `amount` up to the whole charge models a
        // bank disputing a partially refunded payment in full.
        const unrefunded = charge.amount - charge.amountRefunded;
        if (body.amount === undefined && unrefunded === 0) {
          throw invalid(`Charge ${charge.id} is fully refunded; there is nothing to dispute.`, "charge");
        }
        const amount = body.amount === undefined ? unrefunded : Number(body.amount);
        if (!Number.isInteger(amount) || amount < 1 || amount > charge.amount) {
          throw invalid(`amount must be an integer between 1 and ${charge.amount}`, "amount");
        }
        const reason = controlStr(body, "reason") ?? "fraudulent";
        const dispute = operate(url, (ctx) => openDispute(ctx, charge, amount, reason));
        return json({ dispute: renderDispute(dispute) });
      }
      const disputeMatch = /^disputes\/([^/]+)\/close$/.exec(path);
      if (disputeMatch?.[1]) {
        const dispute = getDispute(decodeURIComponent(disputeMatch[1]));
        const outcome = body.outcome;
        if (outcome !== "won" && outcome !== "lost") throw invalid('outcome must be "won" or "lost"', "outcome");
        operate(url, (ctx) => closeDispute(ctx, dispute, outcome));
        return json({ dispute: renderDispute(dispute) });
      }
      if (path === "fault") {
        const match = isRecord(body.match) ? body.match : {};
        const kind = FAULT_KINDS.find((k) => k === body.kind);
        if (!kind) throw invalid(`kind must be one of ${FAULT_KINDS.map((k) => `"${k}"`).join(", ")}`, "kind");
        const method = controlStr(match, "method");
        const replay = body.replay ?? "success";
        if (replay !== "success" && replay !== "error") throw invalid('replay must be "success" or "error"', "replay");
        const fault: Fault = {
          pathPrefix: controlStr(match, "pathPrefix"),
          pathSuffix: controlStr(match, "pathSuffix"),
          idempotencyKeyPrefix: controlStr(match, "idempotencyKeyPrefix"),
          customer: controlStr(match, "customer"),
          method: method?.toUpperCase() ?? null,
          kind,
          remaining: body.count === undefined ? 1 : Number(body.count),
          delayMs:
            body.delayMs !== undefined
              ? Number(body.delayMs)
              : kind === "timeout" || kind === "timeout_after_success"
                ? DEFAULT_TIMEOUT_DELAY_MS
                : 0,
          replay,
        };
        if (!Number.isInteger(fault.remaining) || fault.remaining < 1) throw invalid("count must be >= 1", "count");
        if (!Number.isFinite(fault.delayMs) || fault.delayMs < 0) throw invalid("delayMs must be >= 0", "delayMs");
        if (fault.pathPrefix === null && fault.idempotencyKeyPrefix === null && fault.customer === null) {
          // An unscoped fault would hit every parallel test file sharing this process.
          throw invalid("match needs pathPrefix, idempotencyKeyPrefix or customer", "match");
        }
        faults.push(fault);
        return json({ ok: true });
      }
      const cardMatch = /^customers\/([^/]+)\/card$/.exec(path);
      if (cardMatch?.[1]) {
        const customer = getCustomer(decodeURIComponent(cardMatch[1]));
        const testCard = requireControlStr(body, "paymentMethod");
        if (!TEST_CARDS.has(testCard)) throw invalid(`unknown test card ${testCard}`, "paymentMethod");
        const current = customer.defaultPaymentMethod ? paymentMethods.get(customer.defaultPaymentMethod) : undefined;
        if (current) {
          current.testCard = testCard;
        } else {
          customer.defaultPaymentMethod = materialize(testCard, customer.id, clock(), "paymentMethod").id;
        }
        const pm = paymentMethods.get(customer.defaultPaymentMethod ?? "");
        return json(pm ? renderPaymentMethod(pm) : {});
      }
    }
    throw new ApiError(404, {
      type: "invalid_request_error",
      message: `unknown control endpoint ${request.method} ${url.pathname}`,
    });
  }

  function payPage(url: URL, sessionId: string): Response {
    const session = sessions.get(sessionId);
    if (!session) return html("<h1>Unknown checkout session</h1>", 404);
    operate(url, (ctx) => expireIfDue(ctx, session));
    if (session.status === "expired") return html("<h1>This checkout session has expired</h1>");
    if (session.status !== "open") return html("<h1>Payment complete — you can close this tab</h1>");
    try {
      operate(url, (ctx) => completeSession(ctx, session, url.searchParams.get("card") ?? "pm_card_visa"));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return html(`<h1>Payment failed</h1><p>${escapeHtml(error.message)}</p>`, error.status);
    }
    return html("<h1>Payment complete — you can close this tab</h1>");
  }

  function invoicePage(invoiceId: string, pdf: boolean): Response {
    const invoice = invoices.get(invoiceId);
    if (!invoice || invoice.status === "draft") return html("<h1>Invoice not found</h1>", 404);
    const amount = (invoiceTotal(invoice) / 100).toFixed(2);
    if (pdf) {
      const text = `%PDF-1.4\n% Stripe stand-in invoice ${invoice.number ?? ""} ${amount} ${invoice.currency}\n%%EOF\n`;
      return new Response(text, { headers: { "content-type": "application/pdf" } });
    }
    return html(
      `<h1>Invoice ${escapeHtml(invoice.number ?? invoice.id)}</h1><p>Amount: ${amount} ${escapeHtml(
        invoice.currency.toUpperCase(),
      )}</p><p>Status: ${escapeHtml(invoice.status)}</p>`,
    );
  }

  return {
    async handle(request: Request): Promise<Response> {
      const url = new URL(request.url);
      try {
        if (url.pathname.startsWith("/v1/")) return await api(request, url);
        if (url.pathname.startsWith("/__control/")) return await control(request, url);
        const payRoute = /^\/pay\/([^/]+)$/.exec(url.pathname);
        if (payRoute?.[1] && request.method === "GET") return payPage(url, decodeURIComponent(payRoute[1]));
        const page = /^\/invoice\/([^/]+)(\/pdf)?$/.exec(url.pathname);
        if (page?.[1] && request.method === "GET")
          return invoicePage(decodeURIComponent(page[1]), page[2] !== undefined);
        return errorResponse(invalid(`Unrecognized request URL (${request.method}: ${url.pathname}).`));
      } catch (error) {
        if (error instanceof ApiError) return errorResponse(error);
        throw error;
      }
    },
  };
}
