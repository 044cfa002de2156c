import type { Billing } from "../billing/billing";
import { type BillingRow, BillingSettings } from "../billing/settings";
import type { Config } from "../env";
import type { AccountRow, Ledger } from "../ledger/ledger";
import { dayOf, type EarlyWarning, earlyWarning, isOutOfCredits, runwayHours } from "../ledger/rules";
import { type AutoRechargeView, isBackground, type Operation } from "../ledger/types";
import { inBackground } from "../log";
import { outOfCredits } from "../telegram/bot";
import { type Catalogue, textsIn } from "../telegram/texts";

/**
 * The one path for the owner's balance alerts: "out of credits" at once and every hour, the early
 * warnings (once per episode), and the ✅ when credits come back. Each alert is claimed in the account
 * row before it is sent and given back if Telegram refuses it, so a retry (the next debit, the next
 * hourly run) sends it then, and never twice.
 */

/** An early warning claimed in the account row, to be sent after the transaction. */
export interface WarningClaim {
  kind: EarlyWarning;
  balanceMicros: number;
  runway: number | null;
  autoRecharge: AutoRechargeView | null;
}

/** What a balance change decided inside its transaction; the owner is told after it committed. */
export interface BalanceEffects {
  recharge: "started" | "daily_limit" | null;
  transition: "ran_out" | "restored" | null;
  warning: WarningClaim | null;
}

/** The account state a caller already read (or just computed) in the current transaction. */
export interface KnownBalance {
  account: AccountRow;
  balanceMicros: number;
  heldMicros: number;
}

export interface AlertPorts {
  tx<T>(fn: () => T): T;
  /**
   * Sends to the owner's chat, after the owner's earlier messages; false when Telegram did not take it.
   * `stillTrue` is asked before every attempt: a message whose fact ended while it waited is dropped.
   */
  notify(text: string, stillTrue?: () => boolean): Promise<boolean>;
}

export class Alerts {
  constructor(
    private readonly sql: SqlStorage,
    private readonly ledger: Ledger,
    private readonly billing: Billing,
    private readonly config: Config,
    private readonly ports: AlertPorts,
  ) {}

  /** The owner's catalogue: alerts use the owner's language. */
  ownerTexts(): Catalogue {
    return textsIn(this.ledger.ownerLang());
  }

  /**
   * Inside the transaction of a balance change (SPEC: the recharge trigger is evaluated after every
   * decrease): the recharge trigger, the out-of-credits transition and the early-warning claim, from
   * the account and billing rows read once. `known` is what the debit already read and computed.
   */
  balanceChanged(now: number, known?: KnownBalance): BalanceEffects {
    const account = known?.account ?? this.ledger.account();
    if (!account) return { recharge: null, transition: null, warning: null };
    const balanceMicros = known?.balanceMicros ?? account.balance_micros;
    const heldMicros = known?.heldMicros ?? account.held_micros;
    const billing = this.billing.row();
    const recharge = this.billing.startRechargeIfDue(now, { row: billing, balanceMicros });
    const transition = this.ledger.trackOutOfCredits(now, {
      outSince: account.out_since,
      availableMicros: balanceMicros - heldMicros,
    });
    const warning = this.#claimEarlyWarning(now, account, billing, balanceMicros, heldMicros);
    return { recharge, transition, warning };
  }

  /** After the change committed: the owner hears of the transition and the warning. Not awaited by callers. */
  announce(now: number, effects: BalanceEffects): void {
    if (effects.transition === "ran_out") this.ranOut(now);
    else if (effects.transition === "restored")
      this.#inBackground(this.ports.notify(this.ownerTexts().creditsRestored(this.ledger.view().balanceMicros)));
    if (effects.warning) this.#inBackground(this.#sendEarlyWarning(effects.warning));
  }

  #inBackground(work: Promise<unknown>): void {
    inBackground(work, "owner_alert_failed", { instanceId: this.ledger.account()?.instance_id });
  }

  #outNow(autoRecharge: AutoRechargeView | null): string {
    const out = outOfCredits(autoRecharge);
    return this.ownerTexts().outOfCreditsNow(this.ledger.view().balanceMicros, out.reason, out.details);
  }

  /** Credits just ran out (or a client's message found none): the owner is told once per episode. Not awaited. */
  ranOut(now: number): void {
    this.#inBackground(this.#ranOut(now));
  }

  async #ranOut(now: number): Promise<void> {
    const account = this.ledger.account();
    if (!account || account.out_notified_at !== null) return;
    this.ports.tx(() => this.ledger.row.markOwnerNotified(now));
    const autoRecharge = this.billing.view();
    const sent = await this.ports.notify(this.#outNow(autoRecharge), this.#sameEpisode(account.out_since));
    if (!sent) this.ports.tx(() => this.ledger.row.releaseOwnerNotified());
  }

  /**
   * The hourly alert: at most one per clock hour (a retried, overlapping or late cron run finds the hour
   * taken). Returns "not_out" when the instance is not out of credits or the hour's alert went out.
   */
  async hourly(nowMs: number): Promise<"alerted" | "not_out" | "failed"> {
    const hour = Math.floor(nowMs / 3_600_000);
    const claim = this.ports.tx(() => {
      this.ledger.expireHolds(Date.now());
      this.ledger.trackOutOfCredits(Date.now());
      if (!this.ledger.account() || !this.ledger.view().outOfCredits) return null;
      return this.ledger.row.claimAlertHour(hour);
    });
    if (!claim) return "not_out";
    const account = this.ledger.account();
    const autoRecharge = this.billing.view();
    const unanswered = this.sql
      .exec<{ n: number }>(
        "SELECT COALESCE(SUM(count), 0) AS n FROM usage_hourly WHERE operation = 'unanswered' AND hour >= ?",
        Math.floor((account?.out_since ?? nowMs) / 3_600_000),
      )
      .one().n;
    const out = outOfCredits(autoRecharge);
    const sent = await this.ports.notify(
      this.ownerTexts().outOfCreditsHourly(this.ledger.view().balanceMicros, out.reason, {
        ...out.details,
        unanswered,
      }),
      this.#sameEpisode(account?.out_since ?? null),
    );
    if (sent) return "alerted";
    this.ports.tx(() => this.ledger.row.releaseAlertHour(hour, claim.previous));
    return "failed";
  }

  /**
   * Early warnings (SPEC "Alerts"), once per episode: the kind is claimed in the account row before
   * sending (given back if Telegram fails) and the episode ends only when credits come back above
   * the balance it was sent at, or the cause is fixed, so a busy bot's debits never repeat it.
   */
  async earlyWarning(now: number): Promise<void> {
    const claim = this.ports.tx(() => {
      const account = this.ledger.account();
      if (!account) return null;
      return this.#claimEarlyWarning(now, account, this.billing.row(), account.balance_micros, account.held_micros);
    });
    if (claim) await this.#sendEarlyWarning(claim);
  }

  /**
   * Background work (know-how, role) was refused by the floor: the pipeline got a 402 and the owner would
   * never know. The owner is told once a UTC day per kind, with the balance, the floor and the fix: the day
   * is claimed before sending and given back if Telegram refuses it, so a later refusal tells instead.
   */
  backgroundRefused(now: number, operation: Operation, costMicros: number): void {
    this.#inBackground(this.#backgroundRefused(now, operation, costMicros));
  }

  async #backgroundRefused(now: number, operation: Operation, costMicros: number): Promise<void> {
    if (!isBackground(operation)) return;
    const day = dayOf(now);
    const claimed = this.ports.tx(() => this.ledger.row.claimFloorNotice(operation, day));
    if (!claimed) return;
    const sent = await this.ports.notify(
      this.ownerTexts().backgroundRefused({
        operation: operation as Exclude<Operation, "response">,
        costMicros,
        availableMicros: this.ledger.view().availableMicros,
        floorMicros: this.config.backgroundFloorMicros,
        autoRecharge: this.billing.view(),
      }),
    );
    if (!sent) this.ports.tx(() => this.ledger.row.releaseFloorNotice(operation, day));
  }

  /**
   * Billing just told the owner a recharge failed or needs confirmation. At or below the threshold that
   * message is this episode's early warning: a second one moments later would be noise.
   */
  troubleNotified(): void {
    this.ports.tx(() => {
      const account = this.ledger.account();
      const ar = this.billing.view();
      if (!account || account.low_warning !== null || !ar?.enabled) return;
      const { balanceMicros } = this.ledger.view();
      if (balanceMicros <= ar.rechargeAtMicros) this.ledger.row.claimLowWarning("recharge_failing", balanceMicros);
    });
  }

  /**
   * The early-warning decision inside a transaction, from rows already read. The full auto-recharge
   * view (with the confirmation link) is read only when a warning is claimed.
   */
  #claimEarlyWarning(
    now: number,
    account: AccountRow,
    billing: BillingRow,
    balanceMicros: number,
    heldMicros: number,
  ): WarningClaim | null {
    const outOfCredits = isOutOfCredits(balanceMicros - heldMicros, this.config.answerWorstCaseMicros);
    const autoRecharge = BillingSettings.settingsOf(billing);
    const warned = account.low_warning;
    // The runway query runs only when its answer can change something.
    // A balance of at least a day's spend (by an upper bound kept in memory) has a day of runway: no query.
    const runway =
      autoRecharge?.enabled ||
      (warned !== null && balanceMicros <= (account.low_warning_micros ?? 0)) ||
      balanceMicros >= this.ledger.rollups.daySpendAtMost(now)
        ? null
        : runwayHours(balanceMicros, this.ledger.rollups.spendOverHours(now, 24), 24);
    const kind = earlyWarning({ outOfCredits, balanceMicros, autoRecharge, runwayHours: runway });
    if (warned !== null) {
      // The episode ends when the cause is gone: the card works again, auto-recharge was turned on,
      // or credits came back above where the warning was sent.
      const over =
        kind === null &&
        !outOfCredits &&
        (warned === "recharge_failing" ||
          autoRecharge?.enabled === true ||
          balanceMicros > (account.low_warning_micros ?? 0));
      if (over) this.ledger.row.endLowWarning();
      return null;
    }
    if (kind === null) return null;
    this.ledger.row.claimLowWarning(kind, balanceMicros);
    return { kind, balanceMicros, runway, autoRecharge: this.billing.view() };
  }

  /** True while the out-of-credits episode that began at `outSince` goes on. */
  #sameEpisode(outSince: number | null): () => boolean {
    return () => {
      const account = this.ledger.account();
      return account !== null && account.out_since !== null && account.out_since === outSince;
    };
  }

  async #sendEarlyWarning(claim: WarningClaim): Promise<void> {
    const ar = claim.autoRecharge;
    const sent = await this.ports.notify(
      this.ownerTexts().lowCreditsWarning(claim.balanceMicros, claim.kind, {
        ...(claim.kind === "runway_short" ? { runwayHours: claim.runway } : {}),
        confirmUrl: ar?.confirmUrl ?? null,
        ...(ar
          ? { topUpMicros: ar.topUpMicros, rechargeAtMicros: ar.rechargeAtMicros, cardSaved: ar.cardSaved === true }
          : {}),
      }),
    );
    if (!sent) this.ports.tx(() => this.ledger.row.releaseLowWarning(claim.kind));
  }
}
