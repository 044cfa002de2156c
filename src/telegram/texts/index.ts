/**
 * Every message the bot sends, in one place, so wording stays consistent and a translation is one table.
 * Texts are plain (no parse_mode) unless a function returns `parseMode: "HTML"`; those escape every dynamic
 * string with `escapeHtml`. Amounts shown to people go through `formatUsd`; amounts inside a command the
 * owner can copy go through `commandAmount` (plain number, what the command parser accepts).
 *
 * One file per topic; this index re-exports exactly the public names, so importers keep using `telegram/texts`.
 */

export type { LowCreditsReason, OutOfCreditsDetails, OutOfCreditsReason } from "./alerts";
export { creditsRestored, lowCreditsWarning, outOfCreditsHourly, outOfCreditsNow } from "./alerts";
export type { BalanceAnswerInput } from "./balance";
export { balanceAnswer } from "./balance";
export type { InvoiceRow } from "./billing";
export {
  cardLinkExpired,
  cardLinkOutdated,
  cardSaved,
  checkoutButton,
  checkoutLink,
  dailyLimitReached,
  invoicesList,
  needCardFirst,
  newerCardLinkWaiting,
  paymentsUnavailable,
  rechargeFailed,
  rechargeNeedsConfirmation,
  rechargeSucceeded,
  settingsChanged,
  topUpExpired,
  topUpSucceeded,
} from "./billing";
export { answerFailed, nonTextMessage, userDailyCapReached } from "./client";
export {
  cardLabel,
  changeCommand,
  clientLimitCommand,
  commandAmount,
  EXAMPLES,
  escapeHtml,
  formatRunway,
  isoDate,
  setupCommand,
  statusLabel,
  topUpCommand,
} from "./format";
export type { HelpLimits, HelpState } from "./help";
export { helpText, MENU_COMMANDS, notOwnerRefusal } from "./help";
export {
  billingPortalButton,
  billingPortalLink,
  INVOICE_EMAIL_EXAMPLE,
  invoiceEmailCurrent,
  invoiceEmailProblem,
  invoiceEmailSet,
} from "./invoice-email";
export type { BackgroundRefusedInput } from "./owner-controls";
export {
  autoRechargeAlreadyOff,
  autoRechargeOnAgain,
  autoRechargeStopped,
  backgroundRefused,
  clientLimitSet,
} from "./owner-controls";
export type { CommandProblem, OwnerAmountCommand, OwnerArgsCommand, SettingsProblem } from "./problems";
export { amountProblem, commandProblems, settingsProblem } from "./problems";
export type { RechargeState } from "./recharge-state";
export { rechargeState } from "./recharge-state";
export { statsReport } from "./stats";
export type { WelcomeInput } from "./welcome";
export { welcome } from "./welcome";
