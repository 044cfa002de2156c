import type { AutoRechargeStatus, AutoRechargeView } from "../../ledger/types";

/**
 * What auto-recharge is doing, from the owner's point of view. `pending_card` wins over `enabled` because a
 * setup waiting for its card is news to the owner even though nothing is charged yet.
 */
export type RechargeState = "off" | "stopped" | AutoRechargeStatus;

/** `stopped`: the owner turned it off with `/stopCredits`; the card stays saved. */
export function rechargeState(v: AutoRechargeView | null): RechargeState {
  if (v === null) return "off";
  if (v.status === "pending_card") return "pending_card";
  if (!v.enabled) return v.cardSaved ? "stopped" : "off";
  return v.status;
}

/** States in which a card is saved, so `/changeCreditsTopUp` works (and turns a stopped auto-recharge on). */
export function hasCard(state: RechargeState): boolean {
  return (
    state === "active" ||
    state === "failing" ||
    state === "needs_confirmation" ||
    state === "daily_limit" ||
    state === "stopped"
  );
}
