/** Stripe: checkout links, card and recharge outcomes, top-ups, invoices. */
import { formatUsd } from "../../../money";
import {
  changeCommand,
  commandAmount,
  declineCode,
  EXAMPLES,
  invoicesLayout,
  oneLine,
  setupCommandFor,
  topUpCommand,
} from "../format";
import type { ChargeNow, InvoiceRow, ShortOfThreshold } from "../types";
import { card as cardLabel, statusLabel } from "./words";

/** "Your balance $50.00 is at or under $100.00" */
function underThreshold(now: ChargeNow): string {
  return `Your balance ${formatUsd(now.balanceMicros)} is at or under ${formatUsd(now.rechargeAtMicros)}`;
}

const HELD: Record<NonNullable<ChargeNow["held"]>, string> = {
  in_flight: "a recharge is already on its way, so nothing more is charged now.",
  daily_limit: "today's limit of automatic recharges is reached, so nothing is charged until tomorrow (UTC).",
  card_trouble: "the last charge of the card failed, so nothing is charged now.",
};

/** Before the card is saved: what saving it will do at once. */
function onSaveLine(now: ChargeNow | undefined): string {
  if (!now) return "Nothing is charged now.";
  const voids = now.voidsMicros !== null ? `the unpaid ${formatUsd(now.voidsMicros)} invoice` : null;
  if (now.charge?.kind === "unpaid_invoice") {
    return `${underThreshold(now)}: saving the card charges ${formatUsd(now.charge.amountMicros)} now (the unpaid auto-recharge invoice).`;
  }
  if (now.charge) return `${underThreshold(now)}: saving the card charges ${formatUsd(now.charge.amountMicros)} now.`;
  if (now.held)
    return `${underThreshold(now)}, but ${HELD[now.held]}${voids ? ` Saving the card cancels ${voids}.` : ""}`;
  if (voids) {
    return (
      `Nothing is charged now: your balance ${formatUsd(now.balanceMicros)} is above ${formatUsd(now.rechargeAtMicros)}, ` +
      `so saving the card cancels ${voids} instead of paying it.`
    );
  }
  return "Nothing is charged now.";
}

/** After the card is saved or the settings changed: what happened at once. */
export function nowLine(now: ChargeNow | undefined): string | null {
  if (!now) return null;
  const lines: string[] = [];
  if (now.charge?.kind === "unpaid_invoice") {
    lines.push(
      `${underThreshold(now)}, so the unpaid ${formatUsd(now.charge.amountMicros)} invoice is charged to this card now.`,
    );
  } else if (now.charge) {
    lines.push(`${underThreshold(now)}, so the card is charged ${formatUsd(now.charge.amountMicros)} now.`);
  } else if (now.held) {
    lines.push(`${underThreshold(now)}, but ${HELD[now.held]}`);
  }
  if (now.voidsMicros !== null) {
    // Voided either because the balance is above the threshold, or because a recharge already on its way
    // (said in the line above) replaces it: the reason given must be the true one.
    lines.push(
      now.balanceMicros > now.rechargeAtMicros
        ? `The unpaid ${formatUsd(now.voidsMicros)} invoice was cancelled at Stripe: your balance ` +
            `${formatUsd(now.balanceMicros)} is above ${formatUsd(now.rechargeAtMicros)}, so it is not charged.`
        : `The unpaid ${formatUsd(now.voidsMicros)} invoice was cancelled at Stripe, so it is not charged twice.`,
    );
  }
  return lines.length > 0 ? lines.join("\n") : null;
}

/** The line above a Checkout link button; for a card, what saving it does at once (`onSave`). */
export function checkoutLink(
  kind: "setup",
  amounts: { topUpMicros: number; rechargeAtMicros: number; onSave?: ChargeNow },
): string;
export function checkoutLink(kind: "topup", amounts: { amountMicros: number }): string;
export function checkoutLink(
  kind: "setup" | "topup",
  amounts: { topUpMicros: number; rechargeAtMicros: number; onSave?: ChargeNow } | { amountMicros: number },
): string {
  if (kind === "setup" && "topUpMicros" in amounts) {
    return (
      `To turn on auto-recharge (adds ${formatUsd(amounts.topUpMicros)} when the balance drops to ` +
      `${formatUsd(amounts.rechargeAtMicros)}), save your card on Stripe's secure page. ${onSaveLine(amounts.onSave)}`
    );
  }
  if ("amountMicros" in amounts) {
    return `To buy ${formatUsd(amounts.amountMicros)} of credits, pay on Stripe's secure page. You'll get an invoice.`;
  }
  throw new TypeError(`checkoutLink: amounts do not fit kind ${kind}`);
}

/** Caption of the link button under `checkoutLink`. */
export function checkoutButton(kind: "setup" | "topup", amountMicros?: number): string {
  return kind === "setup" ? "Save card" : amountMicros !== undefined ? `Pay ${formatUsd(amountMicros)}` : "Pay";
}

/**
 * The card is saved, with the settings of its link (`olderLink`: a link older than the newest one, whose
 * settings are the ones that now apply), and what that did at once (`now`).
 */
export function cardSaved(
  topUpMicros: number,
  rechargeAtMicros: number,
  brand: string | null,
  last4: string | null,
  extra: { now?: ChargeNow; olderLink?: boolean } = {},
) {
  const card = cardLabel(brand, last4);
  const from = extra.olderLink ? " from an older card link, with that link's settings" : "";
  const saved =
    `✅ Card${card ? ` ${card}` : ""} saved${from}. Auto-recharge is on: when the balance drops to ` +
    `${formatUsd(rechargeAtMicros)}, the card is charged ${formatUsd(topUpMicros)} and ${formatUsd(topUpMicros)} of credits are added.`;
  const now = nowLine(extra.now);
  return now ? `${saved}\n${now}` : saved;
}

export function settingsChanged(topUpMicros: number, rechargeAtMicros: number, now?: ChargeNow): string {
  const changed = `✅ Auto-recharge updated: adds ${formatUsd(topUpMicros)} when the balance drops to ${formatUsd(rechargeAtMicros)}.`;
  const line = nowLine(now);
  return line ? `${changed}\n${line}` : changed;
}

export function needCardFirst(): string {
  return `There is no saved card yet, so there is nothing to change. Turn on auto-recharge first: ${EXAMPLES.setupCredits}`;
}

const BACK_ONLINE = "Your bot is answering your clients again.";

/**
 * One ✅ per credit: the amount, the new balance, the invoice; when it ended an out-of-credits episode
 * (`restored`) it says the bot answers again; when it fell short of the threshold, what to do.
 */
export function rechargeSucceeded(
  amountMicros: number,
  balanceMicros: number,
  invoiceUrl: string | null,
  extra: { restored?: boolean; short?: ShortOfThreshold | null } = {},
): string {
  const lines = [`✅ Auto-recharge added ${formatUsd(amountMicros)}. Balance: ${formatUsd(balanceMicros)}.`];
  if (extra.restored) lines.push(BACK_ONLINE);
  if (invoiceUrl) lines.push(`Invoice: ${invoiceUrl}`);
  const short = extra.short;
  if (short) {
    const threshold = formatUsd(short.rechargeAtMicros);
    lines.push(
      `⚠️ The top-up (${formatUsd(short.topUpMicros)}) is smaller than the gap: the balance is still at or under ` +
        `${threshold}, so auto-recharge charges again only after the balance has been above ${threshold}.`,
    );
    const bigger =
      short.biggerTopUpMicros !== null
        ? `, or set a top-up that covers it (charged once now): ${changeCommand(short.biggerTopUpMicros, short.rechargeAtMicros)}`
        : "";
    lines.push(`To fix it, buy the difference once: ${topUpCommand(short.topUpNeededMicros)}${bigger}`);
  }
  return lines.join("\n");
}

const DECLINE_REASONS: Record<string, string> = {
  card_declined: "your card was declined",
  expired_card: "your card has expired",
  insufficient_funds: "the card has insufficient funds",
  incorrect_cvc: "the card's security code was rejected",
  incorrect_number: "the card number was rejected",
  lost_card: "the card is reported lost",
  stolen_card: "the card is reported stolen",
  card_velocity_exceeded: "the card's spending limit was reached",
  processing_error: "the card processor had an error",
  authentication_required: "your bank asks you to confirm the payment",
  do_not_honor: "your bank declined the payment",
  generic_decline: "your card was declined",
  fraudulent: "your bank declined the payment",
};

export function rechargeFailed(
  reasonCode: string,
  declineMessage: string | null,
  settings?: { topUpMicros: number; rechargeAtMicros: number },
): string {
  const code = declineCode(reasonCode);
  const reason = DECLINE_REASONS[code] ?? (code ? `the payment failed (${code})` : "the payment failed");
  const lines = [`⚠️ Auto-recharge failed: ${reason}.`];
  if (declineMessage?.trim()) lines.push(`Bank's message: ${oneLine(declineMessage)}`);
  const setup = setupCommandFor(settings ?? {});
  lines.push(`What to do: save a new card with ${setup}, or buy credits once with ${EXAMPLES.topUp}.`);
  return lines.join("\n");
}

export function rechargeNeedsConfirmation(url: string): string {
  return `⚠️ Your bank asks you to confirm the auto-recharge payment. Confirm it here: ${url}\nCredits arrive as soon as it's paid.`;
}

export function dailyLimitReached(maxPerDay: number): string {
  return (
    `⚠️ Auto-recharge has charged your card ${maxPerDay} ${maxPerDay === 1 ? "time" : "times"} today, the daily limit, ` +
    `so it is paused until tomorrow (UTC). To add credits now: ${EXAMPLES.topUp}\n` +
    `A bigger top-up means fewer charges: ${EXAMPLES.changeCreditsTopUp}`
  );
}

export function topUpSucceeded(
  amountMicros: number,
  balanceMicros: number,
  extra: { restored?: boolean } = {},
): string {
  const added = `✅ ${formatUsd(amountMicros)} of credits added. Balance: ${formatUsd(balanceMicros)}.`;
  return extra.restored ? `${added}\n${BACK_ONLINE}` : added;
}

export function invoicesList(rows: readonly InvoiceRow[]): { text: string; parseMode: "HTML" } {
  return invoicesLayout(rows, {
    none: "No recharges yet.",
    heading: "Latest recharges",
    invoice: "invoice",
    statusLabel,
  });
}

/** Stripe could not be reached for an owner command; nothing was changed. */
export function paymentsUnavailable(): string {
  return "⚠️ Payments can't be reached right now, so nothing was changed. Please try again in a few minutes.";
}

/** A card link completed after a newer one was sent: nothing changed, the newest link is the one to use. */
export function cardLinkOutdated(brand: string | null, last4: string | null): string {
  const card = cardLabel(brand, last4);
  return (
    `The card${card ? ` ${card}` : ""} came from an older card link, so nothing changed: a newer /setupCredits link is ` +
    `the one that counts. Open the newest link to save your card, or send ${EXAMPLES.setupCredits} for a new one.`
  );
}

export function cardLinkExpired(): string {
  return `Your card link expired before the card was saved, so nothing changed. For a new link: ${EXAMPLES.setupCredits}`;
}

export function newerCardLinkWaiting(): string {
  return "A newer /setupCredits link is still open: completing it will replace these settings.";
}

export function topUpExpired(amountMicros: number): string {
  return (
    `Your ${formatUsd(amountMicros)} top-up link expired unpaid: nothing was charged. ` +
    `For a new one: /topUp:${commandAmount(amountMicros)}`
  );
}

/** The page Stripe's Checkout returns to after the card or payment went through. */
export function checkoutDonePage(): { title: string; text: string } {
  return {
    title: "All set",
    text: "Thank you. You can close this page and go back to Telegram: your bot will confirm there.",
  };
}

/** The page Stripe's Checkout returns to when the owner cancelled. */
export function checkoutCancelledPage(): { title: string; text: string } {
  return {
    title: "Cancelled",
    text: "Nothing was charged and nothing changed. You can start again from Telegram at any time.",
  };
}
