import type { Billing } from "../billing/billing";
import { BillingEffects } from "../billing/notices";
import type { Outcome } from "../ledger/types";
import { describeError, log } from "../log";
import type { AfterChange } from "./after-change";
import type { AlarmClock } from "./alarm";
import type { Alerts } from "./alerts";
import type { HistoryCopy } from "./history-copy";

export interface HourlyParts {
  instanceId: string;
  billing: Billing;
  after: AfterChange;
  alarm: AlarmClock;
  alerts: Alerts;
  history: HistoryCopy;
  /** Arms the alarm for whatever is due. */
  rearm(): void;
}

/**
 * The hourly cron's visit to one object (`CreditAccount.hourly`): recharges still waiting on Stripe are
 * checked (a lost webhook loses nothing), lost alarms are armed again, and the object decides whether to
 * alert: at most one out-of-credits alert per clock hour (a retried, overlapping or late cron run finds the
 * hour taken), claimed before sending and given back if Telegram fails, so a later run tries again.
 */
export async function hourlyVisit(
  nowMs: number,
  parts: HourlyParts,
): Promise<Outcome<{ alerted: boolean; reconciled: number }>> {
  const { billing, after, alarm, alerts, history } = parts;
  const fx = new BillingEffects();
  const reconciled = await billing.reconcile(fx, nowMs).catch((error: unknown) => {
    log("warn", "reconcile_failed", { instanceId: parts.instanceId, error: describeError(error) });
    return 0;
  });
  await after.billingDecided(fx);
  // Anything due (history copy, hold expiry, recharge steps) gets its alarm back if it was lost. The visit
  // asks storage, not the in-memory copy: a failed setAlarm, or an alarm dropped after its retries, leaves
  // that copy wrong, and one long overdue is armed again.
  await alarm.refresh(Date.now());
  parts.rearm();
  const alert = await alerts.hourly(nowMs);
  if (alert === "failed") return { ok: false, reason: "upstream_unavailable" };
  if (alert === "alerted") return { ok: true, alerted: true, reconciled };
  await history.repairProjection();
  await alerts.earlyWarning(Date.now());
  return { ok: true, alerted: false, reconciled };
}
