import {
  createExecutionContext,
  createScheduledController,
  env,
  runDurableObjectAlarm,
  waitOnExecutionContext,
} from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { balance, OWNER, ownerMessages, stripeControl, summary, withCard } from "../billing/fixtures";
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

  it("Telegram failing for one owner does not stop the others; that owner is alerted on a later run", async () => {
    const a = await provision({ ownerTelegramId: OWNER });
    const b = await provision({ ownerTelegramId: OWNER });
    await emptyAccount(a);
    await emptyAccount(b);
    await failTelegram(a.botToken, "sendMessage", 500, 10);
    const at = Math.floor(Date.now() / HOUR) * HOUR + 6 * HOUR;
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
  });
});

describe("reconciliation", () => {
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
