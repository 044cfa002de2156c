/**
 * The recharge state machine of one CreditAccount (`recharges` table; diagram in docs/billing.md).
 *
 *   auto:   pending/invoice → pending/item → pending/finalize → pending/pay ─┬→ paid
 *                                                                           ├→ failed  (hard decline, gave up)
 *                                                                           └→ open    (owner must confirm)
 *           open | failed ──(new card)──→ pending/pay;  open | failed ──(Stripe says paid)──→ paid
 *           open | failed ──(new card, balance above the threshold: voided at Stripe)──→ void
 *   manual: open/checkout ──→ paid | expired
 *
 * Every change is a named transition guarded on the state it expects: an `UPDATE … WHERE id = ? AND
 * status IN (…) [AND step = ? AND attempts = ?] RETURNING *`. A transition that finds another state
 * (a late answer of Stripe after a webhook settled the recharge, a second driver of the same step)
 * changes nothing and returns null, and its caller tells nobody. `paid`, `expired` and `void` are final.
 * Nothing outside this file writes the table.
 */

import { PAYABLE_AFTER_FAILURE_MS, type RechargeRow, type RechargeStatus, type RechargeStep } from "./recharge-row";

export { PAYABLE_AFTER_FAILURE_MS, type RechargeRow, type RechargeStatus, type RechargeStep };

/** The columns a transition may set; values only, never SQL. */
type Changes = Partial<
  Pick<
    RechargeRow,
    | "status"
    | "step"
    | "invoice_id"
    | "hosted_url"
    | "pdf_url"
    | "paid_micros"
    | "failure_code"
    | "attempts"
    | "next_attempt_at"
    | "pay_key"
    | "key_attempt"
  >
>;

/** The state a transition expects: one of `status`, and when given, exactly this step and attempt count. */
interface Expected {
  status: readonly RechargeStatus[];
  step?: RechargeStep;
  attempts?: number;
}

/** A row as read before a Stripe call: the driver's transitions expect it unchanged. */
type Read = Pick<RechargeRow, "id" | "status" | "step" | "attempts">;

const asRead = (r: Read): Expected => ({ status: [r.status], step: r.step, attempts: r.attempts });

export class Recharges {
  constructor(private readonly sql: SqlStorage) {}

  // ---------------------------------------------------------------- reading

  get(id: string): RechargeRow | null {
    return this.sql.exec<RechargeRow>("SELECT * FROM recharges WHERE id = ?", id).toArray()[0] ?? null;
  }

  byInvoice(invoiceId: string): RechargeRow | null {
    return this.sql.exec<RechargeRow>("SELECT * FROM recharges WHERE invoice_id = ?", invoiceId).toArray()[0] ?? null;
  }

  byCheckoutSession(sessionId: string): RechargeRow | null {
    return (
      this.sql.exec<RechargeRow>("SELECT * FROM recharges WHERE checkout_session_id = ?", sessionId).toArray()[0] ??
      null
    );
  }

  /** Automatic recharges whose Stripe steps are due, oldest first. */
  due(now: number, limit: number): RechargeRow[] {
    return this.sql
      .exec<RechargeRow>(
        "SELECT * FROM recharges WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY created_at LIMIT ?",
        now,
        limit,
      )
      .toArray();
  }

  nextDueAt(): number | null {
    return this.sql
      .exec<{ t: number | null }>("SELECT MIN(next_attempt_at) AS t FROM recharges WHERE status = 'pending'")
      .one().t;
  }

  /** At most one automatic recharge is in flight: being charged, or waiting on the owner's confirmation. */
  autoInFlight(): boolean {
    return (
      this.sql.exec("SELECT 1 FROM recharges WHERE kind = 'auto' AND status IN ('pending', 'open') LIMIT 1").toArray()
        .length > 0
    );
  }

  autoPending(): boolean {
    return (
      this.sql.exec("SELECT 1 FROM recharges WHERE kind = 'auto' AND status = 'pending' LIMIT 1").toArray().length > 0
    );
  }

  autoStartedSince(at: number): number {
    return this.sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM recharges WHERE kind = 'auto' AND created_at >= ?", at)
      .one().n;
  }

  /** The hosted link of the automatic recharge waiting on the owner's confirmation, if any. */
  confirmUrl(): string | null {
    return (
      this.sql
        .exec<{ hosted_url: string | null }>(
          "SELECT hosted_url FROM recharges WHERE kind = 'auto' AND status = 'open' ORDER BY created_at DESC LIMIT 1",
        )
        .toArray()[0]?.hosted_url ?? null
    );
  }

  /** The latest unpaid automatic invoice (declined or awaiting confirmation) that a new card may pay. */
  unpaidAuto(): RechargeRow | null {
    return (
      this.sql
        .exec<RechargeRow>(
          `SELECT * FROM recharges WHERE kind = 'auto' AND status IN ('open', 'failed') AND invoice_id IS NOT NULL
             AND hosted_url IS NOT NULL ORDER BY created_at DESC LIMIT 1`,
        )
        .toArray()[0] ?? null
    );
  }

  latest(): RechargeRow | null {
    return this.newest(1)[0] ?? null;
  }

  /** The newest `limit` recharges and top-ups (an index range on `created_at`). */
  newest(limit: number): RechargeRow[] {
    return this.sql.exec<RechargeRow>("SELECT * FROM recharges ORDER BY created_at DESC LIMIT ?", limit).toArray();
  }

  /** Recharges waiting on Stripe or the owner with an invoice: the hourly run asks Stripe about them. */
  /**
   * Invoices Stripe may still collect: open ones (waiting on the owner's confirmation), and those of recharges
   * that failed at the pay step (declined, or given up) in the last `PAYABLE_AFTER_FAILURE_MS`: the invoice
   * stays open at Stripe, and the owner can pay it on its hosted page (Stripe's email links it). Its
   * `invoice.paid` may be lost; the hourly run asks Stripe, so the payment is credited all the same.
   */
  openInvoices(limit: number, now: number): RechargeRow[] {
    return this.sql
      .exec<RechargeRow>(
        `SELECT * FROM recharges WHERE invoice_id IS NOT NULL
           AND (status = 'open' OR (status = 'failed' AND step = 'pay' AND updated_at > ?
                AND failure_code NOT IN ('currency_mismatch', 'amount_mismatch')))
         ORDER BY created_at LIMIT ?`,
        now - PAYABLE_AFTER_FAILURE_MS,
        limit,
      )
      .toArray();
  }

  /** Top-ups whose Checkout session has not completed or expired yet, whatever their age. */
  openCheckouts(limit: number): RechargeRow[] {
    return this.sql
      .exec<RechargeRow>(
        "SELECT * FROM recharges WHERE status = 'open' AND step = 'checkout' ORDER BY created_at LIMIT ?",
        limit,
      )
      .toArray();
  }

  unsynced(limit: number): RechargeRow[] {
    return this.sql
      .exec<RechargeRow>("SELECT * FROM recharges WHERE synced = 0 ORDER BY created_at LIMIT ?", limit)
      .toArray();
  }

  /** Only rows unchanged since they were read are marked: a change in between is copied next time. */
  markSynced(rows: readonly RechargeRow[]): void {
    for (const r of rows)
      this.sql.exec("UPDATE recharges SET synced = 1 WHERE id = ? AND updated_at = ?", r.id, r.updated_at);
  }

  // ---------------------------------------------------------------- creating

  /** An automatic recharge, recorded before the first Stripe call (its id derives every idempotency key). */
  startAuto(amountMicros: number, now: number): string {
    const id = newRechargeId();
    this.sql.exec(
      `INSERT INTO recharges (id, kind, amount_micros, status, step, pay_key, next_attempt_at, created_at, updated_at)
       VALUES (?, 'auto', ?, 'pending', 'invoice', ?, ?, ?, ?)`,
      id,
      amountMicros,
      `${id}:pay`,
      now,
      now,
      now,
    );
    return id;
  }

  /** A one-off top-up waiting on its Checkout session. */
  openTopUp(id: string, amountMicros: number, sessionId: string, now: number): void {
    this.sql.exec(
      `INSERT INTO recharges (id, kind, amount_micros, status, step, checkout_session_id, pay_key, created_at, updated_at)
       VALUES (?, 'manual', ?, 'open', 'checkout', ?, ?, ?, ?)`,
      id,
      amountMicros,
      sessionId,
      `${id}:pay`,
      now,
      now,
    );
  }

  // ---------------------------------------------------------------- the driver's transitions (expect the row as read)

  invoiceCreated(r: Read, invoiceId: string): RechargeRow | null {
    return this.#move(
      r.id,
      { ...asRead(r), step: "invoice" },
      { invoice_id: invoiceId, step: "item", attempts: 0, key_attempt: 0 },
    );
  }

  itemAdded(r: Read): RechargeRow | null {
    return this.#move(r.id, { ...asRead(r), step: "item" }, { step: "finalize", attempts: 0, key_attempt: 0 });
  }

  finalized(r: Read, links: { hostedUrl: string | null; pdfUrl: string | null }): RechargeRow | null {
    return this.#move(
      r.id,
      { ...asRead(r), step: "finalize" },
      { step: "pay", attempts: 0, key_attempt: 0, hosted_url: links.hostedUrl, pdf_url: links.pdfUrl },
    );
  }

  /**
   * A transient failure: the same step again at `at`. After a timeout the key stays (Stripe replays the
   * first request's answer); after a 5xx answer, which Stripe saved under the key, the next call takes a new one.
   */
  retryLater(r: Read, at: number, answered5xx: boolean): RechargeRow | null {
    return this.#move(r.id, asRead(r), {
      attempts: r.attempts + 1,
      next_attempt_at: at,
      ...(answered5xx ? { key_attempt: r.attempts + 1 } : {}),
    });
  }

  /** Stripe closed a failed recharge's invoice (void, uncollectible): nothing is payable any more. */
  invoiceClosed(r: Read): RechargeRow | null {
    return this.#move(r.id, { ...asRead(r), status: ["failed"], step: "pay" }, { step: "done" });
  }

  /** A hard decline of the pay call: no retry until the owner saves a new card. */
  declined(r: Read, code: string): RechargeRow | null {
    return this.#move(r.id, { ...asRead(r), step: "pay" }, { status: "failed", failure_code: code });
  }

  /** The pay call needs the owner's confirmation (3-D Secure) on the invoice's hosted page. */
  needsConfirmation(r: Read): RechargeRow | null {
    return this.#move(r.id, { ...asRead(r), step: "pay" }, { status: "open", failure_code: "authentication_required" });
  }

  /** A step that kept failing (or was refused for good): given up, the owner told once. */
  gaveUp(r: Read): RechargeRow | null {
    return this.#move(r.id, asRead(r), {
      status: "failed",
      failure_code: "stripe_error",
      attempts: r.attempts + 1,
    });
  }

  // ---------------------------------------------------------------- transitions from Stripe's word (any reader)

  /** `invoice.payment_action_required`: a pay attempt of this invoice waits on the owner. */
  confirmationRequested(id: string, invoiceId: string, hostedUrl: string | null): RechargeRow | null {
    const r = this.get(id);
    if (!r || r.invoice_id !== invoiceId) return null;
    return this.#move(
      id,
      { status: ["pending", "open"] },
      { status: "open", failure_code: "authentication_required", hosted_url: hostedUrl ?? r.hosted_url },
    );
  }

  /**
   * Stripe says the invoice is paid: the one way into `paid`, from any unpaid state (a declined invoice
   * the owner paid on its hosted page is paid too). Returns null when the recharge is already paid.
   */
  markPaid(
    id: string,
    invoice: { id: string; paidMicros: number; hostedUrl: string | null; pdfUrl: string | null },
  ): RechargeRow | null {
    const r = this.get(id);
    if (!r || (r.invoice_id !== null && r.invoice_id !== invoice.id)) return null;
    return this.#move(
      id,
      { status: ["pending", "open", "failed"] },
      {
        status: "paid",
        step: "done",
        invoice_id: invoice.id,
        paid_micros: invoice.paidMicros,
        hosted_url: invoice.hostedUrl ?? r.hosted_url,
        pdf_url: invoice.pdfUrl ?? r.pdf_url,
        failure_code: null,
      },
    );
  }

  /** A paid invoice that does not match its recharge (currency, amount): never credited, left for the operator. */
  refused(id: string, code: "currency_mismatch" | "amount_mismatch"): RechargeRow | null {
    return this.#move(id, { status: ["pending", "open", "failed"] }, { status: "failed", failure_code: code });
  }

  /** A new card retries an unpaid invoice with a new pay key (Stripe would replay the declined answer under the old). */
  retryWithNewCard(id: string, paymentMethodId: string, now: number): RechargeRow | null {
    return this.#move(
      id,
      { status: ["open", "failed"] },
      {
        status: "pending",
        step: "pay",
        pay_key: `${id}:pay:${paymentMethodId}`,
        attempts: 0,
        key_attempt: 0,
        next_attempt_at: now,
      },
    );
  }

  /**
   * A new card was saved while the balance is above the threshold (or another recharge is on its way): the
   * unpaid invoice was voided at Stripe, so it can never be paid; the recharge ends. Final, like `paid`.
   */
  voided(id: string): RechargeRow | null {
    return this.#move(id, { status: ["open", "failed"] }, { status: "void", step: "done" });
  }

  /** `checkout.session.expired`: the top-up was never paid; nothing stays open for ever. */
  expired(id: string): RechargeRow | null {
    return this.#move(id, { status: ["open"], step: "checkout" }, { status: "expired", step: "done" });
  }

  /** Refunds and lost disputes are counted on the paid recharge (never above what was paid). */
  tookBack(id: string, micros: number): void {
    this.sql.exec(
      `UPDATE recharges SET refunded_micros = refunded_micros + ?, updated_at = ?, synced = 0
       WHERE id = ? AND status = 'paid'`,
      micros,
      Date.now(),
      id,
    );
  }

  /** A won dispute gives back what it took. */
  gaveBack(id: string, micros: number): void {
    this.sql.exec(
      `UPDATE recharges SET refunded_micros = MAX(0, refunded_micros - ?), updated_at = ?, synced = 0
       WHERE id = ? AND status = 'paid'`,
      micros,
      Date.now(),
      id,
    );
  }

  /** The compare-and-set every transition is: the row after it, or null when the state was another. */
  #move(id: string, from: Expected, to: Changes): RechargeRow | null {
    const columns = Object.keys(to) as (keyof Changes)[];
    const set = columns.map((c) => `${c} = ?`).join(", ");
    const where = [`id = ?`, `status IN (${from.status.map(() => "?").join(", ")})`];
    const bindings: SqlStorageValue[] = [id, ...from.status];
    if (from.step !== undefined) {
      where.push("step = ?");
      bindings.push(from.step);
    }
    if (from.attempts !== undefined) {
      where.push("attempts = ?");
      bindings.push(from.attempts);
    }
    return (
      this.sql
        .exec<RechargeRow>(
          `UPDATE recharges SET ${set}, updated_at = ?, synced = 0 WHERE ${where.join(" AND ")} RETURNING *`,
          ...columns.map((c) => to[c] ?? null),
          Date.now(),
          ...bindings,
        )
        .toArray()[0] ?? null
    );
  }
}

export function newRechargeId(): string {
  return `rch_${crypto.randomUUID().replaceAll("-", "")}`;
}
