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
 * - An invoice's `customer_email`, `customer_name` and `customer_address` follow the customer until it is finalized
 *   and keep those values afterwards: the email an invoice goes to is the customer's at finalization.
 * - Checkout validates `billing_address_collection`, `tax_id_collection` and `customer_update` as Stripe does
 *   (`customer_update` only with `customer`; tax IDs for an existing customer need `customer_update[name]=auto`,
 *   and `customer_update[address]=auto` unless the customer has an address). Customer emails are validated.
 * - `POST /v1/billing_portal/sessions {customer, return_url?}` → a `billing_portal.session` (default configuration)
 *   whose `url` opens `GET /portal/:id`: the customer's email, name, address, tax IDs, card and invoices.
 * - Idempotency (docs.stripe.com/api/idempotent_requests): the first result of a key is saved once execution
 *   began, 4xx included, and replayed with `Idempotent-Replayed: true`; a parameter that fails validation saves
 *   nothing; the same key with other parameters is an `idempotency_error`; a key in flight answers 409.
 *
 * Control endpoints (JSON bodies; every answer is JSON):
 * - `GET  /__control/events?customer=cus_…` → `{ events: [{ id, type, created, delivered, lastStatus, payload }] }`
 * - `GET  /__control/customers/:id/summary` → invoices, payments, totalChargedCents, refundedCents, default card
 * - `POST /__control/webhook-endpoint {url, customer?}`; `POST /__control/auto-deliver {customer, enabled}`;
 *   `POST /__control/deliver {eventId, times?, signature?: "valid" | "forged" | "old"}` → `{ statuses }`
 * - `POST /__control/checkout/:id/complete {paymentMethod?, email?, name?, address?, taxId?: {type, value}}` → the
 *   session (what the customer does on the page). Checkout collects `customer_details`; a customer without an email
 *   gets the one entered (default `buyer@example.com`), one with an email keeps it (prefilled, not editable);
 *   `customer_update[address|name]=auto` writes the billing address and name back; a tax ID joins the customer's.
 *   The page `GET /pay/:id?card=…&email=…&name=…` does the same.
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
 *
 * The code lives in ./stripe/, one module per Stripe resource over one shared State: customers, checkout, invoices
 * (and invoice-routes), payments (charges, payment intents, invoice payments, refunds), disputes, cards, events
 * (signing, delivery), expand, pipeline (auth, faults, idempotency, routing), control, pages. This file keeps the
 * import path every caller uses.
 */

export {
  createStripeStandin,
  decodeForm,
  type EventRecordView,
  type StripeStandin,
  type StripeStandinOptions,
  signPayload,
} from "./stripe/index";
