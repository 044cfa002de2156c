/**
 * Every message the bot sends, one catalogue per language (`en/`, `cs/`): `textsIn(lang).balanceAnswer(…)`.
 * Texts are plain (no parse_mode) unless a function returns `parseMode: "HTML"`; those escape every dynamic
 * string with `escapeHtml`. Amounts shown to people go through `formatUsd` ($1,234.56 in every language, see
 * docs/languages.md); amounts inside a command the owner can copy go through `commandAmount` (plain number,
 * what the command parser accepts).
 */

export type { Catalogue } from "./catalogue";
export { textsIn } from "./catalogue";
export {
  changeCommand,
  clientLimitCommand,
  commandAmount,
  EXAMPLES,
  escapeHtml,
  isoDate,
  setupCommand,
  topUpCommand,
} from "./format";
export type { RechargeState } from "./recharge-state";
export { rechargeState } from "./recharge-state";
export type {
  BackgroundRefusedInput,
  BalanceAnswerInput,
  ChargeNow,
  CommandProblem,
  HelpLimits,
  HelpState,
  InvoiceRow,
  LowCreditsReason,
  MenuCommand,
  OutOfCreditsDetails,
  OutOfCreditsReason,
  OwnerAmountCommand,
  OwnerArgsCommand,
  ShortOfThreshold,
  WelcomeInput,
} from "./types";
