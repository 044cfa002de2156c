import { describe, expect, it } from "vitest";
import {
  BALANCE_QUESTION_LANGUAGES,
  detectBalanceQuestion,
  MAX_QUESTION_CHARS,
  MAX_QUESTION_WORDS,
  normalize,
} from "../../src/telegram/intent";

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
