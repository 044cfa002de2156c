/**
 * Telegram Mini App `initData`, checked as Telegram documents it ("Validating data received via the Mini App"):
 * `secret_key = HMAC_SHA256(key = "WebAppData", data = bot_token)`, and `hash` must be
 * `toHex(HMAC_SHA256(key = secret_key, data = data_check_string))`, where `data_check_string` is every received
 * field but `hash`, as `key=value`, sorted by key, joined by "\n" (`signature`, Telegram's Ed25519 signature for
 * third parties, is one of those fields here). This is the trust boundary of the dashboard:
 * a page is only as trusted as the `initData` it sends.
 */

import { sameDigest, toHex } from "../crypto";

const encoder = new TextEncoder();

/** Telegram's own advice: do not accept `initData` older than needed; the dashboard takes one hour. */
export const INIT_DATA_MAX_AGE_MS = 60 * 60_000;
/** Clocks differ a little; `auth_date` further in the future than this is refused as forged. */
const FUTURE_SKEW_MS = 5 * 60_000;
/** `initData` carries a few hundred bytes; anything much longer is not Telegram's. */
export const MAX_INIT_DATA_CHARS = 4096;

export type InitDataVerdict =
  | { ok: true; userId: number; authDate: number }
  | { ok: false; why: "malformed" | "bad_hash" | "stale" | "no_user" };

async function hmac(key: Uint8Array, data: string): Promise<Uint8Array> {
  const imported = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", imported, encoder.encode(data)));
}

/** The `hash` Telegram computes for these fields (all but `hash`) with this bot's token. */
export async function initDataHash(fields: ReadonlyMap<string, string>, botToken: string): Promise<string> {
  const dataCheckString = [...fields]
    .filter(([key]) => key !== "hash")
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join("\n");
  const secretKey = await hmac(encoder.encode("WebAppData"), botToken);
  return toHex(await hmac(secretKey, dataCheckString));
}

/** The fields of an `initData` query string; null when a key repeats (Telegram never sends one twice). */
function fieldsOf(initData: string): Map<string, string> | null {
  const fields = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(initData)) {
    if (fields.has(key)) return null;
    fields.set(key, value);
  }
  return fields;
}

/**
 * Whether `initData` was signed by Telegram for this bot, at most `maxAgeMs` ago, and whose user opened the app.
 * Only a valid signature is looked at further: the user of unsigned data means nothing.
 */
export async function verifyInitData(
  initData: string,
  botToken: string,
  now: number,
  maxAgeMs = INIT_DATA_MAX_AGE_MS,
): Promise<InitDataVerdict> {
  if (initData.length === 0 || initData.length > MAX_INIT_DATA_CHARS) return { ok: false, why: "malformed" };
  const fields = fieldsOf(initData);
  const hash = fields?.get("hash");
  if (!fields || !hash || !/^[0-9a-f]{64}$/.test(hash)) return { ok: false, why: "malformed" };
  // Constant time: the hash is not to be guessed character by character.
  if (!sameDigest(await initDataHash(fields, botToken), hash)) return { ok: false, why: "bad_hash" };
  const authDate = Number(fields.get("auth_date"));
  if (!Number.isSafeInteger(authDate) || authDate <= 0) return { ok: false, why: "malformed" };
  const age = now - authDate * 1000;
  if (age > maxAgeMs || age < -FUTURE_SKEW_MS) return { ok: false, why: "stale" };
  const userId = userIdOf(fields.get("user"));
  return userId === null ? { ok: false, why: "no_user" } : { ok: true, userId, authDate };
}

function userIdOf(json: string | undefined): number | null {
  if (json === undefined) return null;
  try {
    const user: unknown = JSON.parse(json);
    if (typeof user !== "object" || user === null || !("id" in user)) return null;
    return Number.isSafeInteger(user.id) ? (user.id as number) : null;
  } catch {
    return null;
  }
}
