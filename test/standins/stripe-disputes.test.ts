import { describe, expect, it } from "vitest";
import { control, controlStatus, customerWithCard, events, paidInvoice, stripe } from "./stripe-client";

interface DisputeView {
  id: string;
  amount: number;
  status: string;
  charge: string;
  payment_intent: string;
  balance_transactions: { amount: number; fee: number; net: number }[];
}

async function disputed(cents: number) {
  const customer = await customerWithCard();
  const { invoice, paymentIntent } = await paidInvoice(customer, cents);
  const { dispute } = await control<{ dispute: DisputeView }>("dispute", { invoice: invoice.id });
  return { customer, invoice, paymentIntent, dispute };
}

const disputeEvents = async (customer: string) =>
  (await events(customer)).filter((e) => e.type.startsWith("charge.dispute."));

describe("Stripe stand-in: disputes as Stripe sends them", () => {
  it("a dispute sends created and funds_withdrawn, and is retrievable; the charge is disputed", async () => {
    const { customer, paymentIntent, dispute } = await disputed(4000);
    expect(dispute).toMatchObject({ amount: 4000, status: "needs_response", payment_intent: paymentIntent });
    expect(dispute.charge).toMatch(/^ch_/);
    expect(dispute.balance_transactions).toEqual([expect.objectContaining({ amount: -4000, fee: 1500, net: -5500 })]);
    const sent = await disputeEvents(customer);
    expect(sent.map((e) => e.type)).toEqual(["charge.dispute.created", "charge.dispute.funds_withdrawn"]);
    for (const e of sent) {
      expect(e.payload.data.object).toMatchObject({ id: dispute.id, object: "dispute", charge: dispute.charge });
    }
    const api = stripe();
    const retrieved = await api.disputes.retrieve(dispute.id);
    expect(retrieved).toMatchObject({ id: dispute.id, status: "needs_response", is_charge_refundable: false });
    expect((await api.charges.retrieve(dispute.charge)).disputed).toBe(true);
    // One dispute per charge; a charged-back charge cannot be refunded.
    expect((await controlStatus("dispute", { charge: dispute.charge })).status).toBe(400);
    const refund = await controlStatus("refund", { charge: dispute.charge });
    expect(refund.status).toBe(400);
    expect(JSON.parse(refund.text).error.code).toBe("charge_disputed");
  });

  it("won: funds_reinstated then closed (status won); closing again is refused", async () => {
    const { customer, dispute } = await disputed(2500);
    const { dispute: won } = await control<{ dispute: DisputeView }>(`disputes/${dispute.id}/close`, {
      outcome: "won",
    });
    expect(won.status).toBe("won");
    expect(won.balance_transactions.map((bt) => bt.amount)).toEqual([-2500, 2500]);
    const sent = await disputeEvents(customer);
    expect(sent.map((e) => e.type)).toEqual([
      "charge.dispute.created",
      "charge.dispute.funds_withdrawn",
      "charge.dispute.funds_reinstated",
      "charge.dispute.closed",
    ]);
    expect(sent.at(-1)?.payload.data.object).toMatchObject({ status: "won" });
    expect((await controlStatus(`disputes/${dispute.id}/close`, { outcome: "lost" })).status).toBe(400);
    expect((await stripe().disputes.retrieve(dispute.id)).status).toBe("won");
  });

  it("lost: closed only (status lost)", async () => {
    const { customer, dispute } = await disputed(2500);
    await control(`disputes/${dispute.id}/close`, { outcome: "lost" });
    const sent = await disputeEvents(customer);
    expect(sent.map((e) => e.type)).toEqual([
      "charge.dispute.created",
      "charge.dispute.funds_withdrawn",
      "charge.dispute.closed",
    ]);
    expect(sent.at(-1)?.payload.data.object).toMatchObject({ status: "lost" });
  });

  it("a partially refunded charge is disputed for what is left, or in full when asked", async () => {
    const customer = await customerWithCard();
    const { invoice } = await paidInvoice(customer, 3000);
    await control("refund", { invoice: invoice.id, amount: 1000 });
    const { dispute } = await control<{ dispute: DisputeView }>("dispute", { invoice: invoice.id, amount: 3000 });
    expect(dispute.amount).toBe(3000);
    // Lost in full: the already refunded 1000 comes back before the close.
    await control(`disputes/${dispute.id}/close`, { outcome: "lost" });
    const sent = await disputeEvents(customer);
    expect(sent.slice(2).map((e) => e.type)).toEqual(["charge.dispute.funds_reinstated", "charge.dispute.closed"]);
    const closed = sent.at(-1)?.payload.data.object as unknown as DisputeView;
    expect(closed.balance_transactions.map((bt) => bt.amount)).toEqual([-3000, 1000]);
  });
});
