import type { Config } from "../env";
import { MICROS_PER_CENT, parseOwnerAmount } from "../money";
import {
  type Catalogue,
  type CommandProblem,
  changeCommand,
  clientLimitCommand,
  setupCommand,
  topUpCommand,
} from "./texts";
import {
  CHANGE_EXAMPLE_RECHARGE_AT_MICROS,
  CHANGE_EXAMPLE_TOP_UP_MICROS,
  DEFAULT_CLIENT_LIMIT_MICROS,
  DEFAULT_MANUAL_TOP_UP_MICROS,
  DEFAULT_RECHARGE_AT_MICROS,
  DEFAULT_TOP_UP_MICROS,
} from "./texts/format";

/**
 * The values of the owner commands that take some (`/setupCredits`, `/changeCreditsTopUp`, `/topUp`,
 * `/clientLimit`), checked as a whole: every problem is collected, so one reply names all of them, and
 * the reply's example is one the same command accepts (what the owner typed right is kept, what was
 * out of range is moved to the nearest accepted value).
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

type Limits = Pick<
  Config,
  | "minTopUpMicros"
  | "maxTopUpMicros"
  | "minRechargeAtMicros"
  | "minManualTopUpMicros"
  | "answerWorstCaseMicros"
  | "endUserDailyCapMicros"
>;

interface Slot {
  what: "top-up" | "threshold" | "amount" | "limit";
  min: number;
  max: number;
  below: (min: number) => CommandProblem;
  above: ((max: number) => CommandProblem) | null;
  /** What the example shows when the owner's value is unusable. */
  fallback: number;
  /** `0` is a value here (turns the limit off), not a problem. */
  zeroAllowed?: boolean;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** Rounded up to the cent: an example's amount is typed with at most two decimals and must stay ≥ the minimum. */
function upToCent(micros: number): number {
  return Math.ceil(micros / MICROS_PER_CENT) * MICROS_PER_CENT;
}

function check(
  args: readonly string[],
  slots: readonly Slot[],
): { values: number[]; problems: CommandProblem[]; exampleValues: number[] } {
  const problems: CommandProblem[] = [];
  if (args.length < slots.length) problems.push({ kind: "missing_parts" });
  if (args.length > slots.length) problems.push({ kind: "too_many_parts" });
  const values: number[] = [];
  const exampleValues: number[] = [];
  slots.forEach((slot, i) => {
    const arg = args[i];
    const fallback = upToCent(clamp(slot.fallback, slot.min, slot.max));
    if (arg === undefined) {
      exampleValues.push(fallback);
      return;
    }
    const amount = parseOwnerAmount(arg);
    if (!amount.ok) {
      if (amount.problem === "zero" && slot.zeroAllowed) {
        values.push(0);
        exampleValues.push(0);
        return;
      }
      problems.push({ kind: "amount", what: slot.what, problem: amount.problem });
      exampleValues.push(fallback);
      return;
    }
    if (amount.micros < slot.min) problems.push(slot.below(slot.min));
    else if (slot.above && amount.micros > slot.max) problems.push(slot.above(slot.max));
    values.push(amount.micros);
    exampleValues.push(upToCent(clamp(amount.micros, slot.min, slot.max)));
  });
  return { values, problems, exampleValues };
}

/** `{topUpAmount}:{rechargeAt}` of `/setupCredits` and `/changeCreditsTopUp`. */
export function parseSettings(
  command: "setupCredits" | "changeCreditsTopUp",
  args: readonly string[],
  config: Limits,
  texts: Catalogue,
): Parsed<{ topUpMicros: number; rechargeAtMicros: number }> {
  const setup = command === "setupCredits";
  const { values, problems, exampleValues } = check(args, [
    {
      what: "top-up",
      min: config.minTopUpMicros,
      max: config.maxTopUpMicros,
      below: (minMicros) => ({ kind: "top_up_below_min", minMicros }),
      above: (maxMicros) => ({ kind: "top_up_above_max", maxMicros }),
      fallback: setup ? DEFAULT_TOP_UP_MICROS : CHANGE_EXAMPLE_TOP_UP_MICROS,
    },
    {
      what: "threshold",
      min: config.minRechargeAtMicros,
      // A threshold above the largest top-up would start recharges back to back (until the daily limit).
      max: config.maxTopUpMicros,
      below: (minMicros) => ({ kind: "threshold_below_min", minMicros }),
      above: (maxMicros) => ({ kind: "threshold_above_max", maxMicros }),
      fallback: setup ? DEFAULT_RECHARGE_AT_MICROS : CHANGE_EXAMPLE_RECHARGE_AT_MICROS,
    },
  ]);
  if (problems.length > 0) {
    const [topUp, rechargeAt] = exampleValues as [number, number];
    const example = setup ? setupCommand(topUp, rechargeAt) : changeCommand(topUp, rechargeAt);
    return { ok: false, message: texts.commandProblems(command, problems, example) };
  }
  const [topUpMicros, rechargeAtMicros] = values as [number, number];
  return { ok: true, value: { topUpMicros, rechargeAtMicros } };
}

/** `/topUp:{amount}`: a one-off purchase. */
export function parseTopUp(args: readonly string[], config: Limits, texts: Catalogue): Parsed<number> {
  const { values, problems, exampleValues } = check(args, [
    {
      what: "amount",
      min: config.minManualTopUpMicros,
      max: config.maxTopUpMicros,
      below: (minMicros) => ({ kind: "top_up_below_min", minMicros }),
      above: (maxMicros) => ({ kind: "top_up_above_max", maxMicros }),
      fallback: DEFAULT_MANUAL_TOP_UP_MICROS,
    },
  ]);
  if (problems.length > 0) {
    return { ok: false, message: texts.commandProblems("topUp", problems, topUpCommand(exampleValues[0])) };
  }
  return { ok: true, value: values[0] as number };
}

/** The lowest daily limit per client: one worst-case answer, in whole cents (what an owner can type). */
export function minClientLimitMicros(config: Pick<Limits, "answerWorstCaseMicros">): number {
  return upToCent(Math.max(1, config.answerWorstCaseMicros));
}

/** `/clientLimit:{usd}`: what one client may cost per UTC day; `0` turns the limit off. */
export function parseClientLimit(args: readonly string[], config: Limits, texts: Catalogue): Parsed<number> {
  const min = minClientLimitMicros(config);
  const { values, problems, exampleValues } = check(args, [
    {
      what: "limit",
      min,
      max: Number.MAX_SAFE_INTEGER,
      below: (minMicros) => ({ kind: "limit_below_min", minMicros }),
      above: null,
      fallback: Math.max(DEFAULT_CLIENT_LIMIT_MICROS, config.endUserDailyCapMicros),
      zeroAllowed: true,
    },
  ]);
  if (problems.length > 0) {
    return {
      ok: false,
      message: texts.commandProblems("clientLimit", problems, clientLimitCommand(exampleValues[0])),
    };
  }
  return { ok: true, value: values[0] as number };
}
