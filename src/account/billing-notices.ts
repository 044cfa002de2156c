import type { BillingNotice } from "../billing/notices";
import type { Catalogue } from "../telegram/texts";

/** The owner's message for what billing decided. */
export function noticeText(texts: Catalogue, notice: BillingNotice): string {
  switch (notice.kind) {
    case "recharge_succeeded":
      return texts.rechargeSucceeded(notice.paidMicros, notice.balanceMicros, notice.invoiceUrl, {
        restored: notice.restored === true,
        short: notice.short,
      });
    case "top_up_succeeded":
      return texts.topUpSucceeded(notice.paidMicros, notice.balanceMicros, { restored: notice.restored === true });
    case "recharge_declined":
      return texts.rechargeFailed(notice.code, notice.message, {
        topUpMicros: notice.topUpMicros,
        rechargeAtMicros: notice.rechargeAtMicros,
      });
    case "recharge_gave_up":
      return texts.rechargeFailed("processing_error", null);
    case "needs_confirmation":
      return texts.rechargeNeedsConfirmation(notice.url);
    case "daily_limit":
      return texts.dailyLimitReached(notice.maxPerDay);
    case "card_saved": {
      const saved = texts.cardSaved(notice.topUpMicros, notice.rechargeAtMicros, notice.brand, notice.last4, {
        now: notice.now,
        olderLink: notice.olderLink,
      });
      return notice.newerLinkPending ? `${saved}\n${texts.newerCardLinkWaiting()}` : saved;
    }
    case "card_link_outdated":
      return texts.cardLinkOutdated(notice.brand, notice.last4);
    case "card_link_expired":
      return texts.cardLinkExpired();
    case "top_up_expired":
      return texts.topUpExpired(notice.amountMicros);
  }
}
