/** Languages the owner can be answered in. Add one here and in texts/. */
export type Lang = "en" | "cs";
