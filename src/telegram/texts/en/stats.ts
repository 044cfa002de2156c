/** `/stats` in English: the words of the shared layout (../stats-layout.ts). */
import type { StatsSnapshot } from "../../../ledger/types";
import { type StatsWords, statsLayout } from "../stats-layout";
import { clientLimitLabel } from "./owner-controls";
import { card, formatRunway, statusLabel } from "./words";

const WORDS: StatsWords = {
  credits: "Credits",
  availableNow: (available, reserved) => `Available now: ${available} (${reserved} reserved)`,
  autoRecharge: "Auto-recharge",
  states: {
    off: "off",
    active: "on",
    failing: "card declined",
    needs_confirmation: "needs confirmation",
    daily_limit: "paused, daily limit",
    pending_card: "waiting for card",
    stopped: "off (turned off)",
  },
  status: "Status",
  topUp: "Top-up",
  whenAtLabel: "When at",
  whenAt: (threshold) => `${threshold} or less`,
  card: "Card",
  spend: "Spend",
  today: "Today",
  d7: "7 days",
  d30: "30 days",
  operations: { response: "Answers", knowhow_update: "Know-how updates", role_update: "Role updates" },
  avgPerAnswer: "Avg per answer",
  activity: "Activity",
  answers: "Answers",
  users: "Users",
  unanswered: (n) => `Unanswered while out of credits (30 days): ${n}`,
  clientLimitOff: "Limit per client: off (/clientLimit sets one)",
  clientLimit: (limit, n) => `Limit per client: ${limit}, reached today by ${n} ${n === 1 ? "client" : "clients"}`,
  outlook: "Outlook",
  recharged: "Recharged",
  none: "none",
  runway: "Runway",
  advised: "Advised",
  rechargeAt: (threshold) => `recharge at ${threshold}`,
  matchesAdvice: "Your threshold already matches the advice.",
  apply: (days) => `It covers ~${days} days if a card payment fails. Apply:`,
  cardLabel: card,
  formatRunway,
  statusLabel,
  clientLimitLabel,
};

/** The `/stats` report for a phone screen; first line exactly `Credits: $X`. */
export function statsReport(s: StatsSnapshot): { text: string; parseMode: "HTML" } {
  return statsLayout(s, WORDS);
}
