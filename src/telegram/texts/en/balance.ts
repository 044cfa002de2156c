/** The answer to `/balance` and to asking in words. */
import { formatUsd } from "../../../money";
import { changeCommand, DEFAULT_RECHARGE_AT_MICROS, DEFAULT_TOP_UP_MICROS, EXAMPLES, setupCommand } from "../format";
import { rechargeState } from "../recharge-state";
import type { BalanceAnswerInput } from "../types";
import { card as cardOf } from "./words";

export function balanceAnswer(v: BalanceAnswerInput): string {
  const lines = [`Your credit balance: ${formatUsd(v.balanceMicros)}`];
  if (v.availableMicros < v.balanceMicros) {
    const held = formatUsd(v.balanceMicros - v.availableMicros);
    lines.push(`${held} is reserved for answers in progress, so ${formatUsd(v.availableMicros)} is available now.`);
  }
  const ar = v.autoRecharge;
  // Repeating the owner's own amounts in the fix command makes it one tap-and-send instead of an edit.
  const setup = ar ? setupCommand(ar.topUpMicros, ar.rechargeAtMicros) : EXAMPLES.setupCredits;
  const card = ar ? cardOf(ar.cardBrand, ar.cardLast4) : null;
  const topUp = EXAMPLES.topUp;
  switch (rechargeState(ar)) {
    case "off":
      lines.push(
        `Auto-recharge: off. To turn it on, send ${EXAMPLES.setupCredits} (adds ${formatUsd(DEFAULT_TOP_UP_MICROS)} ` +
          `whenever the balance drops to ${formatUsd(DEFAULT_RECHARGE_AT_MICROS)}).`,
      );
      break;
    case "active":
      lines.push(
        `Auto-recharge: on — adds ${formatUsd(ar?.topUpMicros ?? 0)} when the balance drops to ` +
          `${formatUsd(ar?.rechargeAtMicros ?? 0)}${card ? `, card ${card}` : ""}.`,
      );
      break;
    case "failing":
      lines.push(
        `Auto-recharge: the last charge to ${card ? `your card ${card}` : "your card"} was declined. ` +
          `Save a new card with ${setup}, or buy credits once with ${topUp}.`,
      );
      break;
    case "needs_confirmation":
      lines.push(
        ar?.confirmUrl
          ? `Auto-recharge: your bank asks you to confirm the last payment. Confirm it here: ${ar.confirmUrl}`
          : `Auto-recharge: your bank asks you to confirm the last payment. Open it from /invoices, or buy credits once with ${topUp}.`,
      );
      break;
    case "daily_limit":
      lines.push(
        `Auto-recharge: paused for today — the daily number of recharges is used up. To add credits now, send ${topUp}.`,
      );
      break;
    case "pending_card":
      lines.push(
        `Auto-recharge: waiting for your card to be saved. Open the link you got after /setupCredits, or send ${setup} again for a new link.`,
      );
      break;
    case "stopped": {
      const change = changeCommand(ar?.topUpMicros ?? DEFAULT_TOP_UP_MICROS, ar?.rechargeAtMicros ?? 0);
      lines.push(
        `Auto-recharge: off — you turned it off with /stopCredits${card ? `; your card ${card} stays saved` : ""}. ` +
          `To turn it on again, send ${change}.`,
      );
      break;
    }
  }
  return lines.join("\n");
}
