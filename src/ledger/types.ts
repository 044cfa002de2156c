/** Types of the CreditAccount RPC contract, shared by the Worker routes and the object. */
import type { Lang } from "../lang";

export const OPERATIONS = ["response", "knowhow_update", "role_update"] as const;
export type Operation = (typeof OPERATIONS)[number];

/** Background operations must leave the floor untouched so user answers keep flowing. */
export function isBackground(operation: Operation): boolean {
  return operation !== "response";
}

export type LedgerKind =
  | "grant"
  | "usage"
  | "hold_settle"
  | "adjustment"
  | "recharge"
  | "top_up"
  | "refund"
  /** A dispute the owner won: what the dispute took back (as a `refund` entry) comes back. */
  | "dispute_won";

export interface LedgerEntry {
  seq: number;
  kind: LedgerKind;
  operation: Operation | null;
  amountMicros: number;
  balanceAfterMicros: number;
  idempotencyKey: string | null;
  endUserId: string | null;
  reference: string | null;
  memo: string | null;
  createdAt: number;
}

/**
 * Who is calling. The usage API passes the SHA-256 of the presented key and the object
 * checks it against its own copy, so authenticating costs no extra round trip; the Worker's
 * own features (the Telegram bot, admin routes) call as `internal`.
 */
export type Caller = { kind: "api"; keyHash: string } | { kind: "internal" };

export type Refusal =
  | "not_found"
  | "unauthorized"
  | "insufficient_credits"
  | "background_floor"
  | "idempotency_key_reused"
  | "hold_not_found"
  | "hold_not_open"
  | "hold_expired"
  | "already_provisioned"
  | "different_bot"
  | "upstream_unavailable";

export type Outcome<T> = ({ ok: true } & T) | { ok: false; reason: Refusal; message?: string };

export interface ProvisionInput extends BotCredentials {
  instanceId: string;
  ownerTelegramId: number;
  license: string;
  bonusMicros: number;
  apiKeyHash: string;
  systemPrompt: string | null;
  /** Where Stripe emails the invoices (`ownerEmail` at provisioning); null: Checkout or `/invoiceEmail` sets it. */
  ownerEmail?: string | null;
  /** The owner's language when the operator knows it (`ownerLanguage`); their messages' language_code updates it. */
  ownerLanguage?: Lang | null;
}

export interface BalanceView {
  balanceMicros: number;
  availableMicros: number;
  heldMicros: number;
  outOfCredits: boolean;
}

export interface AccountStatus extends BalanceView {
  instanceId: string;
  ownerTelegramId: number;
  license: string;
  botId: number | null;
  botUsername: string | null;
  systemPrompt: string | null;
  createdAt: number;
  lastSeq: number;
  pendingOutbox: number;
  /** The owner's `/language` choice; null when none was made (the chat then follows Telegram's language_code). */
  ownerLanguageChosen: Lang | null;
  autoRecharge: AutoRechargeView | null;
}

/** A bot's credentials as stored: the token sealed, the webhook secret hashed. */
export interface BotCredentials {
  botTokenSealed: string;
  webhookSecretHash: string;
  botId: number;
  botUsername: string;
}

export interface ChargeInput {
  idempotencyKey: string;
  operation: Operation;
  costMicros: number;
  /** Canonical text of the original request, so a reused key with other parameters is caught. */
  fingerprint: string;
  endUserId?: string | null;
}

export interface ChargeResult {
  chargedMicros: number;
  balanceMicros: number;
  seq: number;
  replayed: boolean;
}

export interface HoldInput {
  idempotencyKey: string;
  operation: Operation;
  maxCostMicros: number;
  ttlMs: number;
  fingerprint: string;
  endUserId?: string | null;
}

export interface HoldResult {
  holdId: string;
  expiresAt: number;
  replayed: boolean;
}

export interface SettleInput {
  holdId: string;
  costMicros: number;
  fingerprint: string;
}

export interface SettleResult {
  chargedMicros: number;
  releasedMicros: number;
  balanceMicros: number;
  replayed: boolean;
}

export interface ReleaseResult {
  releasedMicros: number;
  balanceMicros: number;
  availableMicros: number;
}

export interface AdjustInput {
  idempotencyKey: string;
  amountMicros: number;
  reason: string;
}

export interface AdjustResult {
  seq: number;
  amountMicros: number;
  balanceMicros: number;
  replayed: boolean;
}

export interface LedgerPage {
  entries: LedgerEntry[];
  nextCursor: number | null;
}

// ---------------------------------------------------------------- what owners are shown

export type AutoRechargeStatus = "active" | "pending_card" | "failing" | "needs_confirmation" | "daily_limit";

export interface AutoRechargeView {
  enabled: boolean;
  topUpMicros: number;
  rechargeAtMicros: number;
  cardBrand: string | null;
  cardLast4: string | null;
  status: AutoRechargeStatus;
  /** Hosted invoice link when the last recharge needs the owner's confirmation. */
  confirmUrl: string | null;
  /** A card is saved (also while auto-recharge is turned off with `/stopCredits`). */
  cardSaved?: boolean;
  /**
   * False after a recharge until the balance has been above the threshold again (one recharge per crossing):
   * a balance still at or under it starts none. Absent when unknown.
   */
  armed?: boolean;
  /** An automatic recharge is being charged now. */
  inFlight?: boolean;
}

/** One UTC day of the dashboard's chart: spend per operation, answers, and end users active that day. */
export interface DayUsage {
  /** Days since the epoch (UTC). */
  day: number;
  costMicros: Record<Operation, number>;
  answers: number;
  activeUsers: number;
}

/** Everything `/stats` shows, computed by the CreditAccount from its rollups. */
export interface StatsSnapshot {
  now: number;
  balanceMicros: number;
  availableMicros: number;
  autoRecharge: AutoRechargeView | null;
  spend: { todayMicros: number; d7Micros: number; d30Micros: number };
  answers: { h24: number; d7: number; d30: number };
  activeUsers: { h24: number; d7: number; d30: number };
  costByOperation30d: { operation: Operation; costMicros: number; count: number }[];
  avgCostPerAnswerMicros: number | null;
  unansweredWhileOut30d: number;
  lastRecharge: { at: number; amountMicros: number; status: string } | null;
  /** Hours until the balance is gone at the last 7 days' burn rate; null without recent spend. */
  runwayHours: number | null;
  recommendedRechargeAtMicros: number;
  /** The daily limit per client (`/clientLimit`; 0 = off) and how many clients reached it today (UTC). */
  clientLimit?: { capMicros: number; reachedToday: number };
}
