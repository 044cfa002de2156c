/**
 * The `/stats` report's layout, shared by every language: first line `<credits>: $X`, then short sections whose
 * tables sit in `<pre>` blocks so columns line up on a phone, and the command that applies the recommended
 * threshold. Each catalogue gives the words (`StatsWords`); which rows and which command is decided here once.
 */
import type { Operation, StatsSnapshot } from "../../ledger/types";
import { formatUsd } from "../../money";
import { code, escapeHtml, isoDate, pre, RECOMMENDATION_DAYS, recommendedCommand } from "./format";
import { type RechargeState, rechargeState } from "./recharge-state";

export interface StatsWords {
  credits: string;
  availableNow(available: string, reserved: string): string;
  autoRecharge: string;
  states: Record<RechargeState, string>;
  status: string;
  topUp: string;
  whenAtLabel: string;
  whenAt(threshold: string): string;
  card: string;
  spend: string;
  today: string;
  d7: string;
  d30: string;
  operations: Record<Operation, string>;
  avgPerAnswer: string;
  activity: string;
  answers: string;
  users: string;
  unanswered(n: number): string;
  clientLimitOff: string;
  clientLimit(limit: string, reachedToday: number): string;
  outlook: string;
  recharged: string;
  none: string;
  runway: string;
  advised: string;
  rechargeAt(threshold: string): string;
  matchesAdvice: string;
  apply(days: number): string;
  /** Words shared with other texts of the language. */
  cardLabel(brand: string | null, last4: string | null): string | null;
  formatRunway(hours: number | null): string;
  statusLabel(status: string): string;
  clientLimitLabel(micros: number): string;
}

export function statsLayout(s: StatsSnapshot, w: StatsWords): { text: string; parseMode: "HTML" } {
  const lines: string[] = [`${w.credits}: ${formatUsd(s.balanceMicros)}`];
  if (s.availableMicros < s.balanceMicros) {
    lines.push(
      escapeHtml(w.availableNow(formatUsd(s.availableMicros), formatUsd(s.balanceMicros - s.availableMicros))),
    );
  }

  const ar = s.autoRecharge;
  const state = rechargeState(ar);
  lines.push(`<b>${w.autoRecharge}</b>`);
  if (ar === null || state === "off") {
    lines.push(pre([[w.status, w.states.off]]));
  } else {
    const rows: string[][] = [
      [w.status, w.states[state]],
      [w.topUp, formatUsd(ar.topUpMicros)],
      [w.whenAtLabel, w.whenAt(formatUsd(ar.rechargeAtMicros))],
    ];
    const card = w.cardLabel(ar.cardBrand, ar.cardLast4);
    if (card) rows.push([w.card, card]);
    lines.push(pre(rows));
  }

  lines.push(`<b>${w.spend}</b>`);
  const cost = new Map(s.costByOperation30d.map((c) => [c.operation, c.costMicros]));
  lines.push(
    pre(
      [
        [w.today, formatUsd(s.spend.todayMicros)],
        [w.d7, formatUsd(s.spend.d7Micros)],
        [w.d30, formatUsd(s.spend.d30Micros)],
        ...(Object.keys(w.operations) as Operation[]).map((op) => [
          ` ${w.operations[op]}`,
          formatUsd(cost.get(op) ?? 0),
        ]),
        [w.avgPerAnswer, s.avgCostPerAnswerMicros === null ? "—" : formatUsd(s.avgCostPerAnswerMicros)],
      ],
      ["l", "r"],
    ),
  );

  lines.push(`<b>${w.activity}</b>`);
  lines.push(
    pre(
      [
        ["", w.answers, w.users],
        ["24 h", String(s.answers.h24), String(s.activeUsers.h24)],
        [w.d7, String(s.answers.d7), String(s.activeUsers.d7)],
        [w.d30, String(s.answers.d30), String(s.activeUsers.d30)],
      ],
      ["l", "r", "r"],
    ),
  );
  lines.push(w.unanswered(s.unansweredWhileOut30d));
  if (s.clientLimit) {
    const { capMicros, reachedToday } = s.clientLimit;
    lines.push(
      escapeHtml(capMicros === 0 ? w.clientLimitOff : w.clientLimit(w.clientLimitLabel(capMicros), reachedToday)),
    );
  }

  lines.push(`<b>${w.outlook}</b>`);
  const last = s.lastRecharge;
  const rec = s.recommendedRechargeAtMicros;
  lines.push(
    pre([
      // Status on its own row: "$10,000.00 needs confirmation" next to the date would not fit a phone line.
      [w.recharged, last ? `${isoDate(last.at)} ${formatUsd(last.amountMicros)}` : w.none],
      ...(last ? [["", w.statusLabel(last.status)]] : []),
      [w.runway, w.formatRunway(s.runwayHours)],
      [w.advised, w.rechargeAt(formatUsd(rec))],
    ]),
  );

  const command = recommendedCommand(ar, rec);
  if (command === null) {
    lines.push(w.matchesAdvice);
  } else {
    lines.push(w.apply(RECOMMENDATION_DAYS));
    lines.push(code(command));
  }
  return { text: lines.join("\n"), parseMode: "HTML" };
}
