/** End-user (client) messages: they never see billing words. */

export function userDailyCapReached(): string {
  return "Pro dnešek jste vyčerpali limit zpráv. Ozvěte se prosím zítra — děkujeme za pochopení!";
}

export function answerFailed(): string {
  return "Omlouvám se, teď nemohu odpovědět. Zkuste to prosím za minutu.";
}

export function nonTextMessage(): string {
  return "Omlouvám se, umím číst jen textové zprávy. Napište prosím svůj dotaz.";
}
