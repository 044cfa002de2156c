/** The invoice and invoice item endpoints (the operations are in invoices.ts). */

import { materialize } from "./cards";
import { bool, int, invalid, invalidParam, limitOf, list, mergeMetadata, requireStr, seconds, str } from "./core";
import { getCustomer } from "./customers";
import { emit } from "./events";
import { addItem, createInvoice, finalize, getInvoice, pay, renderInvoice, renderInvoiceItem } from "./invoices";
import type { Route } from "./model";

export const invoiceRoutes: Route[] = [
  {
    method: "POST",
    pattern: /^\/v1\/invoices$/,
    run: (ctx) => {
      const { params } = ctx;
      const customer = getCustomer(ctx.st, requireStr(params, "customer"), "customer");
      const pmId = str(params, "default_payment_method");
      const invoice = createInvoice(ctx, {
        customer: customer.id,
        currency: (str(params, "currency") ?? "usd").toLowerCase(),
        description: str(params, "description"),
        metadata: mergeMetadata({}, params.metadata),
        collectionMethod: str(params, "collection_method") ?? "charge_automatically",
        autoAdvance: bool(params, "auto_advance") ?? false,
        defaultPaymentMethod: pmId
          ? materialize(ctx.st, pmId, customer.id, ctx.now, "default_payment_method").id
          : null,
      });
      // Since 2022-08-01 pending items stay out of a new invoice unless asked for explicitly.
      if (str(params, "pending_invoice_items_behavior") === "include") {
        for (const item of ctx.st.invoiceItems.values()) {
          if (item.customer === customer.id && item.invoice === null) {
            item.invoice = invoice.id;
            invoice.items.push(item.id);
          }
        }
      }
      return renderInvoice(ctx.st, invoice);
    },
  },
  {
    method: "GET",
    pattern: /^\/v1\/invoices$/,
    run: ({ st, params }) => {
      const customer = str(params, "customer");
      const status = str(params, "status");
      const data = [...st.invoices.values()]
        .filter((inv) => (!customer || inv.customer === customer) && (!status || inv.status === status))
        .sort((a, b) => b.seq - a.seq)
        .map((invoice) => renderInvoice(st, invoice));
      return list(data, "/v1/invoices", limitOf(params));
    },
  },
  {
    method: "GET",
    pattern: /^\/v1\/invoices\/([^/]+)$/,
    run: ({ st }, [id = ""]) => renderInvoice(st, getInvoice(st, id)),
  },
  {
    method: "POST",
    pattern: /^\/v1\/invoices\/([^/]+)$/,
    run: ({ st, params }, [id = ""]) => {
      const invoice = getInvoice(st, id);
      invoice.metadata = mergeMetadata(invoice.metadata, params.metadata);
      if (params.description !== undefined) invoice.description = str(params, "description");
      return renderInvoice(st, invoice);
    },
  },
  {
    method: "POST",
    pattern: /^\/v1\/invoices\/([^/]+)\/finalize$/,
    run: (ctx, [id = ""]) => {
      const invoice = getInvoice(ctx.st, id);
      finalize(ctx, invoice);
      return renderInvoice(ctx.st, invoice);
    },
  },
  {
    method: "POST",
    pattern: /^\/v1\/invoices\/([^/]+)\/pay$/,
    run: (ctx, [id = ""]) => {
      const invoice = getInvoice(ctx.st, id);
      pay(ctx, invoice, { paymentMethod: str(ctx.params, "payment_method"), onSession: false });
      return renderInvoice(ctx.st, invoice);
    },
  },
  {
    method: "POST",
    pattern: /^\/v1\/invoices\/([^/]+)\/void$/,
    run: (ctx, [id = ""]) => {
      const invoice = getInvoice(ctx.st, id);
      if (invoice.status !== "open" && invoice.status !== "uncollectible") {
        throw invalid(`You can only void an open or uncollectible invoice; this one is ${invoice.status}.`);
      }
      invoice.status = "void";
      invoice.voidedAt = seconds(ctx.now);
      emit(ctx, invoice.customer, "invoice.voided", renderInvoice(ctx.st, invoice));
      return renderInvoice(ctx.st, invoice);
    },
  },
  {
    method: "POST",
    pattern: /^\/v1\/invoiceitems$/,
    run: (ctx) => {
      const { params } = ctx;
      const customer = getCustomer(ctx.st, requireStr(params, "customer"), "customer");
      const invoiceId = str(params, "invoice");
      const invoice = invoiceId ? getInvoice(ctx.st, invoiceId, "invoice") : null;
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
];
