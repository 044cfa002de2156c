/** The one message a new owner gets when the instance is provisioned (or with their first message). */
import { formatUsd, MICROS_PER_USD } from "../../../money";
import { EXAMPLES } from "../format";
import type { WelcomeInput } from "../types";

/**
 * Starts with "👋 Welcome" (tests and the demo recognise it by that). Says what was credited, what costs
 * credits, how to turn on auto-recharge with its minimums, and where the rest is (`/help`).
 */
export function welcome(input: WelcomeInput): string {
  const bonus =
    input.bonusMicros > 0
      ? `Your bot starts with ${formatUsd(input.bonusMicros)} of credits, the bonus of your "${input.license}" license. 1 credit = $1.`
      : "Your bot starts with no credits yet. 1 credit = $1.";
  return [
    "👋 Welcome to your AI Expert!",
    "",
    bonus,
    "",
    "What costs credits: every answer the bot gives your clients (by the tokens the AI uses), and processing your know-how and your bot's role. Asking me about your balance is free.",
    "",
    `So that your bot never stops, turn on auto-recharge: ${EXAMPLES.setupCredits} means "when my balance drops to ${formatUsd(100 * MICROS_PER_USD)}, charge my card ${formatUsd(500 * MICROS_PER_USD)} and add ${formatUsd(500 * MICROS_PER_USD)} of credits". The top-up is at least ${formatUsd(input.minTopUpMicros)} and the threshold at least ${formatUsd(input.minRechargeAtMicros)}. You get a Stripe link to enter your card; every charge has an invoice, which Stripe emails to the address you enter there (or set with /invoiceEmail).`,
    "",
    "/help lists every command with an example.",
  ].join("\n");
}
