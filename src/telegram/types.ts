import type { Operation } from "../account/types";

/** Languages the owner can be answered in. Add one here and in texts.ts. */
export type Lang = "en" | "cs";

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
}
