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
 * Phrasings and languages are data: extend `BALANCE_QUESTION_LANGUAGES`, not the code.
 */
import type { Lang } from "./types";

/**
 * What a word contributes to the meaning. `balance`, `credit`, `creditOf`, `money`, `currency` and `account`
 * carry the topic; the rest make a phrase a question about the owner's own amount, or change nothing.
 */
export type Concept =
  /** "balance", "zůstatek" */
  | "balance"
  /** "credit(s)"; Czech nominative and other cases "kredit", "kredity", "kreditem" */
  | "credit"
  /**
   * Czech genitive "kreditu"/"kreditů": "kolik kreditů" asks for an amount of credit, while "kolik je kredit"
   * (nominative) asks for a price
   */
  | "creditOf"
  /** "money", "cash", "funds", "peníze" — about credits only together with left / account / enough … */
  | "money"
  /** "dollars", "USD", "$" — the unit of the balance */
  | "currency"
  /** "account", "wallet", "účet", "konto" */
  | "account"
  /** the product: "AI", "bot", "AI Expert", "prepaid", "odpovědí" */
  | "product"
  /** "left", "remaining", "available", "zbývá", "k dispozici" */
  | "remaining"
  /** "much"/"many" (of "how much/many"), "kolik" */
  | "quantity"
  /** possessive / first person: "my", "I", "we", "mám", "můj", "mi" */
  | "own"
  /** "current", "now", "still", "aktuální", "ještě" */
  | "current"
  /** "today", "this week", "do pátku": when, not what */
  | "period"
  /** the definite article: "what's the balance" is about a specific (the owner's) balance */
  | "the"
  /** question words: "what", "how", "co", "jak" */
  | "question"
  /**
   * question words asking for the value of a specific thing: Czech "jaký je zůstatek" means "what is the
   * balance (amount)", while "co je zůstatek" asks for a definition, so they are different concepts
   */
  | "which"
  /** imperative and wish verbs: "check", "show", "tell", "I need", "ukaž", "řekni", "chci vědět" */
  | "command"
  /** "enough", "last", "dost", "stačí", "vystačí" */
  | "sufficiency"
  /** "low", "running", "out", "zero", "málo", "dochází", "došel" */
  | "low"
  /** "status", "looking", "doing", "stav", "vypadá", "v pořádku" */
  | "status"
  /** "top up", "recharge", "dobít" */
  | "topUp"
  /** "spend", "utratit" — "how much can I still spend" */
  | "spend"
  /** digits: "$100", "50" */
  | "number"
  /** "please", "thanks", "hi", "ahoj", "quick question" */
  | "polite"
  /** grammatical glue that changes nothing: "is", "of", "do", "have", "je", "na" */
  | "glue"
  /** "how do I …", "how to …", "jak si …": asks how to do something, not for the balance */
  | "howTo"
  /**
   * a word or phrase known to mean something else ("credit check", "kreditní", "balanced", "zůstatková"):
   * like an unknown word, it sends the message to the AI. Listed where a stem or a typo would otherwise
   * take it for a balance word.
   */
  | "foreign";

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
   * that no unrelated word starts with); the longest matching stem wins.
   */
  words: Partial<Record<Concept, readonly string[]>>;
  /** Sequences of normalized words read as one concept, before single words: "credit check", "how do i". */
  phrases?: Partial<Record<Concept, readonly string[]>>;
  patterns: readonly BalancePattern[];
}

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

/** "what's the balance", "credit balance", "check balance": everything but a bare question word. */
const BALANCE_CUES: readonly Concept[] = [
  "own",
  "the",
  "current",
  "credit",
  "creditOf",
  "money",
  "currency",
  "account",
  "product",
  "remaining",
  "command",
  "sufficiency",
  "low",
  "status",
  "number",
];

/** "my credits", "credits left", "enough credits", "low on credits", "AI credits"; not "what is a credit". */
const CREDIT_CUES: readonly Concept[] = [
  "own",
  "current",
  "remaining",
  "balance",
  "account",
  "currency",
  "product",
  "command",
  "sufficiency",
  "low",
  "status",
];

/**
 * "money left", "money on the account", "the bot's money"; not "how much money do I have", "do I have enough
 * money", "I ran out of money" (personal finance, a question for the expert bot).
 */
const MONEY_CUES: readonly Concept[] = ["remaining", "account", "product", "balance", "credit"];

/** "how many dollars do I have", "dollars left", "enough dollars?", "USD balance". */
const CURRENCY_CUES: readonly Concept[] = [...MONEY_CUES, "own", "sufficiency", "low"];

/** A word list written as one space-separated string. */
function w(list: string): readonly string[] {
  return list.split(" ");
}

export const BALANCE_QUESTION_LANGUAGES: readonly LanguageIntentData[] = [
  {
    lang: "en",
    words: {
      balance: w("balance balances bal"),
      credit: w("credit credits creds cred"),
      // Listed so that a typo correction does not take them for "balance"/"credits".
      foreign: w(
        "balanced balancing unbalanced imbalance balancer credited crediting creditor creditors creditworthy discredit",
      ),
      money: w("money moneys cash funds fund funding funded"),
      currency: w("usd dollar dollars bucks buck"),
      account: w("account acct wallet"),
      product: w("ai bot bots expert assistant chatbot prepaid"),
      remaining: w("left remaining remain remains leftover available rest"),
      quantity: w("much many amount"),
      own: w("my mine i me our ours we us ive im id ill myself weve were"),
      current: w("current currently now actual still moment presently rn yet"),
      period: w(
        "today tonight tomorrow day week weekend month year this next end monday tuesday wednesday thursday friday saturday sunday",
      ),
      the: w("the"),
      question: w("what whats how hows which whatre where wheres when wat wut whts"),
      command: w(
        "check show tell get give gimme display see view send list report let know need want wanna like find confirm",
      ),
      sufficiency: w("enough sufficient suffice last cover"),
      low: w("low running run ran out zero empty close near nearly almost gone"),
      status: w("status looking look looks doing going good ok okay fine situation"),
      topUp: w("top topup recharge refill reload"),
      spend: w("spend spent"),
      polite: w(
        "please pls plz thanks thank thx ty hi hello hey yo morning afternoon evening quick question sorry bro mate buddy btw just well oh um hmm yeah yes",
      ),
      glue: w(
        "is are was be been am of on in for at do does did have has had hav got a an it its there theres to can could would will should with up so far anything any some that thats about as by from right then again s you u ya your ur r dont doesnt didnt isnt arent havent not more less than least below above under over until till soon or and if whether exactly roughly approximately around",
      ),
    },
    phrases: {
      // "credit check" is a finance term, "credit where credit is due" praise; "check my credits" is ours.
      // "out of balance" is physical or bookkeeping; "give me credit(s)" asks for credits (or praise), not the balance.
      foreign: [
        "credit check",
        "credit checks",
        "out of balance",
        "give me credit",
        "give me credits",
        "give us credit",
      ],
      howTo: ["how do i", "how do we", "how can i", "how can we", "how to", "how should i", "how would i"],
    },
    patterns: [
      // "balance?", "my balance", "credit balance", "what's the balance", "check balance"; not "what is balance".
      { all: ["balance"], anyOf: BALANCE_CUES, bare: "always" },
      // "how many credits do I have", "credits left?", "low on credits?", "AI credits"; not "how much is a credit".
      { all: ["credit"], anyOf: CREDIT_CUES, bare: "question_mark" },
      // "how much money is left", "is there still money on the account"; not "how much money do I have".
      { all: ["money"], anyOf: MONEY_CUES },
      // "how many dollars do I have left", "USD balance?"
      { all: ["currency"], anyOf: CURRENCY_CUES },
      // "how much is left?", "how much do I have left?"
      { all: ["quantity", "remaining"] },
      // "what's left for me", "show me what's left"
      { all: ["remaining"], anyOf: ["own", "command"] },
      // "how much do I have on my account"
      { all: ["quantity", "account"] },
      // "how much can I still spend?"
      { all: ["quantity", "spend"], anyOf: ["current", "remaining"] },
    ],
  },
  {
    lang: "cs",
    words: {
      balance: w("zustatek zustatk*"),
      // "kreditní" (card, history, risk, score, a university's system), "kreditka", "zůstatková cena",
      // "bilance" (a state's trade or payment balance): longer stems win over "zustatk*".
      foreign: w("kreditn* kreditk* zustatkov* bilanc*"),
      credit: w("kredit kredity kreditem kredite kreditum kreditech kreditama kreditami kredyt kredyty"),
      creditOf: w("kreditu kredytu"),
      money: w("penize penez penezi penezich penezma prachy prachu prachama financi"),
      currency: w("usd dolar dolary dolaru dolarech dolarum dolarama dolarami"),
      account: w("ucet uctu uctem ucte konto kontu konte kontem penezenka penezence"),
      product: w("ai bot bota botovi botem bote expert experta expertovi asistent asistenta predplac* odpovedi"),
      remaining: w(
        "zbyva zbyvaji zbyvajici* zbejva zbylo zbyl zbyla zbyly zbyle zbylych zbytek zustalo zustal zustala zustaly zustava zustavaji dispozici dostupny dostupne dostupneho",
      ),
      quantity: w("kolik kolika mnoho"),
      own: w(
        "muj moje moji mam mame nemam nemame mi me mne mem meho memu mym mych nam nas nase nasi nasem naseho my jsem jsme nejsem nejsme si svuj sve svoje svych",
      ),
      current: w("aktualni aktualne aktualniho aktualnim ted tedka nyni momentalne zrovna jeste porad stale"),
      period: w(
        "dnes dneska dnesek zitra zitrek zitrejsek tyden tydne tydnu vikend vikendu mesic mesice mesici konec konce pondeli utery streda stredu ctvrtek patek patku sobota sobotu nedele nedeli tento tenhle tuto pristi pristiho",
      ),
      question: w("jak co kde"),
      which: w("jaky jaka jake jakej jakou jakym vysoky velky"),
      command: w(
        "ukaz ukazte ukazat zobraz zobrazte zobrazit zkontroluj zkontrolujte zkontrolovat napis napiste napsat rekni reknete rict sdel sdelte sdelit zjisti zjistete zjistit posli poslete poslat dej dejte vedet znat potrebuju potrebuji chci chtel chtela muzes muzete mohl mohla bys byste",
      ),
      sufficiency: w("dost dostatek staci stacit vystaci vystacit vydrzi vydrzet postaci"),
      low: w("malo nizky nizko nizke nizkej dochazi nedochazi dojde dojdou dosel dosla doslo dosly nule nulu nula"),
      status: w("stav stavu stavem vypada vypadaji poradku poradek"),
      topUp: w("dobit dobiti dobijet dobiju dobije"),
      spend: w("utratit utratim minout"),
      polite: w(
        "prosim prosimte dekuji dekuju diky dik ahoj cau caute cus nazdar zdravim dobry dobrej den pls hele rad rada bych",
      ),
      glue: w(
        "je jsou neni byl bude budou by na v ve s se z ze za do od u k o a i to tedy teda uz mit ma maji nejaky nejaka nejake nejakej nejakou vubec vsechno vse aspon alespon vic vice mene nez tak ten tom moc hodne prave jen jenom jestli zda muzu mohu muzeme brzo brzy potreba musim ne ano pro",
      ),
    },
    phrases: {
      howTo: ["jak si", "jak mam", "jak muzu", "jak mohu", "jak se", "jak lze", "jak dobit", "jak zjistit"],
    },
    patterns: [
      // "zůstatek?", "můj zůstatek", "jaký je zůstatek", "kolik je zůstatek"; not "co je zůstatek".
      { all: ["balance"], anyOf: [...BALANCE_CUES, "quantity", "which"], bare: "always" },
      // "kolik mám kreditů", "zbývající kredit", "dochází mi kredit"; not "kolik je kredit" (a price).
      { all: ["credit"], anyOf: CREDIT_CUES, bare: "question_mark" },
      // "kolik kreditů?", "kolik je kreditu?" (genitive: an amount of credit)
      { all: ["creditOf"], anyOf: [...CREDIT_CUES, "quantity", "which"], bare: "question_mark" },
      // "stav kreditu", "stav účtu"
      { all: ["status"], anyOf: ["credit", "creditOf", "account", "money", "currency"] },
      // "kolik mám peněz na účtu", "kolik mi zbývá peněz"
      { all: ["money"], anyOf: MONEY_CUES },
      // "kolik mám USD", "kolik dolarů mi zbývá"
      { all: ["currency"], anyOf: CURRENCY_CUES },
      // "kolik mi zbývá?", "kolik je k dispozici?"
      { all: ["quantity", "remaining"] },
      // "kolik mám na účtu?", "kolik je na kontě?"
      { all: ["quantity", "account"] },
      // "kolik ještě můžu utratit?"
      { all: ["quantity", "spend"], anyOf: ["current", "remaining"] },
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
