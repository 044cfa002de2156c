import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { control, customerWithCard, events, openInvoice, raw, stripe } from "./stripe-client";

async function fault(body: Record<string, unknown>) {
  await control("fault", body);
}

async function rejects(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("Stripe stand-in: faults that commit, then fail", () => {
  it("500_after_success: the invoice is created and its event sent; the retry replays the success", async () => {
    const customer = await customerWithCard();
    await fault({ match: { customer, pathPrefix: "/v1/invoices", method: "POST" }, kind: "500_after_success" });
    const api = stripe();
    const key = `fault-500-after-${customer}`;
    const error = await rejects(api.invoices.create({ customer, metadata: { n: "1" } }, { idempotencyKey: key }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect((error as Stripe.errors.StripeAPIError).statusCode).toBe(500);
    expect((await events(customer)).map((e) => e.type)).toEqual(["invoice.created"]);
    const retried = await raw("POST", "/v1/invoices", {
      form: { customer, "metadata[n]": "1" },
      idempotencyKey: key,
    });
    expect(retried.status).toBe(200);
    expect(retried.headers.get("idempotent-replayed")).toBe("true");
    const listed = await api.invoices.list({ customer });
    expect(listed.data.map((i) => i.id)).toEqual([retried.json.id]);
  });

  it("500_after_success with replay 'error': the key keeps the 500, though the invoice was paid", async () => {
    const customer = await customerWithCard();
    const invoice = await openInvoice(customer, 1200);
    await fault({ match: { customer, pathSuffix: "/pay" }, kind: "500_after_success", replay: "error" });
    const key = `fault-500-sticky-${customer}`;
    const first = await raw("POST", `/v1/invoices/${invoice.id}/pay`, { form: {}, idempotencyKey: key });
    expect(first.status).toBe(500);
    expect(first.json.error).toMatchObject({ type: "api_error" });
    const again = await raw("POST", `/v1/invoices/${invoice.id}/pay`, { form: {}, idempotencyKey: key });
    expect(again.status).toBe(500);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect((await stripe().invoices.retrieve(invoice.id)).status).toBe("paid");
    // A new key meets the paid invoice.
    const fresh = await raw("POST", `/v1/invoices/${invoice.id}/pay`, { form: {}, idempotencyKey: `${key}-2` });
    expect(fresh.json.error).toMatchObject({ message: "Invoice is already paid" });
  });

  it("timeout_after_success on pay: paid at Stripe, answer lost; the retry replays the paid invoice", async () => {
    const customer = await customerWithCard();
    const invoice = await openInvoice(customer, 1500);
    await fault({ match: { customer, pathSuffix: "/pay" }, kind: "timeout_after_success", delayMs: 10 });
    const key = `fault-timeout-after-${customer}`;
    const first = await raw("POST", `/v1/invoices/${invoice.id}/pay`, { form: {}, idempotencyKey: key });
    expect(first.status).toBe(500);
    const types = (await events(customer)).map((e) => e.type);
    expect(types).toContain("invoice.paid");
    const retry = await raw("POST", `/v1/invoices/${invoice.id}/pay`, { form: {}, idempotencyKey: key });
    expect(retry.status).toBe(200);
    expect(retry.json).toMatchObject({ id: invoice.id, status: "paid", amount_paid: 1500 });
    expect((await events(customer)).filter((e) => e.type === "invoice.paid")).toHaveLength(1);
  });

  it("a 500 before execution runs nothing and leaves the key free", async () => {
    const customer = await customerWithCard();
    const invoice = await openInvoice(customer, 1500);
    await fault({ match: { customer, pathSuffix: "/pay" }, kind: "500" });
    const key = `fault-500-before-${customer}`;
    const first = await raw("POST", `/v1/invoices/${invoice.id}/pay`, { form: {}, idempotencyKey: key });
    expect(first.status).toBe(500);
    expect((await stripe().invoices.retrieve(invoice.id)).status).toBe("open");
    const retry = await raw("POST", `/v1/invoices/${invoice.id}/pay`, { form: {}, idempotencyKey: key });
    expect(retry.status).toBe(200);
    expect(retry.headers.get("idempotent-replayed")).toBeNull();
  });

  it("a fault scoped to POST spares GETs; a validation error saves nothing for its key", async () => {
    const customer = await customerWithCard();
    const invoice = await openInvoice(customer, 900);
    await fault({ match: { customer, pathPrefix: "/v1/invoices/", method: "POST" }, kind: "500" });
    expect((await stripe().invoices.retrieve(invoice.id)).id).toBe(invoice.id);
    expect((await raw("POST", `/v1/invoices/${invoice.id}`, { form: {} })).status).toBe(500);

    const key = `fault-validation-${customer}`;
    const bad = await raw("POST", "/v1/invoiceitems", { form: { customer }, idempotencyKey: key });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ param: "amount" });
    const fixed = await raw("POST", "/v1/invoiceitems", {
      form: { customer, amount: "100", currency: "usd" },
      idempotencyKey: key,
    });
    expect(fixed.status).toBe(200);
  });
});
