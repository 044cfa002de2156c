/**
 * Money is integer micro-USD everywhere. Nothing in this module touches floating point on an amount:
 * parsing works on the decimal string, arithmetic on integers (BigInt where a product could leave the
 * safe-integer range).
 */

export const MICROS_PER_USD = 1_000_000;
export const MICROS_PER_CENT = 10_000;

export type AmountProblem = "missing" | "not_a_number" | "negative" | "zero" | "too_many_decimals" | "too_large";

/**
 * Nine integer digits keep the largest accepted amount (999,999,999.99 USD ≈ 1e15 micros) far below 2^53,
 * so every accepted amount is an exact safe integer. Business limits (min/max top-up) are checked by callers.
 */
const MAX_OWNER_INTEGER_DIGITS = 9;

// String.prototype.trim also strips Unicode spaces (NBSP, ideographic space); the rules only allow ASCII ones.
const ASCII_SPACE_EDGES = /^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g;

// `[0-9]`, not `\d`, so the intent (ASCII only) survives anyone later adding the `u` or `v` flag.
// ".5" and "5." are rejected on purpose: the rules ask for digits on both sides of the point, and a lone
// point is more likely a typo than an intended amount.
const OWNER_AMOUNT = /^\$?([0-9]+)(?:\.([0-9]+))?$/;

function trimAscii(input: string): string {
  return input.replace(ASCII_SPACE_EDGES, "");
}

/** `digits` is ASCII digits; returns them with leading zeros removed ("" for all zeros). */
function stripLeadingZeros(digits: string): string {
  return digits.replace(/^0+/, "");
}

/**
 * Parses an amount typed by the owner ("500", "$500", "500.5", " $1234.56 ").
 *
 * Order of checks, so the reply names the most useful problem: empty → missing; a leading minus on an
 * otherwise well-formed number → negative (so "-0" is negative, not zero); anything not matching the
 * grammar → not_a_number (covers words, "+5", exponents, hex, separators, non-ASCII digits, ".5", "5.");
 * then too_many_decimals, too_large, zero.
 */
export function parseOwnerAmount(input: string): { ok: true; micros: number } | { ok: false; problem: AmountProblem } {
  const text = trimAscii(input);
  if (text === "" || text === "$") return { ok: false, problem: "missing" };

  // Accept both "-5" and "-$5"/"$-5" as "negative": the owner clearly typed a number, just the wrong sign.
  const unsigned = text.replace(/^(\$?)-/, "$1");
  const match = OWNER_AMOUNT.exec(unsigned);
  if (!match) return { ok: false, problem: "not_a_number" };
  if (unsigned !== text) return { ok: false, problem: "negative" };

  const integerPart = match[1] ?? "";
  const fraction = match[2] ?? "";
  if (fraction.length > 2) return { ok: false, problem: "too_many_decimals" };
  const significant = stripLeadingZeros(integerPart);
  if (significant.length > MAX_OWNER_INTEGER_DIGITS) return { ok: false, problem: "too_large" };

  const micros = Number(significant || "0") * MICROS_PER_USD + Number(fraction.padEnd(2, "0")) * MICROS_PER_CENT;
  if (micros === 0) return { ok: false, problem: "zero" };
  return { ok: true, micros };
}

const CONFIG_USD = /^([0-9]+)(?:\.([0-9]{1,6}))?$/;
const MAX_CONFIG_INTEGER_DIGITS = 9;

function describeValue(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

function configUsdToMicros(text: string): number | undefined {
  const match = CONFIG_USD.exec(text);
  if (!match) return undefined;
  const significant = stripLeadingZeros(match[1] ?? "");
  if (significant.length > MAX_CONFIG_INTEGER_DIGITS) return undefined;
  return Number(significant || "0") * MICROS_PER_USD + Number((match[2] ?? "").padEnd(6, "0"));
}

/**
 * Parses a USD amount from configuration ("250", "5.5", up to 6 decimals) into micros. An unset or blank
 * value means "use the default"; a malformed one throws, because silently falling back would hide a
 * misconfigured limit.
 */
export function parseConfigUsd(value: string | undefined, fallbackUsd: number): number {
  const text = value === undefined ? "" : trimAscii(value);
  if (text === "") {
    // The fallback goes through the same decimal parser so a default like 0.1 stays exact.
    const fallback = configUsdToMicros(String(fallbackUsd));
    if (fallback === undefined) throw new Error(`Default USD amount ${String(fallbackUsd)} is not a valid amount`);
    return fallback;
  }
  const micros = configUsdToMicros(text);
  if (micros === undefined) {
    throw new Error(
      `Invalid USD amount ${describeValue(text)} in configuration: expected a non-negative decimal such as "250" or "5.5" (at most 6 decimals, at most ${MAX_CONFIG_INTEGER_DIGITS} integer digits)`,
    );
  }
  return micros;
}

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(?:[0-9]{3})+$)/g, ",");
}

/**
 * Formats micros for owners: "$1,234.56", "-$3.20", "$0.00". Amounts of at least one cent are rounded
 * half away from zero to cents; a smaller non-zero amount keeps as many digits as it needs ("$0.0042")
 * so a real cost never displays as "$0.00".
 */
export function formatUsd(micros: number): string {
  if (!Number.isSafeInteger(micros)) throw new RangeError(`formatUsd expects integer micros, got ${String(micros)}`);
  const sign = micros < 0 ? "-" : "";
  const magnitude = BigInt(Math.abs(micros));
  if (magnitude === 0n) return "$0.00";

  const perCent = BigInt(MICROS_PER_CENT);
  if (magnitude < perCent) {
    const fraction = magnitude.toString().padStart(6, "0").replace(/0+$/, "");
    return `${sign}$0.${fraction}`;
  }

  const cents = (magnitude + perCent / 2n) / perCent;
  const dollars = cents / 100n;
  const rest = (cents % 100n).toString().padStart(2, "0");
  return `${sign}$${groupThousands(dollars.toString())}.${rest}`;
}

/** Stripe works in cents; refusing anything that is not a whole cent avoids silently dropping micros. */
export function microsToCents(micros: number): number {
  if (!Number.isSafeInteger(micros) || micros < 0 || micros % MICROS_PER_CENT !== 0) {
    throw new RangeError(`Cannot convert ${String(micros)} micros to whole cents`);
  }
  return micros / MICROS_PER_CENT;
}

export function centsToMicros(cents: number): number {
  if (!Number.isSafeInteger(cents)) throw new RangeError(`Cents must be a safe integer, got ${String(cents)}`);
  const micros = cents * MICROS_PER_CENT;
  if (!Number.isSafeInteger(micros)) throw new RangeError(`${String(cents)} cents is too large to hold in micros`);
  return micros;
}

export function isMicros(n: unknown): n is number {
  return Number.isSafeInteger(n);
}
