import type Stripe from "stripe";
import type { Config } from "../env";
import type { Ledger } from "../ledger/ledger";
import type { ChargeNow, ShortOfThreshold } from "../telegram/texts";
import type { Recharges } from "./recharges";
import type { BillingSettings } from "./settings";

/**
 * What billing decided the owner must be told. Billing returns these; the object words them (in the
 * owner's language) and sends them, in order, after the change committed.
 */
export type BillingNotice =
  | {
      kind: "recharge_succeeded";
      paidMicros: number;
      balanceMicros: number;
      invoiceUrl: string | null;
      /** The balance is still at or under the threshold: the owner is told how to close the gap. */
      short: ShortOfThreshold | null;
      /** This credit ended an out-of-credits episode: its ✅ is the one that says so. */
      restored?: boolean;
    }
  | { kind: "top_up_succeeded"; paidMicros: number; balanceMicros: number; restored?: boolean }
  | {
      kind: "recharge_declined";
      code: string;
      message: string | null;
      topUpMicros: number;
      rechargeAtMicros: number;
    }
  | { kind: "recharge_gave_up" }
  | { kind: "needs_confirmation"; url: string }
  | { kind: "daily_limit"; maxPerDay: number }
  | {
      kind: "card_saved";
      topUpMicros: number;
      rechargeAtMicros: number;
      brand: string | null;
      last4: string | null;
      newerLinkPending: boolean;
      /** What saving the card did at once (a charge, a voided invoice), as the link said it would. */
      now: ChargeNow;
      /** The card came from a link older than the newest one; its settings now apply. */
      olderLink: boolean;
    }
  | { kind: "card_link_outdated"; brand: string | null; last4: string | null }
  | { kind: "card_link_expired" }
  | { kind: "top_up_expired"; amountMicros: number };

/** A credit's ✅: when it ends an out-of-credits episode, it is the one recovery message. */
export function isCreditNotice(
  notice: BillingNotice,
): notice is Extract<BillingNotice, { kind: "recharge_succeeded" | "top_up_succeeded" }> {
  return notice.kind === "recharge_succeeded" || notice.kind === "top_up_succeeded";
}

/** Notices that tell the owner an automatic recharge is in trouble (they count as the early warning). */
export function isTroubleNotice(notice: BillingNotice): boolean {
  return notice.kind === "recharge_declined" || notice.kind === "needs_confirmation";
}

/** What a billing call leaves for the object to do after it returned: tell, wake, re-check the balance. */
export class BillingEffects {
  readonly notices: BillingNotice[] = [];
  /** The earliest time the alarm must run (a recharge step, the history copy). */
  wakeAt: number | null = null;
  /** Credits moved: the object re-checks out-of-credits, warnings and the recharge trigger. */
  balanceChanged = false;

  tell(notice: BillingNotice): void {
    this.notices.push(notice);
  }

  wake(at: number): void {
    this.wakeAt = this.wakeAt === null ? at : Math.min(this.wakeAt, at);
  }

  moved(): void {
    this.balanceChanged = true;
  }
}

/** What billing may use of its object: its instance id, its transactions and a Stripe client. */
export interface BillingPorts {
  instanceId(): string;
  tx<T>(fn: () => T): T;
  stripe(): Stripe;
}

/** The parts every billing module works with (one set per object). */
export interface BillingParts {
  readonly sql: SqlStorage;
  readonly ledger: Ledger;
  readonly config: Config;
  readonly recharges: Recharges;
  readonly settings: BillingSettings;
  readonly ports: BillingPorts;
}

/** An event that arrived before what it depends on: refused (not marked handled) so Stripe delivers it again. */
export class RetryLater extends Error {}
