/** Words several Czech texts share: card labels, runway, statuses. */
import { cardLabel, type Runway, runwayOf, type StatusKey, statusWord } from "../format";

/** "Visa •••• 4242", "•••• 4242"; null when nothing is known about the card. */
export function card(brand: string | null, last4: string | null): string | null {
  return cardLabel(brand, last4);
}

/** Czech count forms: 1 → one, 2–4 → few, else many (fractions use `many` only for whole numbers). */
function plural(n: number, one: string, few: string, many: string): string {
  if (n === 1) return one;
  return n >= 2 && n <= 4 ? few : many;
}

/** "≈ 3,5 dne", "≈ 10 hodin", "žádná nedávná útrata" (decimal comma: runway is never copied into a command). */
export function formatRunway(hours: number | null): string {
  const r: Runway = runwayOf(hours);
  switch (r.unit) {
    case "none":
      return "žádná nedávná útrata";
    case "under_hour":
      return "< 1 hodina";
    case "hours":
      return `≈ ${r.n} ${plural(r.n, "hodina", "hodiny", "hodin")}`;
    case "days":
      return `≈ ${r.shown.replace(".", ",")} ${Number.isInteger(r.n) ? plural(r.n, "den", "dny", "dní") : "dne"}`;
  }
}

const STATUS_WORDS: Record<StatusKey, string> = {
  paid: "zaplaceno",
  awaiting_payment: "čeká na platbu",
  in_progress: "zpracovává se",
  failed: "nezdařilo se",
  needs_confirmation: "čeká na potvrzení",
  cancelled: "zrušeno",
  refunded: "vráceno",
  disputed: "reklamováno",
};

/** Czech words for a recharge/invoice status. */
export function statusLabel(status: string): string {
  return statusWord(status, STATUS_WORDS);
}
