import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { stub, USD } from "../helpers";
import { deliver, privateText, settle, waitForMessages } from "../telegram/fixtures";
import {
  balance,
  buttonUrl,
  debit,
  ledgerKinds,
  OWNER,
  ownerMessages,
  ownerSays,
  ownerToldMatching,
  postStripeEvent,
  stripeControl,
  stripeEvents,
  summary,
  waitForBalance,
  waitForPaidInvoices,
  withCard,
} from "./fixtures";

describe("/setupCredits and card saving", () => {
  it("saves the card, turns auto-recharge on and tells the owner the amounts and card", async () => {
    const { inst } = await withCard({ topUp: 500, rechargeAt: 100 });
    const saved = await ownerToldMatching(inst, /saved/i);
    expect(saved.text).toContain("$500.00");
    expect(saved.text).toContain("$100.00");
    expect(saved.text).toContain("4242");
    const view = await (await import("../helpers")).api(`/admin/instances/${inst.id}`, {
      headers: (await import("../helpers")).ADMIN,
    });
    expect(view.json.autoRecharge).toMatchObject({
      enabled: true,
      topUpMicros: 500 * USD,
      rechargeAtMicros: 100 * USD,
      status: "active",
      card: { brand: "visa", last4: "4242" },
    });
  });

  it("validates amounts before anything happens", async () => {
    const { provision } = await import("../helpers");
    const inst = await provision({ ownerTelegramId: OWNER });
    const cases: [string, RegExp][] = [
      ["/setupCredits", /missing|form|example/i],
      ["/setupCredits:500", /missing|example/i],
      ["/setupCredits:500:100:7", /too many|example/i],
      ["/setupCredits:abc:100", /number|example/i],
      ["/setupCredits:-500:100", /negative/i],
      ["/setupCredits:0:100", /zero|at least/i],
      ["/setupCredits:1e3:100", /number/i],
      ["/setupCredits:0x1F4:100", /number/i],
      ["/setupCredits:500.005:100", /decimals/i],
      ["/setupCredits:５００:100", /number/i],
      ["/setupCredits:200:100", /at least \$250/i],
      ["/setupCredits:20000:100", /at most \$10,000/i],
      ["/setupCredits:500:50", /at least \$100/i],
      ["/setupCredits:250:99999999", /threshold .*at most \$10,000/i],
      ["/setupCredits:99999999999:100", /too large/i],
      ["/topUp:10", /at least \$50/i],
      ["/topUp", /missing|example/i],
      ["/changeCreditsTopUp:500:100", /setupCredits/],
    ];
    for (const [command, pattern] of cases) {
      const reply = await ownerSays(inst, command);
      expect(reply.text, command).toMatch(pattern);
      expect(reply.text, command).toMatch(/\/(setupCredits|topUp|changeCreditsTopUp)/);
      expect(reply.reply_markup ?? null, command).toBeNull();
    }
    expect(await balance(inst)).toBe(50 * USD);
  });

  it("space form and any case work too", async () => {
    const { provision } = await import("../helpers");
    const inst = await provision({ ownerTelegramId: OWNER });
    const reply = await ownerSays(inst, "/SETUPCREDITS 300 120");
    expect(buttonUrl(reply)).toMatch(/\/pay\/cs_/);
  });
});

describe("the recharge", () => {
  it("a balance already below the threshold recharges at once when the card is saved", async () => {
    const { inst, customer, relay } = await withCard({ license: "starter", topUp: 250, rechargeAt: 100 }); // $50 ≤ $100
    const s = await waitForPaidInvoices(customer, 1);
    expect(s.payments).toBe(1);
    await waitForBalance(inst, 300 * USD);
    const told = await ownerToldMatching(inst, /added \$250\.00/);
    expect(told.text).toContain("$300.00");
    expect(told.text).toMatch(/invoice/i);
    // The webhooks arrive afterwards (invoice.paid, …): nothing is credited twice.
    for (const status of await relay.deliverAll()) expect(status).toBe(200);
    expect(await balance(inst)).toBe(300 * USD);
    expect(await ledgerKinds(inst)).toHaveLength(1);
    const invoice = s.invoices[0];
    expect(invoice?.metadata).toMatchObject({ instance_id: inst.id });
    expect(invoice?.amount_paid).toBe(25_000);
  });

  it("a burst of 100 concurrent debits across the threshold starts exactly one recharge", async () => {
    const { inst, customer, relay } = await withCard({ license: "pro", topUp: 300, rechargeAt: 150 }); // $200
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => debit(inst, `burst-${i}`, 1_000_000)));
    for (const r of results) expect(r.status).toBe(200);
    const s = await waitForPaidInvoices(customer, 1);
    await waitForBalance(inst, 200 * USD - 100 * USD + 300 * USD);
    await relay.deliverAll();
    await settle(500);
    const after = await summary(customer);
    expect(after.invoices).toHaveLength(1);
    expect(after.payments).toBe(1);
    expect(s.totalChargedCents).toBe(30_000);
    expect(await ledgerKinds(inst)).toHaveLength(1);
  });

  it.each([
    ["create invoice", "/v1/invoices"],
    ["add item", "/v1/invoiceitems"],
    ["finalize", "/finalize"],
    ["pay", "/pay"],
  ])("Stripe 500 and a timeout after success at '%s' still end in one charge and one credit", async (_step, path) => {
    const { inst, customer } = await withCard({ license: "pro", topUp: 250, rechargeAt: 150, relayCardSaved: true });
    const match = path.startsWith("/v1") ? { customer, pathPrefix: path } : { customer, pathSuffix: path };
    await stripeControl("fault", { match, kind: "500", count: 1 });
    await stripeControl("fault", {
      match,
      kind: "timeout_after_success",
      count: 1,
      delayMs: 10,
    });
    await debit(inst, "cross", 60 * USD); // $140 ≤ $150
    const s = await waitForPaidInvoices(customer, 1);
    await waitForBalance(inst, 140 * USD + 250 * USD);
    await settle(300);
    expect((await summary(customer)).payments).toBe(1);
    expect(s.invoices).toHaveLength(1);
    expect(await ledgerKinds(inst)).toHaveLength(1);
  });
});

describe("failures", () => {
  it.each([
    ["pm_card_chargeDeclined", /declined/i],
    ["pm_card_chargeDeclinedInsufficientFunds", /insufficient funds/i],
    ["pm_card_chargeDeclinedExpiredCard", /expired/i],
  ])("%s: failed, owner told with reason and fix, no retry loop; a new card retries", async (card, reason) => {
    const { inst, customer, relay } = await withCard({ license: "starter", topUp: 250, rechargeAt: 100, card });
    const told = await ownerToldMatching(inst, /Auto-recharge failed/);
    expect(told.text).toMatch(reason);
    expect(told.text).toMatch(/\/setupCredits/);
    expect(told.text).toMatch(/\/topUp/);
    await settle(2500);
    await runDurableObjectAlarm(stub(inst.id)).catch(() => undefined);
    const s = await summary(customer);
    expect(s.payments).toBe(0);
    expect(s.invoices).toHaveLength(1);
    expect(await balance(inst)).toBe(50 * USD);
    const view = await (await import("../helpers")).api(`/admin/instances/${inst.id}`, {
      headers: (await import("../helpers")).ADMIN,
    });
    expect((view.json.autoRecharge as { status: string }).status).toBe("failing");

    // A new card is saved: that same invoice is retried and paid, once.
    const reply = await ownerSays(inst, "/setupCredits:250:100");
    const sessionId = /\/pay\/(cs_[A-Za-z0-9_]+)/.exec(buttonUrl(reply))?.[1] as string;
    await stripeControl(`checkout/${sessionId}/complete`, { paymentMethod: "pm_card_visa" });
    await relay.deliverAll((e) => e.type === "checkout.session.completed");
    const paid = await waitForPaidInvoices(customer, 1);
    expect(paid.invoices).toHaveLength(1);
    await waitForBalance(inst, 300 * USD);
    await relay.deliverAll();
    expect(await ledgerKinds(inst)).toHaveLength(1);
  });

  it("authentication required: the owner gets the invoice link; paying it credits and answers resume", async () => {
    const { inst, customer, relay } = await withCard({
      license: "starter",
      topUp: 250,
      rechargeAt: 100,
      card: "pm_card_authenticationRequired",
    });
    const told = await ownerToldMatching(inst, /confirm/i);
    const invoice = (await summary(customer)).invoices[0];
    if (!invoice) throw new Error("no invoice");
    expect(told.text).toContain(`/invoice/${invoice.id}`);
    expect(invoice.status).toBe("open");
    // Drain the account: the bot stops answering while the payment waits.
    await debit(inst, "drain", 50 * USD);
    await deliver(inst, privateText({ id: 9101 }, "hello?"));
    await settle(400);
    expect((await (await import("../telegram/fixtures")).sentMessages(inst.botToken, 9101)).length).toBe(0);
    // The owner confirms on the hosted page; invoice.paid arrives.
    await stripeControl(`invoices/${invoice.id}/pay`, {});
    expect(await relay.deliverAll()).not.toContain(400);
    await waitForBalance(inst, 250 * USD);
    await deliver(inst, privateText({ id: 9101 }, "hello again"));
    await waitForMessages(inst.botToken, 9101, 1);
    expect(await ledgerKinds(inst)).toHaveLength(1);
  });

  it("a refund and a dispute take the credits back, once each", async () => {
    const { inst, customer, relay } = await withCard({ license: "starter", topUp: 250, rechargeAt: 100 });
    const s = await waitForPaidInvoices(customer, 1);
    await waitForBalance(inst, 300 * USD);
    await relay.deliverAll();
    const invoice = s.invoices[0]?.id as string;
    await stripeControl("refund", { invoice, amount: 10_000 }); // $100 of $250
    const refundEvents = (await stripeEvents(customer)).filter((e) => e.type === "charge.refunded");
    for (const e of refundEvents) {
      expect((await postStripeEvent(e.payload)).status).toBe(200);
      expect((await postStripeEvent(e.payload)).status).toBe(200);
    }
    expect(await balance(inst)).toBe(200 * USD);
    await stripeControl("dispute", { invoice });
    const dispute = (await stripeEvents(customer)).filter((e) => e.type === "charge.dispute.created");
    for (const e of dispute) await postStripeEvent(e.payload);
    // The dispute covers the whole charge; only what was not refunded yet is taken back.
    expect(await balance(inst)).toBe(50 * USD);
    expect((await ledgerKinds(inst)).filter((e) => e.kind === "refund")).toHaveLength(2);
  });
});

describe("/topUp and /invoices", () => {
  it("a one-off top-up through Checkout credits once, and /invoices lists it with links", async () => {
    const { provision } = await import("../helpers");
    const inst = await provision({ ownerTelegramId: OWNER });
    const reply = await ownerSays(inst, "/topUp:100");
    const sessionId = /\/pay\/(cs_[A-Za-z0-9_]+)/.exec(buttonUrl(reply))?.[1] as string;
    const session = await (await import("./fixtures")).stripeGet<{ customer: string; mode: string }>(
      `/v1/checkout/sessions/${sessionId}`,
    );
    expect(session.mode).toBe("payment");
    await stripeControl(`checkout/${sessionId}/complete`, { paymentMethod: "pm_card_visa" });
    const events = await stripeEvents(session.customer);
    // Out of order, duplicated: checkout.session.completed last, invoice.paid twice.
    const ordered = [...events].reverse();
    const statuses = await Promise.all(
      [...ordered, ...ordered].map(async (e) => (await postStripeEvent(e.payload)).status),
    );
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect(await balance(inst)).toBe(150 * USD);
    expect(await ledgerKinds(inst)).toEqual([expect.objectContaining({ kind: "top_up", amountMicros: 100 * USD })]);
    await ownerToldMatching(inst, /\$100\.00 of credits added/);
    await runDurableObjectAlarm(stub(inst.id)).catch(() => undefined);
    const list = await ownerSays(inst, "/invoices");
    expect(list.parse_mode).toBe("HTML");
    expect(list.text).toContain("$100.00");
    expect(list.text).toMatch(/paid/);
    expect(list.text).toMatch(/\/invoice\/in_/);
    expect(list.text).toMatch(/pdf/i);
  });
});

describe("POST /stripe/webhook", () => {
  it("rejects forged signatures, altered bodies and old timestamps with 400 and changes nothing", async () => {
    const { inst, customer } = await withCard({ license: "pro", topUp: 250, rechargeAt: 100 });
    const before = await balance(inst);
    const fake = {
      id: `evt_fake_${inst.id}`,
      object: "event",
      type: "invoice.paid",
      data: {
        object: {
          id: "in_fake",
          object: "invoice",
          status: "paid",
          amount_paid: 1_000_000,
          metadata: { instance_id: inst.id, recharge_id: "rch_x" },
        },
      },
    };
    expect((await postStripeEvent(fake, { secret: "whsec_forged" })).status).toBe(400);
    expect(
      (await postStripeEvent(fake, { body: JSON.stringify({ ...fake, data: { object: { amount_paid: 5 } } }) })).status,
    ).toBe(400);
    expect((await postStripeEvent(fake, { timestamp: Math.floor(Date.now() / 1000) - 600 })).status).toBe(400);
    const unsigned = await (await import("cloudflare:test")).SELF.fetch("https://credits.example.test/stripe/webhook", {
      method: "POST",
      body: JSON.stringify(fake),
    });
    expect(unsigned.status).toBe(400);
    // Correctly signed but for an invoice this system never created: ignored.
    expect((await postStripeEvent(fake)).status).toBe(200);
    expect(await balance(inst)).toBe(before);
    expect(await ledgerKinds(inst)).toHaveLength(0);
    expect(customer).toMatch(/^cus_/);
    expect(env.STRIPE_WEBHOOK_SECRET).toBeTruthy();
  });
});

describe("daily limit", () => {
  it("after MAX_RECHARGES_PER_DAY recharges the owner is told, and no more recharges start that day", async () => {
    const { inst, customer } = await withCard({ license: "pro", topUp: 250, rechargeAt: 100 }); // $200
    let expected = 200 * USD;
    for (let i = 0; i < 5; i++) {
      const cost = expected - 90 * USD; // down to $90, below the $100 threshold
      await debit(inst, `day-${i}`, cost);
      expected = 90 * USD + 250 * USD;
      await waitForPaidInvoices(customer, i + 1);
      await waitForBalance(inst, expected);
    }
    await debit(inst, "day-6", expected - 90 * USD);
    const told = await ownerToldMatching(inst, /limit/i);
    expect(told.text).toMatch(/5/);
    await settle(1000);
    const s = await summary(customer);
    expect(s.invoices).toHaveLength(5);
    expect(s.payments).toBe(5);
    expect(await balance(inst)).toBe(90 * USD);
    expect((await ownerMessages(inst)).filter((m) => /limit/i.test(m.text))).toHaveLength(1);
  });
});
