/**
 * Formatting shared by every topic: HTML escaping and `<pre>` tables, card labels, dates, runway, statuses,
 * and the owner commands used as examples (`commandAmount` is the plain number the command parser accepts).
 */
import { MICROS_PER_CENT, MICROS_PER_USD } from "../../money";

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

export function clientLimitCommand(micros = DEFAULT_CLIENT_LIMIT_MICROS): string {
  return `/clientLimit:${commandAmount(micros)}`;
}

export const EXAMPLES = {
  setupCredits: setupCommand(),
  changeCreditsTopUp: changeCommand(750 * MICROS_PER_USD, 200 * MICROS_PER_USD),
  topUp: topUpCommand(),
  clientLimit: clientLimitCommand(),
} as const;
