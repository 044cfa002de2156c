/** `/dashboard` and the chat's menu button: the owner's Mini App (docs/dashboard.md). */

/** The `/dashboard` answer; `opensHere`: the button opens the app inside Telegram (an HTTPS address). */
export function dashboardLink(url: string, opensHere: boolean): string {
  return opensHere
    ? "📊 Your dashboard: balance, the last 30 days' spend, invoices and settings. Open it with the button below."
    : `📊 Your dashboard: balance, the last 30 days' spend, invoices and settings.\n${url}`;
}

export function dashboardButton(): string {
  return "Open the dashboard";
}

/** The menu button beside the message field (at most a few words). */
export function dashboardMenuButton(): string {
  return "Dashboard";
}
