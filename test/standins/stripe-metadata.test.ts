import { describe, expect, it } from "vitest";
import { control, customerWithCard, paidInvoice, raw, stripe } from "./stripe-client";

const META = { instance_id: "inst-meta", recharge_id: "rch_meta" };

describe("Stripe stand-in: a charge carries no invoice metadata", () => {
  it("an invoice's charge and payment intent have only their own (empty) metadata and no invoice field", async () => {
    const customer = await customerWithCard();
    const { invoice, paymentIntent } = await paidInvoice(customer, 2500, META);
    expect(invoice.metadata).toEqual(META);
    const api = stripe();
    const intent = await api.paymentIntents.retrieve(paymentIntent);
    expect(intent.metadata).toEqual({});
    expect(intent).not.toHaveProperty("invoice");
    const chargeId = intent.latest_charge;
    if (typeof chargeId !== "string") throw new Error("latest_charge is no id");
    const charge = await api.charges.retrieve(chargeId);
    expect(charge.metadata).toEqual({});
    expect(charge).not.toHaveProperty("invoice");
    expect(charge.payment_intent).toBe(paymentIntent);
  });

  it("traces a charge to its invoice with the exact invoice_payments query", async () => {
    const customer = await customerWithCard();
    const { invoice, paymentIntent } = await paidInvoice(customer, 3000, META);
    const query = `payment[type]=payment_intent&payment[payment_intent]=${paymentIntent}&limit=1`;
    const listed = await raw("GET", `/v1/invoice_payments?${encodeURI(query)}`);
    expect(listed.status).toBe(200);
    const data = listed.json.data as Record<string, unknown>[];
    expect(data).toHaveLength(1);
    expect(data[0]).toMatchObject({
      object: "invoice_payment",
      invoice: invoice.id,
      amount_paid: 3000,
      amount_requested: 3000,
      currency: "usd",
      is_default: true,
      livemode: false,
      status: "paid",
      payment: { type: "payment_intent", payment_intent: paymentIntent },
      status_transitions: { canceled_at: null, paid_at: expect.any(Number) },
    });
    // stripe-node sends the same query; the SDK's answer names the invoice by id.
    const viaSdk = await stripe().invoicePayments.list({
      payment: { type: "payment_intent", payment_intent: paymentIntent },
      limit: 1,
    });
    expect(viaSdk.data.map((p) => p.invoice)).toEqual([invoice.id]);
    // Another intent matches nothing; `payment` without its `type` is refused, as Stripe does.
    const other = await raw(
      "GET",
      `/v1/invoice_payments?${encodeURI("payment[type]=payment_intent&payment[payment_intent]=pi_nope")}`,
    );
    expect(other.json.data).toEqual([]);
    const untyped = await raw("GET", `/v1/invoice_payments?${encodeURI(`payment[payment_intent]=${paymentIntent}`)}`);
    expect(untyped.status).toBe(400);
    expect(untyped.json.error).toMatchObject({ type: "invalid_request_error", param: "payment[type]" });
  });

  it("a payment-mode Checkout puts payment_intent_data metadata on the intent and invoice_data metadata on the invoice", async () => {
    const customer = await customerWithCard();
    const api = stripe();
    const session = await api.checkout.sessions.create({
      mode: "payment",
      customer,
      success_url: "https://example.test/done",
      line_items: [
        { quantity: 1, price_data: { currency: "usd", unit_amount: 5000, product_data: { name: "Top-up" } } },
      ],
      metadata: { from: "session" },
      payment_intent_data: { metadata: { from: "intent" } },
      invoice_creation: { enabled: true, invoice_data: { metadata: { from: "invoice" } } },
    });
    await control(`checkout/${session.id}/complete`, { paymentMethod: "pm_card_visa" });
    const done = await api.checkout.sessions.retrieve(session.id);
    expect(done.status).toBe("complete");
    expect(done.metadata).toEqual({ from: "session" });
    if (typeof done.payment_intent !== "string" || typeof done.invoice !== "string") throw new Error("no ids");
    const intent = await api.paymentIntents.retrieve(done.payment_intent);
    expect(intent.metadata).toEqual({ from: "intent" });
    const charge = await api.charges.retrieve(String(intent.latest_charge));
    expect(charge.metadata).toEqual({ from: "intent" });
    const invoice = await api.invoices.retrieve(done.invoice);
    expect(invoice.metadata).toEqual({ from: "invoice" });
    expect(invoice.status).toBe("paid");
    const payments = await api.invoicePayments.list({
      payment: { type: "payment_intent", payment_intent: done.payment_intent },
    });
    expect(payments.data.map((p) => p.invoice)).toEqual([done.invoice]);
  });

  it("paying a paid invoice answers Stripe's 'Invoice is already paid'", async () => {
    const customer = await customerWithCard();
    const { invoice } = await paidInvoice(customer, 1000);
    const again = await raw("POST", `/v1/invoices/${invoice.id}/pay`, { form: {} });
    expect(again.status).toBe(400);
    expect(again.json.error).toEqual({ type: "invalid_request_error", message: "Invoice is already paid" });
  });
});
