import type { Operation, StatsSnapshot } from "../../../ledger/types";
import { formatUsd } from "../../../money";
import { code, escapeHtml, isoDate, pre, RECOMMENDATION_DAYS, recommendedCommand } from "../format";
import { type RechargeState, rechargeState } from "../recharge-state";
import { clientLimitLabel } from "./owner-controls";
import { card as cardLabel, formatRunway, statusLabel } from "./words";

const OPERATION_LABELS: Record<Operation, string> = {
  response: "Odpovědi",
  knowhow_update: "Úpravy know-how",
  role_update: "Úpravy role",
};

const RECHARGE_STATE_LABELS: Record<RechargeState, string> = {
  off: "vypnuto",
  active: "zapnuto",
  failing: "karta zamítnuta",
  needs_confirmation: "čeká na potvrzení",
  daily_limit: "pozastaveno, denní limit",
  pending_card: "čeká na kartu",
  stopped: "vypnuto (ručně)",
};

/** "dosáhl 1 klient", "dosáhli 2 klienti", "dosáhlo 5 klientů" (the verb agrees with the count). */
function reachedBy(n: number): string {
  if (n === 1) return `dosáhl ${n} klient`;
  return n >= 2 && n <= 4 ? `dosáhli ${n} klienti` : `dosáhlo ${n} klientů`;
}

/** 1 den, 2–4 dny, 5+ dní. */
function daysWord(n: number): string {
  if (n === 1) return "den";
  return n >= 2 && n <= 4 ? "dny" : "dní";
}

/**
 * The `/stats` report for a phone screen: first line exactly `Kredity: $X`, then short sections whose tables
 * sit in `<pre>` blocks so columns line up, and the command that applies the recommended threshold.
 */
export function statsReport(s: StatsSnapshot): { text: string; parseMode: "HTML" } {
  const lines: string[] = [`Kredity: ${formatUsd(s.balanceMicros)}`];
  if (s.availableMicros < s.balanceMicros) {
    lines.push(
      escapeHtml(
        `K dispozici teď: ${formatUsd(s.availableMicros)} (${formatUsd(s.balanceMicros - s.availableMicros)} rezervováno)`,
      ),
    );
  }

  const ar = s.autoRecharge;
  const state = rechargeState(ar);
  lines.push("<b>Automatické dobíjení</b>");
  if (ar === null || state === "off") {
    lines.push(pre([["Stav", "vypnuto"]]));
  } else {
    const rows: string[][] = [
      ["Stav", RECHARGE_STATE_LABELS[state]],
      ["Dobití", formatUsd(ar.topUpMicros)],
      ["Při zůstatku", `${formatUsd(ar.rechargeAtMicros)} nebo méně`],
    ];
    const card = cardLabel(ar.cardBrand, ar.cardLast4);
    if (card) rows.push(["Karta", card]);
    lines.push(pre(rows));
  }

  lines.push("<b>Útrata</b>");
  const cost = new Map(s.costByOperation30d.map((c) => [c.operation, c.costMicros]));
  lines.push(
    pre(
      [
        ["Dnes", formatUsd(s.spend.todayMicros)],
        ["7 dní", formatUsd(s.spend.d7Micros)],
        ["30 dní", formatUsd(s.spend.d30Micros)],
        ...(Object.keys(OPERATION_LABELS) as Operation[]).map((op) => [
          ` ${OPERATION_LABELS[op]}`,
          formatUsd(cost.get(op) ?? 0),
        ]),
        ["Průměr na odpověď", s.avgCostPerAnswerMicros === null ? "—" : formatUsd(s.avgCostPerAnswerMicros)],
      ],
      ["l", "r"],
    ),
  );

  lines.push("<b>Aktivita</b>");
  lines.push(
    pre(
      [
        ["", "Odpovědi", "Uživatelé"],
        ["24 h", String(s.answers.h24), String(s.activeUsers.h24)],
        ["7 dní", String(s.answers.d7), String(s.activeUsers.d7)],
        ["30 dní", String(s.answers.d30), String(s.activeUsers.d30)],
      ],
      ["l", "r", "r"],
    ),
  );
  lines.push(`Bez odpovědi, když došly kredity (30 dní): ${s.unansweredWhileOut30d}`);
  if (s.clientLimit) {
    const { capMicros, reachedToday } = s.clientLimit;
    lines.push(
      escapeHtml(
        capMicros === 0
          ? "Limit na klienta: vypnuto (nastavíte ho příkazem /clientLimit)"
          : `Limit na klienta: ${clientLimitLabel(capMicros)}, dnes ho ${reachedBy(reachedToday)}`,
      ),
    );
  }

  lines.push("<b>Výhled</b>");
  const last = s.lastRecharge;
  const rec = s.recommendedRechargeAtMicros;
  lines.push(
    pre([
      // Status on its own row: "$10,000.00 čeká na potvrzení" next to the date would not fit a phone line.
      ["Dobito", last ? `${isoDate(last.at)} ${formatUsd(last.amountMicros)}` : "zatím ne"],
      ...(last ? [["", statusLabel(last.status)]] : []),
      ["Výdrž", formatRunway(s.runwayHours)],
      ["Doporučeno", `hranice ${formatUsd(rec)}`],
    ]),
  );

  const command = recommendedCommand(ar, rec);
  if (command === null) {
    lines.push("Vaše hranice už odpovídá doporučení.");
  } else {
    lines.push(
      `Tato hranice pokryje ~${RECOMMENDATION_DAYS} ${daysWord(RECOMMENDATION_DAYS)} útraty, kdyby platba kartou selhala. Nastavíte ji příkazem:`,
    );
    lines.push(code(command));
  }
  return { text: lines.join("\n"), parseMode: "HTML" };
}
