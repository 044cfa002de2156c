/**
 * Per-language texts. English is complete; another language overrides what it has translated and falls back
 * to English for the rest, so adding a language never leaves a message missing.
 */
import type { Lang } from "../types";

interface LocalizedTexts {
  balanceLine(balance: string): string;
  heldLine(held: string, available: string): string;
  rechargeOff(setup: string, topUp: string, rechargeAt: string): string;
  rechargeActive(topUp: string, rechargeAt: string, card: string | null): string;
  rechargeFailing(card: string | null, setup: string, topUp: string): string;
  rechargeNeedsConfirmation(url: string | null, topUp: string): string;
  rechargeDailyLimit(topUp: string): string;
  rechargePendingCard(setup: string): string;
  rechargeStopped(card: string | null, change: string): string;
  userDailyCapReached: string;
  answerFailed: string;
  nonTextMessage: string;
}

const EN: LocalizedTexts = {
  balanceLine: (balance) => `Your credit balance: ${balance}`,
  heldLine: (held, available) => `${held} is reserved for answers in progress, so ${available} is available now.`,
  rechargeOff: (setup, topUp, rechargeAt) =>
    `Auto-recharge: off. To turn it on, send ${setup} (adds ${topUp} whenever the balance drops to ${rechargeAt}).`,
  rechargeActive: (topUp, rechargeAt, card) =>
    `Auto-recharge: on — adds ${topUp} when the balance drops to ${rechargeAt}${card ? `, card ${card}` : ""}.`,
  rechargeFailing: (card, setup, topUp) =>
    `Auto-recharge: the last charge to ${card ? `your card ${card}` : "your card"} was declined. ` +
    `Save a new card with ${setup}, or buy credits once with ${topUp}.`,
  rechargeNeedsConfirmation: (url, topUp) =>
    url
      ? `Auto-recharge: your bank asks you to confirm the last payment. Confirm it here: ${url}`
      : `Auto-recharge: your bank asks you to confirm the last payment. Open it from /invoices, or buy credits once with ${topUp}.`,
  rechargeDailyLimit: (topUp) =>
    `Auto-recharge: paused for today — the daily number of recharges is used up. To add credits now, send ${topUp}.`,
  rechargePendingCard: (setup) =>
    `Auto-recharge: waiting for your card to be saved. Open the link you got after /setupCredits, or send ${setup} again for a new link.`,
  rechargeStopped: (card, change) =>
    `Auto-recharge: off — you turned it off with /stopCredits${card ? `; your card ${card} stays saved` : ""}. To turn it on again, send ${change}.`,
  userDailyCapReached: "You've reached today's message limit. Please come back tomorrow — thank you for understanding!",
  answerFailed: "Sorry, I can't answer right now. Please try again in a minute.",
  nonTextMessage: "Sorry, I can only read text messages. Please type your question.",
};

const CS: Partial<LocalizedTexts> = {
  balanceLine: (balance) => `Váš zůstatek kreditů: ${balance}`,
  heldLine: (held, available) => `${held} je rezervováno pro rozpracované odpovědi, k dispozici je teď ${available}.`,
  rechargeOff: (setup, topUp, rechargeAt) =>
    `Automatické dobíjení: vypnuto. Zapnete ho příkazem ${setup} (dobije ${topUp}, kdykoli zůstatek klesne na ${rechargeAt}).`,
  rechargeActive: (topUp, rechargeAt, card) =>
    `Automatické dobíjení: zapnuto — dobije ${topUp}, když zůstatek klesne na ${rechargeAt}${card ? `, karta ${card}` : ""}.`,
  rechargeFailing: (card, setup, topUp) =>
    `Automatické dobíjení: poslední platba ${card ? `kartou ${card}` : "kartou"} byla zamítnuta. ` +
    `Uložte novou kartu příkazem ${setup}, nebo dobijte jednorázově příkazem ${topUp}.`,
  rechargeNeedsConfirmation: (url, topUp) =>
    url
      ? `Automatické dobíjení: banka žádá potvrzení poslední platby. Potvrďte ji zde: ${url}`
      : `Automatické dobíjení: banka žádá potvrzení poslední platby. Otevřete ji přes /invoices, nebo dobijte jednorázově příkazem ${topUp}.`,
  rechargeDailyLimit: (topUp) =>
    `Automatické dobíjení: pro dnešek pozastaveno — denní počet dobití je vyčerpán. Kredit hned dobijete příkazem ${topUp}.`,
  rechargePendingCard: (setup) =>
    `Automatické dobíjení: čeká na uložení karty. Otevřete odkaz, který přišel po /setupCredits, nebo pošlete ${setup} znovu pro nový odkaz.`,
  rechargeStopped: (card, change) =>
    `Automatické dobíjení: vypnuto příkazem /stopCredits${card ? `; karta ${card} zůstává uložená` : ""}. Znovu ho zapnete příkazem ${change}.`,
  userDailyCapReached: "Pro dnešek jste vyčerpali limit zpráv. Ozvěte se prosím zítra — děkujeme za pochopení!",
  answerFailed: "Omlouvám se, teď nemohu odpovědět. Zkuste to prosím za minutu.",
  nonTextMessage: "Omlouvám se, umím číst jen textové zprávy. Napište prosím svůj dotaz.",
};

export const TEXTS: Record<Lang, LocalizedTexts> = { en: EN, cs: { ...EN, ...CS } };
