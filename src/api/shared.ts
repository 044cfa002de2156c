import type { Context, MiddlewareHandler } from "hono";
import type { CreditAccount } from "../account/credit-account";
import { sha256Hex, timingSafeEqualStrings } from "../crypto";
import { ApiError, type ErrorCode } from "../errors";
import type { Outcome, Refusal } from "../ledger/types";

export type AppEnv = { Bindings: Env; Variables: { keyHash: string } };

export function account(env: Env, instanceId: string): DurableObjectStub<CreditAccount> {
  return env.CREDIT_ACCOUNT.get(env.CREDIT_ACCOUNT.idFromName(instanceId));
}

const REFUSALS: Record<Refusal, [ErrorCode, string]> = {
  not_found: ["not_found", "No instance with this id."],
  unauthorized: ["forbidden", "This API key does not belong to this instance."],
  insufficient_credits: ["insufficient_credits", "The instance does not have enough credits for this operation."],
  background_floor: [
    "insufficient_credits",
    "Background operations must leave the reserve that keeps the bot answering; recharge first.",
  ],
  idempotency_key_reused: ["idempotency_key_reused", "This idempotencyKey was already used with different parameters."],
  hold_not_found: ["not_found", "No hold with this id."],
  hold_not_open: ["hold_not_open", "This hold is no longer open."],
  hold_expired: ["hold_expired", "This hold expired and its reservation was released."],
  already_provisioned: ["instance_exists", "An instance with this id already exists."],
  different_bot: [
    "different_bot",
    "This token belongs to another bot; an instance keeps its bot (provision a new instance for another bot).",
  ],
  upstream_unavailable: ["upstream_unavailable", "A payment or messaging service could not be reached; try again."],
};

/** Turns a refused outcome into the API's error; returns the successful value otherwise. */
export function unwrap<R extends Outcome<object>>(outcome: R): Extract<R, { ok: true }> {
  if (outcome.ok) return outcome as Extract<R, { ok: true }>;
  const refused = outcome as Extract<Outcome<object>, { ok: false }>;
  const [code, message] = REFUSALS[refused.reason];
  throw new ApiError(code, refused.message ?? message);
}

function bearer(c: Context): string {
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header);
  if (!match?.[1]) throw new ApiError("unauthorized", "Send the token as `Authorization: Bearer <token>`.");
  return match[1];
}

export const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = bearer(c);
  if (!c.env.ADMIN_TOKEN || !(await timingSafeEqualStrings(token, c.env.ADMIN_TOKEN))) {
    throw new ApiError("unauthorized", "The admin token is not valid.");
  }
  await next();
};

/**
 * Recent API keys' hashes, per isolate: a hot instance sends the same key thousands of times a second,
 * and hashing it is a crypto call on every debit. Bounded, so unknown keys cannot grow it; the oldest
 * key is dropped first. Only the hash leaves this map; a wrong key still fails in the object.
 */
const KEY_HASHES_KEPT = 256;
const keyHashes = new Map<string, string>();

async function keyHash(key: string): Promise<string> {
  const known = keyHashes.get(key);
  if (known !== undefined) return known;
  const hash = await sha256Hex(key);
  if (keyHashes.size >= KEY_HASHES_KEPT) keyHashes.delete(keyHashes.keys().next().value as string);
  keyHashes.set(key, hash);
  return hash;
}

/** The instance key is checked by the instance's own object; here we only hash it. */
export const requireApiKey: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set("keyHash", await keyHash(bearer(c)));
  await next();
};

/** Canonical request text for idempotency: the same logical request always yields the same string. */
export function fingerprint(fields: Record<string, unknown>): string {
  return JSON.stringify(
    Object.keys(fields)
      .sort()
      .map((k) => [k, fields[k] ?? null]),
  );
}

export function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
