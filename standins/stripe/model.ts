/** The Stripe stand-in's records and the state every module shares (no closure holds it). */
import type { Json } from "./core";

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

export const API_VERSION = "2026-10-28.endive";
/** Stripe's minimum charge for USD; a smaller invoice is settled from the customer balance instead of the card. */
export const MINIMUM_CHARGE_CENTS = 50;
export const DEFAULT_TIMEOUT_DELAY_MS = 15_000;
/** What Stripe charges (USD) for a dispute, on top of the withdrawn amount. */
export const DISPUTE_FEE_CENTS = 1500;

export interface Customer {
  id: string;
  created: number;
  email: string | null;
  name: string | null;
  description: string | null;
  metadata: Record<string, string>;
  defaultPaymentMethod: string | null;
  balance: number;
  /** A Stripe Address (`line1`, `line2`, `city`, `state`, `postal_code`, `country`), or null. */
  address: Json | null;
  /** Tax IDs Checkout added (`customer.tax_ids`, a list Stripe returns only when expanded). */
  taxIds: { type: string; value: string }[];
}

export interface PortalSession {
  id: string;
  created: number;
  customer: string;
  configuration: string;
  returnUrl: string | null;
  locale: string | null;
  url: string;
}

export interface PaymentMethod {
  id: string;
  created: number;
  customer: string | null;
  /** Test card whose behaviour this method follows; `/__control/customers/:id/card` can swap it. */
  testCard: string;
}

export interface LineItem {
  name: string;
  unitAmount: number;
  quantity: number;
  currency: string;
}

export interface Session {
  id: string;
  created: number;
  mode: "setup" | "payment";
  customer: string | null;
  metadata: Record<string, string>;
  successUrl: string | null;
  cancelUrl: string | null;
  /** The language of the hosted page (`locale`; null: Stripe's `auto`, the browser's). */
  locale: string | null;
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
  billingAddressCollection: "auto" | "required" | null;
  taxIdCollection: { enabled: boolean; required: "if_supported" | "never" };
  /** `customer_update`: what Checkout may write back onto the customer (`auto`) when the session completes. */
  customerUpdate: { address: "auto" | "never"; name: "auto" | "never"; shipping: "auto" | "never" };
  /** `customer_email`: prefills the page for a session without `customer`. */
  customerEmail: string | null;
  /** What the customer entered on the page; null until the session completes. */
  customerDetails: Json | null;
}

export interface SetupIntent {
  id: string;
  created: number;
  customer: string | null;
  paymentMethod: string;
  metadata: Record<string, string>;
}

export interface InvoiceItem {
  id: string;
  created: number;
  customer: string;
  invoice: string | null;
  amount: number;
  currency: string;
  description: string | null;
  metadata: Record<string, string>;
}

export type InvoiceStatus = "draft" | "open" | "paid" | "void" | "uncollectible";

export interface Invoice {
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
  /** The customer's email, name and address as of finalization; before it they follow the customer. */
  customerSnapshot: { email: string | null; name: string | null; address: Json | null } | null;
}

export interface InvoicePayment {
  id: string;
  created: number;
  invoice: string;
  amount: number;
  currency: string;
  paymentIntent: string;
  charge: string;
}

export interface PaymentIntentRecord {
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

export interface Charge {
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

export type DisputeStatus = "needs_response" | "under_review" | "won" | "lost";

export interface BalanceTransaction {
  id: string;
  created: number;
  amount: number;
  fee: number;
  currency: string;
  description: string;
  reportingCategory: string;
}

export interface Dispute {
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

export interface EventRecord {
  id: string;
  type: string;
  created: number;
  customer: string;
  /** Serialized once so every redelivery carries byte-identical JSON, as Stripe's do. */
  payload: string;
  delivered: number;
  lastStatus: number | null;
}

export const FAULT_KINDS = ["500", "409", "timeout", "timeout_after_success", "500_after_success"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Fault {
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

export type IdempotencyEntry =
  | { fingerprint: string; state: "in_flight" }
  | { fingerprint: string; state: "done"; status: number; body: string };

/** Everything the stand-in knows; one per stand-in, passed to every operation. */
export interface State {
  options: StripeStandinOptions;
  clock: () => number;
  customers: Map<string, Customer>;
  paymentMethods: Map<string, PaymentMethod>;
  sessions: Map<string, Session>;
  portalSessions: Map<string, PortalSession>;
  setupIntents: Map<string, SetupIntent>;
  invoiceItems: Map<string, InvoiceItem>;
  invoices: Map<string, Invoice>;
  invoicePayments: Map<string, InvoicePayment>;
  charges: Map<string, Charge>;
  paymentIntents: Map<string, PaymentIntentRecord>;
  disputes: Map<string, Dispute>;
  events: Map<string, EventRecord>;
  eventsByCustomer: Map<string, EventRecord[]>;
  idempotency: Map<string, IdempotencyEntry>;
  faults: Fault[];
  autoDeliverOff: Set<string>;
  deliveryQueues: Map<string, Promise<void>>;
  customerEndpoints: Map<string, string>;
  webhookUrl: string | null;
  invoiceSeq: number;
}

export function createState(options: StripeStandinOptions): State {
  return {
    options,
    clock: options.now ?? Date.now,
    customers: new Map(),
    paymentMethods: new Map(),
    sessions: new Map(),
    portalSessions: new Map(),
    setupIntents: new Map(),
    invoiceItems: new Map(),
    invoices: new Map(),
    invoicePayments: new Map(),
    charges: new Map(),
    paymentIntents: new Map(),
    disputes: new Map(),
    events: new Map(),
    eventsByCustomer: new Map(),
    idempotency: new Map(),
    faults: [],
    autoDeliverOff: new Set(),
    deliveryQueues: new Map(),
    customerEndpoints: new Map(),
    webhookUrl: null,
    invoiceSeq: 0,
  };
}

/** One request (API or control) being handled. */
export interface Ctx {
  st: State;
  origin: string;
  now: number;
  params: Json;
  /** Events raised while handling one request; delivered only after the response is formed. */
  outbox: EventRecord[];
}

export function newCtx(st: State, origin: string, params: Json = {}): Ctx {
  return { st, origin, now: st.clock(), params, outbox: [] };
}

/** A REST route; `expand[]` is applied to whatever it returns. */
export interface Route {
  method: "GET" | "POST";
  pattern: RegExp;
  run: (ctx: Ctx, ids: string[]) => Json;
}
