/** `expand[]`: ids in an answer replaced by the objects they name (also inside lists, as `data.x`). */

import { renderPaymentMethod } from "./cards";
import { renderSession } from "./checkout";
import { isRecord, type Json, strings } from "./core";
import { renderCustomer, renderSetupIntent } from "./customers";
import { renderDispute } from "./disputes";
import { renderInvoice } from "./invoices";
import type { State } from "./model";
import { renderCharge, renderInvoicePayment, renderPaymentIntent } from "./payments";

/** Renders any stored object by id prefix, for `expand[]`. */
function renderById(st: State, id: string): Json | null {
  const prefix = id.slice(0, id.indexOf("_") + 1);
  switch (prefix) {
    case "cus_": {
      const c = st.customers.get(id);
      return c ? renderCustomer(c) : null;
    }
    case "pm_": {
      const pm = st.paymentMethods.get(id);
      return pm ? renderPaymentMethod(pm) : null;
    }
    case "seti_": {
      const si = st.setupIntents.get(id);
      return si ? renderSetupIntent(si) : null;
    }
    case "in_": {
      const inv = st.invoices.get(id);
      return inv ? renderInvoice(st, inv) : null;
    }
    case "cs_": {
      const s = st.sessions.get(id);
      return s ? renderSession(s) : null;
    }
    case "ch_": {
      const ch = st.charges.get(id);
      return ch ? renderCharge(st, ch) : null;
    }
    case "pi_": {
      const pi = st.paymentIntents.get(id);
      return pi ? renderPaymentIntent(pi) : null;
    }
    case "dp_":
    case "du_": {
      const dp = st.disputes.get(id);
      return dp ? renderDispute(st, dp) : null;
    }
  }
  return null;
}

function expandPath(st: State, object: Json, path: string[]): void {
  const [field, ...rest] = path;
  if (field === undefined) return;
  if (field === "data" && Array.isArray(object.data)) {
    for (const item of object.data) if (isRecord(item)) expandPath(st, item, rest);
    return;
  }
  if (field === "payments" && object.object === "invoice" && typeof object.id === "string") {
    const invoice = st.invoices.get(object.id);
    const data = (invoice?.payments ?? []).flatMap((pid) => {
      const payment = st.invoicePayments.get(pid);
      return payment ? [renderInvoicePayment(payment)] : [];
    });
    object.payments = { object: "list", data, has_more: false, url: "/v1/invoice_payments" };
  } else {
    const value = object[field];
    if (typeof value === "string") {
      const rendered = renderById(st, value);
      if (rendered) object[field] = rendered;
    }
  }
  const next = object[field];
  if (isRecord(next)) expandPath(st, next, rest);
}

export function withExpand(st: State, object: Json, params: Json): Json {
  for (const path of strings(params.expand)) expandPath(st, object, path.split("."));
  return object;
}
