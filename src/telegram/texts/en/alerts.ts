/** Owner notifications (alerts) about running low on or out of credits. */
import { formatUsd } from "../../../money";
import { biggerTopUpCommand, EXAMPLES, setupCommandFor, turnOnCommand } from "../format";
import type { LowCreditsDetails, LowCreditsReason, OutOfCreditsDetails, OutOfCreditsReason } from "../types";
import { formatRunway } from "./words";

function whyAndFix(reason: OutOfCreditsReason, d: OutOfCreditsDetails): { why: string; fix: string } {
  const topUp = EXAMPLES.topUp;
  const setup = setupCommandFor(d);
  switch (reason) {
    case "auto_recharge_off":
      return {
        why: "auto-recharge is off.",
        fix: `turn it on with ${turnOnCommand(d)}, or buy credits once with ${topUp}.`,
      };
    case "top_up_short": {
      const bigger = biggerTopUpCommand(d);
      return {
        why: "the last automatic recharge did not lift the balance above your threshold, and auto-recharge charges once each time the balance crosses it.",
        fix: `buy credits now with ${topUp}; a top-up bigger than your spend between recharges avoids this: ${bigger}`,
      };
    }
    case "card_declined":
      return {
        why: "the automatic charge to your card was declined.",
        fix: `save a new card with ${setup}, or buy credits once with ${topUp}.`,
      };
    case "needs_confirmation":
      return {
        why: "your bank asks you to confirm the payment.",
        fix: d.confirmUrl
          ? `confirm it here: ${d.confirmUrl}`
          : `open the latest invoice from /invoices and confirm it, or buy credits once with ${topUp}.`,
      };
    case "daily_limit": {
      // Hitting the daily cap means the top-up is small for the spend; a bigger top-up is the lasting fix.
      const bigger = biggerTopUpCommand(d);
      return {
        why: "auto-recharge reached its daily limit of recharges.",
        fix: `buy credits now with ${topUp}; a bigger top-up avoids this: ${bigger}`,
      };
    }
    case "recharge_pending":
      return {
        why: "a recharge is on its way but has not arrived yet.",
        fix: `it usually takes a minute; if nothing arrives, buy credits once with ${topUp}.`,
      };
  }
}

function outOfCreditsBody(headline: string, balanceMicros: number, reason: OutOfCreditsReason, d: OutOfCreditsDetails) {
  const { why, fix } = whyAndFix(reason, d);
  return [headline, `Balance: ${formatUsd(balanceMicros)}`, `Why: ${why}`, `Fix: ${fix}`].join("\n");
}

/** Sent the moment the balance can no longer cover an answer. */
export function outOfCreditsNow(balanceMicros: number, reason: OutOfCreditsReason, details: OutOfCreditsDetails = {}) {
  return outOfCreditsBody(
    "⚠️ Out of credits — your bot has stopped answering your clients.",
    balanceMicros,
    reason,
    details,
  );
}

/**
 * The answer to the owner's own message while out of credits (not an alert: the owner asked, and hears why the
 * AI does not answer, with the balance and the fix).
 */
export function outOfCreditsReply(
  balanceMicros: number,
  reason: OutOfCreditsReason,
  details: OutOfCreditsDetails = {},
) {
  return outOfCreditsBody(
    "⚠️ I can't answer you with the AI now: your bot is out of credits.",
    balanceMicros,
    reason,
    details,
  );
}

/** The hourly reminder while the episode lasts. */
export function outOfCreditsHourly(
  balanceMicros: number,
  reason: OutOfCreditsReason,
  details: OutOfCreditsDetails = {},
): string {
  const missed = details.unanswered ? ` (${details.unanswered} so far)` : "";
  return outOfCreditsBody(
    `⚠️ Still out of credits — your clients' messages are going unanswered${missed}.`,
    balanceMicros,
    reason,
    details,
  );
}

/** Early warning, once per episode, before the bot actually runs dry. */
export function lowCreditsWarning(
  balanceMicros: number,
  reason: LowCreditsReason,
  details: LowCreditsDetails = {},
): string {
  const runway = details.runwayHours !== undefined ? ` Runway: ${formatRunway(details.runwayHours ?? null)}.` : "";
  if (reason === "runway_short") {
    return [
      `⚠️ Credits are running low: ${formatUsd(balanceMicros)}.${runway}`,
      `Auto-recharge is off. Turn it on with ${turnOnCommand(details)}, or buy credits once with ${EXAMPLES.topUp}.`,
    ].join("\n");
  }
  const fix = details.confirmUrl
    ? `Confirm the payment here: ${details.confirmUrl}`
    : `Save a new card with ${setupCommandFor(details)}, or buy credits once with ${EXAMPLES.topUp}.`;
  return [
    `⚠️ Credits are low (${formatUsd(balanceMicros)}) and auto-recharge could not charge your card.${runway}`,
    fix,
  ].join("\n");
}

export function creditsRestored(balanceMicros: number): string {
  return `✅ Credits are back: ${formatUsd(balanceMicros)}. Your bot is answering your clients again.`;
}
