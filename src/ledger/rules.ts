import { isBackground, type Operation } from "./types";

/** Pure spending rules of a CreditAccount. */

export const DAY_MS = 86_400_000;

/** UTC day number, the key of the daily rollups. */
export function dayOf(epochMs: number): number {
  return Math.floor(epochMs / DAY_MS);
}

export type SpendDecision = { ok: true } | { ok: false; reason: "insufficient_credits" | "background_floor" };

/**
 * User answers may spend down to zero; background work must leave `floorMicros`
 * behind so it cannot eat the last credits that keep the bot answering.
 */
export function canSpend(
  availableMicros: number,
  costMicros: number,
  operation: Operation,
  floorMicros: number,
): SpendDecision {
  if (isBackground(operation)) {
    return availableMicros >= costMicros + floorMicros ? { ok: true } : { ok: false, reason: "background_floor" };
  }
  return availableMicros >= costMicros ? { ok: true } : { ok: false, reason: "insufficient_credits" };
}

/** Out of credits: the available balance cannot cover one worst-case answer. */
export function isOutOfCredits(availableMicros: number, answerWorstCaseMicros: number): boolean {
  return availableMicros < Math.max(1, answerWorstCaseMicros);
}

/** A settle never charges more than was reserved: the hold is the ceiling agreed in advance. */
export function settleAmounts(maxCostMicros: number, actualCostMicros: number): { charged: number; released: number } {
  const charged = Math.min(maxCostMicros, actualCostMicros);
  return { charged, released: maxCostMicros - charged };
}

/**
 * History is copied to D1 (and the stats rollups catch up) this long after the first unflushed write, so
 * debits batch up. The benchmark waits at least this long after each cell for the work a cell left behind.
 */
export const FLUSH_DELAY_MS = 1_000;

/** Backoff for retried background work (outbox flush, later Stripe calls): 2s, 4s, … capped at 5 min. */
export function backoffMs(attempt: number): number {
  return Math.min(300_000, 2_000 * 2 ** Math.min(attempt, 8));
}

/** A Telegram job that failed this often is dropped (and logged) instead of retried forever. */
export const MAX_JOB_ATTEMPTS = 5;

/** The longest a Telegram job keeps retrying: the backoffs before each attempt but the first (2 + 4 + 8 + 16 s). */
export function jobRetryScheduleMs(): number {
  let total = 0;
  for (let attempt = 0; attempt < MAX_JOB_ATTEMPTS - 1; attempt++) total += backoffMs(attempt);
  return total;
}

export const HOUR_MS = 3_600_000;

/** Hour number since the epoch, the key of the hourly rollups. */
export function hourOf(epochMs: number): number {
  return Math.floor(epochMs / HOUR_MS);
}

/**
 * Hours the balance lasts at the burn rate of the window (one decimal); null without spend.
 * A display figure, so a float is fine here: no balance is derived from it.
 */
export function runwayHours(balanceMicros: number, spendMicros: number, windowHours: number): number | null {
  if (spendMicros <= 0) return null;
  if (balanceMicros <= 0) return 0;
  return Math.floor((balanceMicros * windowHours * 10) / spendMicros) / 10;
}

const TEN_USD = 10_000_000;

/**
 * A threshold that leaves about three days of answers at the recent burn rate, so a declined
 * card can be replaced before the bot stops; rounded up to $10, never below the configured minimum.
 */
export function recommendedRechargeAt(spendMicros: number, windowDays: number, minMicros: number): number {
  const threeDays = Math.ceil((spendMicros * 3) / windowDays);
  return Math.max(minMicros, Math.ceil(threeDays / TEN_USD) * TEN_USD);
}

/** Why an owner gets an early warning, before the bot actually runs dry. */
export type EarlyWarning = "recharge_failing" | "runway_short";

/** Below this many hours of runway an owner without auto-recharge is warned. */
export const SHORT_RUNWAY_HOURS = 24;

/**
 * The early-warning condition (SPEC "Alerts"): at or below the recharge threshold while
 * auto-recharge is failing (declined card, confirmation pending), or no auto-recharge and
 * less than a day of runway at the last 24 hours' burn. Out of credits is not a warning any
 * more: the out-of-credits alerts take over.
 */
export function earlyWarning(s: {
  outOfCredits: boolean;
  balanceMicros: number;
  autoRecharge: { enabled: boolean; status: string; rechargeAtMicros: number } | null;
  /** Hours the balance lasts at the last 24 hours' spend; null without spend. */
  runwayHours: number | null;
}): EarlyWarning | null {
  if (s.outOfCredits) return null;
  const ar = s.autoRecharge;
  if (ar?.enabled) {
    const failing = ar.status === "failing" || ar.status === "needs_confirmation";
    return failing && s.balanceMicros <= ar.rechargeAtMicros ? "recharge_failing" : null;
  }
  return s.runwayHours !== null && s.runwayHours < SHORT_RUNWAY_HOURS ? "runway_short" : null;
}

/**
 * An idempotency key of the product's own (the bot's holds): it has a space, which the APIs' keys (printable
 * ASCII without spaces) never have, so no caller of the usage API can take or replay one.
 */
export function internalKey(kind: "telegram-update", id: number): string {
  return `internal ${kind}:${id}`;
}
