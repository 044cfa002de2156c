import { sameDigest } from "../crypto";
import type { AccountRow } from "../ledger/ledger";
import type { Caller } from "../ledger/types";

export type Authorized = { ok: true } | { ok: false; reason: "not_found" | "unauthorized" };

/**
 * Who may move this account's credits: the usage API with the instance's current key (compared by hash,
 * in constant time, so authenticating costs no D1 round trip), or the Worker itself for its own bot.
 */
export function authorize(account: AccountRow | null, caller: Caller): Authorized {
  if (!account) return { ok: false, reason: "not_found" };
  if (caller.kind === "api" && !sameDigest(caller.keyHash, account.api_key_hash)) {
    return { ok: false, reason: "unauthorized" };
  }
  return { ok: true };
}
