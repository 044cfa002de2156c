/**
 * Token pricing. Prices are configured in USD per million tokens (`MODEL_PRICES`) and the markup as a
 * decimal (`CREDIT_MARKUP`). Both are converted once to exact integers (BigInt) so the per-call cost is a
 * single integer division that rounds up.
 */

export interface ModelPrice {
  /** Micro-USD per million input tokens (= USD per million tokens × 1e6). */
  inputPerMTokMicros: bigint;
  /** Micro-USD per million output tokens. */
  outputPerMTokMicros: bigint;
}

export type PriceTable = ReadonlyMap<string, ModelPrice>;

const MICROS_PER_USD = 1_000_000n;
const TOKENS_PER_PRICE_UNIT = 1_000_000n;
const PPM = 1_000_000n;

/** $1 per token; anything above is certainly a typo (e.g. a price entered per token instead of per million). */
const MAX_PRICE_USD_PER_MTOK = 1_000_000n;

const EXAMPLE_PRICES = '{"gpt-4o-mini":{"input":0.15,"output":0.6}}';

function ceilDiv(numerator: bigint, denominator: bigint): bigint {
  return (numerator + denominator - 1n) / denominator;
}

/**
 * Converts a JSON number of USD to micro-USD through its shortest round-trip decimal string, so 0.15 becomes
 * exactly 150000 instead of 0.15 × 1e6 in binary floating point. `String(n)` switches to exponent form for
 * very small or very large numbers (1e-7, 1e+21), which the exponent handling covers. Digits beyond
 * micro-USD precision round up: a price can only be overstated by under one micro per million tokens,
 * never understated into "free".
 */
function usdNumberToMicros(n: number): bigint | undefined {
  if (!Number.isFinite(n) || n < 0) return undefined;
  const match = /^([0-9]+)(?:\.([0-9]+))?(?:e([+-][0-9]+))?$/.exec(String(n));
  if (!match) return undefined;
  const fraction = match[2] ?? "";
  const digits = BigInt(`${match[1] ?? "0"}${fraction}`);
  const shift = Number(match[3] ?? "0") - fraction.length + 6;
  if (shift >= 0) return digits * 10n ** BigInt(shift);
  return ceilDiv(digits, 10n ** BigInt(-shift));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function priceField(model: string, entry: Record<string, unknown>, field: "input" | "output"): bigint {
  const raw = Object.hasOwn(entry, field) ? entry[field] : undefined;
  const micros = typeof raw === "number" ? usdNumberToMicros(raw) : undefined;
  if (micros === undefined) {
    throw new Error(
      `MODEL_PRICES["${model}"].${field} must be a non-negative number of USD per million tokens, e.g. ${EXAMPLE_PRICES}`,
    );
  }
  if (micros > MAX_PRICE_USD_PER_MTOK * MICROS_PER_USD) {
    throw new Error(`MODEL_PRICES["${model}"].${field} is above ${MAX_PRICE_USD_PER_MTOK} USD per million tokens`);
  }
  return micros;
}

/** Parses `MODEL_PRICES`. Unset or blank means no model is priced; anything malformed throws. */
export function parseModelPrices(json: string | undefined): PriceTable {
  const table = new Map<string, ModelPrice>();
  if (json === undefined || json.trim() === "") return table;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error(`MODEL_PRICES is not valid JSON; expected e.g. ${EXAMPLE_PRICES}`);
  }
  if (!isPlainObject(raw)) throw new Error(`MODEL_PRICES must be a JSON object, e.g. ${EXAMPLE_PRICES}`);
  // A Map (not the parsed object) is what callers look up, so "__proto__" or "constructor" can never
  // resolve to something inherited from Object.prototype.
  for (const [model, entry] of Object.entries(raw)) {
    if (model === "") throw new Error("MODEL_PRICES has an empty model name");
    if (!isPlainObject(entry)) {
      throw new Error(`MODEL_PRICES["${model}"] must be an object with "input" and "output", e.g. ${EXAMPLE_PRICES}`);
    }
    table.set(model, {
      inputPerMTokMicros: priceField(model, entry, "input"),
      outputPerMTokMicros: priceField(model, entry, "output"),
    });
  }
  return table;
}

/** Parses `CREDIT_MARKUP` ("1", "1.25") into parts per million. Unset or blank means 1 (no markup). */
export function parseMarkup(value: string | undefined): bigint {
  const text = value?.trim() ?? "";
  if (text === "") return PPM;
  const match = /^([0-9]{1,6})(?:\.([0-9]{1,6}))?$/.exec(text);
  const ppm = match ? BigInt(match[1] ?? "0") * PPM + BigInt((match[2] ?? "").padEnd(6, "0")) : 0n;
  if (ppm <= 0n) {
    throw new Error(
      `CREDIT_MARKUP ${JSON.stringify(text.slice(0, 40))} is invalid: expected a positive decimal such as "1" or "1.25" (at most 6 decimals)`,
    );
  }
  return ppm;
}

function isTokenCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/**
 * Cost in micros of one call: (input × inputPrice + output × outputPrice) × markup, rounded UP to a whole
 * micro so that any non-zero usage of a priced model costs at least one micro.
 */
export function tokenCostMicros(
  prices: PriceTable,
  markupPpm: bigint,
  model: string,
  inputTokens: number,
  outputTokens: number,
): { ok: true; micros: number } | { ok: false; reason: "unknown_model" | "invalid_tokens" } {
  if (markupPpm <= 0n) throw new RangeError("markupPpm must be positive");
  // A Map lookup has own-key semantics: "__proto__" or "constructor" are unknown unless configured.
  const price = prices.get(model);
  if (!price) return { ok: false, reason: "unknown_model" };
  if (!isTokenCount(inputTokens) || !isTokenCount(outputTokens)) return { ok: false, reason: "invalid_tokens" };

  const usage = BigInt(inputTokens) * price.inputPerMTokMicros + BigInt(outputTokens) * price.outputPerMTokMicros;
  const micros = ceilDiv(usage * markupPpm, TOKENS_PER_PRICE_UNIT * PPM);
  if (micros > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, reason: "invalid_tokens" };
  return { ok: true, micros: Number(micros) };
}
