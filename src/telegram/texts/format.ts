/**
 * Formatting shared by every language: HTML escaping and `<pre>` tables, card labels, dates, and the owner
 * commands used as examples (`commandAmount` is the plain number the command parser accepts).
 */
import type { AutoRechargeView } from "../../ledger/types";
import { formatUsd, MICROS_PER_CENT, MICROS_PER_USD } from "../../money";
import { hasCard, rechargeState } from "./recharge-state";
import type { InvoiceRow } from "./types";

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

/**
 * "Visa •••• 4242", or "•••• 4242" when the brand is unknown (texts put it after their word for card: "card
 * •••• 4242", never "card Card …"); null when nothing is known. Not escaped: callers escape for HTML.
 */
export function cardLabel(brand: string | null, last4: string | null): string | null {
  const name = brand ? (CARD_BRANDS[brand.toLowerCase()] ?? brand) : null;
  if (!name && !last4) return null;
  return [name, last4 ? `•••• ${last4}` : null].filter((p) => p !== null).join(" ");
}

/** Calendar date in UTC, the same day boundary the daily rollups use. */
export function isoDate(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 10) : "—";
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

/** The runway as a number to word: none known, under an hour, whole hours (under two days), or days. */
export type Runway =
  | { unit: "none" }
  | { unit: "under_hour" }
  | { unit: "hours"; n: number }
  | { unit: "days"; n: number; shown: string };

export function runwayOf(hours: number | null): Runway {
  if (hours === null || !Number.isFinite(hours) || hours < 0) return { unit: "none" };
  if (hours < 1) return { unit: "under_hour" };
  if (hours < 48) return { unit: "hours", n: Math.round(hours) };
  const days = hours / 24;
  // One decimal while it still matters for planning; beyond ten days it is noise.
  const n = days < 10 ? Math.round(days * 10) / 10 : Math.round(days);
  return { unit: "days", n, shown: String(n) };
}

/** Recharge and invoice statuses, as the words of each language know them. */
export const STATUS_KEYS = [
  "paid",
  "awaiting_payment",
  "in_progress",
  "failed",
  "needs_confirmation",
  "cancelled",
  "refunded",
  "disputed",
] as const;
export type StatusKey = (typeof STATUS_KEYS)[number];

const STATUS_OF: Record<string, StatusKey> = {
  paid: "paid",
  succeeded: "paid",
  open: "awaiting_payment",
  pending: "in_progress",
  processing: "in_progress",
  draft: "in_progress",
  failed: "failed",
  uncollectible: "failed",
  requires_action: "needs_confirmation",
  needs_confirmation: "needs_confirmation",
  void: "cancelled",
  cancelled: "cancelled",
  canceled: "cancelled",
  refunded: "refunded",
  disputed: "disputed",
};

/** A recharge/invoice status in a language's words; unknown statuses are shown readable rather than hidden. */
export function statusWord(status: string, words: Readonly<Record<StatusKey, string>>): string {
  const key = STATUS_OF[status];
  return key ? words[key] : status.replace(/_/g, " ");
}

export function pre(rows: readonly (readonly string[])[], align?: readonly ("l" | "r")[]): string {
  return `<pre>${table(rows, align)}</pre>`;
}

export function code(text: string): string {
  return `<code>${escapeHtml(text)}</code>`;
}

// Command examples. Defaults are the spec's examples; texts that know the owner's own values use those.

export const DEFAULT_TOP_UP_MICROS = 500 * MICROS_PER_USD;
export const DEFAULT_RECHARGE_AT_MICROS = 100 * MICROS_PER_USD;
export const DEFAULT_MANUAL_TOP_UP_MICROS = 100 * MICROS_PER_USD;

export function setupCommand(topUpMicros = DEFAULT_TOP_UP_MICROS, rechargeAtMicros = DEFAULT_RECHARGE_AT_MICROS) {
  return `/setupCredits:${commandAmount(topUpMicros)}:${commandAmount(rechargeAtMicros)}`;
}

export function changeCommand(topUpMicros: number, rechargeAtMicros: number): string {
  return `/changeCreditsTopUp:${commandAmount(topUpMicros)}:${commandAmount(rechargeAtMicros)}`;
}

export function topUpCommand(amountMicros = DEFAULT_MANUAL_TOP_UP_MICROS): string {
  return `/topUp:${commandAmount(amountMicros)}`;
}

export const DEFAULT_CLIENT_LIMIT_MICROS = 2 * MICROS_PER_USD;

/** The `/changeCreditsTopUp` example's amounts: a bigger top-up and threshold than `/setupCredits`' defaults. */
export const CHANGE_EXAMPLE_TOP_UP_MICROS = 750 * MICROS_PER_USD;
export const CHANGE_EXAMPLE_RECHARGE_AT_MICROS = 200 * MICROS_PER_USD;

export function clientLimitCommand(micros = DEFAULT_CLIENT_LIMIT_MICROS): string {
  return `/clientLimit:${commandAmount(micros)}`;
}

/** The command that turns auto-recharge on: with a saved card no new card is needed (/changeCreditsTopUp). */
export function turnOnCommand(d: { topUpMicros?: number; rechargeAtMicros?: number; cardSaved?: boolean }): string {
  return d.cardSaved && d.topUpMicros !== undefined && d.rechargeAtMicros !== undefined
    ? changeCommand(d.topUpMicros, d.rechargeAtMicros)
    : EXAMPLES.setupCredits;
}

/** A top-up twice today's, the lasting fix when recharges come too often or fall short. */
export function biggerTopUpCommand(d: { topUpMicros?: number; rechargeAtMicros?: number }): string {
  return d.topUpMicros !== undefined && d.rechargeAtMicros !== undefined
    ? changeCommand(d.topUpMicros * 2, d.rechargeAtMicros)
    : EXAMPLES.changeCreditsTopUp;
}

/** `/setupCredits` with the owner's own amounts when they are known. */
export function setupCommandFor(d: { topUpMicros?: number; rechargeAtMicros?: number }): string {
  return d.topUpMicros !== undefined ? setupCommand(d.topUpMicros, d.rechargeAtMicros) : EXAMPLES.setupCredits;
}

/** The command with a placeholder address, as the owner can copy it. */
export const INVOICE_EMAIL_EXAMPLE = "/invoiceEmail:name@example.com";

/** Stripe's decline text comes from outside; keep it one short line so it can't flood the chat. */
export function oneLine(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Only web links become `href`s; anything else (a `javascript:` URL from a bad row) is dropped. */
function link(url: string | null, label: string): string | null {
  if (!url || !/^https?:\/\//i.test(url)) return null;
  return `<a href="${escapeHtml(url)}">${escapeHtml(label)}</a>`;
}

/** Shown invoice rows are capped so the message stays far below Telegram's 4096-character limit. */
const MAX_INVOICE_ROWS = 20;

/** `/invoices`: one line per recharge (date · amount · status · links), in a language's words. */
export function invoicesLayout(
  rows: readonly InvoiceRow[],
  w: { none: string; heading: string; invoice: string; statusLabel(status: string): string },
): { text: string; parseMode: "HTML" } {
  if (rows.length === 0) return { text: w.none, parseMode: "HTML" };
  const lines = [`<b>${w.heading}</b>`];
  for (const row of rows.slice(0, MAX_INVOICE_ROWS)) {
    const links = [link(row.hostedUrl, w.invoice), link(row.pdfUrl, "PDF")].filter((l) => l !== null);
    const head = escapeHtml(
      `${isoDate(row.createdAt)} · ${formatUsd(row.amountMicros)} · ${w.statusLabel(row.status)}`,
    );
    lines.push(links.length > 0 ? `${head} · ${links.join(" · ")}` : head);
  }
  return { text: lines.join("\n"), parseMode: "HTML" };
}

/** Threshold suggestions cover about this many days of spend if the card fails (shown to the owner). */
export const RECOMMENDATION_DAYS = 3;

/** A card code from Stripe, reduced to what can be shown and looked up safely. */
export function declineCode(reasonCode: string): string {
  return reasonCode.replace(/[^a-z0-9_]/gi, "").slice(0, 60);
}

export const EXAMPLES = {
  setupCredits: setupCommand(),
  changeCreditsTopUp: changeCommand(CHANGE_EXAMPLE_TOP_UP_MICROS, CHANGE_EXAMPLE_RECHARGE_AT_MICROS),
  topUp: topUpCommand(),
  clientLimit: clientLimitCommand(),
} as const;

/**
 * The command that applies /stats' recommended threshold, or null when the owner's threshold already matches.
 * Without a saved card only /setupCredits can apply it; its top-up should at least cover the threshold.
 */
export function recommendedCommand(ar: AutoRechargeView | null, recommendedMicros: number): string | null {
  const carded = ar !== null && hasCard(rechargeState(ar));
  if (carded && ar.rechargeAtMicros === recommendedMicros) return null;
  if (carded) return changeCommand(ar.topUpMicros, recommendedMicros);
  const topUp = Math.max(
    ar && ar.topUpMicros > 0 ? ar.topUpMicros : DEFAULT_TOP_UP_MICROS,
    Math.ceil(recommendedMicros / MICROS_PER_USD) * MICROS_PER_USD,
  );
  return setupCommand(topUp, recommendedMicros);
}
