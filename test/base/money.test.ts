import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AmountProblem,
  centsToMicros,
  formatUsd,
  isMicros,
  MICROS_PER_CENT,
  MICROS_PER_USD,
  microsToCents,
  parseConfigUsd,
  parseOwnerAmount,
} from "../../src/money";

describe("parseOwnerAmount", () => {
  it.each([
    ["500", 500_000_000],
    ["$500", 500_000_000],
    ["500.5", 500_500_000],
    ["500.50", 500_500_000],
    ["$1234.56", 1_234_560_000],
    [" 250 ", 250_000_000],
    ["\t$250\n", 250_000_000],
    ["0.5", 500_000],
    ["0.01", 10_000],
    ["0500", 500_000_000],
    ["999999999.99", 999_999_999_990_000],
  ])("accepts %j", (input, micros) => {
    expect(parseOwnerAmount(input)).toEqual({ ok: true, micros });
  });

  const rejected: [string, AmountProblem][] = [
    // missing part
    ["", "missing"],
    [" ", "missing"],
    ["\t\n", "missing"],
    ["$", "missing"],
    [" $ ", "missing"],
    // words and junk
    ["five hundred", "not_a_number"],
    ["abc", "not_a_number"],
    ["500abc", "not_a_number"],
    ["500 USD", "not_a_number"],
    ["USD500", "not_a_number"],
    ["500$", "not_a_number"],
    ["$$500", "not_a_number"],
    ["$ 500", "not_a_number"],
    ["5 00", "not_a_number"],
    ["+5", "not_a_number"],
    ["--5", "not_a_number"],
    ["-abc", "not_a_number"],
    ["NaN", "not_a_number"],
    ["Infinity", "not_a_number"],
    // a lone decimal point on either side is rejected on purpose
    [".5", "not_a_number"],
    ["5.", "not_a_number"],
    ["5..0", "not_a_number"],
    ["5.0.0", "not_a_number"],
    // exponent
    ["1e309", "not_a_number"],
    ["1e3", "not_a_number"],
    ["5E2", "not_a_number"],
    ["1.5e2", "not_a_number"],
    // hex, octal, binary
    ["0x1F", "not_a_number"],
    ["0o17", "not_a_number"],
    ["0b101", "not_a_number"],
    // separators
    ["1_000", "not_a_number"],
    ["1,000", "not_a_number"],
    ["1'000", "not_a_number"],
    ["500,50", "not_a_number"],
    // non-ASCII digits and spaces
    ["５００", "not_a_number"],
    ["٥٠٠", "not_a_number"],
    ["५००", "not_a_number"],
    ["500\u00a0", "not_a_number"],
    ["\u3000500", "not_a_number"],
    ["＄500", "not_a_number"],
    // negative
    ["-5", "negative"],
    ["-0", "negative"],
    ["-$5", "negative"],
    ["$-5", "negative"],
    ["-250.005", "negative"],
    // zero
    ["0", "zero"],
    ["0.00", "zero"],
    ["$0.0", "zero"],
    ["000", "zero"],
    // three decimals
    ["250.005", "too_many_decimals"],
    ["1.000", "too_many_decimals"],
    ["$0.001", "too_many_decimals"],
    // absurd sizes
    ["9007199254740993", "too_large"],
    ["1000000000", "too_large"],
    ["1000000000.00", "too_large"],
    ["9".repeat(400), "too_large"],
  ];
  it.each(rejected)("rejects %j as %s", (input, problem) => {
    expect(parseOwnerAmount(input)).toEqual({ ok: false, problem });
  });

  it("always yields a positive safe integer of whole cents when it accepts", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (input) => {
        const result = parseOwnerAmount(input);
        if (result.ok) {
          expect(Number.isSafeInteger(result.micros)).toBe(true);
          expect(result.micros).toBeGreaterThan(0);
          expect(result.micros % MICROS_PER_CENT).toBe(0);
        }
      }),
    );
  });

  it("round-trips every cent amount written as dollars and cents", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 99_999_999_999 }), (cents) => {
        const text = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}`;
        expect(parseOwnerAmount(text)).toEqual({ ok: true, micros: cents * MICROS_PER_CENT });
      }),
    );
  });
});

describe("parseConfigUsd", () => {
  it("uses the fallback when unset or blank", () => {
    expect(parseConfigUsd(undefined, 250)).toBe(250 * MICROS_PER_USD);
    expect(parseConfigUsd("", 100)).toBe(100 * MICROS_PER_USD);
    expect(parseConfigUsd("   ", 5)).toBe(5 * MICROS_PER_USD);
    expect(parseConfigUsd(undefined, 0.1)).toBe(100_000);
    expect(parseConfigUsd(undefined, 0)).toBe(0);
  });

  it.each([
    ["250", 250_000_000],
    ["5.5", 5_500_000],
    [" 10000 ", 10_000_000_000],
    ["0", 0],
    ["0.000001", 1],
    ["1.123456", 1_123_456],
  ])("parses %j", (value, micros) => {
    expect(parseConfigUsd(value, 1)).toBe(micros);
  });

  it.each(["abc", "-5", "1e3", "5.", ".5", "1.1234567", "$5", "1,000", "0x10", "１０", "1000000000", "Infinity"])(
    "throws on %j, naming the value",
    (value) => {
      expect(() => parseConfigUsd(value, 1)).toThrow(Error);
      expect(() => parseConfigUsd(value, 1)).toThrow(JSON.stringify(value));
    },
  );

  it("throws on an invalid fallback", () => {
    expect(() => parseConfigUsd(undefined, -1)).toThrow(Error);
    expect(() => parseConfigUsd(undefined, Number.NaN)).toThrow(Error);
  });
});

describe("formatUsd", () => {
  it.each([
    [0, "$0.00"],
    [1_234_560_000, "$1,234.56"],
    [-3_200_000, "-$3.20"],
    [500_000_000, "$500.00"],
    [1_000_000_000_000, "$1,000,000.00"],
    [999_000, "$1.00"],
    [10_000, "$0.01"],
    [15_000, "$0.02"],
    [14_999, "$0.01"],
    [1_004_999, "$1.00"],
    [1_005_000, "$1.01"],
    [-15_000, "-$0.02"],
    [4_200, "$0.0042"],
    [1, "$0.000001"],
    [50, "$0.00005"],
    [9_999, "$0.009999"],
    [5_000, "$0.005"],
    [-4_200, "-$0.0042"],
    [Number.MAX_SAFE_INTEGER, "$9,007,199,254.74"],
  ])("formats %d as %s", (micros, text) => {
    expect(formatUsd(micros)).toBe(text);
  });

  it("never shows a non-zero amount as zero", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (micros) => {
        expect(formatUsd(micros)).not.toBe("$0.00");
        expect(formatUsd(-micros).startsWith("-$")).toBe(true);
      }),
    );
  });

  it("rejects non-integers", () => {
    expect(() => formatUsd(1.5)).toThrow(RangeError);
    expect(() => formatUsd(Number.NaN)).toThrow(RangeError);
    expect(() => formatUsd(2 ** 53)).toThrow(RangeError);
  });
});

describe("cents conversion", () => {
  it("converts whole cents both ways", () => {
    expect(microsToCents(0)).toBe(0);
    expect(microsToCents(500_000_000)).toBe(50_000);
    expect(centsToMicros(50_000)).toBe(500_000_000);
    expect(centsToMicros(-5)).toBe(-50_000);
  });

  it("refuses anything that is not a whole, non-negative, safe number of cents", () => {
    expect(() => microsToCents(4_200)).toThrow(RangeError);
    expect(() => microsToCents(-10_000)).toThrow(RangeError);
    expect(() => microsToCents(1.5)).toThrow(RangeError);
    expect(() => microsToCents(2 ** 60)).toThrow(RangeError);
    expect(() => centsToMicros(1.5)).toThrow(RangeError);
    expect(() => centsToMicros(Number.NaN)).toThrow(RangeError);
    expect(() => centsToMicros(Number.MAX_SAFE_INTEGER)).toThrow(RangeError);
  });

  it("isMicros accepts only safe integers", () => {
    expect(isMicros(0)).toBe(true);
    expect(isMicros(-5)).toBe(true);
    expect(isMicros(1.5)).toBe(false);
    expect(isMicros(2 ** 53)).toBe(false);
    expect(isMicros("5")).toBe(false);
    expect(isMicros(5n)).toBe(false);
    expect(isMicros(Number.NaN)).toBe(false);
  });
});
