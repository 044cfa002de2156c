import {
  createExecutionContext,
  createScheduledController,
  env,
  runDurableObjectAlarm,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import {
  balance,
  debit,
  OWNER,
  ownerMessages,
  ownerToldMatching,
  stripeControl,
  summary,
  waitForBalance,
  waitForPaidInvoices,
  withCard,
} from "../billing/fixtures";
import { ADMIN, api, type Provisioned, provision, stub, USD } from "../helpers";
import { failTelegram, settle } from "../telegram/fixtures";

const HOUR = 3_600_000;

async function cron(at: number): Promise<void> {
  const controller = createScheduledController({ scheduledTime: at, cron: "0 * * * *" });
  const ctx = createExecutionContext();
  await worker.scheduled(controller, env, ctx);
  await waitOnExecutionContext(ctx);
}

async function emptyAccount(inst: Provisioned) {
  await api(`/admin/instances/${inst.id}/adjustments`, {
    method: "POST",
    headers: ADMIN,
    body: { idempotencyKey: "empty", amountMicros: -(await balance(inst)), reason: "test: out of credits" },
  });
  // The history copy carries the out-of-credits projection that cron reads.
  await runDurableObjectAlarm(stub(inst.id));
}

const hourly = (inst: Provisioned) =>
  ownerMessages(inst).then((ms) => ms.filter((m) => m.text.startsWith("⚠️ Still out of credits")));

describe("hourly alerts", () => {
  it("alerts once per hour with the reason and the fix, and stops after recovery", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    await emptyAccount(inst);
    const base = Math.floor(Date.now() / HOUR) * HOUR + 5 * 60_000;
    await cron(base);
    let alerts = await hourly(inst);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.text).toContain("$0.00");
    expect(alerts[0]?.text).toMatch(/auto-recharge/i);
    expect(alerts[0]?.text).toMatch(/\/setupCredits/);

    await cron(base + 20 * 60_000); // a retried / overlapping run in the same hour
    await cron(base);
    expect(await hourly(inst)).toHaveLength(1);

    await cron(base + HOUR); // the next hour
    alerts = await hourly(inst);
    expect(alerts).toHaveLength(2);

    await api(`/admin/instances/${inst.id}/adjustments`, {
      method: "POST",
      headers: ADMIN,
      body: { idempotencyKey: "refill", amountMicros: 20 * USD, reason: "test: refill" },
    });
    await settle(300);
    await runDurableObjectAlarm(stub(inst.id));
    expect((await ownerMessages(inst)).filter((m) => m.text.includes("✅"))).toHaveLength(1);
    await cron(base + 2 * HOUR);
    expect(await hourly(inst)).toHaveLength(2);
  });

  it("names a declined card and a payment that needs confirmation (with its link)", async () => {
    const declined = await withCard({
      license: "starter",
      topUp: 250,
      rechargeAt: 100,
      card: "pm_card_chargeDeclined",
    });
    const confirm = await withCard({
      license: "starter",
      topUp: 250,
      rechargeAt: 100,
      card: "pm_card_authenticationRequired",
    });
    await settle(1000);
    await emptyAccount(declined.inst);
    await emptyAccount(confirm.inst);
    const at = Math.floor(Date.now() / HOUR) * HOUR + 3 * HOUR;
    await cron(at);
    const [d] = await hourly(declined.inst);
    expect(d?.text).toMatch(/declined/i);
    expect(d?.text).toMatch(/\/setupCredits|\/topUp/);
    const [c] = await hourly(confirm.inst);
    const invoice = (await summary(confirm.customer)).invoices[0];
    expect(c?.text).toContain(`/invoice/${invoice?.id}`);
  });

  it("names the daily recharge limit and the fix (a one-off top-up, a bigger top-up)", async () => {
    const { inst, customer } = await withCard({ license: "pro", topUp: 250, rechargeAt: 100 }); // $200
    let expected = 200 * USD;
    for (let i = 0; i < 5; i++) {
      await debit(inst, `day-${i}`, expected - 90 * USD); // down to $90: one recharge each
      expected = 90 * USD + 250 * USD;
      await waitForPaidInvoices(customer, i + 1);
      await waitForBalance(inst, expected);
    }
    await debit(inst, "sixth", expected - 90 * USD); // a sixth crossing today: the limit, no recharge
    await ownerToldMatching(inst, /limit/i);
    await emptyAccount(inst);
    const at = Math.floor(Date.now() / HOUR) * HOUR + 4 * HOUR;
    await cron(at);
    const [alert, ...more] = await hourly(inst);
    expect(more).toHaveLength(0);
    expect(alert?.text).toContain("$0.00");
    expect(alert?.text).toMatch(/daily limit/i);
    expect(alert?.text).toContain("/topUp:");
    expect(alert?.text).toContain("/changeCreditsTopUp:500:100");
    expect((await summary(customer)).payments).toBe(5);
  });

  it.each([
    { status: 500, retryAfter: undefined, hours: 6 },
    // A long Retry-After is not waited out inside the run (the sender waits at most 30 s).
    { status: 429, retryAfter: 120, hours: 7 },
  ])(
    "Telegram failing ($status) for one owner does not stop the others; that owner is alerted on a later run",
    async ({ status, retryAfter, hours }) => {
      const a = await provision({ ownerTelegramId: OWNER });
      const b = await provision({ ownerTelegramId: OWNER });
      await emptyAccount(a);
      await emptyAccount(b);
      await failTelegram(a.botToken, "sendMessage", status, 10, retryAfter);
      const at = Math.floor(Date.now() / HOUR) * HOUR + hours * HOUR;
      await cron(at);
      expect(await hourly(a)).toHaveLength(0);
      expect(await hourly(b)).toHaveLength(1);
      await fetch(`${env.TELEGRAM_API_BASE}/__control/reset`, {
        method: "POST",
        body: JSON.stringify({ token: a.botToken }),
      });
      await cron(at + 10 * 60_000);
      expect(await hourly(a)).toHaveLength(1);
      expect(await hourly(b)).toHaveLength(1);
    },
  );
});

const warnings = (inst: Provisioned) =>
  ownerMessages(inst).then((ms) => ms.filter((m) => m.text.startsWith("⚠️ Credits are")));

async function adjust(inst: Provisioned, key: string, amountMicros: number) {
  const res = await api(`/admin/instances/${inst.id}/adjustments`, {
    method: "POST",
    headers: ADMIN,
    body: { idempotencyKey: key, amountMicros, reason: "test" },
  });
  expect(res.status).toBe(201);
}

describe("early warnings", () => {
  it("no auto-recharge and under a day of runway: warned once per episode, again after credits came back", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "starter" }); // $50
    expect((await debit(inst, "a", 30 * USD)).status).toBe(200); // $20 left after $30 in a day: 16 h
    const [first] = await vi.waitFor(async () => {
      const ws = await warnings(inst);
      expect(ws).toHaveLength(1);
      return ws;
    });
    expect(first?.text).toContain("$20.00");
    expect(first?.text).toContain("Runway: ≈ 16 hours");
    expect(first?.text).toMatch(/\/setupCredits:\d+:\d+/);
    expect(first?.text).toMatch(/\/topUp:\d+/);

    await debit(inst, "b", 1 * USD);
    await debit(inst, "c", 1 * USD);
    await settle(300);
    expect(await warnings(inst)).toHaveLength(1); // the same episode

    await adjust(inst, "refill", 100 * USD); // $118: four days at this rate, the episode is over
    await settle(300);
    expect(await warnings(inst)).toHaveLength(1);
    await debit(inst, "d", 110 * USD); // $8 left
    await vi.waitFor(async () => expect(await warnings(inst)).toHaveLength(2));
  });

  it("at or below the threshold with a declined card: the decline notice counts, a later episode is warned once", async () => {
    const { inst } = await withCard({
      license: "starter",
      topUp: 250,
      rechargeAt: 100,
      card: "pm_card_chargeDeclined",
    });
    await ownerToldMatching(inst, /Auto-recharge failed/);
    await debit(inst, "a", 1 * USD);
    await settle(300);
    expect(await warnings(inst)).toHaveLength(0); // the decline message just said it

    await adjust(inst, "manual", 100 * USD); // $149, above the threshold: this episode is over
    await debit(inst, "b", 60 * USD); // $89: below $100 again, card still failing, no new recharge
    const [warning] = await vi.waitFor(async () => {
      const ws = await warnings(inst);
      expect(ws).toHaveLength(1);
      return ws;
    });
    expect(warning?.text).toContain("$89.00");
    expect(warning?.text).toMatch(/could not charge your card/);
    expect(warning?.text).toContain("/setupCredits:250:100");
    await debit(inst, "c", 1 * USD);
    await settle(300);
    expect(await warnings(inst)).toHaveLength(1);
  });

  it("out of credits is not an early warning: the out-of-credits alerts take over", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "starter" });
    await debit(inst, "all", 50 * USD);
    await ownerToldMatching(inst, /Out of credits/);
    await settle(300);
    expect(await warnings(inst)).toHaveLength(0);
  });
});

describe("reconciliation", () => {
  it("a D1 row that says out of credits when the object is not is repaired by the visit", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "starter" });
    await runDurableObjectAlarm(stub(inst.id)); // the grant's history copy and projection
    await env.DB.prepare("UPDATE instances SET out_of_credits = 1, balance_micros = 0 WHERE id = ?")
      .bind(inst.id)
      .run();
    const at = Math.floor(Date.now() / HOUR) * HOUR + 9 * HOUR;
    await cron(at);
    const row = await env.DB.prepare("SELECT out_of_credits, balance_micros FROM instances WHERE id = ?")
      .bind(inst.id)
      .first<{ out_of_credits: number; balance_micros: number }>();
    expect(row).toEqual({ out_of_credits: 0, balance_micros: 50 * USD });
    expect(await hourly(inst)).toHaveLength(0);
  });

  it("an object whose alarm was lost with history still to copy gets its alarm back from the visit", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "starter" });
    await emptyAccount(inst);
    const d1Entries = () =>
      env.DB.prepare("SELECT COUNT(*) AS n FROM ledger_entries WHERE instance_id = ?").bind(inst.id).first("n");
    const copied = await d1Entries();
    // A change whose alarm (the copy to D1, a second later) is lost: the object is not asked again.
    const res = await api(`/admin/instances/${inst.id}/adjustments`, {
      method: "POST",
      headers: ADMIN,
      body: { idempotencyKey: "crumb", amountMicros: 1, reason: "test: history left to copy" },
    });
    expect(res.status).toBe(201);
    await runInDurableObject(stub(inst.id), (_i, state) => state.storage.deleteAlarm());
    expect(await runDurableObjectAlarm(stub(inst.id))).toBe(false);
    expect(await d1Entries()).toBe(copied);

    await cron(Math.floor(Date.now() / HOUR) * HOUR + 10 * HOUR);
    // The visit armed the alarm again; when it runs, D1 gets the entry.
    expect(await runDurableObjectAlarm(stub(inst.id))).toBe(true);
    expect(await d1Entries()).toBe(Number(copied) + 1);
  });

  it("a recharge whose webhook was lost is completed by the next run, credited once, and the owner told", async () => {
    const { inst, customer } = await withCard({
      license: "starter",
      topUp: 250,
      rechargeAt: 100,
      card: "pm_card_authenticationRequired",
    });
    await settle(1000);
    const invoice = (await summary(customer)).invoices[0];
    if (!invoice) throw new Error("no invoice");
    // The owner confirms the payment, but invoice.paid never reaches us.
    await stripeControl(`invoices/${invoice.id}/pay`, {});
    await runDurableObjectAlarm(stub(inst.id)); // copies the open recharge to D1
    expect(await balance(inst)).toBe(50 * USD);
    const later = Date.now() + 10 * 60_000;
    await cron(later);
    expect(await balance(inst)).toBe(300 * USD);
    await cron(later + HOUR);
    expect(await balance(inst)).toBe(300 * USD);
    expect((await ownerMessages(inst)).filter((m) => /Auto-recharge added \$250\.00/.test(m.text))).toHaveLength(1);
    expect((await summary(customer)).payments).toBe(1);
  });
});
