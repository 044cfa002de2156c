import { describe, expect, it } from "vitest";
import {
  BALANCE_QUESTION_LANGUAGES,
  detectBalanceQuestion,
  editDistance,
  MAX_QUESTION_CHARS,
  MAX_QUESTION_WORDS,
  normalize,
} from "../../src/telegram/intent";
import { BALANCE_CORPUS, type CorpusItem, type CorpusLang } from "./balance-corpus";
import { fnv1a, type Half, SPLIT_SEED, splitCorpus } from "./balance-split";
import { CZECH, ENGLISH, NEAR_MISSES } from "./phrasings";

describe("detectBalanceQuestion", () => {
  it.each(ENGLISH)("English: %j", (text) => {
    expect(detectBalanceQuestion(text)).toEqual({ lang: "en" });
  });

  it.each(CZECH)("Czech: %j", (text) => {
    expect(detectBalanceQuestion(text)).toEqual({ lang: "cs" });
  });

  it.each(NEAR_MISSES)("not a balance question: %j", (text) => {
    expect(detectBalanceQuestion(text)).toBeNull();
  });

  it("covers at least 40 phrasings and 20 near misses", () => {
    expect(ENGLISH.length + CZECH.length).toBeGreaterThanOrEqual(40);
    expect(NEAR_MISSES.length).toBeGreaterThanOrEqual(20);
  });

  it.each([
    ["HOW MUCH CREDIT DO I HAVE LEFT?!", "en"],
    ["how   much\tcredit  do i have   left ???", "en"],
    ["...my balance...", "en"],
    ["balance, my credit?", "en"],
    ["credits remaining", "en"],
    ["left credits?", "en"],
    ["KOLIK MÁM KREDITŮ", "cs"],
    ["kolik   mam   kreditu!!!", "cs"],
    ["kreditů mám kolik?", "cs"],
    ["zůstatek můj?", "cs"],
    ["Kolik Mám Kreditů 🤔", "cs"],
  ] as const)("robust to case, spacing, punctuation, emoji and word order: %j", (text, lang) => {
    expect(detectBalanceQuestion(text)).toEqual({ lang });
  });

  it("bare keywords: 'balance' always, 'credits' only as a question", () => {
    expect(detectBalanceQuestion("balance")).toEqual({ lang: "en" });
    expect(detectBalanceQuestion("credits?")).toEqual({ lang: "en" });
    expect(detectBalanceQuestion("credits")).toBeNull();
    expect(detectBalanceQuestion("kredity")).toBeNull();
  });

  it("refuses messages over the length limits even when every word is about the balance", () => {
    const words = Array.from({ length: MAX_QUESTION_WORDS + 1 }, () => "balance").join(" ");
    expect(detectBalanceQuestion(words)).toBeNull();
    expect(detectBalanceQuestion(`my balance ${"please ".repeat(20)}`.slice(0, MAX_QUESTION_CHARS + 5))).toBeNull();
  });

  it("does not mix languages in one question", () => {
    expect(detectBalanceQuestion("můj balance")).toBeNull();
  });

  it.each([
    ["whats my balnce", "en"],
    ["credits lfet?", "en"],
    ["hwo much credit do i have", "en"],
    ["how many credist do i have left", "en"],
    ["zůsatek", "cs"],
    ["kolik mam kerditu", "cs"],
    ["stav kretidu", "cs"],
  ] as const)("tolerates a typo in a key word: %j", (text, lang) => {
    expect(detectBalanceQuestion(text)).toEqual({ lang });
  });

  it("answers in the language that needed fewer typo corrections ('kredity' is two edits from 'credits')", () => {
    expect(detectBalanceQuestion("AI kredity?")).toEqual({ lang: "cs" });
    expect(detectBalanceQuestion("AI credits?")).toEqual({ lang: "en" });
  });

  it("never corrects a typo to a glue word ('world' is not 'would')", () => {
    expect(detectBalanceQuestion("how much money is left in the world?")).toBeNull();
  });

  it.each([
    "How do I top up my credits?",
    "How do I check my balance?",
    "how to check balance",
    "jak si dobiju kredit",
    "Jak zjistit zůstatek?",
  ])("leaves how-to questions to the AI: %j", (text) => {
    expect(detectBalanceQuestion(text)).toBeNull();
  });

  it.each([
    "credit check",
    "give me credit",
    "I'm out of balance",
    "is my diet balanced?",
    "kreditní zůstatek karty",
    "zůstatková cena",
  ])("knows words and phrases that only look like balance words: %j", (text) => {
    expect(detectBalanceQuestion(text)).toBeNull();
  });

  it("takes money for the balance only with the account, 'left' or the bot, not in personal finance", () => {
    expect(detectBalanceQuestion("how much money is left?")).toEqual({ lang: "en" });
    expect(detectBalanceQuestion("Kolik mám peněz na účtu?")).toEqual({ lang: "cs" });
    expect(detectBalanceQuestion("Do I have enough money?")).toBeNull();
    expect(detectBalanceQuestion("I ran out of money")).toBeNull();
    expect(detectBalanceQuestion("Kolik máme peněz?")).toBeNull();
  });

  it("tells an amount of credit from the price of one in Czech: genitive 'kreditu' vs nominative 'kredit'", () => {
    expect(detectBalanceQuestion("Kolik je kreditu?")).toEqual({ lang: "cs" });
    expect(detectBalanceQuestion("kolik je kredit?")).toBeNull();
  });
});

describe("editDistance", () => {
  it("counts insertions, deletions, substitutions and adjacent swaps, capped at max + 1", () => {
    expect(editDistance("balance", "balance", 1)).toBe(0);
    expect(editDistance("balnce", "balance", 1)).toBe(1);
    expect(editDistance("lfet", "left", 1)).toBe(1);
    expect(editDistance("kretidu", "kreditu", 2)).toBe(2);
    expect(editDistance("kretidu", "kreditu", 1)).toBe(2);
    expect(editDistance("abc", "xyz", 1)).toBe(2);
    expect(editDistance("", "ab", 5)).toBe(2);
  });
});

/**
 * The corpus (test/telegram/balance-corpus.ts), split by a seeded hash into a tuning half and a held-out half
 * (test/telegram/balance-split.ts). Rules are tuned on tuning-half failures only, which the tuning test lists;
 * the held-out test reports counts only, on purpose: see docs/balance-question.md.
 */
describe("balance corpus", () => {
  const TARGET_RECALL = 0.95;
  const LANGS: readonly CorpusLang[] = ["en", "cs"];
  const halves = splitCorpus(BALANCE_CORPUS);

  const questions = (items: readonly CorpusItem[], lang: CorpusLang) =>
    items.filter((item) => item.balance && item.lang === lang);
  const nearMisses = (items: readonly CorpusItem[]) => items.filter((item) => !item.balance);
  const answered = (item: CorpusItem) => detectBalanceQuestion(item.text)?.lang === item.lang;

  it("has at least 300 balance questions, roughly half in each language, and at least 150 near misses", () => {
    const en = questions(BALANCE_CORPUS, "en").length;
    const cs = questions(BALANCE_CORPUS, "cs").length;
    expect(en + cs).toBeGreaterThanOrEqual(300);
    expect(Math.min(en, cs) / (en + cs)).toBeGreaterThanOrEqual(0.4);
    expect(nearMisses(BALANCE_CORPUS).length).toBeGreaterThanOrEqual(150);
    for (const lang of LANGS)
      expect(nearMisses(BALANCE_CORPUS).filter((i) => i.lang === lang).length).toBeGreaterThan(50);
  });

  it("has no message twice, even after normalization (a copy in each half would leak)", () => {
    const seen = new Map<string, string>();
    for (const { text } of BALANCE_CORPUS) {
      const key = normalize(text);
      expect(seen.get(key), `${JSON.stringify(text)} repeats ${JSON.stringify(seen.get(key))}`).toBeUndefined();
      seen.set(key, text);
    }
  });

  it("splits deterministically into two halves per language and class, by a seeded hash", () => {
    expect(splitCorpus(BALANCE_CORPUS)).toEqual(halves);
    expect(
      splitCorpus([...BALANCE_CORPUS].reverse())
        .tuning.map((i) => i.text)
        .sort(),
    ).toEqual(halves.tuning.map((i) => i.text).sort());
    expect(halves.tuning.length + halves.heldOut.length).toBe(BALANCE_CORPUS.length);
    const tuning = new Set(halves.tuning);
    expect(halves.heldOut.some((item) => tuning.has(item))).toBe(false);
    for (const lang of LANGS) {
      for (const balance of [true, false]) {
        const size = (half: Half) => halves[half].filter((i) => i.lang === lang && i.balance === balance).length;
        expect(Math.abs(size("tuning") - size("heldOut"))).toBeLessThanOrEqual(1);
      }
    }
    expect(fnv1a(`${SPLIT_SEED}:balance`)).toBe(fnv1a(`${SPLIT_SEED}:balance`));
    expect(splitCorpus(BALANCE_CORPUS, "another seed").tuning).not.toEqual(halves.tuning);
  });

  describe.each(["tuning", "heldOut"] as const)("%s half", (half) => {
    const items = halves[half];
    // The held-out half reports counts only, so that its failures are not read while tuning the rules.
    const show = (failures: readonly CorpusItem[]) =>
      half === "tuning" ? failures.map((i) => JSON.stringify(i.text)).join(", ") : `${failures.length} (not listed)`;

    it.each(LANGS)(`answers at least ${TARGET_RECALL * 100}% of the %s balance questions`, (lang) => {
      const asked = questions(items, lang);
      const missed = asked.filter((item) => !answered(item));
      const recall = (asked.length - missed.length) / asked.length;
      expect(
        recall,
        `${half} ${lang} recall ${(recall * 100).toFixed(1)}%, missed: ${show(missed)}`,
      ).toBeGreaterThanOrEqual(TARGET_RECALL);
    });

    it("takes no near miss for a balance question", () => {
      const taken = nearMisses(items).filter((item) => detectBalanceQuestion(item.text) !== null);
      expect(taken.length, `${half} false positives: ${show(taken)}`).toBe(0);
    });
  });
});

describe("normalize", () => {
  it("lowercases, strips diacritics and collapses punctuation", () => {
    expect(normalize("  Kolik MÁM   kreditů?!  ")).toBe("kolik mam kreditu");
    expect(normalize("Jaký je můj zůstatek…")).toBe("jaky je muj zustatek");
    expect(normalize("What’s my balance?")).toBe("whats my balance");
    expect(normalize("💰balance💰")).toBe("balance");
    expect(normalize("work-life")).toBe("work life");
  });
});

describe("phrasing data", () => {
  it("lists every word under one concept only, already normalized", () => {
    for (const language of BALANCE_QUESTION_LANGUAGES) {
      const seen = new Map<string, string>();
      for (const [concept, words] of Object.entries(language.words)) {
        for (const word of words) {
          expect(normalize(word.replace(/\*$/, "")), `${language.lang}: ${word}`).toBe(word.replace(/\*$/, ""));
          expect(seen.get(word), `${language.lang}: "${word}" under ${concept} and ${seen.get(word)}`).toBeUndefined();
          seen.set(word, concept);
        }
      }
    }
  });
});
