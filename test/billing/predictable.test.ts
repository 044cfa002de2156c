import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { ADMIN, api, type Provisioned, provision, stub, USD } from "../helpers";
import { type SentMessage, settle } from "../telegram/fixtures";
import {
  balance,
  buttonUrl,
  debit,
  OWNER,
  ownerMessages,
  ownerSays,
  ownerToldMatching,
  Relay,
  stripeControl,
  stripeGet,
  summary,
  waitForBalance,
  waitForPaidInvoices,
  withCard,
} from "./fixtures";

/**
 * Auto-recharge that does what the owner was told (SPEC "Automatic recharge"): each test reproduces one
 * defect as the owner met it, through the bot and the Stripe stand-in, and fails on the code before the fix.
 */

function sessionOf(reply: SentMessage): string {
  const id = /\/pay\/(cs_[A-Za-z0-9_]+)/.exec(buttonUrl(reply))?.[1];
  if (!id) throw new Error(`no Checkout session in ${JSON.stringify(reply)}`);
  return id;
}

/** The owner's messages after the first `skip`, once one matches `pattern`. */
async function toldAfter(inst: Provisioned, skip: number, pattern: RegExp): Promise<SentMessage> {
  return vi.waitFor(
    async () => {
      const found = (await ownerMessages(inst)).slice(skip).find((m) => pattern.test(m.text));
      if (!found) throw new Error(`owner not told ${pattern}`);
      return found;
    },
    { timeout: 15_000, interval: 100 },
  );
}

async function autoRecharge(inst: Provisioned) {
  return (await api(`/admin/instances/${inst.id}`, { headers: ADMIN })).json.autoRecharge;
}

async function buyOnce(inst: Provisioned, relay: Relay | null, usd: number): Promise<Relay> {
  const reply = await ownerSays(inst, `/topUp:${usd}`);
  const sessionId = sessionOf(reply);
  const { customer } = await stripeGet<{ customer: string }>(`/v1/checkout/sessions/${sessionId}`);
  const r = relay ?? new Relay(() => customer);
  await stripeControl(`checkout/${sessionId}/complete`, { paymentMethod: "pm_card_visa" });
  for (const status of await r.deliverAll()) expect(status).toBe(200);
  return r;
}

describe("auto-recharge that does what the owner was told", () => {
  it("1. a card saved at a balance under the threshold: the owner is told before and in the confirmation that it is charged now, once", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "starter" }); // $50 ≤ $100
    const reply = await ownerSays(inst, "/setupCredits:500:100");
    expect(reply.text).not.toMatch(/Nothing is charged now/);
    expect(reply.text).toContain("$50.00");
    expect(reply.text).toMatch(/saving the card charges \$500\.00 now/);
    const sessionId = sessionOf(reply);
    const { customer } = await stripeGet<{ customer: string }>(`/v1/checkout/sessions/${sessionId}`);
    const relay = new Relay(() => customer);
    await stripeControl(`checkout/${sessionId}/complete`, { paymentMethod: "pm_card_visa" });
    expect(await relay.deliverAll((e) => e.type === "checkout.session.completed")).toEqual([200]);
    const saved = await ownerToldMatching(inst, /saved/);
    expect(saved.text).toMatch(/charged \$500\.00 now/);
    await waitForPaidInvoices(customer, 1);
    await waitForBalance(inst, 550 * USD);
    await relay.deliverAll();
    await settle(500);
    const s = await summary(customer);
    expect(s.invoices).toHaveLength(1);
    expect(s.payments).toBe(1);

    // Above the threshold the link says nothing is charged, and nothing is.
    const again = await ownerSays(inst, "/setupCredits:500:100");
    expect(again.text).toMatch(/Nothing is charged now/);
  });

  it("2. a new card pays an old failed invoice only while the balance is at or under the threshold; otherwise the invoice is voided and the owner told", async () => {
    const { inst, customer, relay } = await withCard({
      license: "starter",
      topUp: 250,
      rechargeAt: 100,
      card: "pm_card_chargeDeclined",
    });
    await ownerToldMatching(inst, /Auto-recharge failed/);
    const failed = (await summary(customer)).invoices.find((i) => i.status === "open");
    if (!failed) throw new Error("no unpaid invoice");
    await buyOnce(inst, relay, 1000);
    await waitForBalance(inst, 1050 * USD);

    const before = (await ownerMessages(inst)).length;
    const reply = await ownerSays(inst, "/setupCredits:250:100");
    expect(reply.text).toMatch(/Nothing is charged now/);
    expect(reply.text).toMatch(/unpaid \$250\.00 invoice/);
    await stripeControl(`checkout/${sessionOf(reply)}/complete`, { paymentMethod: "pm_card_visa" });
    expect(await relay.deliverAll((e) => e.type === "checkout.session.completed")).toEqual([200]);
    const told = await toldAfter(inst, before, /saved/);
    expect(told.text).toMatch(/unpaid \$250\.00 invoice .*cancelled/);
    expect(told.text).toContain("$1,050.00");
    await runDurableObjectAlarm(stub(inst.id)).catch(() => undefined);
    await relay.deliverAll();
    await settle(500);
    const invoice = await stripeGet<{ status: string }>(`/v1/invoices/${failed.id}`);
    expect(invoice.status).toBe("void");
    expect((await summary(customer)).payments).toBe(1); // the top-up only
    expect(await balance(inst)).toBe(1050 * USD);
  });

  it("3. new settings under the threshold start one recharge, said in the reply; a top-up smaller than the gap tells the owner the fix instead of charging again", async () => {
    const { inst, customer, relay } = await withCard({ license: "pro", topUp: 250, rechargeAt: 100 }); // $200
    const grant = await api(`/admin/instances/${inst.id}/adjustments`, {
      method: "POST",
      headers: ADMIN,
      body: { idempotencyKey: "to-550", amountMicros: 350 * USD, reason: "test" },
    });
    expect(grant.status).toBeLessThan(300);
    expect(await balance(inst)).toBe(550 * USD);
    const before = (await ownerMessages(inst)).length;
    const reply = await ownerSays(inst, "/changeCreditsTopUp:250:5000");
    expect(reply.text).toMatch(/charged \$250\.00 now/);
    await waitForPaidInvoices(customer, 1);
    const short = await toldAfter(inst, before, /smaller than the gap/);
    expect(short.text).toMatch(/added \$250\.00/);
    expect(short.text).toContain("$800.00");
    expect(short.text).toMatch(/\/topUp:4201\b/);
    await relay.deliverAll();
    await settle(3000);
    await runDurableObjectAlarm(stub(inst.id)).catch(() => undefined);
    // Spending under the threshold without having been above it starts nothing.
    await debit(inst, "spend", 100 * USD);
    await settle(1500);
    const s = await summary(customer);
    expect(s.invoices).toHaveLength(1);
    expect(s.payments).toBe(1);
    expect(await balance(inst)).toBe(700 * USD);
    expect((await ownerMessages(inst)).filter((m) => /limit/i.test(m.text))).toEqual([]);

    // Above the threshold, then down to it again: the next crossing recharges once more.
    await api(`/admin/instances/${inst.id}/adjustments`, {
      method: "POST",
      headers: ADMIN,
      body: { idempotencyKey: "above", amountMicros: 4_400 * USD, reason: "test" },
    });
    await debit(inst, "cross", 200 * USD); // $5,100 → $4,900
    await waitForPaidInvoices(customer, 2);
    await waitForBalance(inst, 5_150 * USD);
  });

  it("5. an older card link completed saves its card with the settings it was made with, and the owner is told which; one older than the saved card is refused with a message", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "pro" }); // $200
    const first = await ownerSays(inst, "/setupCredits:250:100");
    const second = await ownerSays(inst, "/setupCredits:300:120");
    const { customer } = await stripeGet<{ customer: string }>(`/v1/checkout/sessions/${sessionOf(first)}`);
    const relay = new Relay(() => customer);
    let before = (await ownerMessages(inst)).length;
    await stripeControl(`checkout/${sessionOf(first)}/complete`, { paymentMethod: "pm_card_visa" });
    expect(await relay.deliverAll((e) => e.type === "checkout.session.completed")).toEqual([200]);
    const told = await toldAfter(inst, before, /saved/);
    expect(told.text).toMatch(/older card link/);
    expect(told.text).toMatch(/drops to \$100\.00, the card is charged \$250\.00/);
    expect(told.text).toMatch(/newer \/setupCredits link is still open/);
    expect(await autoRecharge(inst)).toMatchObject({
      enabled: true,
      status: "active",
      topUpMicros: 250 * USD,
      rechargeAtMicros: 100 * USD,
    });

    // The newer link, completed afterwards, replaces them.
    before = (await ownerMessages(inst)).length;
    await stripeControl(`checkout/${sessionOf(second)}/complete`, { paymentMethod: "pm_card_visa" });
    expect(await relay.deliverAll((e) => e.type === "checkout.session.completed")).toEqual([200]);
    await toldAfter(inst, before, /saved\. Auto-recharge is on.*\$120\.00/);
    expect(await autoRecharge(inst)).toMatchObject({ topUpMicros: 300 * USD, rechargeAtMicros: 120 * USD });

    // A link older than the saved card's, completed last, changes nothing and says so.
    const third = await ownerSays(inst, "/setupCredits:400:150");
    const fourth = await ownerSays(inst, "/setupCredits:350:130");
    await stripeControl(`checkout/${sessionOf(fourth)}/complete`, { paymentMethod: "pm_card_visa" });
    expect(await relay.deliverAll((e) => e.type === "checkout.session.completed")).toEqual([200]);
    before = (await ownerMessages(inst)).length;
    await stripeControl(`checkout/${sessionOf(third)}/complete`, { paymentMethod: "pm_card_visa" });
    expect(await relay.deliverAll((e) => e.type === "checkout.session.completed")).toEqual([200]);
    await toldAfter(inst, before, /older card link, so nothing changed/);
    expect(await autoRecharge(inst)).toMatchObject({ topUpMicros: 350 * USD, rechargeAtMicros: 130 * USD });
  });

  it("6. one ✅ per recovery, naming the credit and the new balance, after what happened before it", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "starter" }); // $50
    expect((await debit(inst, "drain", 50 * USD)).status).toBe(200);
    await ownerToldMatching(inst, /Out of credits/);
    const before = (await ownerMessages(inst)).length;
    await buyOnce(inst, null, 100);
    await waitForBalance(inst, 100 * USD);
    await toldAfter(inst, before, /credits added/);
    await settle(1000);
    const after = (await ownerMessages(inst)).slice(before);
    const checks = after.filter((m) => m.text.includes("✅"));
    expect(checks.map((m) => m.text)).toHaveLength(1);
    expect(checks[0]?.text).toMatch(/\$100\.00 of credits added/);
    expect(checks[0]?.text).toContain("Balance: $100.00");
    expect(checks[0]?.text).toMatch(/answering your clients again/);
  });
});
