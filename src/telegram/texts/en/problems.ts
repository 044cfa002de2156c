/** Input problems: what is wrong with a typed owner command, always with an example that would be accepted. */
import { type AmountProblem, formatUsd } from "../../../money";
import { DEFAULT_MANUAL_TOP_UP_MICROS, DEFAULT_RECHARGE_AT_MICROS, DEFAULT_TOP_UP_MICROS, EXAMPLES } from "../format";
import type { CommandProblem, OwnerAmountCommand, OwnerArgsCommand } from "../types";

const AMOUNT_PROBLEMS: Record<AmountProblem, (name: string) => string> = {
  missing: (name) => `The ${name} is missing.`,
  not_a_number: (name) =>
    `The ${name} must be a plain number of dollars, like 500 or 99.50 (digits only, an optional $ in front).`,
  negative: (name) => `The ${name} can't be negative.`,
  zero: (name) => `The ${name} must be more than zero.`,
  too_many_decimals: (name) => `The ${name} can have at most two decimals (whole cents).`,
  too_large: (name) => `The ${name} is far too large.`,
};

const USAGE: Record<OwnerAmountCommand, string> = {
  setupCredits: "/setupCredits:{topUpAmount}:{rechargeAt}",
  changeCreditsTopUp: "/changeCreditsTopUp:{newTopUpAmount}:{newRechargeAt}",
  topUp: "/topUp:{amount}",
};

function explainExample(command: OwnerAmountCommand, example: string): string {
  if (example === EXAMPLES.setupCredits)
    return `${example} — when the balance drops to ${formatUsd(DEFAULT_RECHARGE_AT_MICROS)}, your card is charged ${formatUsd(DEFAULT_TOP_UP_MICROS)} and ${formatUsd(DEFAULT_TOP_UP_MICROS)} of credits are added.`;
  if (command === "topUp" && example === EXAMPLES.topUp)
    return `${example} — buys ${formatUsd(DEFAULT_MANUAL_TOP_UP_MICROS)} of credits once.`;
  return example;
}

const ARGS_USAGE: Record<OwnerArgsCommand, string> = { ...USAGE, clientLimit: "/clientLimit:{usd}" };

const PROBLEM_AMOUNT_NAMES: Record<"top-up" | "threshold" | "amount" | "limit", string> = {
  "top-up": "top-up amount (the first number)",
  threshold: "recharge threshold (the second number)",
  amount: "amount",
  limit: "daily limit per client",
};

function problemLine(command: OwnerArgsCommand, p: CommandProblem): string {
  const manual = command === "topUp";
  switch (p.kind) {
    case "amount":
      return AMOUNT_PROBLEMS[p.problem](PROBLEM_AMOUNT_NAMES[p.what]);
    case "missing_parts":
      if (command === "clientLimit") return "The daily limit per client is missing.";
      return manual
        ? "The amount to buy is missing."
        : "It needs two amounts: how much to add (top-up), and the balance at which to add it (threshold).";
    case "too_many_parts":
      return `Too many values: /${command} takes ${manual || command === "clientLimit" ? "exactly one amount" : "exactly two amounts"}.`;
    case "top_up_below_min":
      return `${manual ? "A one-off top-up" : "The top-up amount"} must be at least ${formatUsd(p.minMicros)}.`;
    case "top_up_above_max":
      return `${manual ? "A one-off top-up" : "The top-up amount"} can be at most ${formatUsd(p.maxMicros)}.`;
    case "threshold_below_min":
      return (
        `The recharge threshold (the second number) must be at least ${formatUsd(p.minMicros)}, ` +
        "so a failed card payment leaves you time to react."
      );
    case "threshold_above_max":
      return (
        `The recharge threshold (the second number) can be at most ${formatUsd(p.maxMicros)}: ` +
        "a higher one would recharge again and again."
      );
    case "limit_below_min":
      return (
        `The daily limit per client must be at least ${formatUsd(p.minMicros)}, the most one answer can cost ` +
        "(a lower one would stop every answer), or 0 to turn the limit off."
      );
  }
}

/**
 * A bad owner command, answered once with every problem it has, its form, and an example that the same
 * command accepts (the caller builds it from the configured limits, keeping what the owner typed right).
 */
export function commandProblems(command: OwnerArgsCommand, problems: readonly CommandProblem[], example: string) {
  const lines =
    problems.length === 1
      ? [`${problemLine(command, problems[0] as CommandProblem)} Nothing was changed.`]
      : [
          `/${command} has ${problems.length} problems, so nothing was changed:`,
          ...problems.map((p) => `• ${problemLine(command, p)}`),
        ];
  lines.push(`Form: ${ARGS_USAGE[command]}`);
  lines.push(`Example: ${command === "clientLimit" ? example : explainExample(command, example)}`);
  return lines.join("\n");
}
