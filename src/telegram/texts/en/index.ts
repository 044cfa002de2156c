/**
 * The English catalogue: every message the bot sends, in English. The Czech catalogue (../cs) has the same
 * shape, checked by the compiler (`Catalogue`) and by test/telegram/catalogue.test.ts.
 */
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

export const en = {
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

/** The shape every language's catalogue has: the English one's. */
export type Catalogue = typeof en;
