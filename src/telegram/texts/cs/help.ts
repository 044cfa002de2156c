/** `/help`, the command menu, and the refusal for anyone but the owner (Czech). */
import { formatUsd } from "../../../money";
import { EXAMPLES } from "../format";
import type { HelpLimits, HelpState, MenuCommand } from "../types";
import { settingsNow } from "./owner-controls";

/**
 * All owner commands with one line each and an example. Limits are shown when the caller passes them, and
 * the owner's current settings when `state` is given.
 */
export function helpText(limits?: HelpLimits, state?: HelpState): string {
  const setupLimits = limits
    ? ` (dobití ${formatUsd(limits.minTopUpMicros)}–${formatUsd(limits.maxTopUpMicros)}, hranice alespoň ${formatUsd(limits.minRechargeAtMicros)})`
    : "";
  const topUpLimit = limits ? ` (alespoň ${formatUsd(limits.minManualTopUpMicros)})` : "";
  return [
    ...(state ? [settingsNow(state.autoRecharge, state.clientLimitMicros), ""] : []),
    "Příkazy pro majitele:",
    "",
    "/balance — zůstatek kreditů a stav automatického dobíjení. Příklad: /balance",
    "Nebo se prostě zeptejte slovy, zdarma: „kolik mám kreditů?“ nebo „jaký je zůstatek?“",
    "/stats — útrata, odpovědi, uživatelé, výdrž a doporučená hranice. Příklad: /stats",
    "/dashboard — otevře váš přehled v Telegramu: útrata za posledních 30 dní v grafu, faktury a nastavení. Příklad: /dashboard",
    `/setupCredits:{částka}:{hranice} — zapne automatické dobíjení: když zůstatek klesne na hranici, z vaší karty se strhne částka a připíše se stejný počet kreditů. Příklad: ${EXAMPLES.setupCredits}${setupLimits}`,
    `/changeCreditsTopUp:{nová_částka}:{nová_hranice} — změní obě hodnoty automatického dobíjení najednou. Příklad: ${EXAMPLES.changeCreditsTopUp}`,
    "/stopCredits — vypne automatické dobíjení; karta zůstane uložená a už probíhající dobití se dokončí. Znovu ho zapnete příkazem /setupCredits nebo /changeCreditsTopUp. Příklad: /stopCredits",
    `/topUp:{částka} — jednorázový nákup kreditů kartou. Příklad: ${EXAMPLES.topUp}${topUpLimit}`,
    `/clientLimit:{usd} — kolik vás smí stát jeden klient za den (UTC); 0 limit vypne. Příklad: ${EXAMPLES.clientLimit}`,
    "/invoices — vaše poslední dobití s odkazy na faktury. Příklad: /invoices",
    "/billing — vaše fakturační stránka ve Stripe: karta, fakturační jméno, adresa, DIČ a všechny faktury. Příklad: /billing",
    "/invoiceEmail:{e-mail} — kam vám Stripe posílá faktury a potvrzení o platbě. Příklad: /invoiceEmail:name@example.com",
    "/language:{en|cs} — jazyk, ve kterém vám odpovídám, včetně upozornění (angličtina: /language:en). Příklad: /language:cs",
    "/help — tato nápověda. Příklad: /help",
    "",
    "1 kredit = $1. Na velikosti písmen v příkazech nezáleží a místo dvojtečky stačí mezera: /setupCredits 500 100",
  ].join("\n");
}

/** For setMyCommands, which only accepts lowercase names; the handler matches commands case-insensitively. */
export const menuCommands: readonly MenuCommand[] = [
  { command: "balance", description: "Zůstatek kreditů a stav automatického dobíjení" },
  { command: "stats", description: "Útrata, odpovědi, výdrž a doporučená hranice" },
  { command: "dashboard", description: "Grafy, faktury a nastavení na jedné stránce" },
  { command: "setupcredits", description: "Zapnout automatické dobíjení, např. /setupCredits:500:100" },
  {
    command: "changecreditstopup",
    description: "Změnit částky automatického dobíjení, např. /changeCreditsTopUp:750:200",
  },
  { command: "stopcredits", description: "Vypnout automatické dobíjení (karta zůstane uložená)" },
  { command: "topup", description: "Jednorázový nákup kreditů, např. /topUp:100" },
  { command: "clientlimit", description: "Denní limit nákladů na klienta, např. /clientLimit:2" },
  { command: "invoices", description: "Poslední dobití a faktury" },
  { command: "billing", description: "Karta, fakturační údaje, DIČ a všechny faktury (Stripe)" },
  { command: "invoiceemail", description: "Kam posílat faktury e-mailem, např. /invoiceEmail:name@example.com" },
  { command: "language", description: "Jazyk tohoto chatu: /language:cs nebo /language:en" },
  { command: "help", description: "Všechny příkazy s příklady" },
];

export function notOwnerRefusal(): string {
  return "Omlouvám se, tento příkaz může použít jen majitel tohoto bota.";
}
