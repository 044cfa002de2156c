import { describe, expect, it } from "vitest";
import {
  BALANCE_QUESTION_LANGUAGES,
  detectBalanceQuestion,
  MAX_QUESTION_CHARS,
  MAX_QUESTION_WORDS,
  normalize,
} from "../../src/telegram/intent";

const ENGLISH = [
  // From the brief
  "What's my current credit balance?",
  "how much credit do I have left?",
  "how much credit do I have left",
  "balance?",
  "Balance",
  "my balance",
  "credit balance",
  "how many credits do I have",
  "credits left?",
  "what is my balance",
  "check my balance",
  "show balance please",
  "remaining credits?",
  "how much money is left on my account",
  // Similar phrasings
  "What’s my balance?",
  "whats my balance",
  "what is the balance?",
  "balance of my credits?",
  "my credit balance, what is it",
  "current balance",
  "account balance",
  "how many credits are left?",
  "how much credit is left",
  "do I still have credits?",
  "my credits",
  "credits?",
  "tell me my balance",
  "show my credits please",
  "available credits",
  "how much do I have left?",
  "Hi, what's my balance? Thanks",
  "credit left",
  "what's my remaining credit?",
  "remaining balance",
  "get balance",
  "how much money do I have left on my account?",
  "💰 balance? 💰",
];

const CZECH = [
  // From the brief
  "kolik mám kreditů?",
  "kolik mam kreditu",
  "jaký je můj zůstatek",
  "jaky je muj zustatek?",
  "zůstatek?",
  "stav kreditu",
  "kolik mi zbývá kreditů",
  "kolik kreditů mi zbývá?",
  "můj zůstatek",
  "zbývající kredit",
  "kolik mám peněz na účtu",
  // Similar phrasings
  "Kolik mám ještě kreditů?",
  "kolik mi zbyva kreditu?",
  "zustatek",
  "Zůstatek kreditu?",
  "jaký je zůstatek?",
  "ukaž zůstatek prosím",
  "stav účtu",
  "jaký je stav mého kreditu?",
  "kolik kreditu mi zustalo",
  "kolik mi zbývá?",
  "kolik mám na účtu?",
  "jak jsem na tom s kredity?",
  "aktuální zůstatek",
  "kolik je můj zůstatek?",
  "zbyvajici kredity",
  "kredity?",
  "kolik mám kreditů k dispozici",
  "Dobrý den, kolik mi zbývá kreditů?",
  "zůstatku na účtu?",
];

const NEAR_MISSES = [
  // From the brief
  "I need balance in my life",
  "what's the balance of power in Europe?",
  "how do I balance a chemical equation",
  "tell me about work-life balance",
  "credit card interest rates explained",
  "what is a credit score",
  "how much does a credit cost?",
  "balance sheet template",
  "I have balance issues when walking",
  "kolik stojí kredit?",
  "jak funguje kreditní karta",
  "zůstatek na mém bankovním účtu je nízký, co mám dělat?",
  "explain balance in yoga",
  // More
  "what is balance",
  "what is my credit score?",
  "how much is a credit?",
  "kolik je kredit?",
  "credit check",
  "Credits",
  "how much money do I have?",
  "balance my budget",
  "I lost my balance",
  "credit where credit is due",
  "how do credits work?",
  "buy credits",
  "how many credits does one answer cost?",
  "co je zůstatek?",
  "kredit na telefon",
  "kolik stojí jeden kredit",
  "zůstatková cena auta",
  "",
  "   ",
  "???",
  "🙂",
  "my balance is great today but I have a question about my business plan for next year",
  "kolik mám kreditů? A taky bych se chtěl zeptat, jak mám nastavit svůj obchodní plán na příští rok",
];

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
