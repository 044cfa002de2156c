/** `/language`: which language the owner is answered in. */

/** The language's own name, as the other catalogue shows it too. */
export const languageName = "čeština";

/** `/language` alone: the language now and how to change it. */
export function languageCurrent(chosen: boolean): string {
  return (
    `Odpovídám vám česky${chosen ? " (podle vaší volby)" : " (nastaveno automaticky podle vaší aplikace Telegram, jinak anglicky)"}. ` +
    "Jazyk změníte příkazem /language:cs pro češtinu nebo /language:en pro angličtinu."
  );
}

/** `/language:cs` accepted. */
export function languageSet(): string {
  return "✅ Od teď vám odpovídám česky, včetně upozornění.";
}

/** `/language:xx` with a language there is no catalogue for; nothing changed. */
export function languageProblem(input: string): string {
  const shown = input.length > 20 ? `${input.slice(0, 20)}…` : input;
  return `„${shown}“ není jazyk, kterým mluvím. Nic se nezměnilo.\nPříklad: /language:cs (čeština) nebo /language:en (angličtina)`;
}
