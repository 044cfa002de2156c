/** End-user messages (they never see billing words). */
import type { Lang } from "../types";
import { TEXTS } from "./localized";

export function userDailyCapReached(lang: Lang): string {
  return TEXTS[lang].userDailyCapReached;
}

export function answerFailed(lang: Lang = "en"): string {
  return TEXTS[lang].answerFailed;
}

export function nonTextMessage(lang: Lang = "en"): string {
  return TEXTS[lang].nonTextMessage;
}
