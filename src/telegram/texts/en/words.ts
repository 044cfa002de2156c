/** Words several English texts share: card labels, runway, statuses. */
import { cardLabel, type Runway, runwayOf, type StatusKey, statusWord } from "../format";

/** "Visa •••• 4242", "•••• 4242"; null when nothing is known about the card. */
export function card(brand: string | null, last4: string | null): string | null {
  return cardLabel(brand, last4);
}

/** "≈ 3.5 days", "≈ 10 hours", "no recent spend". */
export function formatRunway(hours: number | null): string {
  const r: Runway = runwayOf(hours);
  switch (r.unit) {
    case "none":
      return "no recent spend";
    case "under_hour":
      return "< 1 hour";
    case "hours":
      return `≈ ${r.n} ${r.n === 1 ? "hour" : "hours"}`;
    case "days":
      return `≈ ${r.shown} days`;
  }
}

const STATUS_WORDS: Record<StatusKey, string> = {
  paid: "paid",
  awaiting_payment: "awaiting payment",
  in_progress: "in progress",
  failed: "failed",
  needs_confirmation: "needs confirmation",
  cancelled: "cancelled",
  refunded: "refunded",
  disputed: "disputed",
};

/** Human words for a recharge/invoice status. */
export function statusLabel(status: string): string {
  return statusWord(status, STATUS_WORDS);
}
