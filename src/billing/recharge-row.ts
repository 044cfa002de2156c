/** A row of the `recharges` table (the state machine is in recharges.ts; docs/billing.md). */
/**
 * How long a recharge that failed at the pay step is still checked with Stripe by the hourly run: its invoice
 * stays open and payable on its hosted page. Also the cron's window (src/cron/hourly.ts).
 */
export const PAYABLE_AFTER_FAILURE_MS = 30 * 86_400_000;

export type RechargeStatus = "pending" | "open" | "paid" | "failed" | "expired" | "void";
export type RechargeStep = "invoice" | "item" | "finalize" | "pay" | "checkout" | "done";

export interface RechargeRow extends Record<string, SqlStorageValue> {
  id: string;
  kind: "auto" | "manual";
  amount_micros: number;
  status: RechargeStatus;
  step: RechargeStep;
  invoice_id: string | null;
  checkout_session_id: string | null;
  hosted_url: string | null;
  pdf_url: string | null;
  paid_micros: number | null;
  refunded_micros: number;
  failure_code: string | null;
  attempts: number;
  next_attempt_at: number | null;
  pay_key: string;
  /** The attempt whose answer was a 5xx: Stripe saved it under the key, so calls from then on add `:<n>`. */
  key_attempt: number;
  created_at: number;
  updated_at: number;
}
