/** Input problems (Czech): what is wrong with a typed owner command, always with an example that would be accepted. */
import { type AmountProblem, formatUsd } from "../../../money";
import { DEFAULT_MANUAL_TOP_UP_MICROS, DEFAULT_RECHARGE_AT_MICROS, DEFAULT_TOP_UP_MICROS, EXAMPLES } from "../format";
import type { CommandProblem, OwnerAmountCommand, OwnerArgsCommand } from "../types";

// Names are nominative; each sentence uses them as a subject ("Chybí …") or after "jako", so no case or gender
// agreement is needed.
const AMOUNT_PROBLEMS: Record<AmountProblem, (name: string) => string> = {
  missing: (name) => `Chybí ${name}.`,
  not_a_number: (name) =>
    `Číslo zadané jako ${name} musí být prosté číslo v dolarech, třeba 500 nebo 99.50 (jen číslice s desetinnou tečkou, případně $ na začátku).`,
  negative: (name) => `Číslo zadané jako ${name} nesmí být záporné.`,
  zero: (name) => `Číslo zadané jako ${name} musí být větší než nula.`,
  too_many_decimals: (name) => `Číslo zadané jako ${name} smí mít nejvýše dvě desetinná místa (celé centy).`,
  too_large: (name) => `Číslo zadané jako ${name} je příliš velké.`,
};

const USAGE: Record<OwnerAmountCommand, string> = {
  setupCredits: "/setupCredits:{částka}:{hranice}",
  changeCreditsTopUp: "/changeCreditsTopUp:{nová_částka}:{nová_hranice}",
  topUp: "/topUp:{částka}",
};

function explainExample(command: OwnerAmountCommand, example: string): string {
  if (example === EXAMPLES.setupCredits)
    return `${example} — když zůstatek klesne na ${formatUsd(DEFAULT_RECHARGE_AT_MICROS)}, z vaší karty se strhne ${formatUsd(DEFAULT_TOP_UP_MICROS)} a připíše se ${formatUsd(DEFAULT_TOP_UP_MICROS)} kreditů.`;
  if (command === "topUp" && example === EXAMPLES.topUp)
    return `${example} — jednorázově koupí kredity za ${formatUsd(DEFAULT_MANUAL_TOP_UP_MICROS)}.`;
  return example;
}

const ARGS_USAGE: Record<OwnerArgsCommand, string> = { ...USAGE, clientLimit: "/clientLimit:{usd}" };

const PROBLEM_AMOUNT_NAMES: Record<"top-up" | "threshold" | "amount" | "limit", string> = {
  "top-up": "částka dobití (první číslo)",
  threshold: "hranice dobití (druhé číslo)",
  amount: "částka",
  limit: "denní limit na klienta",
};

/** 1 problém, 2–4 problémy, 0 and 5+ problémů. */
function problemsWord(n: number): string {
  if (n === 1) return "problém";
  return n >= 2 && n <= 4 ? "problémy" : "problémů";
}

function problemLine(command: OwnerArgsCommand, p: CommandProblem): string {
  const manual = command === "topUp";
  switch (p.kind) {
    case "amount":
      return AMOUNT_PROBLEMS[p.problem](PROBLEM_AMOUNT_NAMES[p.what]);
    case "missing_parts":
      if (command === "clientLimit") return "Chybí denní limit na klienta.";
      return manual
        ? "Chybí částka, za kterou chcete kredity koupit."
        : "Jsou potřeba dvě částky: kolik dobít (částka dobití) a při jakém zůstatku (hranice).";
    case "too_many_parts":
      return `Příliš mnoho hodnot: /${command} očekává ${manual || command === "clientLimit" ? "právě jednu částku" : "právě dvě částky"}.`;
    case "top_up_below_min":
      return `${manual ? "Jednorázové dobití" : "Částka dobití"} musí být alespoň ${formatUsd(p.minMicros)}.`;
    case "top_up_above_max":
      return `${manual ? "Jednorázové dobití" : "Částka dobití"} může být nejvýše ${formatUsd(p.maxMicros)}.`;
    case "threshold_below_min":
      return (
        `Hranice dobití (druhé číslo) musí být alespoň ${formatUsd(p.minMicros)}, ` +
        "abyste měli čas zareagovat, když platba kartou selže."
      );
    case "threshold_above_max":
      return (
        `Hranice dobití (druhé číslo) může být nejvýše ${formatUsd(p.maxMicros)}: ` +
        "při vyšší by se dobíjelo znovu a znovu."
      );
    case "limit_below_min":
      return (
        `Denní limit na klienta musí být alespoň ${formatUsd(p.minMicros)}, což je nejvyšší možná cena jedné odpovědi ` +
        "(nižší limit by zastavil každou odpověď), nebo 0, čímž limit vypnete."
      );
  }
}

/**
 * A bad owner command, answered once with every problem it has, its form, and an example that the same
 * command accepts (the caller builds it from the configured limits, keeping what the owner typed right).
 */
export function commandProblems(command: OwnerArgsCommand, problems: readonly CommandProblem[], example: string) {
  const lines =
    problems.length === 1
      ? [`${problemLine(command, problems[0] as CommandProblem)} Nic se nezměnilo.`]
      : [
          `/${command} má ${problems.length} ${problemsWord(problems.length)}, proto se nic nezměnilo:`,
          ...problems.map((p) => `• ${problemLine(command, p)}`),
        ];
  lines.push(`Zápis: ${ARGS_USAGE[command]}`);
  lines.push(`Příklad: ${command === "clientLimit" ? example : explainExample(command, example)}`);
  return lines.join("\n");
}
