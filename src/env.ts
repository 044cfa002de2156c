import { type PriceTable, parseMarkup, parseModelPrices, tokenCostMicros } from "./ai/pricing";
import { MICROS_PER_USD, parseConfigUsd } from "./money";

/** Configuration parsed once per isolate from bindings and vars. Invalid configuration fails loudly at first use. */
export interface Config {
  publicBaseUrl: string;
  telegramApiBase: string;
  stripeApiBase: string;
  aiBaseUrl: string;
  aiModel: string;
  modelPrices: PriceTable;
  markupPpm: bigint;
  licenseBonusMicros: ReadonlyMap<string, number>;
  minTopUpMicros: number;
  minRechargeAtMicros: number;
  maxTopUpMicros: number;
  minManualTopUpMicros: number;
  maxRechargesPerDay: number;
  backgroundFloorMicros: number;
  /** What one end user may cost the owner per UTC day, so a single user cannot drain the credits. */
  endUserDailyCapMicros: number;
  /** Worst-case cost of one answer: what a hold reserves and what "out of credits" is measured against. */
  answerWorstCaseMicros: number;
}

/** Bounds of one answer; the prompt is capped by the bot, the completion by `max_tokens`. */
export const MAX_PROMPT_TOKENS = 4_000;
export const MAX_ANSWER_TOKENS = 2_000;

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

function parseLicenseBonuses(json: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  if (!json?.trim()) return out;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error('LICENSE_BONUSES must be a JSON object like {"starter":50}');
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new Error('LICENSE_BONUSES must be a JSON object like {"starter":50}');
  }
  for (const [license, usd] of Object.entries(raw)) {
    if (typeof usd !== "number" && typeof usd !== "string")
      throw new Error(`LICENSE_BONUSES.${license} must be a number`);
    out.set(license, parseConfigUsd(String(usd), 0));
  }
  return out;
}

function parseCount(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value.trim() === "") return fallback;
  if (!/^\d{1,6}$/.test(value.trim())) throw new Error(`${name} must be a whole number`);
  return Number(value.trim());
}

const cache = new WeakMap<object, Config>();

export function loadConfig(env: Env): Config {
  const cached = cache.get(env);
  if (cached) return cached;
  const modelPrices = parseModelPrices(env.MODEL_PRICES);
  const markupPpm = parseMarkup(env.CREDIT_MARKUP);
  const aiModel = env.AI_MODEL || "gpt-4o-mini";
  const worstCase = tokenCostMicros(modelPrices, markupPpm, aiModel, MAX_PROMPT_TOKENS, MAX_ANSWER_TOKENS);
  if (!worstCase.ok) throw new Error(`AI_MODEL "${aiModel}" has no price in MODEL_PRICES`);
  const config: Config = {
    publicBaseUrl: trimSlash(env.PUBLIC_BASE_URL || "http://127.0.0.1:8787"),
    telegramApiBase: trimSlash(env.TELEGRAM_API_BASE || "https://api.telegram.org"),
    stripeApiBase: trimSlash(env.STRIPE_API_BASE || "https://api.stripe.com"),
    aiBaseUrl: trimSlash(env.AI_BASE_URL || "https://api.openai.com/v1"),
    aiModel,
    modelPrices,
    markupPpm,
    licenseBonusMicros: parseLicenseBonuses(env.LICENSE_BONUSES),
    minTopUpMicros: parseConfigUsd(env.MIN_TOP_UP_USD, 250),
    minRechargeAtMicros: parseConfigUsd(env.MIN_RECHARGE_AT_USD, 100),
    maxTopUpMicros: parseConfigUsd(env.MAX_TOP_UP_USD, 10_000),
    minManualTopUpMicros: parseConfigUsd(env.MIN_MANUAL_TOP_UP_USD, 50),
    maxRechargesPerDay: parseCount(env.MAX_RECHARGES_PER_DAY, 5, "MAX_RECHARGES_PER_DAY"),
    backgroundFloorMicros: parseConfigUsd(env.BACKGROUND_FLOOR_USD, 5),
    endUserDailyCapMicros: parseConfigUsd(env.END_USER_DAILY_CAP_USD, 1),
    answerWorstCaseMicros: worstCase.micros,
  };
  cache.set(env, config);
  return config;
}

export { MICROS_PER_USD };
