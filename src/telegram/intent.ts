/**
 * Free-of-charge detection of an owner asking for their credit balance in words ("how much credit do I have
 * left?", "kolik mám kreditů?"). A hit is answered from the ledger instead of going to the paid model, so a
 * false positive costs the owner a real answer and a false negative costs them a few micro-dollars: the
 * detector is deliberately strict. The rule (see docs/balance-question.md):
 *
 *  1. the message is short (a real question for the AI is longer);
 *  2. EVERY word is in one language's vocabulary below — any other word ("power", "yoga", "card", "cost",
 *     "bankovním") is a foreign topic and the message goes to the AI;
 *  3. the concepts present match one of that language's patterns (e.g. balance + "my", credit + "left").
 *
 * Phrasings and languages are data: extend `BALANCE_QUESTION_LANGUAGES`, not the code.
 */
import type { Lang } from "./types";

/**
 * What a word contributes to the meaning. Only `balance`, `credit`, `money`, `account`, `remaining`,
 * `quantity`, `state` carry the topic; the rest make a phrase a question or point at the owner's own amount.
 */
export type Concept =
  /** "balance", "zůstatek" */
  | "balance"
  /** "credit(s)", "kredit(y/ů)" */
  | "credit"
  /** "money", "peníze" — only about credits together with an account or "left" */
  | "money"
  /** "account", "účet" */
  | "account"
  /** "left", "remaining", "zbývá" */
  | "remaining"
  /** "much"/"many" (of "how much/many"), "kolik" */
  | "quantity"
  /** "stav" (state of the account/credit) */
  | "state"
  /** possessive / first person: "my", "I", "mám", "můj", "mi" */
  | "own"
  /** "current", "now", "aktuální" */
  | "current"
  /** the definite article: "what's the balance" is about a specific (the owner's) balance */
  | "the"
  /** question words: "what", "how", "co" */
  | "question"
  /**
   * question words asking for the value of a specific thing: Czech "jaký je zůstatek" means "what is the
   * balance (amount)", while "co je zůstatek" asks for a definition, so they are different concepts
   */
  | "which"
  /** imperative verbs: "check", "show", "ukaž" */
  | "command"
  /** "please", "prosím", "thanks" */
  | "polite"
  /** grammatical glue that changes nothing: "is", "of", "do", "have", "je", "na" */
  | "glue";

export interface BalancePattern {
  /** Every one of these concepts must be present. */
  all: readonly Concept[];
  /** At least one of these must be present too (absent = no extra requirement) … */
  anyOf?: readonly Concept[];
  /**
   * … unless the message is only the `all` words plus politeness: "Balance", "zůstatek?". `"question_mark"`
   * allows that only when the message carries a "?" ("credits?" yes, "Credits" — maybe film credits — no).
   */
  bare?: "always" | "question_mark";
}

export interface LanguageIntentData {
  lang: Lang;
  /**
   * Vocabulary in normalized form (see `normalize`: lowercase, no diacritics, no apostrophes). A word may
   * appear under one concept only. A trailing `*` matches any word starting with the stem (use for stems
   * that no unrelated word starts with).
   */
  words: Partial<Record<Concept, readonly string[]>>;
  patterns: readonly BalancePattern[];
}

/** Longer messages are real questions for the AI, even if they mention the balance. */
export const MAX_QUESTION_CHARS = 80;
export const MAX_QUESTION_WORDS = 12;

export const BALANCE_QUESTION_LANGUAGES: readonly LanguageIntentData[] = [
  {
    lang: "en",
    words: {
      balance: ["balance", "balances", "bal"],
      credit: ["credit", "credits", "creds"],
      money: ["money", "funds", "fund"],
      account: ["account", "acct", "wallet"],
      remaining: ["left", "remaining", "remain", "remains", "leftover", "available", "rest"],
      quantity: ["much", "many", "amount"],
      own: ["my", "mine", "i", "me", "our", "we", "us", "ive", "im", "id", "ill"],
      current: ["current", "currently", "now", "actual", "today", "still"],
      the: ["the"],
      question: ["what", "whats", "how", "hows", "which", "whatre", "where"],
      command: ["check", "show", "tell", "get", "give", "display", "see", "view", "send", "list", "report"],
      polite: ["please", "pls", "plz", "thanks", "thank", "you", "thx", "hi", "hello", "hey", "ok", "okay"],
      glue: [
        "is",
        "are",
        "was",
        "of",
        "on",
        "in",
        "for",
        "at",
        "do",
        "does",
        "have",
        "has",
        "got",
        "a",
        "an",
        "it",
        "there",
        "theres",
        "to",
        "can",
        "could",
        "would",
        "with",
        "up",
        "again",
        "so",
        "far",
        "anything",
        "any",
      ],
    },
    patterns: [
      // "balance?", "my balance", "credit balance", "what's the balance", "check balance"; not "what is balance".
      {
        all: ["balance"],
        anyOf: ["own", "the", "current", "credit", "account", "remaining", "command"],
        bare: "always",
      },
      // "how many credits do I have", "credits left?", "remaining credits", "my credits"; not "how much is a credit".
      { all: ["credit"], anyOf: ["own", "remaining", "current"], bare: "question_mark" },
      // "how much money is left on my account"; not "how much money do I have" (could be a finance question).
      { all: ["money"], anyOf: ["remaining", "account"] },
      // "how much do I have left?"
      { all: ["quantity", "remaining", "own"] },
    ],
  },
  {
    lang: "cs",
    words: {
      balance: ["zustatek", "zustatk*", "bilance", "bilanci"],
      credit: [
        "kredit",
        "kredity",
        "kreditu",
        "kreditum",
        "kreditem",
        "kreditech",
        "kredite",
        "kreditni",
        "kreditniho",
        "kreditnim",
        "kredyt",
      ],
      money: ["penize", "penez", "penezi", "penezich", "prachy", "prachu", "financi", "finance"],
      account: ["ucet", "uctu", "uctem", "ucte", "konto", "kontu", "konte"],
      remaining: [
        "zbyva",
        "zbyvaji",
        "zbyvajici",
        "zbyvajiciho",
        "zbylo",
        "zbyl",
        "zbyla",
        "zbyly",
        "zbyle",
        "zbylych",
        "zustalo",
        "zustava",
        "zustavaji",
        "k",
        "dispozici",
        "dostupny",
        "dostupne",
      ],
      quantity: ["kolik", "kolika", "mnoho"],
      state: ["stav", "stavu"],
      own: [
        "muj",
        "moje",
        "moji",
        "mam",
        "mame",
        "mi",
        "me",
        "mem",
        "meho",
        "memu",
        "mych",
        "nam",
        "nas",
        "my",
        "jsem",
      ],
      current: ["aktualni", "aktualne", "ted", "nyni", "momentalne", "zrovna", "dnes", "jeste", "porad", "stale"],
      question: ["jak", "co", "kde"],
      which: ["jaky", "jaka", "jake", "jakej"],
      command: ["ukaz", "ukazte", "zobraz", "zobrazte", "zkontroluj", "zkontrolujte", "napis", "napiste", "rekni"],
      polite: ["prosim", "dekuji", "diky", "ahoj", "dobry", "den", "dobrej", "pls"],
      glue: ["je", "jsou", "na", "v", "ve", "s", "se", "tom", "o", "a", "to", "tedy", "teda", "uz", "mit", "ma"],
    },
    patterns: [
      // "zůstatek?", "můj zůstatek", "jaký je zůstatek", "kolik je zůstatek"; not "co je zůstatek".
      {
        all: ["balance"],
        anyOf: ["own", "current", "credit", "account", "remaining", "command", "quantity", "state", "which"],
        bare: "always",
      },
      // "kolik mám kreditů", "kolik mi zbývá kreditů", "zbývající kredit"; not "kolik je kredit" (a price).
      { all: ["credit"], anyOf: ["own", "remaining", "current"], bare: "question_mark" },
      // "stav kreditu", "stav účtu"
      { all: ["state"], anyOf: ["credit", "account", "money"] },
      // "kolik mám peněz na účtu", "kolik mi zbývá peněz"
      { all: ["money"], anyOf: ["remaining", "account"] },
      // "kolik mi zbývá?", "kolik mám na účtu?"
      { all: ["quantity", "remaining", "own"] },
      { all: ["quantity", "account", "own"] },
    ],
  },
];

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

interface CompiledLanguage {
  lang: Lang;
  exact: Map<string, Concept>;
  stems: { stem: string; concept: Concept }[];
  patterns: readonly BalancePattern[];
}

function compile(data: LanguageIntentData): CompiledLanguage {
  const exact = new Map<string, Concept>();
  const stems: { stem: string; concept: Concept }[] = [];
  for (const [concept, words] of Object.entries(data.words) as [Concept, readonly string[]][]) {
    for (const word of words) {
      // Normalizing the data too means a table entry typed with diacritics still matches.
      const key = normalize(word.replace(/\*$/, ""));
      if (word.endsWith("*")) stems.push({ stem: key, concept });
      else if (!exact.has(key)) exact.set(key, concept);
    }
  }
  return { lang: data.lang, exact, stems, patterns: data.patterns };
}

let compiled: CompiledLanguage[] | undefined;

function conceptOf(language: CompiledLanguage, word: string): Concept | undefined {
  const hit = language.exact.get(word);
  if (hit) return hit;
  return language.stems.find((s) => word.startsWith(s.stem))?.concept;
}

/** Concepts that may accompany a bare keyword without turning it into a different question. */
const BARE_COMPANIONS: ReadonlySet<Concept> = new Set(["polite"]);

function matches(pattern: BalancePattern, present: ReadonlySet<Concept>, hasQuestionMark: boolean): boolean {
  if (!pattern.all.every((c) => present.has(c))) return false;
  if (!pattern.anyOf || pattern.anyOf.some((c) => present.has(c))) return true;
  if (!pattern.bare || (pattern.bare === "question_mark" && !hasQuestionMark)) return false;
  const required = new Set<Concept>(pattern.all);
  return [...present].every((c) => required.has(c) || BARE_COMPANIONS.has(c));
}

/**
 * Returns the language to answer in when `text` is the owner asking for their credit balance, else null
 * (the message then goes to the AI as usual). Languages are tried in table order; the first whose vocabulary
 * covers every word and whose pattern matches wins, so the answer comes in the language of the question.
 */
export function detectBalanceQuestion(text: string): { lang: Lang } | null {
  const normalized = normalize(text);
  if (normalized === "" || normalized.length > MAX_QUESTION_CHARS) return null;
  const words = normalized.split(" ");
  if (words.length > MAX_QUESTION_WORDS) return null;
  // Full-width and Spanish question marks count too; the mark is read before normalize() drops punctuation.
  const hasQuestionMark = /[?？¿]/.test(text);

  compiled ??= BALANCE_QUESTION_LANGUAGES.map(compile);
  for (const language of compiled) {
    const present = new Set<Concept>();
    let allKnown = true;
    for (const word of words) {
      const concept = conceptOf(language, word);
      if (!concept) {
        allKnown = false;
        break;
      }
      present.add(concept);
    }
    if (!allKnown) continue;
    if (language.patterns.some((p) => matches(p, present, hasQuestionMark))) return { lang: language.lang };
  }
  return null;
}
