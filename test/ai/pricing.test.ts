import { describe, expect, it } from "vitest";
import { parseMarkup, parseModelPrices, tokenCostMicros } from "../../src/ai/pricing";

const PRICES = parseModelPrices('{"gpt-4o-mini":{"input":0.15,"output":0.6},"big":{"input":15,"output":75}}');
const ONE = 1_000_000n;

describe("parseModelPrices", () => {
  it("converts USD per million tokens to exact micro-USD per million tokens", () => {
    expect(PRICES.get("gpt-4o-mini")).toEqual({ inputPerMTokMicros: 150_000n, outputPerMTokMicros: 600_000n });
    expect(PRICES.get("big")).toEqual({ inputPerMTokMicros: 15_000_000n, outputPerMTokMicros: 75_000_000n });
  });

  it("is empty when unset or blank", () => {
    expect(parseModelPrices(undefined).size).toBe(0);
    expect(parseModelPrices("").size).toBe(0);
    expect(parseModelPrices("  ").size).toBe(0);
    expect(parseModelPrices("{}").size).toBe(0);
  });

  it("handles exponent forms and rounds sub-micro prices up", () => {
    const table = parseModelPrices(
      '{"a":{"input":1e-6,"output":2.5e-7},"b":{"input":1.5e2,"output":0},"c":{"input":0.1234567,"output":1E1}}',
    );
    expect(table.get("a")).toEqual({ inputPerMTokMicros: 1n, outputPerMTokMicros: 1n });
    expect(table.get("b")).toEqual({ inputPerMTokMicros: 150_000_000n, outputPerMTokMicros: 0n });
    expect(table.get("c")).toEqual({ inputPerMTokMicros: 123_457n, outputPerMTokMicros: 10_000_000n });
  });

  it("stores a model literally named __proto__ without touching prototypes", () => {
    const table = parseModelPrices('{"__proto__":{"input":1,"output":2}}');
    expect(table.get("__proto__")).toEqual({ inputPerMTokMicros: ONE, outputPerMTokMicros: 2n * ONE });
    expect(({} as Record<string, unknown>).input).toBeUndefined();
  });

  it.each([
    ["not json", "not valid JSON"],
    ["[1,2]", "must be a JSON object"],
    ["null", "must be a JSON object"],
    ["42", "must be a JSON object"],
    ['{"m":1}', 'MODEL_PRICES["m"] must be an object'],
    ['{"m":[0.1,0.2]}', 'MODEL_PRICES["m"] must be an object'],
    ['{"m":{"input":0.1}}', 'MODEL_PRICES["m"].output'],
    ['{"m":{"output":0.1}}', 'MODEL_PRICES["m"].input'],
    ['{"m":{"input":-0.1,"output":0.1}}', 'MODEL_PRICES["m"].input'],
    ['{"m":{"input":"0.1","output":0.1}}', 'MODEL_PRICES["m"].input'],
    ['{"m":{"input":null,"output":0.1}}', 'MODEL_PRICES["m"].input'],
    ['{"m":{"input":0.1,"output":1e400}}', 'MODEL_PRICES["m"].output'],
    ['{"m":{"input":0.1,"output":2000000}}', "above"],
    ['{"":{"input":0.1,"output":0.1}}', "empty model name"],
  ])("rejects %s", (json, message) => {
    expect(() => parseModelPrices(json)).toThrow(message);
  });
});

describe("parseMarkup", () => {
  it.each([
    [undefined, ONE],
    ["", ONE],
    ["1", ONE],
    ["1.25", 1_250_000n],
    [" 2 ", 2_000_000n],
    ["0.5", 500_000n],
    ["1.000001", 1_000_001n],
  ])("parses %j", (value, ppm) => {
    expect(parseMarkup(value)).toBe(ppm);
  });

  it.each(["0", "0.0", "-1", "abc", "1e2", "1.2345678", ".5", "1,25", "1234567", "NaN"])("rejects %j", (value) => {
    expect(() => parseMarkup(value)).toThrow("CREDIT_MARKUP");
  });
});

describe("tokenCostMicros", () => {
  it("prices a known model", () => {
    // 1000 tokens × $0.15/MTok + 500 tokens × $0.60/MTok = $0.00045
    expect(tokenCostMicros(PRICES, ONE, "gpt-4o-mini", 1_000, 500)).toEqual({ ok: true, micros: 450 });
    expect(tokenCostMicros(PRICES, ONE, "big", 1_000_000, 1_000_000)).toEqual({ ok: true, micros: 90_000_000 });
  });

  it("applies a markup of 1.25", () => {
    expect(tokenCostMicros(PRICES, 1_250_000n, "gpt-4o-mini", 1_000, 500)).toEqual({ ok: true, micros: 563 });
    expect(tokenCostMicros(PRICES, 1_250_000n, "big", 1_000_000, 0)).toEqual({ ok: true, micros: 18_750_000 });
  });

  it("rounds a tiny cost up so non-zero usage is never free", () => {
    expect(tokenCostMicros(PRICES, ONE, "gpt-4o-mini", 1, 0)).toEqual({ ok: true, micros: 1 });
    expect(tokenCostMicros(PRICES, ONE, "gpt-4o-mini", 0, 1)).toEqual({ ok: true, micros: 1 });
    expect(tokenCostMicros(PRICES, ONE, "gpt-4o-mini", 7, 0)).toEqual({ ok: true, micros: 2 });
    expect(tokenCostMicros(PRICES, ONE, "gpt-4o-mini", 0, 0)).toEqual({ ok: true, micros: 0 });
  });

  it("returns unknown_model for unpriced and prototype names", () => {
    for (const model of ["gpt-5", "", "__proto__", "constructor", "toString", "hasOwnProperty", "GPT-4O-MINI"]) {
      expect(tokenCostMicros(PRICES, ONE, model, 10, 10)).toEqual({ ok: false, reason: "unknown_model" });
    }
  });

  it("rejects token counts that are not non-negative safe integers", () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(tokenCostMicros(PRICES, ONE, "gpt-4o-mini", bad, 0)).toEqual({ ok: false, reason: "invalid_tokens" });
      expect(tokenCostMicros(PRICES, ONE, "gpt-4o-mini", 0, bad)).toEqual({ ok: false, reason: "invalid_tokens" });
    }
  });

  it("handles huge token counts exactly, refusing results beyond the safe range", () => {
    const max = Number.MAX_SAFE_INTEGER;
    // 9007199254740991 × 0.15 USD/MTok = $1,351,079,888.21114865, rounded up to a whole micro
    expect(tokenCostMicros(PRICES, ONE, "gpt-4o-mini", max, 0)).toEqual({ ok: true, micros: 1_351_079_888_211_149 });
    expect(tokenCostMicros(PRICES, ONE, "big", max, max)).toEqual({ ok: false, reason: "invalid_tokens" });
    const pricey = parseModelPrices('{"p":{"input":1000000,"output":1000000}}');
    expect(tokenCostMicros(pricey, 1_000_000n * ONE, "p", max, max)).toEqual({ ok: false, reason: "invalid_tokens" });
  });

  it("refuses a non-positive markup as a programming error", () => {
    expect(() => tokenCostMicros(PRICES, 0n, "gpt-4o-mini", 1, 1)).toThrow(RangeError);
  });
});
