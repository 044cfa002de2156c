/**
 * One catalogue per language. English's shape is the contract: the Czech catalogue must have every entry with
 * the same parameters (the compiler checks it here; test/telegram/catalogue.test.ts checks that both use the
 * same placeholders and that no English sentence is left in Czech).
 */
import type { Lang } from "../types";
import { cs } from "./cs";
import { type Catalogue, en } from "./en";

export type { Catalogue };

const CATALOGUES: Record<Lang, Catalogue> = { en, cs };

/** Every text in `lang`. */
export function textsIn(lang: Lang): Catalogue {
  return CATALOGUES[lang];
}
