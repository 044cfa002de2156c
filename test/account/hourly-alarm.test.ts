import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/env";
import { Ledger } from "../../src/ledger/ledger";
import { HOUR_MS, hourlyAlertDue, nextHourlyAlertAt } from "../../src/ledger/rules";
import { balance, OWNER, ownerMessages, ownerToldMatching } from "../billing/fixtures";
import { ADMIN, api, type Provisioned, provision, stub } from "../helpers";
import { settle } from "../telegram/fixtures";

/**
 * Every out-of-credits owner is reached on the hour however many instances there are: the object's own alarm
 * wakes at each clock hour while it is out of credits and sends that hour's alert; the cron's visit backs it up.
 */

const stillOut = (inst: Provisioned) =>
  ownerMessages(inst).then((ms) => ms.filter((m) => m.text.startsWith("⚠️ Still out of credits")));

async function alarmAt(inst: Provisioned): Promise<number | null> {
  return runInDurableObject(stub(inst.id), (_instance, state) => state.storage.getAlarm());
}

describe("the hourly alert from the object's own alarm", () => {
  it("rules: wake at the next clock hour while out; due only in a later hour than the first notice, once", () => {
    const now = 10 * HOUR_MS + 15 * 60_000;
    expect(nextHourlyAlertAt(now, null)).toBeNull();
    expect(nextHourlyAlertAt(now, now - 1000)).toBe(11 * HOUR_MS);
    const out = { out_since: now - 1000, out_notified_at: now - 1000, last_alert_hour: null };
    expect(hourlyAlertDue(now, out)).toBe(false); // minutes after "out of credits": nothing more
    expect(hourlyAlertDue(11 * HOUR_MS, out)).toBe(true);
    expect(hourlyAlertDue(11 * HOUR_MS, { ...out, last_alert_hour: 11 })).toBe(false); // the cron took the hour
    expect(hourlyAlertDue(11 * HOUR_MS, { ...out, out_since: null })).toBe(false);
    expect(hourlyAlertDue(11 * HOUR_MS, { ...out, out_notified_at: null })).toBe(false);
  });

  it("an out-of-credits object alerts its owner from its alarm, without the cron, once per hour", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    await api(`/admin/instances/${inst.id}/adjustments`, {
      method: "POST",
      headers: ADMIN,
      body: { idempotencyKey: "empty", amountMicros: -(await balance(inst)), reason: "test: out of credits" },
    });
    await ownerToldMatching(inst, /^⚠️ Out of credits/);
    await runDurableObjectAlarm(stub(inst.id));
    expect(await stillOut(inst)).toHaveLength(0); // the same hour as the first notice
    const nextHour = (Math.floor(Date.now() / HOUR_MS) + 1) * HOUR_MS;
    const armed = await alarmAt(inst);
    expect(armed).not.toBeNull();
    expect(armed as number).toBeLessThanOrEqual(nextHour);

    // An hour later (the first notice moved back an hour), the alarm sends the hour's alert by itself.
    await runInDurableObject(stub(inst.id), (_instance, state) => {
      state.storage.sql.exec("UPDATE account SET out_notified_at = out_notified_at - ?", HOUR_MS);
      new Ledger(state.storage.sql, loadConfig(env)).forgetCachedRows();
    });
    await runDurableObjectAlarm(stub(inst.id));
    await settle(300);
    const alerts = await stillOut(inst);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.text).toContain("$0.00");
    await runDurableObjectAlarm(stub(inst.id));
    await settle(300);
    expect(await stillOut(inst)).toHaveLength(1); // the hour is taken
    expect(await alarmAt(inst)).not.toBeNull(); // and it wakes again for the next one
  });
});
