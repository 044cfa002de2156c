/** Invoices and invoice items: create, add items, finalize, pay off-session (or on the hosted page), void. */

import { cardError, materialize } from "./cards";
import { invalid, type Json, missing, newId, seconds } from "./core";
import { getCustomer } from "./customers";
import { emit } from "./events";
import {
  type Charge,
  type Ctx,
  type Invoice,
  type InvoiceItem,
  type InvoicePayment,
  MINIMUM_CHARGE_CENTS,
  type State,
} from "./model";
import { chargeCard } from "./payments";

export function getInvoice(st: State, id: string, param = "id"): Invoice {
  const invoice = st.invoices.get(id);
  if (!invoice) throw missing("invoice", id, param);
  return invoice;
}

export function invoiceTotal(st: State, inv: Invoice): number {
  let total = 0;
  for (const itemId of inv.items) total += st.invoiceItems.get(itemId)?.amount ?? 0;
  return total;
}

export function renderInvoiceItem(item: InvoiceItem): Json {
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

export function renderInvoice(st: State, inv: Invoice): Json {
  const total = invoiceTotal(st, inv);
  const customer = st.customers.get(inv.customer);
  const settled = inv.status === "paid" || inv.status === "void";
  return {
    id: inv.id,
    object: "invoice",
    created: inv.created,
    livemode: false,
    customer: inv.customer,
    // Until the invoice is finalized these follow the customer; from then on they keep what it had (as Stripe's do).
    customer_email: inv.customerSnapshot ? inv.customerSnapshot.email : (customer?.email ?? null),
    customer_name: inv.customerSnapshot ? inv.customerSnapshot.name : (customer?.name ?? null),
    customer_address: inv.customerSnapshot ? inv.customerSnapshot.address : (customer?.address ?? null),
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
        const item = st.invoiceItems.get(itemId);
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

export function createInvoice(ctx: Ctx, fields: Partial<Invoice> & { customer: string }): Invoice {
  ctx.st.invoiceSeq += 1;
  const invoice: Invoice = {
    id: newId("in"),
    created: seconds(ctx.now),
    seq: ctx.st.invoiceSeq,
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
    customerSnapshot: null,
  };
  ctx.st.invoices.set(invoice.id, invoice);
  emit(ctx, invoice.customer, "invoice.created", renderInvoice(ctx.st, invoice));
  return invoice;
}

export function addItem(ctx: Ctx, fields: Omit<InvoiceItem, "id" | "created">): InvoiceItem {
  const item: InvoiceItem = { id: newId("ii"), created: seconds(ctx.now), ...fields };
  ctx.st.invoiceItems.set(item.id, item);
  if (item.invoice) ctx.st.invoices.get(item.invoice)?.items.push(item.id);
  return item;
}

function markPaid(ctx: Ctx, invoice: Invoice, amount: number): void {
  invoice.status = "paid";
  invoice.amountPaid = amount;
  invoice.paidAt = seconds(ctx.now);
}

export function finalize(ctx: Ctx, invoice: Invoice): void {
  if (invoice.status !== "draft") {
    throw invalid(`This invoice is already finalized, you can't re-finalize a non-draft invoice.`, "invoice");
  }
  invoice.status = "open";
  invoice.number = `SI-${String(invoice.seq).padStart(4, "0")}`;
  invoice.hostedUrl = `${ctx.origin}/invoice/${invoice.id}`;
  invoice.pdfUrl = `${ctx.origin}/invoice/${invoice.id}/pdf`;
  invoice.finalizedAt = seconds(ctx.now);
  const customer = ctx.st.customers.get(invoice.customer);
  invoice.customerSnapshot = {
    email: customer?.email ?? null,
    name: customer?.name ?? null,
    address: customer?.address ?? null,
  };
  emit(ctx, invoice.customer, "invoice.finalized", renderInvoice(ctx.st, invoice));
  // Stripe marks a zero-total invoice paid as soon as it is finalized.
  if (invoiceTotal(ctx.st, invoice) === 0) {
    markPaid(ctx, invoice, 0);
    emit(ctx, invoice.customer, "invoice.paid", renderInvoice(ctx.st, invoice));
  }
}

export interface PayOptions {
  paymentMethod: string | null;
  /** The owner confirming on the hosted page or Checkout passes 3-D Secure; off-session attempts cannot. */
  onSession: boolean;
}

/** Records `charge` as the invoice's payment (an InvoicePayment) and marks the invoice paid. */
export function settleInvoice(ctx: Ctx, invoice: Invoice, charge: Charge): void {
  const payment: InvoicePayment = {
    id: newId("inpay"),
    created: seconds(ctx.now),
    invoice: invoice.id,
    amount: charge.amount,
    currency: charge.currency,
    paymentIntent: charge.paymentIntent,
    charge: charge.id,
  };
  ctx.st.invoicePayments.set(payment.id, payment);
  invoice.payments.push(payment.id);
  markPaid(ctx, invoice, charge.amount);
  emit(ctx, invoice.customer, "invoice.paid", renderInvoice(ctx.st, invoice));
  emit(ctx, invoice.customer, "invoice.payment_succeeded", renderInvoice(ctx.st, invoice));
}

export function pay(ctx: Ctx, invoice: Invoice, opts: PayOptions): void {
  // Stripe's answer, word for word, with no `code` (stripe-node's error codes have no "already paid").
  if (invoice.status === "paid") throw invalid("Invoice is already paid");
  if (invoice.status === "draft") {
    throw invalid("This invoice can't be paid because it is a draft. Finalize it first.", "invoice");
  }
  if (invoice.status !== "open") throw invalid(`This invoice can't be paid because it is ${invoice.status}.`);
  const total = invoiceTotal(ctx.st, invoice);
  if (total < MINIMUM_CHARGE_CENTS) {
    // Below the card minimum Stripe debits the customer balance and marks the invoice paid with nothing charged.
    const customer = ctx.st.customers.get(invoice.customer);
    if (customer) customer.balance += total;
    markPaid(ctx, invoice, 0);
    emit(ctx, invoice.customer, "invoice.paid", renderInvoice(ctx.st, invoice));
    emit(ctx, invoice.customer, "invoice.payment_succeeded", renderInvoice(ctx.st, invoice));
    return;
  }
  const customer = getCustomer(ctx.st, invoice.customer, "customer");
  const chosen = opts.paymentMethod ?? invoice.defaultPaymentMethod ?? customer.defaultPaymentMethod;
  if (!chosen) {
    throw invalid(
      "Cannot charge a customer that has no default payment method. Pass `payment_method` or set " +
        "`invoice_settings[default_payment_method]` on the customer.",
      "payment_method",
    );
  }
  const pm = materialize(ctx.st, chosen, customer.id, ctx.now, "payment_method");
  invoice.attemptCount += 1;
  const declined = cardError(pm, opts.onSession, invoice.id);
  if (declined) {
    emit(ctx, invoice.customer, "invoice.payment_failed", renderInvoice(ctx.st, invoice));
    if (declined.body.code === "authentication_required") {
      emit(ctx, invoice.customer, "invoice.payment_action_required", renderInvoice(ctx.st, invoice));
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
