import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { BillingSettings } from "../../src/billing/settings";
import { ADMIN, api, botToken, freshId, provision, stub, USD } from "../helpers";
import { deliver, privateText, sentMessages, settle, updateId, waitForMessages } from "../telegram/fixtures";
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
  Relay,
  stripeControl,
  stripeGet,
  summary,
  waitForBalance,
  waitForPaidInvoices,
  withCard,
} from "./fixtures";

/**
 * Money defects an outside review found against real Stripe's behaviour (see docs/invariants.md): each
 * test reproduces one as the review did and fails on the code before the fix.
 */

interface RechargeState extends Record<string, SqlStorageValue> {
  id: string;
  status: string;
  step: string;
  attempts: number;
  checkout_session_id: string | null;
}

async function recharges(instanceId: string): Promise<RechargeState[]> {
  return runInDurableObject(stub(instanceId), (_i, state) =>
    state.storage.sql
      .exec<RechargeState>("SELECT id, status, step, attempts, checkout_session_id FROM recharges ORDER BY created_at")
      .toArray(),
  );
}

/** Time passes for the recharge's backoff: its next attempt is due now, and the alarm runs. */
async function nextAttemptNow(instanceId: string): Promise<void> {
  await runInDurableObject(stub(instanceId), (_i, state) => {
    state.storage.sql.exec("UPDATE recharges SET next_attempt_at = 0 WHERE status = 'pending'");
  });
  await runDurableObjectAlarm(stub(instanceId));
}

async function saveNewCard(inst: Awaited<ReturnType<typeof withCard>>["inst"], relay: Relay, setup: string) {
  const reply = await ownerSays(inst, setup);
  const sessionId = /\/pay\/(cs_[A-Za-z0-9_]+)/.exec(buttonUrl(reply))?.[1] as string;
  await stripeControl(`checkout/${sessionId}/complete`, { paymentMethod: "pm_card_visa" });
  await relay.deliverAll((e) => e.type === "checkout.session.completed");
  return sessionId;
}

describe("billing you can trust", () => {
  it("1. a late 500 after invoice.paid credited changes nothing: no ⚠️, no second credit after a new card, a refund, or the hourly run", async () => {
    const { inst, customer, relay } = await withCard({ license: "pro", topUp: 250, rechargeAt: 150 });
    await stripeControl("fault", { match: { customer, pathSuffix: "/pay" }, kind: "500", count: 7 });
    await debit(inst, "cross", 60 * USD); // $140 ≤ $150: one recharge starts
    await vi.waitFor(
      async () => {
        if ((await recharges(inst.id))[0]?.attempts !== 1) throw new Error("first pay not failed yet");
      },
      { timeout: 15_000, interval: 50 },
    );
    for (let attempt = 2; attempt <= 7; attempt++) {
      await nextAttemptNow(inst.id);
      expect((await recharges(inst.id))[0]).toMatchObject({ status: "pending", step: "pay", attempts: attempt });
    }
    // The 8th and last attempt pays at Stripe; its answer is a 500 that arrives 2 s later.
    await stripeControl("fault", {
      match: { customer, pathSuffix: "/pay" },
      kind: "500_after_success",
      count: 1,
      delayMs: 2_000,
    });
    await runInDurableObject(stub(inst.id), (_i, state) => {
      state.storage.sql.exec("UPDATE recharges SET next_attempt_at = 0 WHERE status = 'pending'");
    });
    const lastAttempt = runDurableObjectAlarm(stub(inst.id));
    await waitForPaidInvoices(customer, 1);
    expect(await relay.deliverAll((e) => e.type === "invoice.paid")).toEqual([200]);
    await waitForBalance(inst, 390 * USD);
    await lastAttempt;
    await settle(300);
    expect((await recharges(inst.id))[0]?.status).toBe("paid");
    const told = (await ownerMessages(inst)).map((m) => m.text);
    expect(told.some((t) => /Auto-recharge added/.test(t))).toBe(true);
    expect(told.filter((t) => /Auto-recharge failed/.test(t))).toEqual([]);

    // A new card does not pay the (paid) invoice again; nor does the hourly run.
    await saveNewCard(inst, relay, "/setupCredits:250:150");
    await runDurableObjectAlarm(stub(inst.id));
    await stub(inst.id).hourly(Date.now());
    await settle(500);
    expect(await balance(inst)).toBe(390 * USD);

    // A refund of that invoice is taken back at once (not refused until Stripe gives up).
    const invoice = (await summary(customer)).invoices[0]?.id as string;
    await stripeControl("refund", { invoice, amount: 10_000 });
    expect(await relay.deliverAll((e) => e.type === "charge.refunded")).toEqual([200]);
    expect(await balance(inst)).toBe(290 * USD);
    expect((await ledgerKinds(inst)).filter((e) => e.kind === "recharge")).toHaveLength(1);
  });

  it("2. a dispute traced through its payment intent takes the credits back once; a won dispute gives them back once", async () => {
    // A one-off top-up (no auto-recharge would refill what the dispute takes).
    const inst = await provision({ ownerTelegramId: OWNER });
    const reply = await ownerSays(inst, "/topUp:100");
    const sessionId = /\/pay\/(cs_[A-Za-z0-9_]+)/.exec(buttonUrl(reply))?.[1] as string;
    const { customer } = await stripeGet<{ customer: string }>(`/v1/checkout/sessions/${sessionId}`);
    const relay = new Relay(() => customer);
    await stripeControl(`checkout/${sessionId}/complete`, { paymentMethod: "pm_card_visa" });
    await relay.deliverAll();
    await waitForBalance(inst, 150 * USD);
    const invoice = (await summary(customer)).invoices[0]?.id as string;
    const { dispute } = await stripeControl<{ dispute: { id: string; charge: string } }>("dispute", { invoice });
    // As Stripe sends it: the charge carries none of the invoice's metadata.
    const charge = await stripeGet<{ metadata: Record<string, string> }>(`/v1/charges/${dispute.charge}`);
    expect(charge.metadata).toEqual({});
    const opened = await relay.pending();
    expect(opened.map((e) => e.type)).toEqual(["charge.dispute.created", "charge.dispute.funds_withdrawn"]);
    for (const e of opened) {
      expect((await postStripeEvent(e.payload)).status).toBe(200);
      expect((await postStripeEvent(e.payload)).status).toBe(200);
    }
    await relay.deliverAll();
    expect(await balance(inst)).toBe(50 * USD);

    await stripeControl(`disputes/${dispute.id}/close`, { outcome: "won" });
    const won = await relay.pending();
    expect(won.map((e) => e.type)).toEqual(["charge.dispute.funds_reinstated", "charge.dispute.closed"]);
    for (const e of [...won, ...won]) expect((await postStripeEvent(e.payload)).status).toBe(200);
    expect(await balance(inst)).toBe(150 * USD);
    const kinds = (await api(`/admin/instances/${inst.id}/ledger`, { headers: ADMIN })).json.entries as {
      kind: string;
      amountMicros: number;
    }[];
    expect(kinds.filter((e) => e.kind === "refund").map((e) => e.amountMicros)).toEqual([-100 * USD]);
    expect(kinds.filter((e) => e.kind === "dispute_won").map((e) => e.amountMicros)).toEqual([100 * USD]);
  });

  it("3. an abandoned /topUp ends when Stripe expires its session (event or hourly run), and the owner is told", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    const first = await ownerSays(inst, "/topUp:100");
    const firstSession = /\/pay\/(cs_[A-Za-z0-9_]+)/.exec(buttonUrl(first))?.[1] as string;
    const { customer } = await stripeGet<{ customer: string }>(`/v1/checkout/sessions/${firstSession}`);
    const relay = new Relay(() => customer);
    await stripeControl(`checkout/${firstSession}/expire-now`, {});
    expect(await relay.deliverAll((e) => e.type === "checkout.session.expired")).toEqual([200]);
    await ownerToldMatching(inst, /expired/i);
    expect((await recharges(inst.id)).map((r) => r.status)).toEqual(["expired"]);

    // The event is lost: the hourly run asks Stripe and ends the top-up all the same.
    const second = await ownerSays(inst, "/topUp:60");
    const secondSession = /\/pay\/(cs_[A-Za-z0-9_]+)/.exec(buttonUrl(second))?.[1] as string;
    await stripeControl(`checkout/${secondSession}/expire-now`, {});
    await stub(inst.id).hourly(Date.now());
    expect((await recharges(inst.id)).map((r) => r.status)).toEqual(["expired", "expired"]);
    expect(await balance(inst)).toBe(inst.balanceMicros);
  });

  it("4. provisioning whose D1 write fails still answers 201; the alarm makes the registry row; a retry completes it", async () => {
    const id = freshId("d1down");
    const token = botToken();
    const request = { id, telegramBotToken: token, ownerTelegramId: 777004, license: "starter" };
    await env.DB.exec(
      `CREATE TRIGGER registry_down_${id.replaceAll("-", "_")} BEFORE INSERT ON instances WHEN NEW.id = '${id}' BEGIN SELECT RAISE(ABORT, 'D1 is down'); END`,
    );
    const first = await api("/admin/instances", { method: "POST", headers: ADMIN, body: request });
    expect(first.status).toBe(201);
    const registry = () => env.DB.prepare("SELECT id, balance_micros FROM instances WHERE id = ?").bind(id).first();
    expect(await registry()).toBeNull();
    await env.DB.exec(`DROP TRIGGER registry_down_${id.replaceAll("-", "_")}`);
    await runDurableObjectAlarm(stub(id));
    expect(await registry()).toMatchObject({ id, balance_micros: 50 * USD });

    // The operator never saw the first answer and sends the same request again: completed, with a new key.
    const retry = await api("/admin/instances", { method: "POST", headers: ADMIN, body: request });
    expect(retry.status).toBe(201);
    expect(retry.json).toMatchObject({ id, balanceMicros: 50 * USD });
    const oldKey = { authorization: `Bearer ${first.json.apiKey as string}` };
    const newKey = { authorization: `Bearer ${retry.json.apiKey as string}` };
    expect((await api(`/v1/instances/${id}/balance`, { headers: oldKey })).status).toBe(403);
    expect((await api(`/v1/instances/${id}/balance`, { headers: newKey })).json.balanceMicros).toBe(50 * USD);
    // The bonus was granted once; another owner for the same id is still refused.
    const ledger = await api(`/admin/instances/${id}/ledger`, { headers: ADMIN });
    expect((ledger.json.entries as unknown[]).length).toBe(1);
    const other = await api("/admin/instances", {
      method: "POST",
      headers: ADMIN,
      body: { ...request, ownerTelegramId: 5 },
    });
    expect(other.status).toBe(409);
  });

  it("5. the bot's hold keys are not the API's: a pipeline key like tg:<update_id> neither silences the update nor tells the owner 'out'", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    const next = updateId() + 1;
    const taken = await api(`/v1/instances/${inst.id}/holds`, {
      method: "POST",
      headers: inst.auth,
      body: { idempotencyKey: `tg:${next}`, operation: "knowhow_update", maxCostMicros: 1 * USD },
    });
    expect(taken.status).toBe(201);
    const reserved = await api(`/v1/instances/${inst.id}/holds`, {
      method: "POST",
      headers: inst.auth,
      body: { idempotencyKey: `internal telegram-update:${next}`, operation: "response", maxCostMicros: 1 * USD },
    });
    expect(reserved.status).toBe(400);
    await deliver(inst, { ...privateText({ id: 9501 }, "hello"), update_id: next });
    await waitForMessages(inst.botToken, 9501, 1);
    await settle(300);
    expect((await sentMessages(inst.botToken, OWNER)).filter((m) => /out of credits/i.test(m.text))).toEqual([]);
  });

  it("6. a /setupCredits sent while an earlier card is being saved stays pending (compare-and-set), and the earlier link is never silent", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "pro" });
    // The transition itself: card A is saved after /setupCredits B arrived in the window → B stays pending.
    await runInDurableObject(stub(inst.id), (_i, state) => {
      const settings = new BillingSettings(state.storage.sql);
      settings.cardRequested("cs_A", 250 * USD, 100 * USD);
      settings.cardRequested("cs_B", 300 * USD, 120 * USD); // sent while A's card was being saved
      const saved = settings.cardSaved({
        sessionId: "cs_A",
        paymentMethodId: "pm_A",
        brand: "visa",
        last4: "4242",
        topUpMicros: 250 * USD,
        rechargeAtMicros: 100 * USD,
      });
      expect(saved).toEqual({ newerPending: true });
      expect(settings.row().pending_session_id).toBe("cs_B");
      state.storage.sql.exec(
        "UPDATE billing SET payment_method_id = NULL, pending_session_id = NULL, top_up_micros = NULL, recharge_at_micros = NULL, auto_enabled = 0",
      );
      settings.forgetCachedRow();
    });

    // Through Stripe: saving A's card fails after Stripe made it the default (a 500 after success); meanwhile
    // the owner asks for link B. A is redelivered: the owner is told it changed nothing; B, completed, counts.
    const first = await ownerSays(inst, "/setupCredits:250:100");
    const sessionA = /\/pay\/(cs_[A-Za-z0-9_]+)/.exec(buttonUrl(first))?.[1] as string;
    const { customer } = await stripeGet<{ customer: string }>(`/v1/checkout/sessions/${sessionA}`);
    const relay = new Relay(() => customer);
    await stripeControl(`checkout/${sessionA}/complete`, { paymentMethod: "pm_card_visa" });
    await stripeControl("fault", {
      match: { customer, pathPrefix: `/v1/customers/${customer}`, method: "POST" },
      kind: "500_after_success",
      count: 1,
      delayMs: 1_500,
    });
    const completedA = (await relay.pending()).filter((e) => e.type === "checkout.session.completed");
    const savingA = postStripeEvent(completedA[0]?.payload);
    await settle(300);
    const second = await ownerSays(inst, "/setupCredits:300:120");
    const sessionB = /\/pay\/(cs_[A-Za-z0-9_]+)/.exec(buttonUrl(second))?.[1] as string;
    expect((await savingA).status).toBe(502);
    expect((await postStripeEvent(completedA[0]?.payload)).status).toBe(200);
    await ownerToldMatching(inst, /older card link/);
    await stripeControl(`checkout/${sessionB}/complete`, { paymentMethod: "pm_card_visa" });
    expect(
      await relay.deliverAll((e) => e.type === "checkout.session.completed" && e.id !== completedA[0]?.id),
    ).toEqual([200]);
    const view = await api(`/admin/instances/${inst.id}`, { headers: ADMIN });
    expect(view.json.autoRecharge).toMatchObject({
      enabled: true,
      topUpMicros: 300 * USD,
      rechargeAtMicros: 120 * USD,
    });
    await ownerToldMatching(inst, /saved\. Auto-recharge is on.*\$120\.00/);
  });

  it("7. a key that moved money keeps its meaning after its record is purged: an adjustment is not applied twice, a hold retry is a clear 409", async () => {
    const inst = await provision();
    const body = { idempotencyKey: "grant-2026-11", amountMicros: 10 * USD, reason: "goodwill" };
    const path = `/admin/instances/${inst.id}/adjustments`;
    expect((await api(path, { method: "POST", headers: ADMIN, body })).status).toBeLessThan(300);
    const hold = await api(`/v1/instances/${inst.id}/holds`, {
      method: "POST",
      headers: inst.auth,
      body: { idempotencyKey: "hold-2026-11", operation: "response", maxCostMicros: 1 * USD },
    });
    expect(hold.status).toBe(201);
    // 30 days pass: the alarm purges the idempotency records.
    await runInDurableObject(stub(inst.id), (_i, state) => {
      state.storage.sql.exec("UPDATE idempotency SET created_at = 0");
    });
    await runDurableObjectAlarm(stub(inst.id));
    const firstEntry = (await api(`/admin/instances/${inst.id}/ledger`, { headers: ADMIN })).json.entries as {
      entryId: number;
      kind: string;
    }[];
    const again = await api(path, { method: "POST", headers: ADMIN, body });
    expect(again.status).toBeLessThan(300);
    expect(again.json).toMatchObject({
      entryId: firstEntry.find((e) => e.kind === "adjustment")?.entryId,
      balanceMicros: 60 * USD,
    });
    expect(await balance(inst)).toBe(60 * USD);
    const changed = await api(path, { method: "POST", headers: ADMIN, body: { ...body, amountMicros: 20 * USD } });
    expect(changed.status).toBe(409);
    const holdAgain = await api(`/v1/instances/${inst.id}/holds`, {
      method: "POST",
      headers: inst.auth,
      body: { idempotencyKey: "hold-2026-11", operation: "response", maxCostMicros: 1 * USD },
    });
    expect(holdAgain.status).toBe(409);
    expect(holdAgain.json.error?.code).toBe("idempotency_key_reused");
  });

  it("8. a paid invoice in another currency or for another amount than its recharge is never credited", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    await ownerSays(inst, "/topUp:100");
    await ownerSays(inst, "/topUp:200");
    const [eur, short] = await recharges(inst.id);
    const paidInvoice = (rechargeId: string, fields: Record<string, unknown>) => ({
      id: `evt_${crypto.randomUUID().replaceAll("-", "")}`,
      object: "event",
      type: "invoice.paid",
      api_version: "2026-10-28.endive",
      created: Math.floor(Date.now() / 1000),
      data: {
        object: {
          id: `in_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`,
          object: "invoice",
          status: "paid",
          metadata: { instance_id: inst.id, recharge_id: rechargeId, purpose: "topup" },
          ...fields,
        },
      },
    });
    const events = [
      paidInvoice(eur?.id as string, { currency: "eur", total: 10_000, amount_paid: 10_000 }),
      paidInvoice(short?.id as string, { currency: "usd", total: 5_000, amount_paid: 5_000 }),
    ];
    for (const e of events) expect((await postStripeEvent(e)).status).toBe(200);
    expect(await balance(inst)).toBe(inst.balanceMicros);
    expect(await ledgerKinds(inst)).toEqual([]);
    expect((await recharges(inst.id)).map((r) => r.status)).toEqual(["failed", "failed"]);
  });
});
