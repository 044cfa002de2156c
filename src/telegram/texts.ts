/**
 * Every message the bot sends, in one place, so wording stays consistent and a translation is one table.
 * Texts are plain (no parse_mode) unless a function returns `parseMode: "HTML"`; those escape every dynamic
 * string with `escapeHtml`. Amounts shown to people go through `formatUsd`; amounts inside a command the
 * owner can copy go through `commandAmount` (plain number, what the command parser accepts).
 */
import type { Operation } from "../account/types";
import { type AmountProblem, formatUsd, MICROS_PER_CENT, MICROS_PER_USD } from "../money";
import type { AutoRechargeStatus, AutoRechargeView, Lang, StatsSnapshot } from "./types";

// ---------------------------------------------------------------------------------------------------------
// Helpers

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for Telegram's HTML parse mode (text and attribute values alike). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/**
 * An amount as the owner would type it in a command: "500", "99.5" → "99.50", no "$", no separators.
 * Rounded up to the cent, because a suggested threshold must never end up below what was computed.
 */
export function commandAmount(micros: number): string {
  const cents = Math.max(0, Math.ceil(micros / MICROS_PER_CENT));
  const dollars = Math.floor(cents / 100);
  const rest = cents % 100;
  return rest === 0 ? String(dollars) : `${dollars}.${String(rest).padStart(2, "0")}`;
}

const CARD_BRANDS: Record<string, string> = {
  visa: "Visa",
  mastercard: "Mastercard",
  amex: "American Express",
  american_express: "American Express",
  discover: "Discover",
  diners: "Diners Club",
  jcb: "JCB",
  unionpay: "UnionPay",
  cartes_bancaires: "Cartes Bancaires",
  eftpos_au: "eftpos",
  link: "Link",
};

/** "Visa •••• 4242"; null when nothing is known about the card. Not escaped: callers escape for HTML. */
export function cardLabel(brand: string | null, last4: string | null): string | null {
  const name = brand ? (CARD_BRANDS[brand.toLowerCase()] ?? brand) : null;
  if (!name && !last4) return null;
  return [name ?? "Card", last4 ? `•••• ${last4}` : null].filter((p) => p !== null).join(" ");
}

/** Calendar date in UTC, the same day boundary the daily rollups use. */
export function isoDate(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 10) : "—";
}

/** "≈ 3.5 days", "≈ 10 hours", "no recent spend". */
export function formatRunway(hours: number | null): string {
  if (hours === null || !Number.isFinite(hours) || hours < 0) return "no recent spend";
  if (hours < 1) return "< 1 hour";
  if (hours < 48) {
    const h = Math.round(hours);
    return `≈ ${h} ${h === 1 ? "hour" : "hours"}`;
  }
  const days = hours / 24;
  // One decimal while it still matters for planning; beyond ten days it is noise.
  const shown = days < 10 ? String(Math.round(days * 10) / 10) : String(Math.round(days));
  return `≈ ${shown} days`;
}

const STATUS_LABELS: Record<string, string> = {
  paid: "paid",
  succeeded: "paid",
  open: "awaiting payment",
  pending: "in progress",
  processing: "in progress",
  draft: "in progress",
  failed: "failed",
  uncollectible: "failed",
  requires_action: "needs confirmation",
  needs_confirmation: "needs confirmation",
  void: "cancelled",
  cancelled: "cancelled",
  canceled: "cancelled",
  refunded: "refunded",
  disputed: "disputed",
};

/** Human words for a recharge/invoice status; unknown statuses are shown readable rather than hidden. */
export function statusLabel(status: string): string {
  return STATUS_LABELS[status] ?? status.replace(/_/g, " ");
}

/** Pads columns to equal width so they line up in a monospace `<pre>` block; cells are escaped after padding. */
function table(rows: readonly (readonly string[])[], align: readonly ("l" | "r")[] = []): string {
  // Width in code points, so "•" and "≈" count as the one column they take on screen.
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, [...cell].length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => {
          const pad = " ".repeat((widths[i] ?? 0) - [...cell].length);
          return escapeHtml(align[i] === "r" ? pad + cell : cell + pad);
        })
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function pre(rows: readonly (readonly string[])[], align?: readonly ("l" | "r")[]): string {
  return `<pre>${table(rows, align)}</pre>`;
}

function code(text: string): string {
  return `<code>${escapeHtml(text)}</code>`;
}

// ---------------------------------------------------------------------------------------------------------
// Command examples. Defaults are the spec's examples; texts that know the owner's own values use those.

const DEFAULT_TOP_UP_MICROS = 500 * MICROS_PER_USD;
const DEFAULT_RECHARGE_AT_MICROS = 100 * MICROS_PER_USD;
const DEFAULT_MANUAL_TOP_UP_MICROS = 100 * MICROS_PER_USD;

export function setupCommand(topUpMicros = DEFAULT_TOP_UP_MICROS, rechargeAtMicros = DEFAULT_RECHARGE_AT_MICROS) {
  return `/setupCredits:${commandAmount(topUpMicros)}:${commandAmount(rechargeAtMicros)}`;
}

export function changeCommand(topUpMicros: number, rechargeAtMicros: number): string {
  return `/changeCreditsTopUp:${commandAmount(topUpMicros)}:${commandAmount(rechargeAtMicros)}`;
}

export function topUpCommand(amountMicros = DEFAULT_MANUAL_TOP_UP_MICROS): string {
  return `/topUp:${commandAmount(amountMicros)}`;
}

export const EXAMPLES = {
  setupCredits: setupCommand(),
  changeCreditsTopUp: changeCommand(750 * MICROS_PER_USD, 200 * MICROS_PER_USD),
  topUp: topUpCommand(),
} as const;

/**
 * What auto-recharge is doing, from the owner's point of view. `pending_card` wins over `enabled` because a
 * setup waiting for its card is news to the owner even though nothing is charged yet.
 */
export type RechargeState = "off" | AutoRechargeStatus;

export function rechargeState(v: AutoRechargeView | null): RechargeState {
  if (v === null) return "off";
  if (v.status === "pending_card") return "pending_card";
  return v.enabled ? v.status : "off";
}

/** States in which a card is saved, so `/changeCreditsTopUp` works. */
function hasCard(state: RechargeState): boolean {
  return state === "active" || state === "failing" || state === "needs_confirmation" || state === "daily_limit";
}

// ---------------------------------------------------------------------------------------------------------
// Per-language texts. English is complete; another language overrides what it has translated and falls back
// to English for the rest, so adding a language never leaves a message missing.

interface LocalizedTexts {
  balanceLine(balance: string): string;
  heldLine(held: string, available: string): string;
  rechargeOff(setup: string, topUp: string, rechargeAt: string): string;
  rechargeActive(topUp: string, rechargeAt: string, card: string | null): string;
  rechargeFailing(card: string | null, setup: string, topUp: string): string;
  rechargeNeedsConfirmation(url: string | null, topUp: string): string;
  rechargeDailyLimit(topUp: string): string;
  rechargePendingCard(setup: string): string;
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
  userDailyCapReached: "Pro dnešek jste vyčerpali limit zpráv. Ozvěte se prosím zítra — děkujeme za pochopení!",
  answerFailed: "Omlouvám se, teď nemohu odpovědět. Zkuste to prosím za minutu.",
  nonTextMessage: "Omlouvám se, umím číst jen textové zprávy. Napište prosím svůj dotaz.",
};

const TEXTS: Record<Lang, LocalizedTexts> = { en: EN, cs: { ...EN, ...CS } };

// ---------------------------------------------------------------------------------------------------------
// Balance

export interface BalanceAnswerInput {
  balanceMicros: number;
  availableMicros: number;
  autoRecharge: AutoRechargeView | null;
}

/** The answer to `/balance` and to asking in words, in the language of the question. */
export function balanceAnswer(lang: Lang, v: BalanceAnswerInput): string {
  const t = TEXTS[lang];
  const lines = [t.balanceLine(formatUsd(v.balanceMicros))];
  if (v.availableMicros < v.balanceMicros) {
    lines.push(t.heldLine(formatUsd(v.balanceMicros - v.availableMicros), formatUsd(v.availableMicros)));
  }
  const ar = v.autoRecharge;
  const state = rechargeState(ar);
  // Repeating the owner's own amounts in the fix command makes it one tap-and-send instead of an edit.
  const setup = ar ? setupCommand(ar.topUpMicros, ar.rechargeAtMicros) : EXAMPLES.setupCredits;
  const card = ar ? cardLabel(ar.cardBrand, ar.cardLast4) : null;
  switch (state) {
    case "off":
      lines.push(
        t.rechargeOff(EXAMPLES.setupCredits, formatUsd(DEFAULT_TOP_UP_MICROS), formatUsd(DEFAULT_RECHARGE_AT_MICROS)),
      );
      break;
    case "active":
      lines.push(t.rechargeActive(formatUsd(ar?.topUpMicros ?? 0), formatUsd(ar?.rechargeAtMicros ?? 0), card));
      break;
    case "failing":
      lines.push(t.rechargeFailing(card, setup, EXAMPLES.topUp));
      break;
    case "needs_confirmation":
      lines.push(t.rechargeNeedsConfirmation(ar?.confirmUrl ?? null, EXAMPLES.topUp));
      break;
    case "daily_limit":
      lines.push(t.rechargeDailyLimit(EXAMPLES.topUp));
      break;
    case "pending_card":
      lines.push(t.rechargePendingCard(setup));
      break;
  }
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------------------
// /stats

const OPERATION_LABELS: Record<Operation, string> = {
  response: "Answers",
  knowhow_update: "Know-how updates",
  role_update: "Role updates",
};

const RECHARGE_STATE_LABELS: Record<RechargeState, string> = {
  off: "off",
  active: "on",
  failing: "card declined",
  needs_confirmation: "needs confirmation",
  daily_limit: "paused, daily limit",
  pending_card: "waiting for card",
};

/** Threshold suggestions cover about this many days of spend if the card fails (shown to the owner). */
const RECOMMENDATION_DAYS = 3;

/**
 * The `/stats` report for a phone screen: first line exactly `Credits: $X`, then short sections whose tables
 * sit in `<pre>` blocks so columns line up, and the command that applies the recommended threshold.
 */
export function statsReport(s: StatsSnapshot): { text: string; parseMode: "HTML" } {
  const lines: string[] = [`Credits: ${formatUsd(s.balanceMicros)}`];
  if (s.availableMicros < s.balanceMicros) {
    lines.push(
      escapeHtml(
        `Available now: ${formatUsd(s.availableMicros)} (${formatUsd(s.balanceMicros - s.availableMicros)} reserved)`,
      ),
    );
  }

  const ar = s.autoRecharge;
  const state = rechargeState(ar);
  lines.push("<b>Auto-recharge</b>");
  if (ar === null || state === "off") {
    lines.push(pre([["Status", "off"]]));
  } else {
    const rows: string[][] = [
      ["Status", RECHARGE_STATE_LABELS[state]],
      ["Top-up", formatUsd(ar.topUpMicros)],
      ["When at", `${formatUsd(ar.rechargeAtMicros)} or less`],
    ];
    const card = cardLabel(ar.cardBrand, ar.cardLast4);
    if (card) rows.push(["Card", card]);
    lines.push(pre(rows));
  }

  lines.push("<b>Spend</b>");
  const cost = new Map(s.costByOperation30d.map((c) => [c.operation, c.costMicros]));
  lines.push(
    pre(
      [
        ["Today", formatUsd(s.spend.todayMicros)],
        ["7 days", formatUsd(s.spend.d7Micros)],
        ["30 days", formatUsd(s.spend.d30Micros)],
        ...(Object.keys(OPERATION_LABELS) as Operation[]).map((op) => [
          ` ${OPERATION_LABELS[op]}`,
          formatUsd(cost.get(op) ?? 0),
        ]),
        ["Avg per answer", s.avgCostPerAnswerMicros === null ? "—" : formatUsd(s.avgCostPerAnswerMicros)],
      ],
      ["l", "r"],
    ),
  );

  lines.push("<b>Activity</b>");
  lines.push(
    pre(
      [
        ["", "Answers", "Users"],
        ["24 h", String(s.answers.h24), String(s.activeUsers.h24)],
        ["7 days", String(s.answers.d7), String(s.activeUsers.d7)],
        ["30 days", String(s.answers.d30), String(s.activeUsers.d30)],
      ],
      ["l", "r", "r"],
    ),
  );
  lines.push(`Unanswered while out of credits (30 days): ${s.unansweredWhileOut30d}`);

  lines.push("<b>Outlook</b>");
  const last = s.lastRecharge;
  const rec = s.recommendedRechargeAtMicros;
  lines.push(
    pre([
      // Status on its own row: "$10,000.00 needs confirmation" next to the date would not fit a phone line.
      ["Recharged", last ? `${isoDate(last.at)} ${formatUsd(last.amountMicros)}` : "none"],
      ...(last ? [["", statusLabel(last.status)]] : []),
      ["Runway", formatRunway(s.runwayHours)],
      ["Advised", `recharge at ${formatUsd(rec)}`],
    ]),
  );

  if (ar !== null && hasCard(state) && ar.rechargeAtMicros === rec) {
    lines.push("Your threshold already matches the advice.");
  } else {
    // Without a saved card only /setupCredits can apply it; its top-up should at least cover the threshold.
    const command =
      ar !== null && hasCard(state)
        ? changeCommand(ar.topUpMicros, rec)
        : setupCommand(
            Math.max(ar?.topUpMicros ?? DEFAULT_TOP_UP_MICROS, Math.ceil(rec / MICROS_PER_USD) * MICROS_PER_USD),
            rec,
          );
    lines.push(`It covers ~${RECOMMENDATION_DAYS} days if a card payment fails. Apply:`);
    lines.push(code(command));
  }
  return { text: lines.join("\n"), parseMode: "HTML" };
}

// ---------------------------------------------------------------------------------------------------------
// Help and menu

export interface HelpLimits {
  minTopUpMicros: number;
  minRechargeAtMicros: number;
  maxTopUpMicros: number;
  minManualTopUpMicros: number;
}

/** All owner commands with one line each and an example. Limits are shown when the caller passes them. */
export function helpText(limits?: HelpLimits): string {
  const setupLimits = limits
    ? ` (top-up ${formatUsd(limits.minTopUpMicros)}–${formatUsd(limits.maxTopUpMicros)}, threshold at least ${formatUsd(limits.minRechargeAtMicros)})`
    : "";
  const topUpLimit = limits ? ` (at least ${formatUsd(limits.minManualTopUpMicros)})` : "";
  return [
    "Owner commands:",
    "",
    "/balance — your credit balance and auto-recharge status. Example: /balance",
    'Or just ask in words, free of charge: "how much credit do I have left?" or "kolik mám kreditů?"',
    "/stats — spend, answers, users, runway and a recommended threshold. Example: /stats",
    `/setupCredits:{topUpAmount}:{rechargeAt} — turn on auto-recharge: when the balance drops to rechargeAt, your card is charged topUpAmount and that many credits are added. Example: ${EXAMPLES.setupCredits}${setupLimits}`,
    `/changeCreditsTopUp:{newTopUpAmount}:{newRechargeAt} — change both auto-recharge values at once. Example: ${EXAMPLES.changeCreditsTopUp}`,
    `/topUp:{amount} — buy credits once by card. Example: ${EXAMPLES.topUp}${topUpLimit}`,
    "/invoices — your latest recharges with links to the invoices. Example: /invoices",
    "/help — this list. Example: /help",
    "",
    "1 credit = $1. Commands work in any letter case, and a space works instead of the colon: /setupCredits 500 100",
  ].join("\n");
}

/** For setMyCommands, which only accepts lowercase names; the handler matches commands case-insensitively. */
export const MENU_COMMANDS: { command: string; description: string }[] = [
  { command: "balance", description: "Credit balance and auto-recharge status" },
  { command: "stats", description: "Spend, answers, runway and a recommended threshold" },
  { command: "setupcredits", description: "Turn on auto-recharge, e.g. /setupCredits:500:100" },
  { command: "changecreditstopup", description: "Change auto-recharge amounts, e.g. /changeCreditsTopUp:750:200" },
  { command: "topup", description: "Buy credits once, e.g. /topUp:100" },
  { command: "invoices", description: "Latest recharges and invoices" },
  { command: "help", description: "All commands with examples" },
];

export function notOwnerRefusal(): string {
  return "Sorry, only the owner of this bot can use this command.";
}

// ---------------------------------------------------------------------------------------------------------
// Input problems

const AMOUNT_NAMES: Record<"top-up" | "threshold" | "amount", string> = {
  "top-up": "top-up amount",
  threshold: "recharge threshold",
  amount: "amount",
};

const AMOUNT_PROBLEMS: Record<AmountProblem, (name: string) => string> = {
  missing: (name) => `The ${name} is missing.`,
  not_a_number: (name) =>
    `The ${name} must be a plain number of dollars, like 500 or 99.50 (digits only, an optional $ in front).`,
  negative: (name) => `The ${name} can't be negative.`,
  zero: (name) => `The ${name} must be more than zero.`,
  too_many_decimals: (name) => `The ${name} can have at most two decimals (whole cents).`,
  too_large: (name) => `The ${name} is far too large.`,
};

/** What is wrong with one typed amount, and a correct example. Nothing was changed. */
export function amountProblem(problem: AmountProblem, what: "top-up" | "threshold" | "amount", example: string) {
  return `${AMOUNT_PROBLEMS[problem](AMOUNT_NAMES[what])}\nExample: ${example}`;
}

export type OwnerAmountCommand = "setupCredits" | "changeCreditsTopUp" | "topUp";

/**
 * Problems with a whole settings command. `example` overrides the built-in one (e.g. built from the configured
 * limits); without it, examples follow the limit carried by the problem so they are always accepted.
 */
export type SettingsProblem =
  | { kind: "top_up_below_min"; command: OwnerAmountCommand; minMicros: number; example?: string }
  | { kind: "top_up_above_max"; command: OwnerAmountCommand; maxMicros: number; example?: string }
  | {
      kind: "threshold_below_min";
      command: "setupCredits" | "changeCreditsTopUp";
      minMicros: number;
      example?: string;
    }
  | {
      kind: "threshold_above_max";
      command: "setupCredits" | "changeCreditsTopUp";
      maxMicros: number;
      example?: string;
    }
  | { kind: "missing_parts"; command: OwnerAmountCommand; example?: string }
  | { kind: "too_many_parts"; command: OwnerAmountCommand; example?: string };

const USAGE: Record<OwnerAmountCommand, string> = {
  setupCredits: "/setupCredits:{topUpAmount}:{rechargeAt}",
  changeCreditsTopUp: "/changeCreditsTopUp:{newTopUpAmount}:{newRechargeAt}",
  topUp: "/topUp:{amount}",
};

function exampleFor(command: OwnerAmountCommand, topUpMicros?: number, rechargeAtMicros?: number): string {
  switch (command) {
    case "setupCredits":
      return setupCommand(topUpMicros, rechargeAtMicros);
    case "changeCreditsTopUp":
      return changeCommand(topUpMicros ?? 750 * MICROS_PER_USD, rechargeAtMicros ?? 200 * MICROS_PER_USD);
    case "topUp":
      return topUpCommand(topUpMicros);
  }
}

function explainExample(command: OwnerAmountCommand, example: string): string {
  if (example === EXAMPLES.setupCredits)
    return `${example} — when the balance drops to ${formatUsd(DEFAULT_RECHARGE_AT_MICROS)}, your card is charged ${formatUsd(DEFAULT_TOP_UP_MICROS)} and ${formatUsd(DEFAULT_TOP_UP_MICROS)} of credits are added.`;
  if (command === "topUp" && example === EXAMPLES.topUp)
    return `${example} — buys ${formatUsd(DEFAULT_MANUAL_TOP_UP_MICROS)} of credits once.`;
  return example;
}

export function settingsProblem(problem: SettingsProblem): string {
  const { command } = problem;
  const isManual = command === "topUp";
  switch (problem.kind) {
    case "top_up_below_min": {
      const fallback = isManual ? DEFAULT_MANUAL_TOP_UP_MICROS : DEFAULT_TOP_UP_MICROS;
      const example = problem.example ?? exampleFor(command, Math.max(problem.minMicros, fallback));
      const name = isManual ? "A one-off top-up" : "The top-up amount";
      return `${name} must be at least ${formatUsd(problem.minMicros)}. Nothing was changed.\nExample: ${example}`;
    }
    case "top_up_above_max": {
      const example = problem.example ?? exampleFor(command);
      const name = isManual ? "A one-off top-up" : "The top-up amount";
      return `${name} can be at most ${formatUsd(problem.maxMicros)}. Nothing was changed.\nExample: ${example}`;
    }
    case "threshold_below_min": {
      const example =
        problem.example ??
        exampleFor(
          command,
          undefined,
          Math.max(problem.minMicros, command === "setupCredits" ? DEFAULT_RECHARGE_AT_MICROS : 200 * MICROS_PER_USD),
        );
      return (
        `The recharge threshold (the second number) must be at least ${formatUsd(problem.minMicros)}, ` +
        `so a failed card payment leaves you time to react. Nothing was changed.\nExample: ${example}`
      );
    }
    case "threshold_above_max": {
      const example = problem.example ?? exampleFor(command);
      return (
        `The recharge threshold (the second number) can be at most ${formatUsd(problem.maxMicros)}: ` +
        `a higher one would recharge again and again. Nothing was changed.\nExample: ${example}`
      );
    }
    case "missing_parts": {
      const example = problem.example ?? exampleFor(command);
      const what = isManual
        ? "needs the amount to buy."
        : "needs two amounts: how much to add (top-up), and the balance at which to add it (threshold).";
      return `/${command} ${what}\nForm: ${USAGE[command]}\nExample: ${explainExample(command, example)}`;
    }
    case "too_many_parts": {
      const example = problem.example ?? exampleFor(command);
      const count = isManual ? "exactly one amount" : "exactly two amounts";
      return `Too many values: /${command} takes ${count}.\nForm: ${USAGE[command]}\nExample: ${explainExample(command, example)}`;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Owner notifications (alerts)

export type OutOfCreditsReason =
  | "auto_recharge_off"
  | "card_declined"
  | "needs_confirmation"
  | "daily_limit"
  | "recharge_pending";

export interface OutOfCreditsDetails {
  /** Hosted invoice link to confirm when the reason is `needs_confirmation`. */
  confirmUrl?: string | null;
  /** Messages left unanswered so far in this out-of-credits episode. */
  unanswered?: number;
  /** The owner's auto-recharge settings, so fix commands repeat them instead of the generic example. */
  topUpMicros?: number;
  rechargeAtMicros?: number;
}

function whyAndFix(reason: OutOfCreditsReason, d: OutOfCreditsDetails): { why: string; fix: string } {
  const topUp = EXAMPLES.topUp;
  const setup = d.topUpMicros !== undefined ? setupCommand(d.topUpMicros, d.rechargeAtMicros) : EXAMPLES.setupCredits;
  switch (reason) {
    case "auto_recharge_off":
      return {
        why: "auto-recharge is off.",
        fix: `turn it on with ${EXAMPLES.setupCredits}, or buy credits once with ${topUp}.`,
      };
    case "card_declined":
      return {
        why: "the automatic charge to your card was declined.",
        fix: `save a new card with ${setup}, or buy credits once with ${topUp}.`,
      };
    case "needs_confirmation":
      return {
        why: "your bank asks you to confirm the payment.",
        fix: d.confirmUrl
          ? `confirm it here: ${d.confirmUrl}`
          : `open the latest invoice from /invoices and confirm it, or buy credits once with ${topUp}.`,
      };
    case "daily_limit": {
      // Hitting the daily cap means the top-up is small for the spend; a bigger top-up is the lasting fix.
      const bigger =
        d.topUpMicros !== undefined && d.rechargeAtMicros !== undefined
          ? changeCommand(d.topUpMicros * 2, d.rechargeAtMicros)
          : EXAMPLES.changeCreditsTopUp;
      return {
        why: "auto-recharge reached its daily limit of recharges.",
        fix: `buy credits now with ${topUp}; a bigger top-up avoids this: ${bigger}`,
      };
    }
    case "recharge_pending":
      return {
        why: "a recharge is on its way but has not arrived yet.",
        fix: `it usually takes a minute; if nothing arrives, buy credits once with ${topUp}.`,
      };
  }
}

function outOfCreditsBody(headline: string, balanceMicros: number, reason: OutOfCreditsReason, d: OutOfCreditsDetails) {
  const { why, fix } = whyAndFix(reason, d);
  return [headline, `Balance: ${formatUsd(balanceMicros)}`, `Why: ${why}`, `Fix: ${fix}`].join("\n");
}

/** Sent the moment the balance can no longer cover an answer. */
export function outOfCreditsNow(balanceMicros: number, reason: OutOfCreditsReason, details: OutOfCreditsDetails = {}) {
  return outOfCreditsBody(
    "⚠️ Out of credits — your bot has stopped answering your clients.",
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
  const missed = details.unanswered ? ` (${details.unanswered} so far)` : "";
  return outOfCreditsBody(
    `⚠️ Still out of credits — your clients' messages are going unanswered${missed}.`,
    balanceMicros,
    reason,
    details,
  );
}

export type LowCreditsReason = "recharge_failing" | "runway_short";

/** Early warning, once per episode, before the bot actually runs dry. */
export function lowCreditsWarning(
  balanceMicros: number,
  reason: LowCreditsReason,
  details: {
    runwayHours?: number | null;
    confirmUrl?: string | null;
    topUpMicros?: number;
    rechargeAtMicros?: number;
  } = {},
): string {
  const runway = details.runwayHours !== undefined ? ` Runway: ${formatRunway(details.runwayHours ?? null)}.` : "";
  if (reason === "runway_short") {
    return [
      `⚠️ Credits are running low: ${formatUsd(balanceMicros)}.${runway}`,
      `Auto-recharge is off. Turn it on with ${EXAMPLES.setupCredits}, or buy credits once with ${EXAMPLES.topUp}.`,
    ].join("\n");
  }
  const fix = details.confirmUrl
    ? `Confirm the payment here: ${details.confirmUrl}`
    : `Save a new card with ${details.topUpMicros !== undefined ? setupCommand(details.topUpMicros, details.rechargeAtMicros) : EXAMPLES.setupCredits}, or buy credits once with ${EXAMPLES.topUp}.`;
  return [
    `⚠️ Credits are low (${formatUsd(balanceMicros)}) and auto-recharge could not charge your card.${runway}`,
    fix,
  ].join("\n");
}

export function creditsRestored(balanceMicros: number): string {
  return `✅ Credits are back: ${formatUsd(balanceMicros)}. Your bot is answering your clients again.`;
}

// ---------------------------------------------------------------------------------------------------------
// End-user messages (they never see billing words)

export function userDailyCapReached(lang: Lang): string {
  return TEXTS[lang].userDailyCapReached;
}

export function answerFailed(lang: Lang = "en"): string {
  return TEXTS[lang].answerFailed;
}

export function nonTextMessage(lang: Lang = "en"): string {
  return TEXTS[lang].nonTextMessage;
}

// ---------------------------------------------------------------------------------------------------------
// Stripe

/** The line above a Checkout link button. */
export function checkoutLink(kind: "setup", amounts: { topUpMicros: number; rechargeAtMicros: number }): string;
export function checkoutLink(kind: "topup", amounts: { amountMicros: number }): string;
export function checkoutLink(
  kind: "setup" | "topup",
  amounts: { topUpMicros: number; rechargeAtMicros: number } | { amountMicros: number },
): string {
  if (kind === "setup" && "topUpMicros" in amounts) {
    return (
      `To turn on auto-recharge (adds ${formatUsd(amounts.topUpMicros)} when the balance drops to ` +
      `${formatUsd(amounts.rechargeAtMicros)}), save your card on Stripe's secure page. Nothing is charged now.`
    );
  }
  if ("amountMicros" in amounts) {
    return `To buy ${formatUsd(amounts.amountMicros)} of credits, pay on Stripe's secure page. You'll get an invoice.`;
  }
  throw new TypeError(`checkoutLink: amounts do not fit kind ${kind}`);
}

/** Caption of the link button under `checkoutLink`. */
export function checkoutButton(kind: "setup" | "topup", amountMicros?: number): string {
  return kind === "setup" ? "Save card" : amountMicros !== undefined ? `Pay ${formatUsd(amountMicros)}` : "Pay";
}

export function cardSaved(topUpMicros: number, rechargeAtMicros: number, brand: string | null, last4: string | null) {
  const card = cardLabel(brand, last4);
  return (
    `✅ Card${card ? ` ${card}` : ""} saved. Auto-recharge is on: when the balance drops to ` +
    `${formatUsd(rechargeAtMicros)}, the card is charged ${formatUsd(topUpMicros)} and ${formatUsd(topUpMicros)} of credits are added.`
  );
}

export function settingsChanged(topUpMicros: number, rechargeAtMicros: number): string {
  return `✅ Auto-recharge updated: adds ${formatUsd(topUpMicros)} when the balance drops to ${formatUsd(rechargeAtMicros)}.`;
}

export function needCardFirst(): string {
  return `There is no saved card yet, so there is nothing to change. Turn on auto-recharge first: ${EXAMPLES.setupCredits}`;
}

export function rechargeSucceeded(amountMicros: number, balanceMicros: number, invoiceUrl: string | null): string {
  const lines = [`✅ Auto-recharge added ${formatUsd(amountMicros)}. Balance: ${formatUsd(balanceMicros)}.`];
  if (invoiceUrl) lines.push(`Invoice: ${invoiceUrl}`);
  return lines.join("\n");
}

const DECLINE_REASONS: Record<string, string> = {
  card_declined: "your card was declined",
  expired_card: "your card has expired",
  insufficient_funds: "the card has insufficient funds",
  incorrect_cvc: "the card's security code was rejected",
  incorrect_number: "the card number was rejected",
  lost_card: "the card is reported lost",
  stolen_card: "the card is reported stolen",
  card_velocity_exceeded: "the card's spending limit was reached",
  processing_error: "the card processor had an error",
  authentication_required: "your bank asks you to confirm the payment",
  do_not_honor: "your bank declined the payment",
  generic_decline: "your card was declined",
  fraudulent: "your bank declined the payment",
};

/** Stripe's decline text comes from outside; keep it one short line so it can't flood the chat. */
function oneLine(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function rechargeFailed(
  reasonCode: string,
  declineMessage: string | null,
  settings?: { topUpMicros: number; rechargeAtMicros: number },
): string {
  const code = reasonCode.replace(/[^a-z0-9_]/gi, "").slice(0, 60);
  const reason = DECLINE_REASONS[code] ?? (code ? `the payment failed (${code})` : "the payment failed");
  const lines = [`⚠️ Auto-recharge failed: ${reason}.`];
  if (declineMessage?.trim()) lines.push(`Bank's message: ${oneLine(declineMessage)}`);
  const setup = settings ? setupCommand(settings.topUpMicros, settings.rechargeAtMicros) : EXAMPLES.setupCredits;
  lines.push(`What to do: save a new card with ${setup}, or buy credits once with ${EXAMPLES.topUp}.`);
  return lines.join("\n");
}

export function rechargeNeedsConfirmation(url: string): string {
  return `⚠️ Your bank asks you to confirm the auto-recharge payment. Confirm it here: ${url}\nCredits arrive as soon as it's paid.`;
}

export function dailyLimitReached(maxPerDay: number): string {
  return (
    `⚠️ Auto-recharge has charged your card ${maxPerDay} ${maxPerDay === 1 ? "time" : "times"} today, the daily limit, ` +
    `so it is paused until tomorrow (UTC). To add credits now: ${EXAMPLES.topUp}\n` +
    `A bigger top-up means fewer charges: ${EXAMPLES.changeCreditsTopUp}`
  );
}

export function topUpSucceeded(amountMicros: number, balanceMicros: number): string {
  return `✅ ${formatUsd(amountMicros)} of credits added. Balance: ${formatUsd(balanceMicros)}.`;
}

export interface InvoiceRow {
  createdAt: number;
  amountMicros: number;
  status: string;
  hostedUrl: string | null;
  pdfUrl: string | null;
}

/** Only web links become `href`s; anything else (a `javascript:` URL from a bad row) is dropped. */
function link(url: string | null, label: string): string | null {
  if (!url || !/^https?:\/\//i.test(url)) return null;
  return `<a href="${escapeHtml(url)}">${escapeHtml(label)}</a>`;
}

/** Shown rows are capped so the message stays far below Telegram's 4096-character limit. */
const MAX_INVOICE_ROWS = 20;

export function invoicesList(rows: readonly InvoiceRow[]): { text: string; parseMode: "HTML" } {
  if (rows.length === 0) return { text: "No recharges yet.", parseMode: "HTML" };
  const lines = ["<b>Latest recharges</b>"];
  for (const row of rows.slice(0, MAX_INVOICE_ROWS)) {
    const links = [link(row.hostedUrl, "invoice"), link(row.pdfUrl, "PDF")].filter((l) => l !== null);
    const head = escapeHtml(`${isoDate(row.createdAt)} · ${formatUsd(row.amountMicros)} · ${statusLabel(row.status)}`);
    lines.push(links.length > 0 ? `${head} · ${links.join(" · ")}` : head);
  }
  return { text: lines.join("\n"), parseMode: "HTML" };
}

/** Stripe could not be reached for an owner command; nothing was changed. */
export function paymentsUnavailable(): string {
  return "⚠️ Payments can't be reached right now, so nothing was changed. Please try again in a few minutes.";
}

/** A card link completed after a newer one was sent: nothing changed, the newest link is the one to use. */
export function cardLinkOutdated(brand: string | null, last4: string | null): string {
  const card = cardLabel(brand, last4);
  return (
    `The card${card ? ` ${card}` : ""} came from an older card link, so nothing changed: a newer /setupCredits link is ` +
    `the one that counts. Open the newest link to save your card, or send ${EXAMPLES.setupCredits} for a new one.`
  );
}

export function cardLinkExpired(): string {
  return `Your card link expired before the card was saved, so nothing changed. For a new link: ${EXAMPLES.setupCredits}`;
}

export function newerCardLinkWaiting(): string {
  return "A newer /setupCredits link is still open: completing it will replace these settings.";
}

export function topUpExpired(amountMicros: number): string {
  return (
    `Your ${formatUsd(amountMicros)} top-up link expired unpaid: nothing was charged. ` +
    `For a new one: /topUp:${commandAmount(amountMicros)}`
  );
}
