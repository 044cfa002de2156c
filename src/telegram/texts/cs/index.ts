/** The Czech catalogue: every message the bot sends, in Czech, with the English catalogue's shape. */
import type { Catalogue } from "../en";
import * as alerts from "./alerts";
import * as balance from "./balance";
import * as billing from "./billing";
import * as client from "./client";
import * as dashboard from "./dashboard";
import * as help from "./help";
import * as invoiceEmail from "./invoice-email";
import * as language from "./language";
import * as ownerControls from "./owner-controls";
import * as problems from "./problems";
import * as stats from "./stats";
import * as welcome from "./welcome";
import * as words from "./words";

export const cs: Catalogue = {
  ...alerts,
  ...balance,
  ...billing,
  ...client,
  ...dashboard,
  ...help,
  ...invoiceEmail,
  ...language,
  ...ownerControls,
  ...problems,
  ...stats,
  ...welcome,
  ...words,
};
