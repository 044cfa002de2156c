/** The one message a new owner gets when the instance is provisioned (or with their first message), in Czech. */
import { formatUsd, MICROS_PER_USD } from "../../../money";
import { EXAMPLES } from "../format";
import type { WelcomeInput } from "../types";

/**
 * Starts with "👋 Vítejte" (the English one with "👋 Welcome"). Says what was credited, what costs credits, how
 * to turn on auto-recharge with its minimums, and where the rest is (`/help`).
 */
export function welcome(input: WelcomeInput): string {
  const bonus =
    input.bonusMicros > 0
      ? `Váš bot začíná s kredity v hodnotě ${formatUsd(input.bonusMicros)}: to je bonus k vaší licenci „${input.license}“. 1 kredit = $1.`
      : "Váš bot zatím nemá žádné kredity. 1 kredit = $1.";
  return [
    "👋 Vítejte u svého AI Experta!",
    "",
    bonus,
    "",
    "Kredity se čerpají za každou odpověď, kterou bot dá vašim klientům (podle tokenů, které AI spotřebuje), a za zpracování vašeho know-how a role vašeho bota. Dotaz na zůstatek je zdarma.",
    "",
    `Aby se váš bot nikdy nezastavil, zapněte automatické dobíjení: ${EXAMPLES.setupCredits} znamená „když můj zůstatek klesne na ${formatUsd(100 * MICROS_PER_USD)}, strhni z mé karty ${formatUsd(500 * MICROS_PER_USD)} a připiš ${formatUsd(500 * MICROS_PER_USD)} kreditů“. Částka dobití je alespoň ${formatUsd(input.minTopUpMicros)} a hranice alespoň ${formatUsd(input.minRechargeAtMicros)}. Dostanete odkaz na Stripe, kde zadáte kartu. Ke každé platbě je faktura; Stripe ji pošle na e-mail, který tam zadáte (nebo nastavíte příkazem /invoiceEmail).`,
    "",
    "/help ukáže všechny příkazy s příklady.",
  ].join("\n");
}
