import type { Billing } from "../billing/billing";
import { BillingEffects, isCreditNotice, isTroubleNotice } from "../billing/notices";
import { FLUSH_DELAY_MS } from "../ledger/rules";
import { inBackground } from "../log";
import type { AlarmClock } from "./alarm";
import type { Alerts, BalanceEffects } from "./alerts";
import { noticeText } from "./billing-notices";

/**
 * What follows a change once it committed: the alarm (history copy, recharge steps), the recharge
 * trigger, and the owner's messages in order. Nothing here is awaited by the request that made the change.
 */
export class AfterChange {
  constructor(
    private readonly tx: <T>(fn: () => T) => T,
    private readonly alarm: AlarmClock,
    private readonly billing: Billing,
    private readonly alerts: Alerts,
    private readonly notifyOwner: (text: string) => Promise<boolean>,
  ) {}

  /** A balance moved: schedule the history copy, and tell the owner when credits just ran out or came back. */
  balanceChanged(now: number): void {
    this.balanceEffects(
      now,
      this.tx(() => this.alerts.balanceChanged(now)),
    );
  }

  /** After the balance change committed: the alarm for the history copy, the recharge, the owner's messages. */
  balanceEffects(now: number, effects: BalanceEffects): void {
    this.alarm.arm(now + FLUSH_DELAY_MS);
    const fx = new BillingEffects();
    this.billing.triggered(fx, effects.recharge, now);
    this.billingDecidedLater(fx);
    this.alerts.announce(now, effects);
  }

  /** `billingDecided`, not awaited by the caller: a failure is logged (see `inBackground`). */
  billingDecidedLater(fx: BillingEffects): void {
    inBackground(this.billingDecided(fx), "billing_effects_failed");
  }

  /**
   * What billing decided, after it committed: credits moved (re-check out-of-credits, warnings, the
   * trigger), the alarm, and the owner's messages in the order things happened: billing's notices first,
   * then what followed from the balance change. A credit that ends an out-of-credits episode is the one ✅
   * of the recovery (its message says the bot answers again; no separate "credits are back"). A trouble
   * notice that reached the owner counts as this episode's early warning. Applying the same effects twice
   * is never needed: each call takes its own collector.
   */
  async billingDecided(fx: BillingEffects): Promise<void> {
    const notices = fx.notices.splice(0);
    let followed: { now: number; effects: BalanceEffects } | null = null;
    if (fx.balanceChanged) {
      fx.balanceChanged = false;
      const now = Date.now();
      let effects = this.tx(() => this.alerts.balanceChanged(now));
      const credit = effects.transition === "restored" ? notices.find(isCreditNotice) : undefined;
      if (credit) {
        credit.restored = true;
        effects = { ...effects, transition: null };
      }
      followed = { now, effects };
      this.alarm.arm(now + FLUSH_DELAY_MS);
    }
    if (fx.wakeAt !== null) this.alarm.arm(fx.wakeAt);
    // Any recharge changed and not yet copied to D1 (where cron and /invoices read it) has the alarm armed,
    // whatever transition changed it.
    if (this.billing.unsynced(1).length > 0) this.alarm.arm(Date.now() + FLUSH_DELAY_MS);
    for (const notice of notices) {
      const sent = await this.notifyOwner(noticeText(this.alerts.ownerTexts(), notice));
      if (sent && isTroubleNotice(notice)) this.alerts.troubleNotified();
    }
    if (followed) this.balanceEffects(followed.now, followed.effects);
  }
}
