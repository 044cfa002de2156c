/** Customers, their PaymentMethods and SetupIntents. */

import { materialize, renderPaymentMethod } from "./cards";
import { invalidParam, isRecord, type Json, mergeMetadata, missing, newId, requireStr, seconds, str } from "./core";
import type { Customer, Route, SetupIntent, State } from "./model";

/** Stripe refuses an email it cannot parse (`email_invalid`) and one over 512 characters. */
export function emailParam(params: Json, name = "email"): string | null {
  const email = str(params, name);
  if (email === null) return null;
  if (email.length > 512) throw invalidParam(`Invalid ${name}: must be at most 512 characters`, name);
  if (!/^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/.test(email)) {
    throw invalidParam(`Invalid email address: ${email}`, name, "email_invalid");
  }
  return email;
}

const ADDRESS_FIELDS = ["city", "country", "line1", "line2", "postal_code", "state"] as const;

/** `address[…]` as Stripe stores it: every field present, null when not given; an empty `address` clears it. */
export function addressParam(value: unknown): Json | null {
  if (!isRecord(value)) return null;
  const address: Json = {};
  for (const field of ADDRESS_FIELDS) address[field] = str(value, field);
  return address;
}

export function getCustomer(st: State, id: string, param = "id"): Customer {
  const customer = st.customers.get(id);
  if (!customer) throw missing("customer", id, param);
  return customer;
}

export function renderCustomer(c: Customer): Json {
  return {
    id: c.id,
    object: "customer",
    created: c.created,
    livemode: false,
    email: c.email,
    name: c.name,
    description: c.description,
    metadata: c.metadata,
    address: c.address,
    phone: null,
    shipping: null,
    tax_exempt: "none",
    preferred_locales: [],
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

export function renderSetupIntent(si: SetupIntent): Json {
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

export const customerRoutes: Route[] = [
  {
    method: "POST",
    pattern: /^\/v1\/customers$/,
    run: ({ st, params, now }) => {
      const customer: Customer = {
        id: newId("cus"),
        created: seconds(now),
        email: emailParam(params),
        name: str(params, "name"),
        description: str(params, "description"),
        metadata: mergeMetadata({}, params.metadata),
        defaultPaymentMethod: null,
        balance: 0,
        address: addressParam(params.address),
        taxIds: [],
      };
      st.customers.set(customer.id, customer);
      return renderCustomer(customer);
    },
  },
  {
    method: "GET",
    pattern: /^\/v1\/customers\/([^/]+)$/,
    run: ({ st }, [id = ""]) => renderCustomer(getCustomer(st, id)),
  },
  {
    method: "POST",
    pattern: /^\/v1\/customers\/([^/]+)$/,
    run: ({ st, params, now }, [id = ""]) => {
      const customer = getCustomer(st, id);
      if (params.email !== undefined) customer.email = emailParam(params);
      if (params.name !== undefined) customer.name = str(params, "name");
      if (params.address !== undefined) customer.address = addressParam(params.address);
      if (params.description !== undefined) customer.description = str(params, "description");
      customer.metadata = mergeMetadata(customer.metadata, params.metadata);
      const settings = params.invoice_settings;
      if (isRecord(settings) && settings.default_payment_method !== undefined) {
        const pmId = str(settings, "default_payment_method");
        customer.defaultPaymentMethod = pmId
          ? materialize(st, pmId, customer.id, now, "invoice_settings[default_payment_method]").id
          : null;
      }
      return renderCustomer(customer);
    },
  },
  {
    method: "GET",
    pattern: /^\/v1\/setup_intents\/([^/]+)$/,
    run: ({ st }, [id = ""]) => {
      const si = st.setupIntents.get(id);
      if (!si) throw missing("setupintent", id, "intent");
      return renderSetupIntent(si);
    },
  },
  {
    method: "GET",
    pattern: /^\/v1\/payment_methods\/([^/]+)$/,
    run: ({ st }, [id = ""]) => {
      const pm = st.paymentMethods.get(id);
      if (!pm) throw missing("PaymentMethod", id, "payment_method");
      return renderPaymentMethod(pm);
    },
  },
  {
    method: "POST",
    pattern: /^\/v1\/payment_methods\/([^/]+)\/attach$/,
    run: ({ st, params, now }, [id = ""]) => {
      const customer = getCustomer(st, requireStr(params, "customer"), "customer");
      return renderPaymentMethod(materialize(st, id, customer.id, now, "payment_method"));
    },
  },
];
