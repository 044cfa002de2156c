/**
 * The languages the product speaks (SPEC "Languages"). A chat's language: the owner's `/language` choice, else
 * Telegram's `language_code` of the latest message (`cs` and `sk` → Czech, any other → English), else English.
 */
export const LANGS = ["en", "cs"] as const;
export type Lang = (typeof LANGS)[number];

export function isLang(value: unknown): value is Lang {
  return (LANGS as readonly unknown[]).includes(value);
}

/**
 * Telegram's `language_code` (an IETF tag such as "cs", "sk", "en-US") as one of our languages; null when the
 * message carries none (then the language known before stays).
 */
export function langOfCode(code: unknown): Lang | null {
  if (typeof code !== "string" || code === "") return null;
  const primary = code.toLowerCase().split(/[-_]/)[0];
  return primary === "cs" || primary === "sk" ? "cs" : "en";
}
