/**
 * The inputs of the texts, shared by every language's catalogue: billing and the bot decide what happened,
 * these types carry it, and each catalogue words it.
 */
import type { AutoRechargeView, Operation } from "../../ledger/types";
import type { AmountProblem } from "../../money";

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

export type LowCreditsReason = "recharge_failing" | "runway_short";

export interface LowCreditsDetails {
  runwayHours?: number | null;
  confirmUrl?: string | null;
  topUpMicros?: number;
  rechargeAtMicros?: number;
  /** A card is saved (auto-recharge turned off with /stopCredits): turning it on needs no new card. */
  cardSaved?: boolean;
}

/**
 * What saving a card or new settings does at once (billing decides it, the texts word it): the owner
 * is told before saving the card and again in the confirmation.
 */
export interface ChargeNow {
  balanceMicros: number;
  rechargeAtMicros: number;
  /** Charged at once: a new recharge of the top-up, or the unpaid invoice paid with the new card. */
  charge: { kind: "top_up" | "unpaid_invoice"; amountMicros: number } | null;
  /** At or under the threshold, yet nothing is charged now: why. */
  held: "in_flight" | "daily_limit" | "card_trouble" | null;
  /** The unpaid invoice a new card voids instead of paying (the balance is above the threshold). */
  voidsMicros: number | null;
}

/** A recharge that left the balance at or under the threshold: no other starts until it has been above. */
export interface ShortOfThreshold {
  topUpMicros: number;
  rechargeAtMicros: number;
  /** A one-off purchase that takes the balance above the threshold. */
  topUpNeededMicros: number;
  /** A top-up setting that would have covered the gap (null above the largest allowed). */
  biggerTopUpMicros: number | null;
}

export interface InvoiceRow {
  createdAt: number;
  amountMicros: number;
  status: string;
  hostedUrl: string | null;
  pdfUrl: string | null;
}

export interface BalanceAnswerInput {
  balanceMicros: number;
  availableMicros: number;
  autoRecharge: AutoRechargeView | null;
}

export interface HelpLimits {
  minTopUpMicros: number;
  minRechargeAtMicros: number;
  maxTopUpMicros: number;
  minManualTopUpMicros: number;
}

/** The owner's current settings, shown on top of `/help`. */
export interface HelpState {
  autoRecharge: AutoRechargeView | null;
  clientLimitMicros: number;
}

export interface BackgroundRefusedInput {
  operation: Exclude<Operation, "response">;
  costMicros: number;
  availableMicros: number;
  floorMicros: number;
  autoRecharge: AutoRechargeView | null;
}

export interface WelcomeInput {
  /** The license bonus credited at provisioning (0: none). */
  bonusMicros: number;
  license: string;
  minTopUpMicros: number;
  minRechargeAtMicros: number;
}

export type OwnerAmountCommand = "setupCredits" | "changeCreditsTopUp" | "topUp";

/** Every owner command that takes values; each bad one is answered with all of its problems at once. */
export type OwnerArgsCommand = OwnerAmountCommand | "clientLimit";

/** One thing wrong with a typed owner command. */
export type CommandProblem =
  | { kind: "amount"; what: "top-up" | "threshold" | "amount" | "limit"; problem: AmountProblem }
  | { kind: "missing_parts" }
  | { kind: "too_many_parts" }
  | { kind: "top_up_below_min"; minMicros: number }
  | { kind: "top_up_above_max"; maxMicros: number }
  | { kind: "threshold_below_min"; minMicros: number }
  | { kind: "threshold_above_max"; maxMicros: number }
  | { kind: "limit_below_min"; minMicros: number };

/** One entry of Telegram's command menu (`setMyCommands`, lowercase names). */
export interface MenuCommand {
  command: string;
  description: string;
}
