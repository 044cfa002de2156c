import type { Operation, StatsSnapshot } from "../../../ledger/types";
import { formatUsd } from "../../../money";
import { code, escapeHtml, isoDate, pre, RECOMMENDATION_DAYS, recommendedCommand } from "../format";
import { type RechargeState, rechargeState } from "../recharge-state";
import { clientLimitLabel } from "./owner-controls";
import { card as cardLabel, formatRunway, statusLabel } from "./words";

const OPERATION_LABELS: Record<Operation, string> = {
  response: "Answers",
  knowhow_update: "Know-how updates",
  role_update: "Role updates",
};

const RECHARGE_STATE_LABELS: Record<RechargeState, string> = {
  off: "off",
  active: "on",
  failing: "card declined",
  needs_confirmation: "needs confirmation",
  daily_limit: "paused, daily limit",
  pending_card: "waiting for card",
  stopped: "off (turned off)",
};

/**
 * The `/stats` report for a phone screen: first line exactly `Credits: $X`, then short sections whose tables
 * sit in `<pre>` blocks so columns line up, and the command that applies the recommended threshold.
 */
export function statsReport(s: StatsSnapshot): { text: string; parseMode: "HTML" } {
  const lines: string[] = [`Credits: ${formatUsd(s.balanceMicros)}`];
  if (s.availableMicros < s.balanceMicros) {
    lines.push(
      escapeHtml(
        `Available now: ${formatUsd(s.availableMicros)} (${formatUsd(s.balanceMicros - s.availableMicros)} reserved)`,
      ),
    );
  }

  const ar = s.autoRecharge;
  const state = rechargeState(ar);
  lines.push("<b>Auto-recharge</b>");
  if (ar === null || state === "off") {
    lines.push(pre([["Status", "off"]]));
  } else {
    const rows: string[][] = [
      ["Status", RECHARGE_STATE_LABELS[state]],
      ["Top-up", formatUsd(ar.topUpMicros)],
      ["When at", `${formatUsd(ar.rechargeAtMicros)} or less`],
    ];
    const card = cardLabel(ar.cardBrand, ar.cardLast4);
    if (card) rows.push(["Card", card]);
    lines.push(pre(rows));
  }

  lines.push("<b>Spend</b>");
  const cost = new Map(s.costByOperation30d.map((c) => [c.operation, c.costMicros]));
  lines.push(
    pre(
      [
        ["Today", formatUsd(s.spend.todayMicros)],
        ["7 days", formatUsd(s.spend.d7Micros)],
        ["30 days", formatUsd(s.spend.d30Micros)],
        ...(Object.keys(OPERATION_LABELS) as Operation[]).map((op) => [
          ` ${OPERATION_LABELS[op]}`,
          formatUsd(cost.get(op) ?? 0),
        ]),
        ["Avg per answer", s.avgCostPerAnswerMicros === null ? "—" : formatUsd(s.avgCostPerAnswerMicros)],
      ],
      ["l", "r"],
    ),
  );

  lines.push("<b>Activity</b>");
  lines.push(
    pre(
      [
        ["", "Answers", "Users"],
        ["24 h", String(s.answers.h24), String(s.activeUsers.h24)],
        ["7 days", String(s.answers.d7), String(s.activeUsers.d7)],
        ["30 days", String(s.answers.d30), String(s.activeUsers.d30)],
      ],
      ["l", "r", "r"],
    ),
  );
  lines.push(`Unanswered while out of credits (30 days): ${s.unansweredWhileOut30d}`);
  if (s.clientLimit) {
    const { capMicros, reachedToday } = s.clientLimit;
    lines.push(
      escapeHtml(
        capMicros === 0
          ? "Limit per client: off (/clientLimit sets one)"
          : `Limit per client: ${clientLimitLabel(capMicros)}, reached today by ${reachedToday} ${reachedToday === 1 ? "client" : "clients"}`,
      ),
    );
  }

  lines.push("<b>Outlook</b>");
  const last = s.lastRecharge;
  const rec = s.recommendedRechargeAtMicros;
  lines.push(
    pre([
      // Status on its own row: "$10,000.00 needs confirmation" next to the date would not fit a phone line.
      ["Recharged", last ? `${isoDate(last.at)} ${formatUsd(last.amountMicros)}` : "none"],
      ...(last ? [["", statusLabel(last.status)]] : []),
      ["Runway", formatRunway(s.runwayHours)],
      ["Advised", `recharge at ${formatUsd(rec)}`],
    ]),
  );

  const command = recommendedCommand(ar, rec);
  if (command === null) {
    lines.push("Your threshold already matches the advice.");
  } else {
    lines.push(`It covers ~${RECOMMENDATION_DAYS} days if a card payment fails. Apply:`);
    lines.push(code(command));
  }
  return { text: lines.join("\n"), parseMode: "HTML" };
}
