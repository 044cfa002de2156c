/** Stripe: checkout links, card and recharge outcomes, top-ups, invoices. */
import { formatUsd } from "../../money";
import { cardLabel, commandAmount, EXAMPLES, escapeHtml, isoDate, setupCommand, statusLabel } from "./format";

/** The line above a Checkout link button. */
export function checkoutLink(kind: "setup", amounts: { topUpMicros: number; rechargeAtMicros: number }): string;
export function checkoutLink(kind: "topup", amounts: { amountMicros: number }): string;
export function checkoutLink(
  kind: "setup" | "topup",
  amounts: { topUpMicros: number; rechargeAtMicros: number } | { amountMicros: number },
): string {
  if (kind === "setup" && "topUpMicros" in amounts) {
    return (
      `To turn on auto-recharge (adds ${formatUsd(amounts.topUpMicros)} when the balance drops to ` +
      `${formatUsd(amounts.rechargeAtMicros)}), save your card on Stripe's secure page. Nothing is charged now.`
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

export function cardSaved(topUpMicros: number, rechargeAtMicros: number, brand: string | null, last4: string | null) {
  const card = cardLabel(brand, last4);
  return (
    `✅ Card${card ? ` ${card}` : ""} saved. Auto-recharge is on: when the balance drops to ` +
    `${formatUsd(rechargeAtMicros)}, the card is charged ${formatUsd(topUpMicros)} and ${formatUsd(topUpMicros)} of credits are added.`
  );
}

export function settingsChanged(topUpMicros: number, rechargeAtMicros: number): string {
  return `✅ Auto-recharge updated: adds ${formatUsd(topUpMicros)} when the balance drops to ${formatUsd(rechargeAtMicros)}.`;
}

export function needCardFirst(): string {
  return `There is no saved card yet, so there is nothing to change. Turn on auto-recharge first: ${EXAMPLES.setupCredits}`;
}

export function rechargeSucceeded(amountMicros: number, balanceMicros: number, invoiceUrl: string | null): string {
  const lines = [`✅ Auto-recharge added ${formatUsd(amountMicros)}. Balance: ${formatUsd(balanceMicros)}.`];
  if (invoiceUrl) lines.push(`Invoice: ${invoiceUrl}`);
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

/** Stripe's decline text comes from outside; keep it one short line so it can't flood the chat. */
function oneLine(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function rechargeFailed(
  reasonCode: string,
  declineMessage: string | null,
  settings?: { topUpMicros: number; rechargeAtMicros: number },
): string {
  const code = reasonCode.replace(/[^a-z0-9_]/gi, "").slice(0, 60);
  const reason = DECLINE_REASONS[code] ?? (code ? `the payment failed (${code})` : "the payment failed");
  const lines = [`⚠️ Auto-recharge failed: ${reason}.`];
  if (declineMessage?.trim()) lines.push(`Bank's message: ${oneLine(declineMessage)}`);
  const setup = settings ? setupCommand(settings.topUpMicros, settings.rechargeAtMicros) : EXAMPLES.setupCredits;
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

export function topUpSucceeded(amountMicros: number, balanceMicros: number): string {
  return `✅ ${formatUsd(amountMicros)} of credits added. Balance: ${formatUsd(balanceMicros)}.`;
}

export interface InvoiceRow {
  createdAt: number;
  amountMicros: number;
  status: string;
  hostedUrl: string | null;
  pdfUrl: string | null;
}

/** Only web links become `href`s; anything else (a `javascript:` URL from a bad row) is dropped. */
function link(url: string | null, label: string): string | null {
  if (!url || !/^https?:\/\//i.test(url)) return null;
  return `<a href="${escapeHtml(url)}">${escapeHtml(label)}</a>`;
}

/** Shown rows are capped so the message stays far below Telegram's 4096-character limit. */
const MAX_INVOICE_ROWS = 20;

export function invoicesList(rows: readonly InvoiceRow[]): { text: string; parseMode: "HTML" } {
  if (rows.length === 0) return { text: "No recharges yet.", parseMode: "HTML" };
  const lines = ["<b>Latest recharges</b>"];
  for (const row of rows.slice(0, MAX_INVOICE_ROWS)) {
    const links = [link(row.hostedUrl, "invoice"), link(row.pdfUrl, "PDF")].filter((l) => l !== null);
    const head = escapeHtml(`${isoDate(row.createdAt)} · ${formatUsd(row.amountMicros)} · ${statusLabel(row.status)}`);
    lines.push(links.length > 0 ? `${head} · ${links.join(" · ")}` : head);
  }
  return { text: lines.join("\n"), parseMode: "HTML" };
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
