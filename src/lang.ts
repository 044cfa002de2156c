/**
 * The languages the product speaks (SPEC "Languages"). A chat's language: the owner's `/language` choice, else
 * Telegram's `language_code` of the latest message (`cs` and `sk` → Czech, any other → English), else English.
 */
export const LANGS = ["en", "cs"] as const;
export type Lang = (typeof LANGS)[number];

export function isLang(value: unknown): value is Lang {
  return (LANGS as readonly unknown[]).includes(value);
}

/** Telegram app languages answered in Czech (SPEC: `cs`, `sk` → Czech). */
export const CZECH_APP_LANGUAGES = ["cs", "sk"] as const;

/**
 * Telegram's `language_code` (an IETF tag such as "cs", "sk", "en-US") as one of our languages; null when the
 * message carries none (then the language known before stays).
 */
export function langOfCode(code: unknown): Lang | null {
  if (typeof code !== "string" || code === "") return null;
  const primary = code.toLowerCase().split(/[-_]/)[0];
  return (CZECH_APP_LANGUAGES as readonly string[]).includes(primary ?? "") ? "cs" : "en";
}
