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
    `Automatické dobíjení je vypnuto: z vaší karty se už nebude nic automaticky strhávat.${card ? ` Karta ${card} zůstává uložená.` : ""} ` +
    "Dobití, které už probíhá, se ještě dokončí.\n" +
    `Znovu ho zapnete se stejnými částkami příkazem ${changeCommand(ar.topUpMicros, ar.rechargeAtMicros)}`
  );
}

/** `/stopCredits` with nothing to stop. */
export function autoRechargeAlreadyOff(ar: AutoRechargeView | null): string {
  if (ar?.status === "pending_card") {
    return (
      "Automatické dobíjení ještě není zapnuté: vaše karta zatím není uložená. Když dokončíte uložení karty přes odkaz, " +
      "který přišel po /setupCredits, automatické dobíjení se zapne; pokud to nechcete, odkaz prostě nepoužívejte."
    );
  }
  const again = ar?.cardSaved ? changeCommand(ar.topUpMicros, ar.rechargeAtMicros) : EXAMPLES.setupCredits;
  return `Automatické dobíjení už je vypnuto. Zapnete ho příkazem ${again}`;
}

/** `/changeCreditsTopUp` on a saved card while auto-recharge was off; `now`: what turning it on did at once. */
export function autoRechargeOnAgain(topUpMicros: number, rechargeAtMicros: number, now?: ChargeNow): string {
  const line = nowLine(now);
  const on = `✅ Automatické dobíjení je znovu zapnuto: dobije ${formatUsd(topUpMicros)}, když zůstatek klesne na ${formatUsd(rechargeAtMicros)}.`;
  return line ? `${on}\n${line}` : on;
}

/** `/clientLimit` accepted. */
export function clientLimitSet(micros: number): string {
  if (micros === 0) {
    return `Denní limit na klienta je vypnut: klient vás může za den stát libovolnou částku. Znovu ho nastavíte příkazem ${EXAMPLES.clientLimit}`;
  }
  return (
    `✅ Každý klient vás teď může stát nejvýše ${formatUsd(micros)} za den (UTC). Kdo limitu dosáhne, dostane zdvořilé ` +
    "upozornění a odpovědi zase dostane zítra. Kolik klientů ho dnes dosáhlo, ukáže /stats. Vypnete ho příkazem /clientLimit:0"
  );
}

/** The daily limit per client as a phrase: "$1.00 za den" or "vypnuto". */
export function clientLimitLabel(micros: number): string {
  return micros === 0 ? "vypnuto" : `${formatUsd(micros)} za den`;
}

const BACKGROUND_LABELS: Record<Exclude<Operation, "response">, string> = {
  knowhow_update: "Úprava know-how",
  role_update: "Úprava role",
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
    fix = `dobijte kredity hned příkazem ${topUp} (automatické dobíjení přidá další, až zůstatek klesne na ${formatUsd(ar?.rechargeAtMicros ?? 0)}).`;
  else if (state === "stopped" && ar)
    fix = `dobijte kredity příkazem ${topUp}, nebo znovu zapněte automatické dobíjení: ${changeCommand(ar.topUpMicros, ar.rechargeAtMicros)}`;
  else if (state === "off")
    fix = `dobijte kredity příkazem ${topUp}, nebo zapněte automatické dobíjení: ${EXAMPLES.setupCredits}`;
  else fix = `dobijte kredity příkazem ${topUp}; /balance ukáže, na co automatické dobíjení čeká.`;
  return [
    `⚠️ ${BACKGROUND_LABELS[v.operation]} neproběhla: váš dostupný zůstatek (${formatUsd(v.availableMicros)}) ` +
      `by klesl pod ${formatUsd(v.floorMicros)} vyhrazených pro odpovědi vašim klientům` +
      (v.costMicros > 0 ? ` (stojí ${formatUsd(v.costMicros)}).` : "."),
    `Váš bot dál odpovídá klientům. Řešení: ${fix}`,
    "Toto upozornění dostanete nejvýše jednou denně pro každý druh aktualizace.",
  ].join("\n");
}

/** The owner's settings in one line, for `/help`. */
export function settingsNow(ar: AutoRechargeView | null, clientLimitMicros: number): string {
  const state = rechargeState(ar);
  const card = ar ? cardLabel(ar.cardBrand, ar.cardLast4) : null;
  let recharge: string;
  switch (state) {
    case "off":
      recharge = "vypnuto";
      break;
    case "stopped":
      recharge = `vypnuto (vypnuli jste ho; ${card ? `karta ${card}` : "karta"} zůstává uložená)`;
      break;
    case "pending_card":
      recharge = `čeká na vaši kartu (dobití ${formatUsd(ar?.topUpMicros ?? 0)} při zůstatku ${formatUsd(ar?.rechargeAtMicros ?? 0)})`;
      break;
    case "active":
      recharge = `zapnuto, dobije ${formatUsd(ar?.topUpMicros ?? 0)} při zůstatku ${formatUsd(ar?.rechargeAtMicros ?? 0)}`;
      break;
    default:
      recharge = `zapnuto, ale ${state === "failing" ? "karta byla zamítnuta" : state === "daily_limit" ? "pro dnešek pozastaveno" : "platba čeká na potvrzení"}`;
  }
  return `Aktuálně: automatické dobíjení ${recharge}; limit na klienta ${clientLimitLabel(clientLimitMicros)}.`;
}
