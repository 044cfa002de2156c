/** `/dashboard` and the chat's menu button: the owner's Mini App (docs/dashboard.md), in Czech. */

/** The `/dashboard` answer; `opensHere`: the button opens the app inside Telegram (an HTTPS address). */
export function dashboardLink(url: string, opensHere: boolean): string {
  return opensHere
    ? "📊 Váš přehled: zůstatek, útrata za posledních 30 dní, faktury a nastavení. Otevřete ho tlačítkem níže."
    : `📊 Váš přehled: zůstatek, útrata za posledních 30 dní, faktury a nastavení.\n${url}`;
}

export function dashboardButton(): string {
  return "Otevřít přehled";
}

/** The menu button beside the message field (at most a few words). */
export function dashboardMenuButton(): string {
  return "Přehled";
}
