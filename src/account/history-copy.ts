import type { Ledger } from "../ledger/ledger";
import { flushOutbox, hasPendingHistory, logFlushFailure, type Projection, writeProjection } from "../ledger/outbox";
import { backoffMs } from "../ledger/rules";
import { describeError, log } from "../log";

/**
 * The copy of this object's ledger and registry row to D1 (history, the projection cron reads, the
 * registry). The object is the source of truth; D1 only ever catches up, and a failed copy backs off.
 */
export class HistoryCopy {
  #failures = 0;

  constructor(
    private readonly sql: SqlStorage,
    private readonly db: D1Database,
    private readonly ledger: Ledger,
    private readonly tx: <T>(fn: () => T) => T,
  ) {}

  /** Ledger entries D1 has not confirmed yet. */
  pending(): boolean {
    return hasPendingHistory(this.sql);
  }

  /**
   * Copies what is pending, and the registry row D1 has not confirmed yet (provisioning's write failed).
   * Returns when to try again: now if more is left, after a backoff if D1 failed, else null.
   */
  async flush(): Promise<number | null> {
    const account = this.ledger.account();
    if (!account || (!this.pending() && account.registered === 1)) return null;
    try {
      const flushed = await flushOutbox(this.sql, this.db, account.instance_id, this.#projection());
      this.tx(() => this.ledger.row.markRegistered());
      this.#failures = 0;
      return flushed.more ? Date.now() : null;
    } catch (error) {
      this.#failures += 1;
      logFlushFailure(account.instance_id, this.#failures, error);
      return Date.now() + backoffMs(this.#failures);
    }
  }

  /** Failed copies in a row: other alarm work backs off at least as long. */
  failures(): number {
    return this.#failures;
  }

  /**
   * Cron found this object through the D1 projection; if the object is not out of credits after all
   * (the row lags, or a released hold changed it without a ledger entry), the row is corrected now so
   * the next run does not visit it again. With history pending, the alarm's copy carries it instead.
   */
  async repairProjection(): Promise<void> {
    const account = this.ledger.account();
    if (!account || this.pending()) return;
    try {
      await writeProjection(this.db, account.instance_id, this.#projection());
      this.ledger.row.markRegistered();
    } catch (error) {
      log("warn", "projection_repair_failed", { instanceId: account.instance_id, error: describeError(error) });
    }
  }

  /** What D1's registry row says of this instance (see outbox.ts). */
  #projection(): Projection {
    const account = this.ledger.account();
    if (!account) throw new Error("instance not provisioned");
    const view = this.ledger.view();
    return {
      balanceMicros: view.balanceMicros,
      outOfCredits: view.outOfCredits,
      seq: this.ledger.lastSeq(),
      registry: {
        ownerTelegramId: account.owner_telegram_id,
        license: account.license,
        botTokenSealed: account.bot_token_sealed,
        webhookSecretHash: account.webhook_secret_hash,
        apiKeyHash: account.api_key_hash,
        createdAt: account.created_at,
      },
    };
  }
}
