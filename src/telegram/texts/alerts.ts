/** Owner notifications (alerts) about running low on or out of credits. */
import { formatUsd } from "../../money";
import { changeCommand, EXAMPLES, formatRunway, setupCommand } from "./format";

export type OutOfCreditsReason =
  | "auto_recharge_off"
  | "card_declined"
  | "needs_confirmation"
  | "daily_limit"
  | "recharge_pending"
  | "top_up_short";

export interface OutOfCreditsDetails {
  /** Hosted invoice link to confirm when the reason is `needs_confirmation`. */
  confirmUrl?: string | null;
  /** Messages left unanswered so far in this out-of-credits episode. */
  unanswered?: number;
  /** The owner's auto-recharge settings, so fix commands repeat them instead of the generic example. */
  topUpMicros?: number;
  rechargeAtMicros?: number;
  /** A card is saved (auto-recharge turned off with /stopCredits): turning it on needs no new card. */
  cardSaved?: boolean;
}

/** The owner's saved settings, as far as a fix command can repeat them. */
interface SavedSettings {
  topUpMicros?: number;
  rechargeAtMicros?: number;
  cardSaved?: boolean;
}

/** Turning auto-recharge on: with a saved card no new card is needed (/changeCreditsTopUp), else /setupCredits. */
function turnOnCommand(d: SavedSettings): string {
  return d.cardSaved && d.topUpMicros !== undefined && d.rechargeAtMicros !== undefined
    ? changeCommand(d.topUpMicros, d.rechargeAtMicros)
    : EXAMPLES.setupCredits;
}

/** A top-up twice today's, the lasting fix when recharges come too often or fall short. */
function biggerTopUpCommand(d: SavedSettings): string {
  return d.topUpMicros !== undefined && d.rechargeAtMicros !== undefined
    ? changeCommand(d.topUpMicros * 2, d.rechargeAtMicros)
    : EXAMPLES.changeCreditsTopUp;
}

function whyAndFix(reason: OutOfCreditsReason, d: OutOfCreditsDetails): { why: string; fix: string } {
  const topUp = EXAMPLES.topUp;
  const setup = d.topUpMicros !== undefined ? setupCommand(d.topUpMicros, d.rechargeAtMicros) : EXAMPLES.setupCredits;
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

export type LowCreditsReason = "recharge_failing" | "runway_short";

/** Early warning, once per episode, before the bot actually runs dry. */
export function lowCreditsWarning(
  balanceMicros: number,
  reason: LowCreditsReason,
  details: {
    runwayHours?: number | null;
    confirmUrl?: string | null;
    topUpMicros?: number;
    rechargeAtMicros?: number;
    /** A card is saved (auto-recharge turned off with /stopCredits): turning it on needs no new card. */
    cardSaved?: boolean;
  } = {},
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
    : `Save a new card with ${details.topUpMicros !== undefined ? setupCommand(details.topUpMicros, details.rechargeAtMicros) : EXAMPLES.setupCredits}, or buy credits once with ${EXAMPLES.topUp}.`;
  return [
    `⚠️ Credits are low (${formatUsd(balanceMicros)}) and auto-recharge could not charge your card.${runway}`,
    fix,
  ].join("\n");
}

export function creditsRestored(balanceMicros: number): string {
  return `✅ Credits are back: ${formatUsd(balanceMicros)}. Your bot is answering your clients again.`;
}
