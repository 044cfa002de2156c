/** `/help`, the command menu, and the refusal for anyone but the owner. */
import { formatUsd } from "../../../money";
import { EXAMPLES } from "../format";
import type { HelpLimits, HelpState, MenuCommand } from "../types";
import { settingsNow } from "./owner-controls";

/**
 * All owner commands with one line each and an example. Limits are shown when the caller passes them, and
 * the owner's current settings when `state` is given.
 */
export function helpText(limits?: HelpLimits, state?: HelpState): string {
  const setupLimits = limits
    ? ` (top-up ${formatUsd(limits.minTopUpMicros)}–${formatUsd(limits.maxTopUpMicros)}, threshold at least ${formatUsd(limits.minRechargeAtMicros)})`
    : "";
  const topUpLimit = limits ? ` (at least ${formatUsd(limits.minManualTopUpMicros)})` : "";
  return [
    ...(state ? [settingsNow(state.autoRecharge, state.clientLimitMicros), ""] : []),
    "Owner commands:",
    "",
    "/balance — your credit balance and auto-recharge status. Example: /balance",
    'Or just ask in words, free of charge: "how much credit do I have left?" or "kolik mám kreditů?"',
    "/stats — spend, answers, users, runway and a recommended threshold. Example: /stats",
    "/dashboard — opens your dashboard in Telegram: the last 30 days' spend as a chart, invoices and settings. Example: /dashboard",
    `/setupCredits:{topUpAmount}:{rechargeAt} — turn on auto-recharge: when the balance drops to rechargeAt, your card is charged topUpAmount and that many credits are added. Example: ${EXAMPLES.setupCredits}${setupLimits}`,
    `/changeCreditsTopUp:{newTopUpAmount}:{newRechargeAt} — change both auto-recharge values at once. Example: ${EXAMPLES.changeCreditsTopUp}`,
    "/stopCredits — turn auto-recharge off; the card stays saved and a recharge already under way finishes. /setupCredits or /changeCreditsTopUp turns it on again. Example: /stopCredits",
    `/topUp:{amount} — buy credits once by card. Example: ${EXAMPLES.topUp}${topUpLimit}`,
    `/clientLimit:{usd} — what one client may cost you per day (UTC); 0 turns the limit off. Example: ${EXAMPLES.clientLimit}`,
    "/invoices — your latest recharges with links to the invoices. Example: /invoices",
    "/billing — your billing page at Stripe: card, billing name, address, tax ID and every invoice. Example: /billing",
    "/invoiceEmail:{email} — where Stripe emails your invoices and receipts. Example: /invoiceEmail:name@example.com",
    "/language:{en|cs} — the language I answer you in, alerts included (Czech: /language:cs). Example: /language:en",
    "/help — this list. Example: /help",
    "",
    "1 credit = $1. Commands work in any letter case, and a space works instead of the colon: /setupCredits 500 100",
  ].join("\n");
}

/** For setMyCommands, which only accepts lowercase names; the handler matches commands case-insensitively. */
export const menuCommands: readonly MenuCommand[] = [
  { command: "balance", description: "Credit balance and auto-recharge status" },
  { command: "stats", description: "Spend, answers, runway and a recommended threshold" },
  { command: "dashboard", description: "Charts, invoices and settings on one page" },
  { command: "setupcredits", description: "Turn on auto-recharge, e.g. /setupCredits:500:100" },
  { command: "changecreditstopup", description: "Change auto-recharge amounts, e.g. /changeCreditsTopUp:750:200" },
  { command: "stopcredits", description: "Turn auto-recharge off (the card stays saved)" },
  { command: "topup", description: "Buy credits once, e.g. /topUp:100" },
  { command: "clientlimit", description: "Daily cost limit per client, e.g. /clientLimit:2" },
  { command: "invoices", description: "Latest recharges and invoices" },
  { command: "billing", description: "Card, billing details, tax ID and every invoice (Stripe)" },
  { command: "invoiceemail", description: "Where invoices are emailed, e.g. /invoiceEmail:name@example.com" },
  { command: "language", description: "Language of this chat: /language:en or /language:cs" },
  { command: "help", description: "All commands with examples" },
];

export function notOwnerRefusal(): string {
  return "Sorry, only the owner of this bot can use this command.";
}
