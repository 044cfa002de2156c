/** Payments: PaymentIntents and their Charges, InvoicePayments (the link to an invoice), refunds. */

import { cardOf } from "./cards";
import { invalid, invalidParam, type Json, limitOf, list, missing, newId, requireStr, seconds, str, sub } from "./core";
import { emit } from "./events";
import type {
  Charge,
  Ctx,
  Customer,
  Invoice,
  InvoicePayment,
  PaymentIntentRecord,
  PaymentMethod,
  Route,
  State,
} from "./model";

export function renderCharge(st: State, ch: Charge): Json {
  const pm = st.paymentMethods.get(ch.paymentMethod);
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

export function renderPaymentIntent(pi: PaymentIntentRecord): Json {
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

export function renderInvoicePayment(p: InvoicePayment): Json {
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

export interface CardPayment {
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

/** A successful card payment: one PaymentIntent and its Charge, the charge carrying the intent's metadata. */
export function chargeCard(ctx: Ctx, p: CardPayment): Charge {
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
  ctx.st.paymentIntents.set(intent.id, intent);
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
  ctx.st.charges.set(charge.id, charge);
  return charge;
}

export function chargeOfInvoice(st: State, invoice: Invoice): Charge {
  const payment = st.invoicePayments.get(invoice.payments[0] ?? "");
  const charge = payment ? st.charges.get(payment.charge) : undefined;
  if (!charge) throw invalid(`Invoice ${invoice.id} has no successful payment to refund or dispute.`, "invoice");
  return charge;
}

/** A refund of `amount` (Dashboard-style): `charge.refunded`, then `refund.created`. */
export function refundCharge(ctx: Ctx, charge: Charge, amount: number): Json {
  charge.amountRefunded += amount;
  const refund: Json = {
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
  emit(ctx, charge.customer, "charge.refunded", renderCharge(ctx.st, charge));
  emit(ctx, charge.customer, "refund.created", refund);
  return refund;
}

export const paymentRoutes: Route[] = [
  {
    method: "GET",
    pattern: /^\/v1\/invoice_payments$/,
    run: ({ st, params }) => {
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
          throw invalidParam("Invalid payment[type]: must be one of payment_intent or payment_record", "payment[type]");
        }
        if (type === "payment_intent") {
          paymentIntent = requireStr(payment, "payment_intent", "payment[payment_intent]");
        }
      }
      const limit = limitOf(params);
      const data = [...st.invoicePayments.values()]
        .filter(
          (p) =>
            (!invoiceId || p.invoice === invoiceId) &&
            (!paymentIntent || p.paymentIntent === paymentIntent) &&
            (!status || status === "paid") &&
            (params.payment === undefined || paymentIntent !== null),
        )
        .reverse()
        .map(renderInvoicePayment);
      return list(data, "/v1/invoice_payments", limit);
    },
  },
  {
    method: "GET",
    pattern: /^\/v1\/invoice_payments\/([^/]+)$/,
    run: ({ st }, [id = ""]) => {
      const payment = st.invoicePayments.get(id);
      if (!payment) throw missing("invoice_payment", id);
      return renderInvoicePayment(payment);
    },
  },
  {
    method: "GET",
    pattern: /^\/v1\/charges\/([^/]+)$/,
    run: ({ st }, [id = ""]) => {
      const charge = st.charges.get(id);
      if (!charge) throw missing("charge", id);
      return renderCharge(st, charge);
    },
  },
  {
    method: "GET",
    pattern: /^\/v1\/payment_intents\/([^/]+)$/,
    run: ({ st }, [id = ""]) => {
      const intent = st.paymentIntents.get(id);
      if (!intent) throw missing("payment_intent", id, "intent");
      return renderPaymentIntent(intent);
    },
  },
];
