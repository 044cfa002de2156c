/**
 * Free-of-charge detection of an owner asking for their credit balance in words ("how much credit do I have
 * left?", "kolik mám kreditů?", "am I running low on credits?", "zůstatek"). A hit is answered from the
 * ledger instead of going to the paid model, so a false positive costs the owner a real answer and a false
 * negative costs them a few micro-dollars: the detector is deliberately strict. The rule (see
 * docs/balance-question.md):
 *
 *  1. the message is short (a real question for the AI is longer);
 *  2. EVERY word is in one language's vocabulary below, exactly, by a stem, or within a small edit distance
 *     (typos) — any other word ("power", "yoga", "card", "score", "cost", "stojí", "bance") is a foreign topic
 *     and the message goes to the AI; so do words and phrases listed as `foreign` ("credit check",
 *     "kreditní", "balanced");
 *  3. the concepts present match one of that language's patterns: a topic (balance, credit, money, dollars,
 *     account) together with a cue that makes it the owner's own amount (my / left / enough / running low /
 *     status / show me / the bot's …). A how-to question ("how do I top up my credits?") never matches.
 *
 * Phrasings and languages are data: extend `BALANCE_QUESTION_LANGUAGES` (intent-words.ts), not the code.
 */
import { BALANCE_QUESTION_LANGUAGES, type BalancePattern, type Concept, type LanguageIntentData } from "./intent-words";
import type { Lang } from "./types";

export { BALANCE_QUESTION_LANGUAGES } from "./intent-words";

/** Longer messages are real questions for the AI, even if they mention the balance. */
export const MAX_QUESTION_CHARS = 80;
export const MAX_QUESTION_WORDS = 12;

/** Concepts that carry the topic: a word of one of these with a typo is tolerated up to two edits. */
const TOPIC_CONCEPTS: ReadonlySet<Concept> = new Set(["balance", "credit", "creditOf"]);

/**
 * Typos are never corrected to these: glue words are short and common, so an unknown word one letter from
 * one ("world" / "would", "form" / "from") is far more often another word than a typo.
 */
const NO_TYPO_CONCEPTS: ReadonlySet<Concept> = new Set(["glue", "polite", "period", "number"]);

/** Concepts that never make a message about the balance: no pattern may match while one is present. */
const BLOCKING_CONCEPTS: ReadonlySet<Concept> = new Set(["howTo", "foreign"]);

const APOSTROPHES = /['’‘`´ʼ]/g;
const COMBINING_MARKS = /\p{M}+/gu;
const NOT_WORD = /[^\p{L}\p{N}]+/gu;

/**
 * Lowercase, diacritics removed (NFD, then combining marks dropped: "zůstatek" → "zustatek"), apostrophes
 * removed so contractions stay one word ("what's" → "whats"), every other run of punctuation, emoji or
 * whitespace collapsed to one space, trimmed.
 */
export function normalize(text: string): string {
  return text
    .toLowerCase()
    .normalize("NFD")
    .replace(COMBINING_MARKS, "")
    .replace(APOSTROPHES, "")
    .replace(NOT_WORD, " ")
    .trim();
}

/**
 * The words the detector reads: like `normalize`, but "$" becomes the word "usd" and a possessive or
 * contracted "'s" becomes its own word ("bot's" → "bot s", "money's" → "money s").
 */
function tokens(text: string): string[] {
  const prepared = text.replace(/\$/g, " usd ").replace(/(\p{L})['’ʼ]s(?!\p{L})/gu, "$1 s");
  const normalized = normalize(prepared);
  return normalized === "" ? [] : normalized.split(" ");
}

interface Entry {
  word: string;
  concept: Concept;
}

interface CompiledLanguage {
  lang: Lang;
  exact: Map<string, Concept>;
  /** Longest first, so "zustatkov*" (foreign) wins over "zustatk*" (balance). */
  stems: Entry[];
  /** Exact words a typo may be corrected to. */
  fuzzy: Entry[];
  /** Phrases as word lists, longest first. */
  phrases: { words: string[]; concept: Concept }[];
  patterns: readonly BalancePattern[];
}

function compile(data: LanguageIntentData): CompiledLanguage {
  const exact = new Map<string, Concept>();
  const stems: Entry[] = [];
  const add = (concept: Concept, word: string) => {
    // Normalizing the data too means a table entry typed with diacritics still matches.
    const key = normalize(word.replace(/\*$/, ""));
    if (word.endsWith("*")) stems.push({ word: key, concept });
    else if (!exact.has(key)) exact.set(key, concept);
  };
  for (const [concept, words] of Object.entries(data.words) as [Concept, readonly string[]][]) {
    for (const word of words) add(concept, word);
  }
  stems.sort((a, b) => b.word.length - a.word.length);
  const fuzzy = [...exact]
    .filter(([, concept]) => !NO_TYPO_CONCEPTS.has(concept))
    .map(([word, concept]) => ({ word, concept }));
  const phrases = Object.entries(data.phrases ?? {})
    .flatMap(([concept, list]) => list.map((p) => ({ words: normalize(p).split(" "), concept: concept as Concept })))
    .sort((a, b) => b.words.length - a.words.length);
  return { lang: data.lang, exact, stems, fuzzy, phrases, patterns: data.patterns };
}

/**
 * Optimal-string-alignment distance (insertions, deletions, substitutions, adjacent transpositions), or
 * `max + 1` as soon as it is certain to exceed `max`.
 */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const cell = (row: readonly number[], j: number) => row[j] ?? Number.POSITIVE_INFINITY;
  // Rows i-2, i-1 and i of the dynamic-programming table.
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(cell(previous, j) + 1, cell(current, j - 1) + 1, cell(previous, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, cell(before, j - 2) + 1);
      }
      current.push(value);
    }
    if (Math.min(...current) > max) return max + 1;
    before = previous;
    previous = current;
  }
  return Math.min(cell(previous, b.length), max + 1);
}

/**
 * How far a typo may be from a known word: words of 3–4 letters only by swapping two neighbouring letters
 * ("lfet", "hwo"), words of 5+ letters by one edit ("balnce", "zusatek"), and words of 7+ letters by two
 * edits when the known word is a topic word ("kretidu", "creddits").
 */
function typoMatch(language: CompiledLanguage, word: string): { concept: Concept; cost: number } | undefined {
  if (word.length < 3 || /\d/.test(word)) return undefined;
  let best: { concept: Concept; cost: number } | undefined;
  for (const entry of language.fuzzy) {
    if (entry.word.length < 3) continue;
    const allowed =
      word.length <= 4
        ? 1
        : word.length >= 7 && TOPIC_CONCEPTS.has(entry.concept) && entry.word.length >= 6
          ? 2
          : entry.word.length >= 5
            ? 1
            : 0;
    if (allowed === 0) continue;
    const distance = editDistance(word, entry.word, allowed);
    if (distance > allowed) continue;
    if (word.length <= 4 && (entry.word.length !== word.length || !isSwap(word, entry.word))) continue;
    // The nearest word wins; on a tie a foreign word wins (the safe side).
    if (!best || distance < best.cost || (distance === best.cost && entry.concept === "foreign")) {
      best = { concept: entry.concept, cost: distance };
    }
  }
  return best;
}

function isSwap(a: string, b: string): boolean {
  for (let i = 0; i < a.length - 1; i++) {
    if (a[i] !== b[i]) return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
  }
  return false;
}

function conceptOf(language: CompiledLanguage, word: string): { concept: Concept; cost: number } | undefined {
  if (/^\d+$/.test(word)) return { concept: "number", cost: 0 };
  const hit = language.exact.get(word);
  if (hit) return { concept: hit, cost: 0 };
  const stem = language.stems.find((s) => word.startsWith(s.word));
  if (stem) return { concept: stem.concept, cost: 0 };
  return typoMatch(language, word);
}

/** The concepts of a message in one language and the number of typo edits it took, or null if a word is unknown. */
function read(language: CompiledLanguage, words: readonly string[]): { present: Set<Concept>; cost: number } | null {
  const present = new Set<Concept>();
  let cost = 0;
  let i = 0;
  while (i < words.length) {
    const phrase = language.phrases.find((p) => p.words.every((w, k) => words[i + k] === w));
    if (phrase) {
      present.add(phrase.concept);
      i += phrase.words.length;
      continue;
    }
    const hit = conceptOf(language, words[i] ?? "");
    if (!hit) return null;
    present.add(hit.concept);
    cost += hit.cost;
    i++;
  }
  return { present, cost };
}

let compiled: CompiledLanguage[] | undefined;

/** Concepts that may accompany a bare keyword without turning it into a different question. */
const BARE_COMPANIONS: ReadonlySet<Concept> = new Set(["polite"]);

function matches(pattern: BalancePattern, present: ReadonlySet<Concept>, hasQuestionMark: boolean): boolean {
  if ([...present].some((c) => BLOCKING_CONCEPTS.has(c))) return false;
  if (!pattern.all.every((c) => present.has(c))) return false;
  if (!pattern.anyOf || pattern.anyOf.some((c) => present.has(c))) return true;
  if (!pattern.bare || (pattern.bare === "question_mark" && !hasQuestionMark)) return false;
  const required = new Set<Concept>(pattern.all);
  return [...present].every((c) => required.has(c) || BARE_COMPANIONS.has(c));
}

/**
 * Returns the language to answer in when `text` is the owner asking for their credit balance, else null
 * (the message then goes to the AI as usual). Every language is tried; among those whose vocabulary covers
 * every word and whose pattern matches, the one that needed the fewest typo corrections wins (then table
 * order), so the answer comes in the language of the question.
 */
export function detectBalanceQuestion(text: string): { lang: Lang } | null {
  const normalized = normalize(text);
  if (normalized === "" || normalized.length > MAX_QUESTION_CHARS) return null;
  if (normalized.split(" ").length > MAX_QUESTION_WORDS) return null;
  // Full-width and Spanish question marks count too; the mark is read before normalize() drops punctuation.
  const hasQuestionMark = /[?？¿]/.test(text);
  const words = tokens(text);

  compiled ??= BALANCE_QUESTION_LANGUAGES.map(compile);
  let best: { lang: Lang; cost: number } | null = null;
  for (const language of compiled) {
    const reading = read(language, words);
    if (!reading) continue;
    if (!language.patterns.some((p) => matches(p, reading.present, hasQuestionMark))) continue;
    if (!best || reading.cost < best.cost) best = { lang: language.lang, cost: reading.cost };
  }
  return best && { lang: best.lang };
}
