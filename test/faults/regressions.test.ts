import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  balance,
  buttonUrl,
  debit,
  ledgerKinds,
  OWNER,
  ownerSays,
  ownerToldMatching,
  postStripeEvent,
  type StripeEventRecord,
  stripeControl,
  stripeEvents,
  stripeGet,
  summary,
  withCard,
} from "../billing/fixtures";
import { type Provisioned, provision, stub, USD } from "../helpers";

/**
 * Regressions found by the fault simulation (test/faults/simulation.eviction.test.ts), replayed as plain
 * scenarios. Each names the invariant it broke (docs/invariants.md) and how it was found.
 */

/** A $120 top-up through Checkout, paid with a card that succeeds; its events are not delivered yet. */
async function paidTopUp(): Promise<{ inst: Provisioned; customer: string; invoice: string }> {
  const inst = await provision({ ownerTelegramId: OWNER, license: "starter" }); // $50
  const reply = await ownerSays(inst, "/topUp:120");
  const sessionId = /\/pay\/(cs_[A-Za-z0-9_]+)/.exec(buttonUrl(reply))?.[1] as string;
  const session = await stripeGet<{ customer: string }>(`/v1/checkout/sessions/${sessionId}`);
  await stripeControl(`checkout/${sessionId}/complete`, { paymentMethod: "pm_card_visa" });
  const invoice = (await summary(session.customer)).invoices[0]?.id as string;
  return { inst, customer: session.customer, invoice };
}

const post = async (e: StripeEventRecord) => (await postStripeEvent(e.payload)).status;

interface RechargeState {
  id: string;
  status: string;
  attempts: number;
}

/**
 * Time passes for the recharge backoff: pending steps fall due and the object's own alarm runs them (never
 * two alarm runs at once, so each attempt meets exactly one Stripe fault), until `done` holds.
 */
async function driveUntil(inst: Provisioned, done: (rows: RechargeState[]) => boolean): Promise<RechargeState[]> {
  let rows: RechargeState[] = [];
  for (let i = 0; i < 300; i++) {
    rows = await runInDurableObject(stub(inst.id), async (_o, state) => {
      const found = state.storage.sql
        .exec<RechargeState & Record<string, SqlStorageValue>>(
          "SELECT id, status, attempts FROM recharges WHERE kind = 'auto' ORDER BY created_at",
        )
        .toArray();
      if (!done(found) && found.some((r) => r.status === "pending")) {
        state.storage.sql.exec("UPDATE recharges SET next_attempt_at = ? WHERE status = 'pending'", Date.now());
        if (((await state.storage.getAlarm()) ?? Number.POSITIVE_INFINITY) > Date.now() + 50) {
          await state.storage.setAlarm(Date.now());
        }
      }
      return found;
    });
    if (done(rows)) return rows;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`recharges did not get there: ${JSON.stringify(rows)}`);
}

const refunds = async (inst: Provisioned) =>
  (await ledgerKinds(inst)).filter((e) => e.kind === "refund").reduce((n, e) => n - e.amountMicros, 0);

describe("regressions found by the fault simulation", () => {
  it("L3: a dispute delivered before an earlier partial refund takes back both (seed 5152)", async () => {
    const { inst, customer, invoice } = await paidTopUp();
    for (const e of await stripeEvents(customer)) expect(await post(e)).toBe(200);
    expect(await balance(inst)).toBe(170 * USD);
    await stripeControl("refund", { invoice, amount: 4_000 }); // $40 back to the card …
    await stripeControl("dispute", { invoice }); // … then the other $80 disputed
    const events = await stripeEvents(customer);
    const dispute = events.find((e) => e.type === "charge.dispute.created") as StripeEventRecord;
    const refund = events.find((e) => e.type === "charge.refunded") as StripeEventRecord;
    // Stripe delivers the dispute first: the refund that happened before it must still be taken back.
    expect(await post(dispute)).toBe(200);
    expect(await post(refund)).toBe(200);
    expect(await post(refund)).toBe(200);
    expect(await refunds(inst)).toBe(120 * USD);
    expect(await balance(inst)).toBe(50 * USD);
  });

  it("L3: a refund delivered before the credit of the payment it returns is taken back once it is credited", async () => {
    const { inst, customer, invoice } = await paidTopUp();
    await stripeControl("refund", { invoice });
    const events = await stripeEvents(customer);
    const refund = events.find((e) => e.type === "charge.refunded") as StripeEventRecord;
    // Before the top-up is credited the refund is refused, not dropped: Stripe will deliver it again.
    expect(await post(refund)).toBe(502);
    expect(await balance(inst)).toBe(50 * USD);
    for (const e of events.filter((x) => x !== refund)) expect(await post(e)).toBe(200);
    expect(await balance(inst)).toBe(170 * USD);
    expect(await post(refund)).toBe(200);
    expect(await post(refund)).toBe(200);
    expect(await refunds(inst)).toBe(120 * USD);
    expect(await balance(inst)).toBe(50 * USD);
  });

  it("I5: a new card does not revive a given-up recharge while another one is in flight (one charge)", async () => {
    const { inst, customer, relay } = await withCard({ license: "pro", topUp: 250, rechargeAt: 150 }); // $200
    // Stripe fails every pay call for a while: the first recharge gives up after its attempts …
    await stripeControl("fault", { match: { customer, pathSuffix: "/pay" }, kind: "500", count: 9 });
    await debit(inst, "first", 60 * USD); // $140 ≤ $150
    await driveUntil(inst, (rows) => rows[0]?.status === "failed");
    // … the next debit starts a second one, whose first pay fails too: it waits for its retry.
    await debit(inst, "second", 1 * USD);
    await driveUntil(inst, (rows) => rows[1]?.status === "pending" && (rows[1]?.attempts ?? 0) >= 1);
    // The owner saves a new card meanwhile.
    const reply = await ownerSays(inst, "/setupCredits:250:150");
    const sessionId = /\/pay\/(cs_[A-Za-z0-9_]+)/.exec(buttonUrl(reply))?.[1] as string;
    await stripeControl(`checkout/${sessionId}/complete`, { paymentMethod: "pm_card_visa" });
    await relay.deliverAll((e) => e.type === "checkout.session.completed");
    const rows = await driveUntil(inst, (r) => !r.some((x) => x.status === "pending" || x.status === "open"));
    // One recharge was due, so the card is charged once: the given-up one stays given up.
    expect(rows.map((r) => r.status)).toEqual(["failed", "paid"]);
    expect((await summary(customer)).payments).toBe(1);
    expect(await balance(inst)).toBe((139 + 250) * USD);
  });

  it("a late invoice.payment_action_required does not reopen a recharge a later card declined (seed 90210)", async () => {
    const { inst, relay } = await withCard({
      license: "starter", // $50 ≤ $100: recharges at once …
      topUp: 250,
      rechargeAt: 100,
      card: "pm_card_authenticationRequired", // … and the bank asks the owner to confirm
    });
    await ownerToldMatching(inst, /confirm/i);
    // The owner saves another card instead; it is declined. The old "action required" event is still queued.
    const reply = await ownerSays(inst, "/setupCredits:250:100");
    const sessionId = /\/pay\/(cs_[A-Za-z0-9_]+)/.exec(buttonUrl(reply))?.[1] as string;
    await stripeControl(`checkout/${sessionId}/complete`, { paymentMethod: "pm_card_chargeDeclinedInsufficientFunds" });
    await relay.deliverAll((e) => e.type === "checkout.session.completed" && e.payload.data.object.id === sessionId);
    await ownerToldMatching(inst, /Auto-recharge failed/);
    for (const status of await relay.deliverAll()) expect(status).toBe(200);
    const state = await runInDurableObject(stub(inst.id), (_o, s) => ({
      recharge: s.storage.sql.exec<{ status: string }>("SELECT status FROM recharges").one().status,
      billing: s.storage.sql.exec<{ status: string }>("SELECT status FROM billing").one().status,
    }));
    expect(state).toEqual({ recharge: "failed", billing: "failing" });
  });

  it("I12: a recharge changed by a webhook is copied to D1 by an alarm armed for it (seed 77)", async () => {
    const { inst, customer } = await withCard({
      license: "starter",
      topUp: 250,
      rechargeAt: 100,
      card: "pm_card_authenticationRequired",
    });
    await ownerToldMatching(inst, /confirm/i);
    // Everything due has run: no alarm is left.
    for (let i = 0; i < 5 && (await runDurableObjectAlarm(stub(inst.id))); i++);
    // Stripe's own "action required" event arrives: the recharge row changes, so an alarm must copy it.
    const event = (await stripeEvents(customer)).find((e) => e.type === "invoice.payment_action_required");
    expect(await post(event as StripeEventRecord)).toBe(200);
    expect(await runDurableObjectAlarm(stub(inst.id))).toBe(true);
    const local = await runInDurableObject(stub(inst.id), (_o, s) =>
      s.storage.sql.exec<{ id: string; updated_at: number }>("SELECT id, updated_at FROM recharges").one(),
    );
    const copy = await env.DB.prepare("SELECT status, updated_at FROM recharges WHERE id = ?")
      .bind(local.id)
      .first<{ status: string; updated_at: number }>();
    expect(copy).toEqual({ status: "open", updated_at: local.updated_at });
  });
});
