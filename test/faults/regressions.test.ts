import {
  createExecutionContext,
  createScheduledController,
  env,
  runDurableObjectAlarm,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import type Stripe from "stripe";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import {
  balance,
  buttonUrl,
  cardLinkCompleted,
  checkoutOf,
  debit,
  ledgerKinds,
  OWNER,
  ownerMessages,
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
import { ADMIN, api, type Provisioned, provision, stub, USD } from "../helpers";
import { failTelegram } from "../telegram/fixtures";

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

  it("I5: after a given-up recharge a debit under the threshold starts none (one per crossing); a new card pays that invoice once", async () => {
    const { inst, customer, relay } = await withCard({ license: "pro", topUp: 250, rechargeAt: 150 }); // $200
    // Stripe fails every pay call for a while: the first recharge gives up after its attempts …
    await stripeControl("fault", { match: { customer, pathSuffix: "/pay" }, kind: "500", count: 9 });
    await debit(inst, "first", 60 * USD); // $140 ≤ $150
    await driveUntil(inst, (rows) => rows[0]?.status === "failed");
    // … the next debit is still under the threshold of the same crossing: no second recharge (the card would be
    // charged again for one crossing; the owner was told how to fix the card).
    await debit(inst, "second", 1 * USD);
    for (let i = 0; i < 5 && (await runDurableObjectAlarm(stub(inst.id))); i++);
    expect((await driveUntil(inst, () => true)).map((r) => r.status)).toEqual(["failed"]);
    // The owner saves a new card: the balance is still under the threshold, so it pays the given-up invoice.
    const reply = await ownerSays(inst, "/setupCredits:250:150");
    const sessionId = /\/pay\/(cs_[A-Za-z0-9_]+)/.exec(buttonUrl(reply))?.[1] as string;
    await stripeControl(`checkout/${sessionId}/complete`, { paymentMethod: "pm_card_visa" });
    await relay.deliverAll((e) => e.type === "checkout.session.completed");
    const rows = await driveUntil(inst, (r) => !r.some((x) => x.status === "pending" || x.status === "open"));
    expect(rows.map((r) => r.status)).toEqual(["paid"]);
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

  it("I10: an out-of-credits notice held back by a Telegram error is not sent after the credits came back (seed 20261206, sequence 347)", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "starter" });
    const adjust = (key: string, amountMicros: number) =>
      api(`/admin/instances/${inst.id}/adjustments`, {
        method: "POST",
        headers: ADMIN,
        body: { idempotencyKey: key, amountMicros, reason: "test" },
      });
    // The notice's first attempt meets a Telegram 500; the sender tries again half a second later.
    await failTelegram(inst.botToken, "sendMessage", 500, 1);
    expect((await adjust("empty", -inst.balanceMicros)).status).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 150));
    // Meanwhile credits come back: the episode is over before the notice could go out.
    expect((await adjust("back", 100 * USD)).status).toBe(201);
    await ownerToldMatching(inst, /Credits are back/);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const told = (await ownerMessages(inst)).map((m) => m.text);
    const back = told.findIndex((t) => /Credits are back/.test(t));
    // The owner never reads "out of credits" after "credits are back" for the same episode.
    expect(told.slice(back + 1).filter((t) => /Out of credits/i.test(t))).toEqual([]);
  });

  it("L1: a declined recharge the owner paid on its hosted page is credited by the hourly run when invoice.paid is lost (seed 1998793652)", async () => {
    // The starter's $50 is under the $100 threshold: saving the card starts a recharge, which the card declines.
    const { inst, customer } = await withCard({
      license: "starter",
      topUp: 250,
      rechargeAt: 100,
      card: "pm_card_chargeDeclined",
    });
    await ownerToldMatching(inst, /declined/i);
    const open = (await summary(customer)).invoices.filter((i) => i.status === "open");
    expect(open).toHaveLength(1);
    // The owner pays that invoice on Stripe's hosted page (from Stripe's email); invoice.paid never arrives.
    await stripeControl(`invoices/${open[0]?.id}/pay`, { paymentMethod: "pm_card_visa" });
    expect(await balance(inst)).toBe(50 * USD);
    for (let i = 0; i < 5 && (await runDurableObjectAlarm(stub(inst.id))); i++);
    // The next hourly run checks what is still payable at Stripe: the payment is credited, once.
    for (const at of [Date.now() + 3_600_000, Date.now() + 7_200_000]) {
      const ctx = createExecutionContext();
      await worker.scheduled(createScheduledController({ scheduledTime: at, cron: "0 * * * *" }), env, ctx);
      await waitOnExecutionContext(ctx);
    }
    expect(await balance(inst)).toBe(300 * USD);
    expect((await ledgerKinds(inst)).filter((e) => e.kind === "recharge")).toHaveLength(1);
  });

  it("I12: a top-up ended by checkout.session.expired is copied to D1 by an alarm armed for it (seed 20261206, sequence 153)", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "starter" });
    const { sessionId, customer } = await checkoutOf(await ownerSays(inst, "/topUp:50"));
    // Everything due has run (the open top-up is in D1): no alarm is left.
    for (let i = 0; i < 5 && (await runDurableObjectAlarm(stub(inst.id))); i++);
    await stripeControl(`checkout/${sessionId}/expire-now`, {});
    const expired = (await stripeEvents(customer)).find((e) => e.type === "checkout.session.expired");
    expect(await post(expired as StripeEventRecord)).toBe(200);
    // The top-up ended in the object; an alarm must copy that to D1, where /invoices and cron read it.
    expect(await runDurableObjectAlarm(stub(inst.id))).toBe(true);
    const copies = await env.DB.prepare("SELECT status FROM recharges WHERE instance_id = ?")
      .bind(inst.id)
      .all<{ status: string }>();
    expect(copies.results.map((r) => r.status)).toEqual(["expired"]);
  });

  it("L6: a card save whose customers.update answered 500 after success is saved when Stripe sends the event again (seed 20261206, sequence 51)", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "pro" });
    const { customer } = await cardLinkCompleted(inst);
    // Stripe makes the card the default, then answers 500, and keeps that 500 under the request's key (24 h).
    await stripeControl("fault", {
      match: { customer, pathPrefix: `/v1/customers/${customer}`, method: "POST" },
      kind: "500_after_success",
      replay: "error",
      count: 1,
    });
    const completed = (await stripeEvents(customer)).find((e) => e.type === "checkout.session.completed");
    expect(await post(completed as StripeEventRecord)).toBe(502);
    // Stripe delivers it again: the card is saved, not refused for ever under the kept 500.
    expect(await post(completed as StripeEventRecord)).toBe(200);
    await ownerToldMatching(inst, /saved/i);
    const row = await runInDurableObject(stub(inst.id), (_o, s) =>
      s.storage.sql
        .exec<{ payment_method_id: string | null; auto_enabled: number }>(
          "SELECT payment_method_id, auto_enabled FROM billing",
        )
        .one(),
    );
    expect(row.payment_method_id).toBeTruthy();
    expect(row.auto_enabled).toBe(1);
  });
});

describe("a Stripe event whose object is reset while it is handled", () => {
  it("I14: is not acknowledged unrecorded: storage failing mid-event leaves the event for Stripe to send again (seed 1393772715)", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "pro" });
    const { customer } = await cardLinkCompleted(inst);
    const completed = (await stripeEvents(customer)).find((e) => e.type === "checkout.session.completed");
    const event = completed?.payload as unknown as Stripe.Event;
    const outcome = await runInDurableObject(stub(inst.id), async (instance, state) => {
      const sql = state.storage.sql;
      const exec = sql.exec.bind(sql);
      let reset = false;
      sql.exec = ((query: string, ...bindings: unknown[]) => {
        if (reset) throw new Error("Application called abortAllDurableObjects().");
        return exec(query, ...bindings);
      }) as typeof sql.exec;
      // The runtime reset the object as the event came in: every storage call of the handler throws, as
      // after an eviction (made exact here by making storage throw, instead of racing a real reset).
      reset = true;
      const result = await instance.stripeEvent(event).then(
        (answer) => ({ answered: answer }),
        (error: unknown) => ({ threw: String(error) }),
      );
      sql.exec = exec;
      return result;
    });
    // "ignored" would be a 200 to Stripe for an event never recorded: lost for good.
    expect(outcome).not.toEqual({ answered: { ok: true, outcome: "ignored" } });
    expect(outcome).not.toMatchObject({ answered: { ok: true } });
    const recorded = await runInDurableObject(stub(inst.id), (_o, s) =>
      s.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM stripe_events").one(),
    );
    expect(recorded.n).toBe(0);
  });
});
