import type { Api } from "grammy";
import type { Lang } from "../lang";
import { textsIn } from "./texts";

/** Telegram app languages that get the Czech menu when the owner has not chosen a language (SPEC "Languages"). */
const CZECH_APP_LANGUAGES = ["cs", "sk"] as const;

/**
 * The owner's command menu, in the owner's chat only (scope `chat`). Telegram picks the list by the app's
 * language: without a choice the default list is English and Czech and Slovak apps get the Czech one; after
 * `/language:xx` every list of the chat is in the chosen language, so the menu follows the choice.
 */
export async function setOwnerMenu(api: Api, ownerChatId: number, chosen: Lang | null): Promise<void> {
  const scope = { type: "chat", chat_id: ownerChatId } as const;
  await api.setMyCommands([...textsIn(chosen ?? "en").menuCommands], { scope });
  for (const language_code of CZECH_APP_LANGUAGES) {
    await api.setMyCommands([...textsIn(chosen ?? "cs").menuCommands], { scope, language_code });
  }
}
