/**
 * What the Telegram app does when it opens a Mini App: it signs `initData` with the bot's token and passes it to
 * the page in the URL fragment (`#tgWebAppData=…&tgWebAppThemeParams=…`). Written apart from the Worker's check
 * (node:crypto here, Web Crypto there), so a test of one against the other can fail when either is wrong.
 */
import { createHash, createHmac } from "node:crypto";

export interface WebAppUser {
  id: number;
  first_name: string;
  language_code?: string;
}

/** `initData` as Telegram builds it: URL-encoded fields, `hash` over the sorted `key=value` lines of the rest. */
export function signInitData(
  botToken: string,
  user: WebAppUser,
  authDateSeconds = Math.floor(Date.now() / 1000),
  extra: Record<string, string> = {},
): string {
  const fields: Record<string, string> = {
    auth_date: String(authDateSeconds),
    query_id: "AAHdF6IQAAAAAN0XohDhrOrc",
    user: JSON.stringify(user),
    // Telegram has sent an Ed25519 `signature` of the fields (for third parties) since Bot API 8.0; `hash`
    // covers it too, so a check that leaves it out of the data-check string fails here as with Telegram.
    signature: createHash("sha512").update(`${botToken}:${authDateSeconds}`).digest("base64url"),
    ...extra,
  };
  const dataCheckString = Object.keys(fields)
    .sort()
    .map((key) => `${key}=${fields[key]}`)
    .join("\n");
  const secretKey = createHmac("sha256", "WebAppData").update(botToken).digest();
  const hash = createHmac("sha256", secretKey).update(dataCheckString).digest("hex");
  return new URLSearchParams({ ...fields, hash }).toString();
}

/** Telegram's theme colours (`themeParams`) of its light and dark themes, as a client passes them. */
export const THEMES = {
  light: {
    bg_color: "#ffffff",
    text_color: "#000000",
    hint_color: "#707579",
    link_color: "#3390ec",
    button_color: "#3390ec",
    button_text_color: "#ffffff",
    secondary_bg_color: "#f4f4f5",
  },
  dark: {
    bg_color: "#212121",
    text_color: "#ffffff",
    hint_color: "#aaaaaa",
    link_color: "#8774e1",
    button_color: "#8774e1",
    button_text_color: "#ffffff",
    secondary_bg_color: "#181818",
  },
} as const;

/** The URL Telegram opens: the Mini App's URL with the launch parameters in the fragment. */
export function webAppUrl(appUrl: string, initData: string, theme: keyof typeof THEMES = "light"): string {
  const fragment = new URLSearchParams({
    tgWebAppData: initData,
    tgWebAppVersion: "8.0",
    tgWebAppPlatform: "android",
    tgWebAppThemeParams: JSON.stringify(THEMES[theme]),
  });
  return `${appUrl}#${fragment.toString()}`;
}
