/** `/help`, the command menu, and the refusal for anyone but the owner. */
import { formatUsd } from "../../money";
import { EXAMPLES } from "./format";

export interface HelpLimits {
  minTopUpMicros: number;
  minRechargeAtMicros: number;
  maxTopUpMicros: number;
  minManualTopUpMicros: number;
}

/** All owner commands with one line each and an example. Limits are shown when the caller passes them. */
export function helpText(limits?: HelpLimits): string {
  const setupLimits = limits
    ? ` (top-up ${formatUsd(limits.minTopUpMicros)}–${formatUsd(limits.maxTopUpMicros)}, threshold at least ${formatUsd(limits.minRechargeAtMicros)})`
    : "";
  const topUpLimit = limits ? ` (at least ${formatUsd(limits.minManualTopUpMicros)})` : "";
  return [
    "Owner commands:",
    "",
    "/balance — your credit balance and auto-recharge status. Example: /balance",
    'Or just ask in words, free of charge: "how much credit do I have left?" or "kolik mám kreditů?"',
    "/stats — spend, answers, users, runway and a recommended threshold. Example: /stats",
    `/setupCredits:{topUpAmount}:{rechargeAt} — turn on auto-recharge: when the balance drops to rechargeAt, your card is charged topUpAmount and that many credits are added. Example: ${EXAMPLES.setupCredits}${setupLimits}`,
    `/changeCreditsTopUp:{newTopUpAmount}:{newRechargeAt} — change both auto-recharge values at once. Example: ${EXAMPLES.changeCreditsTopUp}`,
    `/topUp:{amount} — buy credits once by card. Example: ${EXAMPLES.topUp}${topUpLimit}`,
    "/invoices — your latest recharges with links to the invoices. Example: /invoices",
    "/billing — your billing page at Stripe: card, billing name, address, tax ID and every invoice. Example: /billing",
    "/invoiceEmail:{email} — where Stripe emails your invoices and receipts. Example: /invoiceEmail:name@example.com",
    "/help — this list. Example: /help",
    "",
    "1 credit = $1. Commands work in any letter case, and a space works instead of the colon: /setupCredits 500 100",
  ].join("\n");
}

/** For setMyCommands, which only accepts lowercase names; the handler matches commands case-insensitively. */
export const MENU_COMMANDS: { command: string; description: string }[] = [
  { command: "balance", description: "Credit balance and auto-recharge status" },
  { command: "stats", description: "Spend, answers, runway and a recommended threshold" },
  { command: "setupcredits", description: "Turn on auto-recharge, e.g. /setupCredits:500:100" },
  { command: "changecreditstopup", description: "Change auto-recharge amounts, e.g. /changeCreditsTopUp:750:200" },
  { command: "topup", description: "Buy credits once, e.g. /topUp:100" },
  { command: "invoices", description: "Latest recharges and invoices" },
  { command: "billing", description: "Card, billing details, tax ID and every invoice (Stripe)" },
  { command: "invoiceemail", description: "Where invoices are emailed, e.g. /invoiceEmail:name@example.com" },
  { command: "help", description: "All commands with examples" },
];

export function notOwnerRefusal(): string {
  return "Sorry, only the owner of this bot can use this command.";
}
