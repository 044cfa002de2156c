/** The owner's own controls: turning auto-recharge off and on, the daily limit per client, background work refused. */
import type { AutoRechargeView, Operation } from "../../../ledger/types";
import { formatUsd } from "../../../money";
import { changeCommand, EXAMPLES, topUpCommand } from "../format";
import { rechargeState } from "../recharge-state";
import type { BackgroundRefusedInput, ChargeNow } from "../types";
import { nowLine } from "./billing";
import { card as cardLabel } from "./words";

/** `/stopCredits` turned auto-recharge off. */
export function autoRechargeStopped(ar: AutoRechargeView): string {
  const card = cardLabel(ar.cardBrand, ar.cardLast4);
  return (
    `Auto-recharge is off: your card will not be charged automatically.${card ? ` The card ${card} stays saved.` : ""} ` +
    "A recharge already under way still finishes.\n" +
    `To turn it on again with the same amounts: ${changeCommand(ar.topUpMicros, ar.rechargeAtMicros)}`
  );
}

/** `/stopCredits` with nothing to stop. */
export function autoRechargeAlreadyOff(ar: AutoRechargeView | null): string {
  if (ar?.status === "pending_card") {
    return (
      "Auto-recharge is not on yet: your card has not been saved. If you complete the card link you got after " +
      "/setupCredits, auto-recharge turns on; if you don't want that, just leave the link unused."
    );
  }
  const again = ar?.cardSaved ? changeCommand(ar.topUpMicros, ar.rechargeAtMicros) : EXAMPLES.setupCredits;
  return `Auto-recharge is already off. To turn it on: ${again}`;
}

/** `/changeCreditsTopUp` on a saved card while auto-recharge was off; `now`: what turning it on did at once. */
export function autoRechargeOnAgain(topUpMicros: number, rechargeAtMicros: number, now?: ChargeNow): string {
  const line = nowLine(now);
  const on = `✅ Auto-recharge is on again: adds ${formatUsd(topUpMicros)} when the balance drops to ${formatUsd(rechargeAtMicros)}.`;
  return line ? `${on}\n${line}` : on;
}

/** `/clientLimit` accepted. */
export function clientLimitSet(micros: number): string {
  if (micros === 0) {
    return `The daily limit per client is off: a client may cost you any amount a day. To set one again: ${EXAMPLES.clientLimit}`;
  }
  return (
    `✅ Each client may now cost you at most ${formatUsd(micros)} a day (UTC). A client who reaches it gets a polite ` +
    "note and answers again tomorrow. /stats shows how many reached it today. To turn it off: /clientLimit:0"
  );
}

/** The daily limit per client as a phrase: "$1.00 a day" or "off". */
export function clientLimitLabel(micros: number): string {
  return micros === 0 ? "off" : `${formatUsd(micros)} a day`;
}

const BACKGROUND_LABELS: Record<Exclude<Operation, "response">, string> = {
  knowhow_update: "A know-how update",
  role_update: "A role update",
};

/**
 * Background work (know-how, role) was refused because it would eat into the credits kept for clients'
 * answers. Sent at most once a day per kind; the fix depends on what auto-recharge is doing.
 */
export function backgroundRefused(v: BackgroundRefusedInput): string {
  const ar = v.autoRecharge;
  const state = rechargeState(ar);
  const topUp = topUpCommand();
  let fix: string;
  if (state === "active")
    fix = `buy credits now with ${topUp} (auto-recharge adds more when the balance drops to ${formatUsd(ar?.rechargeAtMicros ?? 0)}).`;
  else if (state === "stopped" && ar)
    fix = `buy credits with ${topUp}, or turn auto-recharge on again: ${changeCommand(ar.topUpMicros, ar.rechargeAtMicros)}`;
  else if (state === "off") fix = `buy credits with ${topUp}, or turn on auto-recharge: ${EXAMPLES.setupCredits}`;
  else fix = `buy credits with ${topUp}; /balance says what auto-recharge is waiting for.`;
  return [
    `⚠️ ${BACKGROUND_LABELS[v.operation]} was not run: your available balance (${formatUsd(v.availableMicros)}) ` +
      `would drop below the ${formatUsd(v.floorMicros)} kept for your clients' answers` +
      (v.costMicros > 0 ? ` (it costs ${formatUsd(v.costMicros)}).` : "."),
    `Your bot keeps answering clients. Fix: ${fix}`,
    "You get this note at most once a day for each kind of update.",
  ].join("\n");
}

/** The owner's settings in one line, for `/help`. */
export function settingsNow(ar: AutoRechargeView | null, clientLimitMicros: number): string {
  const state = rechargeState(ar);
  const card = ar ? cardLabel(ar.cardBrand, ar.cardLast4) : null;
  let recharge: string;
  switch (state) {
    case "off":
      recharge = "off";
      break;
    case "stopped":
      recharge = `off (turned off; card ${card ?? "saved"} kept)`;
      break;
    case "pending_card":
      recharge = `waiting for your card (${formatUsd(ar?.topUpMicros ?? 0)} at ${formatUsd(ar?.rechargeAtMicros ?? 0)})`;
      break;
    case "active":
      recharge = `on, adds ${formatUsd(ar?.topUpMicros ?? 0)} at ${formatUsd(ar?.rechargeAtMicros ?? 0)}`;
      break;
    default:
      recharge = `on, but ${state === "failing" ? "the card was declined" : state === "daily_limit" ? "paused for today" : "a payment needs confirmation"}`;
  }
  return `Now: auto-recharge ${recharge}; limit per client ${clientLimitLabel(clientLimitMicros)}.`;
}
