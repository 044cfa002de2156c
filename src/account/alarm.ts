import type { Ledger } from "../ledger/ledger";
import { describeError, log } from "../log";

/** An alarm still pending this long after its time is treated as stuck: the hourly visit arms it again. */
const OVERDUE_ALARM_MS = 10 * 60_000;

/**
 * The object's one alarm. The time is cached so the debit path never awaits `getAlarm()`; setting it is
 * never awaited either, and a failed set forgets the cached time so the next change tries again.
 */
export class AlarmClock {
  #at: number | null = null;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly ledger: Ledger,
  ) {}

  /** Once, when the object starts (inside `blockConcurrencyWhile`). */
  async load(): Promise<void> {
    this.#at = await this.storage.getAlarm();
  }

  /** The alarm is running: whatever it leaves undone arms a new one. */
  fired(): void {
    this.#at = null;
  }

  /** Sets the alarm if `at` is earlier than the one pending. */
  arm(at: number): void {
    if (this.#at !== null && this.#at <= at) return;
    this.#at = at;
    this.storage.setAlarm(at).catch((error: unknown) => {
      if (this.#at === at) this.#at = null;
      log("error", "set_alarm_failed", { instanceId: this.ledger.account()?.instance_id, error: describeError(error) });
    });
  }

  /** The earliest of the reasons to wake up, if any. */
  armEarliest(candidates: readonly (number | null)[]): void {
    const times = candidates.filter((t): t is number => t !== null);
    if (times.length > 0) this.arm(Math.min(...times));
  }

  /**
   * Asks storage, not the cached copy: a failed `setAlarm`, or an alarm dropped after its retries, leaves
   * that copy wrong, and one long overdue is forgotten so the caller arms it again.
   */
  async refresh(now: number): Promise<void> {
    const pending = await this.storage.getAlarm();
    this.#at = pending !== null && pending > now - OVERDUE_ALARM_MS ? pending : null;
  }
}
