/** `/language`: which language the owner is answered in. */

/** The language's own name, as the other catalogue shows it too. */
export const languageName: string = "English";

/** `/language` alone: the language now and how to change it. */
export function languageCurrent(chosen: boolean): string {
  return (
    `I answer you in English${chosen ? " (your choice)" : " (set automatically from your Telegram app, else English)"}. ` +
    "To change it: /language:cs for Czech, /language:en for English."
  );
}

/** `/language:en` accepted. */
export function languageSet(): string {
  return "✅ From now on I answer you in English, alerts included.";
}

/** `/language:xx` with a language there is no catalogue for; nothing changed. */
export function languageProblem(input: string): string {
  const shown = input.length > 20 ? `${input.slice(0, 20)}…` : input;
  return `"${shown}" is not a language I speak. Nothing was changed.\nExample: /language:cs (Czech) or /language:en (English)`;
}
