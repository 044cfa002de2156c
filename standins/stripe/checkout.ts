/** Checkout sessions: setup mode (saves a card) and payment mode (a post-purchase invoice), and expiry. */

import { cardError, materialize } from "./cards";
import {
  bool,
  int,
  invalid,
  invalidParam,
  isRecord,
  type Json,
  mergeMetadata,
  missing,
  newId,
  requireStr,
  seconds,
  str,
  strings,
  sub,
} from "./core";
import { getCustomer } from "./customers";
import { emit } from "./events";
import { addItem, createInvoice, finalize, settleInvoice } from "./invoices";
import type { Ctx, LineItem, Route, Session, SetupIntent, State } from "./model";
import { chargeCard } from "./payments";

export function sessionTotal(s: Session): number | null {
  if (s.mode === "setup") return null;
  return s.lineItems.reduce((sum, item) => sum + item.unitAmount * item.quantity, 0);
}

export function renderSession(s: Session): Json {
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

export function getSession(st: State, id: string): Session {
  const session = st.sessions.get(id);
  if (!session) throw missing("checkout.session", id, "session");
  return session;
}

export function completeSession(ctx: Ctx, session: Session, paymentMethod: string): void {
  expireIfDue(ctx, session);
  if (session.status !== "open") throw invalid(`This Checkout Session is ${session.status}.`, "session");
  const pm = materialize(ctx.st, paymentMethod, session.customer, ctx.now, "paymentMethod");
  const customerId = session.customer ?? "";
  if (session.mode === "setup") {
    const si: SetupIntent = {
      id: newId("seti"),
      created: seconds(ctx.now),
      customer: session.customer,
      paymentMethod: pm.id,
      metadata: session.setupIntentMetadata,
    };
    ctx.st.setupIntents.set(si.id, si);
    session.setupIntent = si.id;
    session.status = "complete";
    emit(ctx, customerId, "checkout.session.completed", renderSession(session));
    return;
  }
  if (!session.customer) throw invalid("This stand-in needs `customer` on payment-mode sessions.", "customer");
  const customer = getCustomer(ctx.st, session.customer, "customer");
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
export function expireSession(ctx: Ctx, session: Session): void {
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
export function expireIfDue(ctx: Ctx, session: Session): void {
  if (session.status === "open" && seconds(ctx.now) >= session.expiresAt) expireSession(ctx, session);
}

export const checkoutRoutes: Route[] = [
  {
    method: "POST",
    pattern: /^\/v1\/checkout\/sessions$/,
    run: ({ st, params, now, origin }) => {
      const mode = requireStr(params, "mode");
      if (mode !== "setup" && mode !== "payment") {
        throw invalidParam("Invalid mode: must be one of payment, setup, or subscription", "mode");
      }
      const customerId = str(params, "customer");
      if (customerId) getCustomer(st, customerId, "customer");
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
      st.sessions.set(id, session);
      return renderSession(session);
    },
  },
  {
    method: "GET",
    pattern: /^\/v1\/checkout\/sessions\/([^/]+)$/,
    run: (ctx, [id = ""]) => {
      const session = getSession(ctx.st, id);
      expireIfDue(ctx, session);
      return renderSession(session);
    },
  },
  {
    method: "POST",
    pattern: /^\/v1\/checkout\/sessions\/([^/]+)\/expire$/,
    run: (ctx, [id = ""]) => {
      const session = getSession(ctx.st, id);
      expireIfDue(ctx, session);
      expireSession(ctx, session);
      return renderSession(session);
    },
  },
];
