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
        why: "automatické dobíjení je vypnuté.",
        fix: `zapněte ho příkazem ${turnOnCommand(d)}, nebo dobijte kredity jednorázově příkazem ${topUp}.`,
      };
    case "top_up_short": {
      const bigger = biggerTopUpCommand(d);
      return {
        why: "po posledním automatickém dobití zůstal zůstatek na vaší hranici dobití nebo pod ní. Automatické dobíjení strhne platbu jen jednou při každém poklesu zůstatku na hranici.",
        fix: `dobijte kredity hned příkazem ${topUp}. Předejdete tomu částkou dobití vyšší, než kolik utratíte mezi dvěma dobitími: ${bigger}`,
      };
    }
    case "card_declined":
      return {
        why: "automatická platba vaší kartou byla zamítnuta.",
        fix: `uložte novou kartu příkazem ${setup}, nebo dobijte kredity jednorázově příkazem ${topUp}.`,
      };
    case "needs_confirmation":
      return {
        why: "vaše banka žádá potvrzení platby.",
        fix: d.confirmUrl
          ? `potvrďte ji zde: ${d.confirmUrl}`
          : `otevřete poslední fakturu přes /invoices a potvrďte ji, nebo dobijte kredity jednorázově příkazem ${topUp}.`,
      };
    case "daily_limit": {
      // Hitting the daily cap means the top-up is small for the spend; a bigger top-up is the lasting fix.
      const bigger = biggerTopUpCommand(d);
      return {
        why: "automatické dobíjení vyčerpalo denní limit počtu dobití.",
        fix: `dobijte kredity hned příkazem ${topUp}. Vyšší částka dobití tomu předejde: ${bigger}`,
      };
    }
    case "recharge_pending":
      return {
        why: "dobití je na cestě, ale ještě nedorazilo.",
        fix: `obvykle to trvá minutu. Pokud nic nedorazí, dobijte kredity jednorázově příkazem ${topUp}.`,
      };
  }
}

function outOfCreditsBody(headline: string, balanceMicros: number, reason: OutOfCreditsReason, d: OutOfCreditsDetails) {
  const { why, fix } = whyAndFix(reason, d);
  return [headline, `Zůstatek: ${formatUsd(balanceMicros)}`, `Důvod: ${why}`, `Řešení: ${fix}`].join("\n");
}

/** Sent the moment the balance can no longer cover an answer. */
export function outOfCreditsNow(balanceMicros: number, reason: OutOfCreditsReason, details: OutOfCreditsDetails = {}) {
  return outOfCreditsBody(
    "⚠️ Došly kredity — váš bot přestal odpovídat vašim klientům.",
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
    "⚠️ Teď vám nemohu odpovědět pomocí AI: vašemu botovi došly kredity.",
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
  const missed = details.unanswered ? ` (zatím ${details.unanswered})` : "";
  return outOfCreditsBody(
    `⚠️ Kredity stále chybí — zprávy vašich klientů zůstávají bez odpovědi${missed}.`,
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
  const runway = details.runwayHours !== undefined ? ` Výdrž: ${formatRunway(details.runwayHours ?? null)}.` : "";
  if (reason === "runway_short") {
    return [
      `⚠️ Docházejí kredity: ${formatUsd(balanceMicros)}.${runway}`,
      `Automatické dobíjení je vypnuté. Zapněte ho příkazem ${turnOnCommand(details)}, nebo dobijte kredity jednorázově příkazem ${EXAMPLES.topUp}.`,
    ].join("\n");
  }
  const fix = details.confirmUrl
    ? `Potvrďte platbu zde: ${details.confirmUrl}`
    : `Uložte novou kartu příkazem ${setupCommandFor(details)}, nebo dobijte kredity jednorázově příkazem ${EXAMPLES.topUp}.`;
  return [
    `⚠️ Kreditů je málo (${formatUsd(balanceMicros)}) a automatickému dobíjení se nepodařilo strhnout platbu z vaší karty.${runway}`,
    fix,
  ].join("\n");
}

export function creditsRestored(balanceMicros: number): string {
  return `✅ Kredity jsou zpět: ${formatUsd(balanceMicros)}. Váš bot opět odpovídá vašim klientům.`;
}
