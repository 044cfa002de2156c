import type { AutoRechargeView } from "../ledger/types";

/**
 * The auto-recharge settings of one CreditAccount (`billing` table, one row): the Stripe customer, the
 * saved card, top-up and threshold, and the state of automatic recharges. Every change is a named
 * transition here; nothing else writes the row.
 */

export interface BillingRow extends Record<string, SqlStorageValue> {
  customer_id: string | null;
  payment_method_id: string | null;
  card_brand: string | null;
  card_last4: string | null;
  top_up_micros: number | null;
  recharge_at_micros: number | null;
  auto_enabled: number;
  status: "active" | "failing" | "needs_confirmation" | "daily_limit";
  pending_session_id: string | null;
  pending_top_up_micros: number | null;
  pending_recharge_at_micros: number | null;
  daily_limit_notified_day: number | null;
  /** 1 when the next drop to the threshold may start an automatic recharge (one per crossing). */
  recharge_armed: number;
  /** When the link of the saved card was asked for (ms): an older link never replaces its card. */
  card_requested_at: number | null;
}

export interface SavedCard {
  sessionId: string;
  paymentMethodId: string;
  brand: string | null;
  last4: string | null;
  topUpMicros: number;
  rechargeAtMicros: number;
  /** When its link was asked for (ms); for a link made before this was recorded: now. */
  requestedAt?: number;
}

export class BillingSettings {
  /**
   * The row as last read (undefined: read it again). Every write goes through `#set`, and the object
   * forgets the copy when a transaction rolls back (`forgetCachedRow`); every debit reads the settings
   * for the recharge trigger, so this saves the hot path a read.
   */
  #row: BillingRow | undefined;

  constructor(private readonly sql: SqlStorage) {}

  row(): BillingRow {
    this.#row ??= this.sql
      .exec<BillingRow>(
        `SELECT customer_id, payment_method_id, card_brand, card_last4, top_up_micros, recharge_at_micros, auto_enabled,
                status, pending_session_id, pending_top_up_micros, pending_recharge_at_micros, daily_limit_notified_day,
                recharge_armed, card_requested_at
         FROM billing`,
      )
      .one();
    return this.#row;
  }

  forgetCachedRow(): void {
    this.#row = undefined;
  }

  /**
   * The part of the view the spending rules need, from a row already read (no extra query). Off with a card
   * link open is `pending_card`, and shows the settings that link was made with (they apply when the card
   * is saved); off without one is the owner's `/stopCredits` (the card and the settings stay).
   */
  static settingsOf(b: BillingRow): Pick<AutoRechargeView, "enabled" | "status" | "rechargeAtMicros"> | null {
    if (b.top_up_micros === null && b.pending_session_id === null) return null;
    const pending = BillingSettings.showsPending(b);
    return {
      enabled: b.auto_enabled === 1,
      status: pending ? "pending_card" : b.status,
      rechargeAtMicros: (pending ? b.pending_recharge_at_micros : b.recharge_at_micros) ?? b.recharge_at_micros ?? 0,
    };
  }

  /** Auto-recharge is off and a card link is open: what the owner sees are that link's settings. */
  static showsPending(b: BillingRow): boolean {
    return b.auto_enabled !== 1 && b.pending_session_id !== null;
  }

  // ---------------------------------------------------------------- transitions

  /** The customer is created once; a second writer keeps the first id. */
  customerCreated(customerId: string): string {
    this.#set("customer_id = COALESCE(customer_id, ?)", customerId);
    return this.row().customer_id ?? customerId;
  }

  /** `/setupCredits`: a card link is waiting; the settings apply when that card is saved. */
  cardRequested(sessionId: string, topUpMicros: number, rechargeAtMicros: number): void {
    this.#set(
      "pending_session_id = ?, pending_top_up_micros = ?, pending_recharge_at_micros = ?",
      sessionId,
      topUpMicros,
      rechargeAtMicros,
    );
  }

  /**
   * A card link was completed: the card and the settings it was made with apply, and the next drop to the
   * threshold may recharge (the owner was told what saving the card does at once). Guarded on the saved
   * card's link: a link older than that one changes nothing (null). The pending link is cleared only if it
   * is still this one (compare-and-set): a `/setupCredits` sent meanwhile stays pending. Returns whether a
   * newer link is still waiting.
   */
  cardSaved(card: SavedCard): { newerPending: boolean } | null {
    this.#row = undefined;
    const requestedAt = card.requestedAt ?? Date.now();
    const saved = this.sql
      .exec(
        `UPDATE billing SET payment_method_id = ?, card_brand = ?, card_last4 = ?, top_up_micros = ?,
           recharge_at_micros = ?, auto_enabled = 1, status = 'active', recharge_armed = 1, card_requested_at = ?,
           pending_session_id = CASE WHEN pending_session_id = ? THEN NULL ELSE pending_session_id END
         WHERE card_requested_at IS NULL OR card_requested_at <= ? RETURNING 1`,
        card.paymentMethodId,
        card.brand,
        card.last4,
        card.topUpMicros,
        card.rechargeAtMicros,
        requestedAt,
        card.sessionId,
        requestedAt,
      )
      .toArray().length;
    if (!saved) return null;
    return { newerPending: this.row().pending_session_id !== null };
  }

  /** `checkout.session.expired` of the pending card link: nothing to wait for any more. */
  cardLinkExpired(sessionId: string): boolean {
    this.#row = undefined;
    return (
      this.sql
        .exec(
          `UPDATE billing SET pending_session_id = NULL, pending_top_up_micros = NULL, pending_recharge_at_micros = NULL
           WHERE pending_session_id = ? RETURNING 1`,
          sessionId,
        )
        .toArray().length > 0
    );
  }

  /** `/changeCreditsTopUp`: only with a saved card; turns auto-recharge on again after `/stopCredits`. */
  settingsChanged(topUpMicros: number, rechargeAtMicros: number): boolean {
    const b = this.row();
    if (!b.payment_method_id) return false;
    this.#set("top_up_micros = ?, recharge_at_micros = ?, auto_enabled = 1", topUpMicros, rechargeAtMicros);
    return true;
  }

  /**
   * `/stopCredits`: no automatic recharge starts from now on. The card, the settings and a recharge already
   * in flight stay (it finishes); `/changeCreditsTopUp` or a saved card turns it on again.
   */
  autoStopped(): boolean {
    if (this.row().auto_enabled !== 1) return false;
    this.#set("auto_enabled = 0");
    return true;
  }

  /**
   * The next drop to the threshold may start an automatic recharge: the balance has been above the
   * threshold, or the owner changed the settings and was told what they do at once.
   */
  rechargeArmed(): void {
    if (this.row().recharge_armed === 1) return;
    this.#row = undefined;
    this.sql.exec("UPDATE billing SET recharge_armed = 1 WHERE recharge_armed = 0");
  }

  /** An automatic recharge starts, the one of this crossing (compare-and-set); false when it had one. */
  rechargeStarted(): boolean {
    this.#row = undefined;
    return (
      this.sql.exec("UPDATE billing SET recharge_armed = 0 WHERE recharge_armed = 1 RETURNING 1").toArray().length > 0
    );
  }

  /** Where Stripe emails the invoices, as this account knows it (not in the cached row: read when needed). */
  invoiceEmail(): string | null {
    return this.sql.exec<{ invoice_email: string | null }>("SELECT invoice_email FROM billing").one().invoice_email;
  }

  /** The owner's choice (`ownerEmail` at provisioning, `/invoiceEmail`): it replaces any earlier one. */
  invoiceEmailSet(email: string): void {
    this.#set("invoice_email = ?", email);
  }

  /** The email Checkout collected: kept only when none was set (Stripe does the same on the customer). */
  invoiceEmailCollected(email: string): boolean {
    this.#row = undefined;
    return (
      this.sql.exec("UPDATE billing SET invoice_email = ? WHERE invoice_email IS NULL RETURNING 1", email).toArray()
        .length > 0
    );
  }

  failing(): void {
    this.#set("status = 'failing'");
  }

  needsConfirmation(): void {
    this.#set("status = 'needs_confirmation'");
  }

  /** A payment went through: a card trouble is over (a daily limit is not: it ends with the day). */
  paymentWentThrough(): void {
    const status = this.row().status;
    if (status === "failing" || status === "needs_confirmation") this.#set("status = 'active'");
  }

  /** The daily limit stopped a recharge; true the first time that day (the owner is told once). */
  dailyLimitReached(day: number): boolean {
    const b = this.row();
    if (b.status !== "daily_limit") this.#set("status = 'daily_limit'");
    if (b.daily_limit_notified_day === day) return false;
    this.#set("daily_limit_notified_day = ?", day);
    return true;
  }

  dailyLimitOver(): void {
    if (this.row().status === "daily_limit") this.#set("status = 'active'");
  }

  #set(assignments: string, ...bindings: SqlStorageValue[]): void {
    this.#row = undefined;
    this.sql.exec(`UPDATE billing SET ${assignments}`, ...bindings);
  }
}
