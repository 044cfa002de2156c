import type { Lang } from "../lang";
import type { BotCredentials, ProvisionInput } from "./types";

/**
 * The account row of one CreditAccount (its only row): balance and holds total, credentials, and where
 * the owner's notifications stand. Every write to it is a named transition below; the SQL stays in this
 * file, so no caller hands another a fragment of an UPDATE. (The balance itself moves only with a ledger
 * entry, by trigger: see `balanceMoved`.)
 */

export interface AccountRow extends Record<string, SqlStorageValue> {
  instance_id: string;
  owner_telegram_id: number;
  license: string;
  api_key_hash: string;
  webhook_secret_hash: string;
  bot_token_sealed: string;
  bot_id: number | null;
  bot_username: string | null;
  system_prompt: string | null;
  created_at: number;
  balance_micros: number;
  held_micros: number;
  out_since: number | null;
  out_notified_at: number | null;
  last_alert_hour: number | null;
  low_warning: string | null;
  low_warning_micros: number | null;
  registered: number;
  /** The owner's `/clientLimit` (0: off); NULL: the configured default. */
  client_limit_micros: number | null;
  /** The language the owner is answered in; NULL: English. */
  owner_lang: Lang | null;
  /** 1 once the owner chose the language with /language (Telegram's language_code no longer changes it). */
  owner_lang_chosen: number;
}

const ACCOUNT_COLUMNS =
  "instance_id, owner_telegram_id, license, api_key_hash, webhook_secret_hash, bot_token_sealed, bot_id, bot_username, system_prompt, created_at, balance_micros, held_micros, out_since, out_notified_at, last_alert_hour, low_warning, low_warning_micros, registered, client_limit_micros, owner_lang, owner_lang_chosen";

/**
 * The account row as last read, or undefined when it must be read again; shared by every store on the
 * same storage (the object's own, and one a test builds on the object's storage). The object is the
 * only writer of its storage and every write to the row goes through this file's transitions or a
 * ledger insert (`balanceMoved`), so the copy is exact; it saves the hot path a 16-column read on every
 * debit. A transaction that throws rolls back what it wrote, so the object forgets the copy then (`forget`).
 */
const cachedRows = new WeakMap<SqlStorage, { row: AccountRow | null | undefined }>();

export class AccountRowStore {
  readonly #cached: { row: AccountRow | null | undefined };

  constructor(private readonly sql: SqlStorage) {
    let cached = cachedRows.get(sql);
    if (!cached) {
      cached = { row: undefined };
      cachedRows.set(sql, cached);
    }
    this.#cached = cached;
  }

  read(): AccountRow | null {
    if (this.#cached.row === undefined) {
      this.#cached.row = this.sql.exec<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM account`).toArray()[0] ?? null;
    }
    return this.#cached.row;
  }

  /** A transaction rolled back: a row read inside it may hold values that were never committed. */
  forget(): void {
    this.#cached.row = undefined;
  }

  /**
   * A ledger entry moved the balance (trigger ledger_moves_balance) to `balanceAfter`: the one write that
   * keeps the cached row instead of dropping it, because it is the hot path's own.
   */
  balanceMoved(balanceAfter: number): void {
    const cached = this.#cached.row;
    if (cached) this.#cached.row = { ...cached, balance_micros: balanceAfter };
  }

  /** The row of a new account, at a zero balance (a bonus is a ledger entry after it). */
  create(input: ProvisionInput, now: number): void {
    this.#cached.row = undefined;
    this.sql.exec(
      `INSERT INTO account (id, instance_id, owner_telegram_id, license, api_key_hash, webhook_secret_hash,
         bot_token_sealed, bot_username, bot_id, system_prompt, created_at, balance_micros, held_micros, owner_lang)
       VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?)`,
      input.instanceId,
      input.ownerTelegramId,
      input.license,
      input.apiKeyHash,
      input.webhookSecretHash,
      input.botTokenSealed,
      input.botUsername,
      input.botId,
      input.systemPrompt,
      now,
      input.ownerLanguage ?? null,
    );
  }

  replaceApiKeyHash(apiKeyHash: string): void {
    this.#update("api_key_hash = ?", apiKeyHash);
  }

  replaceBotCredentials(input: BotCredentials): void {
    this.#update(
      "bot_token_sealed = ?, webhook_secret_hash = ?, bot_id = ?, bot_username = ?",
      input.botTokenSealed,
      input.webhookSecretHash,
      input.botId,
      input.botUsername,
    );
  }

  /** A hold reserved `micros`: `held_micros` stays the sum of open holds. */
  addHeld(micros: number): void {
    this.#update("held_micros = held_micros + ?", micros);
  }

  /** Holds settled, released or expired gave back `micros`. */
  freeHeld(micros: number): void {
    this.#update("held_micros = held_micros - ?", micros);
  }

  /** Credits ran out at `now`: the owner has not been told of this episode yet. */
  markOut(now: number): void {
    this.#update("out_since = ?, out_notified_at = NULL", now);
  }

  /** Credits are back: the episode and its notice are over. */
  markRestored(): void {
    this.#update("out_since = NULL, out_notified_at = NULL");
  }

  markOwnerNotified(now: number): void {
    this.#update("out_notified_at = ?", now);
  }

  /** The owner was not told after all that credits ran out: the next trigger (or the hourly alert) tries again. */
  releaseOwnerNotified(): void {
    this.#update("out_notified_at = NULL");
  }

  /** The hourly alert of `hour` is this run's to send: null when an alert of this hour (or later) went out. */
  claimAlertHour(hour: number): { previous: number | null } | null {
    const previous = this.read()?.last_alert_hour ?? null;
    if (previous !== null && previous >= hour) return null;
    this.#update("last_alert_hour = ?", hour);
    return { previous };
  }

  /** Telegram refused the hourly alert: the hour is given back (unless another run took it meanwhile). */
  releaseAlertHour(hour: number, previous: number | null): void {
    this.#update("last_alert_hour = ? WHERE last_alert_hour = ?", previous, hour);
  }

  /** The early warning of this episode, claimed at the balance it is sent at. */
  claimLowWarning(kind: string, balanceMicros: number): void {
    this.#update("low_warning = ?, low_warning_micros = ?", kind, balanceMicros);
  }

  /** The episode is over: the next one is warned again. */
  endLowWarning(): void {
    this.#update("low_warning = NULL, low_warning_micros = NULL");
  }

  /** Telegram refused the warning: given back, unless another kind was claimed since. */
  releaseLowWarning(kind: string): void {
    this.#update("low_warning = NULL, low_warning_micros = NULL WHERE low_warning = ?", kind);
  }

  /**
   * The owner's notice that background work (`operation`) was refused by the floor is `day`'s to send: false
   * when that kind's notice of this day (or a later one) went out already. One row per kind in `floor_notices`.
   */
  claimFloorNotice(operation: string, day: number): boolean {
    return (
      this.sql
        .exec(
          `INSERT INTO floor_notices (operation, day) VALUES (?, ?)
           ON CONFLICT (operation) DO UPDATE SET day = excluded.day WHERE floor_notices.day < excluded.day
           RETURNING day`,
          operation,
          day,
        )
        .toArray().length > 0
    );
  }

  /** Telegram refused the notice: the day is given back (unless another claim took it meanwhile), so a later refusal tells. */
  releaseFloorNotice(operation: string, day: number): void {
    this.sql.exec("DELETE FROM floor_notices WHERE operation = ? AND day = ?", operation, day);
  }

  /** The owner's `/clientLimit`: micros per client and UTC day, 0 for no limit, null for the configured default. */
  setClientLimit(micros: number | null): void {
    this.#update("client_limit_micros = ?", micros);
  }

  /**
   * The language of the owner's latest message (Telegram's language_code): it becomes the owner's language
   * unless the owner chose one with /language. Writes only on a change, so most messages cost no write.
   */
  ownerLanguageSeen(lang: Lang): void {
    const row = this.read();
    if (!row || row.owner_lang_chosen === 1 || row.owner_lang === lang) return;
    this.#update("owner_lang = ?", lang);
  }

  /** `/language:xx`: the owner's choice, kept over the language_code of later messages. */
  chooseOwnerLanguage(lang: Lang): void {
    this.#update("owner_lang = ?, owner_lang_chosen = 1", lang);
  }

  /** The bot token sealed again under the current key, only over the value that was opened. */
  resealToken(resealed: string, opened: string): void {
    this.#update("bot_token_sealed = ? WHERE bot_token_sealed = ?", resealed, opened);
  }

  // The welcome (`account.welcome`, not in the cached row): 'due' from provisioning, 'sending' while one attempt
  // holds it, 'sent' once Telegram took it, 'deferred' when Telegram refused it (the owner never started the bot):
  // it goes with the owner's first message. NULL: an account from before the welcome, nothing to send.

  /** A new account: its welcome is to be sent. */
  welcomeDue(): void {
    this.sql.exec("UPDATE account SET welcome = 'due'");
  }

  /** This attempt is the one to send the welcome (compare-and-set): false when it was sent or is being sent. */
  claimWelcome(): boolean {
    return (
      this.sql.exec("UPDATE account SET welcome = 'sending' WHERE welcome IN ('due', 'deferred') RETURNING 1").toArray()
        .length > 0
    );
  }

  /** Telegram took the welcome: never again. */
  welcomeSent(): void {
    this.sql.exec("UPDATE account SET welcome = 'sent' WHERE welcome = 'sending'");
  }

  /** Telegram refused the welcome (or the attempt died with the object): it goes with the owner's next message. */
  welcomeDeferred(): void {
    this.sql.exec("UPDATE account SET welcome = 'deferred' WHERE welcome = 'sending'");
  }

  /** D1 confirmed the instance's registry row (see outbox.ts). */
  markRegistered(): void {
    if (this.read()?.registered !== 1) this.#update("registered = 1");
  }

  /** `set` is what follows `UPDATE account SET`; only the transitions above write it. */
  #update(set: string, ...bindings: SqlStorageValue[]): void {
    this.#cached.row = undefined;
    this.sql.exec(`UPDATE account SET ${set}`, ...bindings);
  }
}
