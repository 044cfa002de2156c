/** The answer to `/balance` and to asking in words. */
import { formatUsd } from "../../../money";
import { changeCommand, DEFAULT_RECHARGE_AT_MICROS, DEFAULT_TOP_UP_MICROS, EXAMPLES, setupCommand } from "../format";
import { rechargeState } from "../recharge-state";
import type { BalanceAnswerInput } from "../types";
import { card as cardOf } from "./words";

export function balanceAnswer(v: BalanceAnswerInput): string {
  const lines = [`Váš zůstatek kreditů: ${formatUsd(v.balanceMicros)}`];
  if (v.availableMicros < v.balanceMicros) {
    const held = formatUsd(v.balanceMicros - v.availableMicros);
    lines.push(`${held} je rezervováno pro rozpracované odpovědi, k dispozici je teď ${formatUsd(v.availableMicros)}.`);
  }
  const ar = v.autoRecharge;
  // Repeating the owner's own amounts in the fix command makes it one tap-and-send instead of an edit.
  const setup = ar ? setupCommand(ar.topUpMicros, ar.rechargeAtMicros) : EXAMPLES.setupCredits;
  const card = ar ? cardOf(ar.cardBrand, ar.cardLast4) : null;
  const topUp = EXAMPLES.topUp;
  switch (rechargeState(ar)) {
    case "off":
      lines.push(
        `Automatické dobíjení: vypnuto. Zapnete ho příkazem ${EXAMPLES.setupCredits} (dobije ${formatUsd(DEFAULT_TOP_UP_MICROS)}, ` +
          `kdykoli zůstatek klesne na ${formatUsd(DEFAULT_RECHARGE_AT_MICROS)}).`,
      );
      break;
    case "active":
      lines.push(
        `Automatické dobíjení: zapnuto — dobije ${formatUsd(ar?.topUpMicros ?? 0)}, když zůstatek klesne na ` +
          `${formatUsd(ar?.rechargeAtMicros ?? 0)}${card ? `, karta ${card}` : ""}.`,
      );
      break;
    case "failing":
      lines.push(
        `Automatické dobíjení: poslední platba ${card ? `kartou ${card}` : "kartou"} byla zamítnuta. ` +
          `Uložte novou kartu příkazem ${setup}, nebo dobijte jednorázově příkazem ${topUp}.`,
      );
      break;
    case "needs_confirmation":
      lines.push(
        ar?.confirmUrl
          ? `Automatické dobíjení: banka žádá potvrzení poslední platby. Potvrďte ji zde: ${ar.confirmUrl}`
          : `Automatické dobíjení: banka žádá potvrzení poslední platby. Otevřete ji přes /invoices, nebo dobijte jednorázově příkazem ${topUp}.`,
      );
      break;
    case "daily_limit":
      lines.push(
        `Automatické dobíjení: pro dnešek pozastaveno — denní počet dobití je vyčerpán. Kredity hned dobijete příkazem ${topUp}.`,
      );
      break;
    case "pending_card":
      lines.push(
        `Automatické dobíjení: čeká na uložení karty. Otevřete odkaz, který přišel po /setupCredits, nebo pro nový odkaz pošlete znovu ${setup}.`,
      );
      break;
    case "stopped": {
      const change = changeCommand(ar?.topUpMicros ?? DEFAULT_TOP_UP_MICROS, ar?.rechargeAtMicros ?? 0);
      lines.push(
        `Automatické dobíjení: vypnuto příkazem /stopCredits${card ? `; karta ${card} zůstává uložená` : ""}. ` +
          `Znovu ho zapnete příkazem ${change}.`,
      );
      break;
    }
  }
  return lines.join("\n");
}
