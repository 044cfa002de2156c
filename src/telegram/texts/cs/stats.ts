/** `/stats` in Czech: the words of the shared layout (../stats-layout.ts). */
import type { StatsSnapshot } from "../../../ledger/types";
import { type StatsWords, statsLayout } from "../stats-layout";
import { clientLimitLabel } from "./owner-controls";
import { card, formatRunway, statusLabel } from "./words";

/** "dosáhl 1 klient", "dosáhli 2 klienti", "dosáhlo 5 klientů" (the verb agrees with the count). */
function reachedBy(n: number): string {
  if (n === 1) return `dosáhl ${n} klient`;
  return n >= 2 && n <= 4 ? `dosáhli ${n} klienti` : `dosáhlo ${n} klientů`;
}

/** 1 den, 2–4 dny, 5+ dní. */
function daysWord(n: number): string {
  if (n === 1) return "den";
  return n >= 2 && n <= 4 ? "dny" : "dní";
}

const WORDS: StatsWords = {
  credits: "Kredity",
  availableNow: (available, reserved) => `K dispozici teď: ${available} (${reserved} rezervováno)`,
  autoRecharge: "Automatické dobíjení",
  states: {
    off: "vypnuto",
    active: "zapnuto",
    failing: "karta zamítnuta",
    needs_confirmation: "čeká na potvrzení",
    daily_limit: "pozastaveno, denní limit",
    pending_card: "čeká na kartu",
    stopped: "vypnuto (ručně)",
  },
  status: "Stav",
  topUp: "Dobití",
  whenAtLabel: "Při zůstatku",
  whenAt: (threshold) => `${threshold} nebo méně`,
  card: "Karta",
  spend: "Útrata",
  today: "Dnes",
  d7: "7 dní",
  d30: "30 dní",
  operations: { response: "Odpovědi", knowhow_update: "Úpravy know-how", role_update: "Úpravy role" },
  avgPerAnswer: "Průměr na odpověď",
  activity: "Aktivita",
  answers: "Odpovědi",
  users: "Uživatelé",
  unanswered: (n) => `Bez odpovědi, když došly kredity (30 dní): ${n}`,
  clientLimitOff: "Limit na klienta: vypnuto (nastavíte ho příkazem /clientLimit)",
  clientLimit: (limit, n) => `Limit na klienta: ${limit}, dnes ho ${reachedBy(n)}`,
  outlook: "Výhled",
  recharged: "Dobito",
  none: "zatím ne",
  runway: "Výdrž",
  advised: "Doporučeno",
  rechargeAt: (threshold) => `hranice ${threshold}`,
  matchesAdvice: "Vaše hranice už odpovídá doporučení.",
  apply: (days) =>
    `Tato hranice pokryje ~${days} ${daysWord(days)} útraty, kdyby platba kartou selhala. Nastavíte ji příkazem:`,
  cardLabel: card,
  formatRunway,
  statusLabel,
  clientLimitLabel,
};

/** The `/stats` report for a phone screen; first line exactly `Kredity: $X`. */
export function statsReport(s: StatsSnapshot): { text: string; parseMode: "HTML" } {
  return statsLayout(s, WORDS);
}
