import type { Api } from "grammy";
import { encryptSecret, openSealed, tokenKeyring } from "../crypto";
import type { Config } from "../env";
import type { Ledger } from "../ledger/ledger";
import { describeError, log } from "../log";
import { telegramApi } from "../telegram/api";

/**
 * The instance's bot token: opened from its AES-GCM seal when a message is sent, and sealed again with
 * the current key when `TOKEN_ENCRYPTION_KEY_PREVIOUS` sealed it (in the object and the D1 registry), so
 * a key rotation finishes as the bots are used. The clear token lives only in the Telegram client.
 */
export class BotToken {
  #api: Api | null = null;

  constructor(
    private readonly env: Env,
    private readonly config: Config,
    private readonly ledger: Ledger,
    private readonly tx: <T>(fn: () => T) => T,
  ) {}

  /** New credentials were stored: the next send opens them. */
  forget(): void {
    this.#api = null;
  }

  /** The Telegram client of this bot. */
  async telegram(): Promise<Api> {
    if (this.#api) return this.#api;
    const opened = await this.open();
    const api = telegramApi(this.config, opened.token);
    // Opening may await (re-sealing writes to D1): keep the client only if the stored token is still the one opened.
    if (this.ledger.account()?.bot_token_sealed === opened.sealed) this.#api = api;
    return api;
  }

  /**
   * Finishes a `TOKEN_ENCRYPTION_KEY` rotation: "resealed" if the previous key sealed the token (now sealed
   * with the current one), "current" if the current key already did, "unreadable" if no configured key opens it.
   */
  async resealIfOld(): Promise<"current" | "resealed" | "unreadable"> {
    try {
      return (await this.open()).resealed ? "resealed" : "current";
    } catch {
      return "unreadable";
    }
  }

  /** The token in clear, sealed again first when an older key sealed it. */
  async open(): Promise<{ token: string; resealed: boolean; sealed: string }> {
    const account = this.ledger.account();
    if (!account) throw new Error("instance not provisioned");
    const sealed = account.bot_token_sealed;
    const keys = await tokenKeyring(this.env, (message) =>
      log("error", "config_error", { instanceId: account.instance_id, error: message }),
    );
    const { plaintext, keyIndex } = await openSealed(keys, sealed);
    const current = keys[0];
    if (keyIndex === 0 || !current) return { token: plaintext, resealed: false, sealed };
    const resealed = await encryptSecret(current, plaintext);
    // Only over the value read above: an await ran since, and a new token may have been stored meanwhile.
    this.tx(() => this.ledger.row.resealToken(resealed, sealed));
    try {
      await this.env.DB.prepare("UPDATE instances SET bot_token_sealed = ? WHERE id = ? AND bot_token_sealed = ?")
        .bind(resealed, account.instance_id, sealed)
        .run();
    } catch (error) {
      // The object is the source of truth; the registry's copy is only a copy.
      log("warn", "registry_reseal_failed", { instanceId: account.instance_id, error: describeError(error) });
    }
    log("info", "bot_token_resealed", { instanceId: account.instance_id });
    return { token: plaintext, resealed: true, sealed: resealed };
  }
}
