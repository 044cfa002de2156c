import type { AutoRechargeView } from "../../ledger/types";
import { formatUsd } from "../../money";
import type { Lang } from "../types";
import {
  cardLabel,
  changeCommand,
  DEFAULT_RECHARGE_AT_MICROS,
  DEFAULT_TOP_UP_MICROS,
  EXAMPLES,
  setupCommand,
} from "./format";
import { TEXTS } from "./localized";
import { rechargeState } from "./recharge-state";

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
    case "stopped":
      lines.push(
        t.rechargeStopped(card, changeCommand(ar?.topUpMicros ?? DEFAULT_TOP_UP_MICROS, ar?.rechargeAtMicros ?? 0)),
      );
      break;
  }
  return lines.join("\n");
}
