import type { Api } from "grammy";
import { CZECH_APP_LANGUAGES, type Lang } from "../lang";
import { textsIn } from "./texts";

/** The owner's Mini App of this instance (static page of the Worker, docs/dashboard.md). */
export function dashboardUrl(publicBaseUrl: string, instanceId: string): string {
  return `${publicBaseUrl.replace(/\/+$/, "")}/dashboard/?instance=${encodeURIComponent(instanceId)}`;
}

/** Telegram opens Mini Apps over HTTPS only; a local `http://` Worker gets a plain link instead. */
export function opensInTelegram(url: string): boolean {
  return url.startsWith("https://");
}

/**
 * The owner's command menu, in the owner's chat only (scope `chat`). Telegram picks the list by the app's
 * language: without a choice the default list is English and Czech and Slovak apps get the Czech one; after
 * `/language:xx` every list of the chat is in the chosen language, so the menu follows the choice.
 * With `dashboard` (an HTTPS address), the chat's menu button opens the owner's Mini App (`setChatMenuButton`
 * with the owner's `chat_id`: no other chat gets it), labelled in the owner's language.
 */
export async function setOwnerMenu(
  api: Api,
  ownerChatId: number,
  chosen: Lang | null,
  dashboard: { url: string; lang: Lang } | null = null,
): Promise<void> {
  const scope = { type: "chat", chat_id: ownerChatId } as const;
  await api.setMyCommands([...textsIn(chosen ?? "en").menuCommands], { scope });
  for (const language_code of CZECH_APP_LANGUAGES) {
    await api.setMyCommands([...textsIn(chosen ?? "cs").menuCommands], { scope, language_code });
  }
  if (dashboard && opensInTelegram(dashboard.url)) {
    await api.setChatMenuButton({
      chat_id: ownerChatId,
      menu_button: {
        type: "web_app",
        text: textsIn(dashboard.lang).dashboardMenuButton(),
        web_app: { url: dashboard.url },
      },
    });
  }
}
