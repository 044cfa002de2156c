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
import { emailParam, getCustomer } from "./customers";
import { emit } from "./events";
import { addItem, createInvoice, finalize, settleInvoice } from "./invoices";
import type { Ctx, Customer, LineItem, Route, Session, SetupIntent, State } from "./model";
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
    locale: s.locale,
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
    billing_address_collection: s.billingAddressCollection,
    tax_id_collection: s.taxIdCollection,
    customer_email: s.customerEmail,
    customer_details: s.customerDetails,
  };
}

/** What the customer enters on the Checkout page (the stand-in's pay page and `complete` control pass it). */
export interface CheckoutEntry {
  paymentMethod: string;
  email?: string | null;
  /** The billing name, or a business's legal name when it enters a tax ID. */
  name?: string | null;
  address?: Json | null;
  taxId?: { type: string; value: string } | null;
}

/** A billing address a test card's owner would enter (Stripe's test values). */
const TEST_ADDRESS = {
  city: "San Francisco",
  country: "US",
  line1: "510 Townsend St",
  line2: null,
  postal_code: "94103",
  state: "CA",
};

/**
 * What Checkout collected, and what it writes back onto the customer: the email when the customer had none
 * ("If the Customer does not have a valid email, Checkout will set the email entered during the session on the
 * Customer"; one it has is prefilled and not editable), the billing address and name with `customer_update`
 * `auto`, and a business's tax ID (tax ID collection).
 */
function collect(st: State, session: Session, entry: CheckoutEntry): void {
  const customer = session.customer ? st.customers.get(session.customer) : undefined;
  const email = customer?.email ?? session.customerEmail ?? entry.email ?? "buyer@example.com";
  // `auto` (the default) asks a card payer for the country and postal code only; `required` for the full address.
  const full = entry.address ?? TEST_ADDRESS;
  const address =
    session.billingAddressCollection === "required"
      ? full
      : {
          ...Object.fromEntries(Object.keys(TEST_ADDRESS).map((k) => [k, null])),
          country: full.country ?? "US",
          postal_code: full.postal_code ?? null,
        };
  const taxId = session.taxIdCollection.enabled ? (entry.taxId ?? null) : null;
  const name = entry.name ?? customer?.name ?? null;
  session.customerDetails = {
    address,
    business_name: taxId ? name : null,
    email,
    individual_name: null,
    name,
    phone: null,
    tax_exempt: "none",
    tax_ids: taxId ? [{ type: taxId.type, value: taxId.value }] : [],
  };
  if (!customer) return;
  if (!customer.email) customer.email = email;
  if (session.customerUpdate.address === "auto") customer.address = address;
  if (session.customerUpdate.name === "auto" && entry.name) customer.name = entry.name;
  if (taxId) customer.taxIds.push({ type: taxId.type, value: taxId.value });
}

export function getSession(st: State, id: string): Session {
  const session = st.sessions.get(id);
  if (!session) throw missing("checkout.session", id, "session");
  return session;
}

export function completeSession(ctx: Ctx, session: Session, entry: CheckoutEntry): void {
  expireIfDue(ctx, session);
  if (session.status !== "open") throw invalid(`This Checkout Session is ${session.status}.`, "session");
  const pm = materialize(ctx.st, entry.paymentMethod, session.customer, ctx.now, "paymentMethod");
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
    collect(ctx.st, session, entry);
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
  // The invoice is made after the customer's details were written back, so it carries them.
  collect(ctx.st, session, entry);
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

/** Checkout's locales (the API's `locale` enum, stripe-node 23 for API 2026-10-28; Stripe.js lists one fewer). */
const CHECKOUT_LOCALES = [
  "auto",
  "bg",
  "cs",
  "da",
  "de",
  "el",
  "en",
  "en-GB",
  "es",
  "es-419",
  "et",
  "fi",
  "fil",
  "fr",
  "fr-CA",
  "hi-IN",
  "hr",
  "hu",
  "id",
  "it",
  "ja",
  "ko",
  "lt",
  "lv",
  "ms",
  "mt",
  "nb",
  "nl",
  "pl",
  "pt",
  "pt-BR",
  "ro",
  "ru",
  "sk",
  "sl",
  "sv",
  "th",
  "tr",
  "vi",
  "zh",
  "zh-HK",
  "zh-TW",
] as const;

function oneOf<T extends string>(params: Json, name: string, values: readonly T[], label = name): T | null {
  const value = str(params, name);
  if (value === null) return null;
  if (!(values as readonly string[]).includes(value)) {
    const listed = values.length === 2 ? values.join(" or ") : `${values.slice(0, -1).join(", ")}, or ${values.at(-1)}`;
    throw invalidParam(`Invalid ${label}: must be one of ${listed}`, label);
  }
  return value as T;
}

/**
 * Billing address, tax ID and customer write-back, validated as Stripe does: `customer_update` only with
 * `customer`; tax ID collection for an existing customer only when Checkout may write the business name back
 * (`customer_update[name]=auto`) and the customer has an address or Checkout may save one (`customer_update[address]=auto`).
 */
function checkoutCollection(
  params: Json,
  customer: Customer | null,
): Pick<Session, "billingAddressCollection" | "taxIdCollection" | "customerUpdate" | "customerEmail"> {
  const billingAddressCollection = oneOf(params, "billing_address_collection", ["auto", "required"] as const);
  const taxIds = sub(params, "tax_id_collection");
  if (params.tax_id_collection !== undefined && taxIds.enabled === undefined) {
    throw invalidParam(
      "Missing required param: tax_id_collection[enabled].",
      "tax_id_collection[enabled]",
      "parameter_missing",
    );
  }
  const taxIdCollection = {
    enabled: bool(taxIds, "enabled") ?? false,
    required: oneOf(taxIds, "required", ["if_supported", "never"] as const, "tax_id_collection[required]") ?? "never",
  };
  const update = sub(params, "customer_update");
  if (params.customer_update !== undefined && !customer) {
    throw invalidParam("`customer_update` can only be used with `customer`.", "customer_update");
  }
  const modes = ["auto", "never"] as const;
  const customerUpdate = {
    address: oneOf(update, "address", modes, "customer_update[address]") ?? "never",
    name: oneOf(update, "name", modes, "customer_update[name]") ?? "never",
    shipping: oneOf(update, "shipping", modes, "customer_update[shipping]") ?? "never",
  };
  if (taxIdCollection.enabled && customer) {
    // Stripe's wording as its answers quote it (backticks and all).
    if (customerUpdate.name !== "auto") {
      throw invalidParam(
        "Tax ID collection requires updating business name on the customer. To enable tax ID collection for an existing customer, please set `customer_update[name]` to `auto`.",
        "customer_update[name]",
      );
    }
    if (customerUpdate.address !== "auto" && !customer.address?.country) {
      throw invalidParam(
        "We could not find a valid address on the provided customer. To enable tax ID collection, please set customer_update[address] to auto.",
        "customer_update[address]",
      );
    }
  }
  const customerEmail = emailParam(params, "customer_email");
  if (customerEmail && customer) {
    throw invalidParam("You may only specify one of these parameters: customer, customer_email.", "customer_email");
  }
  return { billingAddressCollection, taxIdCollection, customerUpdate, customerEmail };
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
      const customer = customerId ? getCustomer(st, customerId, "customer") : null;
      const collection = checkoutCollection(params, customer);
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
        locale: oneOf(params, "locale", CHECKOUT_LOCALES),
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
        ...collection,
        customerDetails: null,
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
