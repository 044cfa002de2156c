/** Disputes (chargebacks) as Stripe runs them: funds withdrawn at once, then won or lost. */

import { cardOf } from "./cards";
import { invalid, type Json, limitOf, list, missing, newId, seconds, str } from "./core";
import { emit } from "./events";
import {
  type BalanceTransaction,
  type Charge,
  type Ctx,
  DISPUTE_FEE_CENTS,
  type Dispute,
  type Route,
  type State,
} from "./model";

/** Every field of a Dispute's `evidence`, all null until evidence is submitted. */
const DISPUTE_EVIDENCE_FIELDS = [
  "access_activity_log",
  "billing_address",
  "cancellation_policy",
  "cancellation_policy_disclosure",
  "cancellation_rebuttal",
  "customer_communication",
  "customer_email_address",
  "customer_name",
  "customer_purchase_ip",
  "customer_signature",
  "duplicate_charge_documentation",
  "duplicate_charge_explanation",
  "duplicate_charge_id",
  "product_description",
  "receipt",
  "refund_policy",
  "refund_policy_disclosure",
  "refund_refusal_explanation",
  "service_date",
  "service_documentation",
  "shipping_address",
  "shipping_carrier",
  "shipping_date",
  "shipping_documentation",
  "shipping_tracking_number",
  "uncategorized_file",
  "uncategorized_text",
] as const;

export function renderBalanceTransaction(bt: BalanceTransaction, source: string): Json {
  return {
    id: bt.id,
    object: "balance_transaction",
    amount: bt.amount,
    available_on: bt.created,
    created: bt.created,
    currency: bt.currency,
    description: bt.description,
    exchange_rate: null,
    fee: bt.fee,
    fee_details: bt.fee
      ? [{ amount: bt.fee, application: null, currency: bt.currency, description: "Dispute fee", type: "stripe_fee" }]
      : [],
    net: bt.amount - bt.fee,
    reporting_category: bt.reportingCategory,
    source,
    status: "pending",
    type: "adjustment",
  };
}

export function renderDispute(st: State, dp: Dispute): Json {
  const charge = st.charges.get(dp.charge);
  const pm = charge ? st.paymentMethods.get(charge.paymentMethod) : undefined;
  const card = pm ? cardOf(pm) : { brand: "visa" };
  return {
    id: dp.id,
    object: "dispute",
    created: dp.created,
    livemode: false,
    amount: dp.amount,
    currency: dp.currency,
    // An id string, as in every event; `expand[]=charge` expands it.
    charge: dp.charge,
    payment_intent: dp.paymentIntent,
    balance_transactions: dp.balanceTransactions.map((bt) => renderBalanceTransaction(bt, dp.id)),
    enhanced_eligibility_types: [],
    evidence: { ...Object.fromEntries(DISPUTE_EVIDENCE_FIELDS.map((field) => [field, null])), enhanced_evidence: {} },
    evidence_details: {
      due_by: dp.created + 21 * 24 * 3600,
      enhanced_eligibility: {},
      has_evidence: false,
      past_due: false,
      submission_count: 0,
    },
    intended_submission_method: null,
    // Once funds are withdrawn the payment can no longer be refunded.
    is_charge_refundable: false,
    metadata: {},
    payment_method_details: {
      type: "card",
      card: { brand: card.brand, case_type: "chargeback", network: card.brand, network_reason_code: "10.4" },
    },
    reason: dp.reason,
    status: dp.status,
  };
}

export function getDispute(st: State, id: string): Dispute {
  const dispute = st.disputes.get(id);
  if (!dispute) throw missing("dispute", id, "dispute");
  return dispute;
}

/** The dispute a charge has, if any (Stripe allows one per charge). */
export function disputeOf(st: State, charge: Charge): Dispute | undefined {
  for (const dispute of st.disputes.values()) if (dispute.charge === charge.id) return dispute;
  return undefined;
}

/** The cardholder's bank opens a chargeback: the funds (and a $15 fee) are withdrawn at once. */
export function openDispute(ctx: Ctx, charge: Charge, amount: number, reason: string): Dispute {
  if (charge.disputed || disputeOf(ctx.st, charge)) {
    throw invalid(`Charge ${charge.id} has already been disputed.`, "charge");
  }
  const created = seconds(ctx.now);
  const id = newId("dp");
  const dispute: Dispute = {
    id,
    created,
    charge: charge.id,
    paymentIntent: charge.paymentIntent,
    customer: charge.customer,
    amount,
    currency: charge.currency,
    reason,
    status: "needs_response",
    unrefundedAtOpen: charge.amount - charge.amountRefunded,
    balanceTransactions: [
      {
        id: newId("txn"),
        created,
        amount: -amount,
        fee: DISPUTE_FEE_CENTS,
        currency: charge.currency,
        description: `Chargeback withdrawal for ${charge.id}`,
        reportingCategory: "dispute",
      },
    ],
  };
  ctx.st.disputes.set(id, dispute);
  charge.disputed = true;
  emit(ctx, charge.customer, "charge.dispute.created", renderDispute(ctx.st, dispute));
  emit(ctx, charge.customer, "charge.dispute.funds_withdrawn", renderDispute(ctx.st, dispute));
  return dispute;
}

function reinstate(ctx: Ctx, dispute: Dispute, amount: number): void {
  dispute.balanceTransactions.push({
    id: newId("txn"),
    created: seconds(ctx.now),
    amount,
    fee: 0,
    currency: dispute.currency,
    description: `Chargeback reversal for ${dispute.charge}`,
    reportingCategory: "dispute_reversal",
  });
}

/**
 * The bank decides. Won: the funds come back (`funds_reinstated`), then `closed`. Lost: `closed`, and only if
 * the dispute was for more than what was still unrefunded when it opened (a partially refunded payment) does
 * the excess come back first, which is why Stripe's `funds_reinstated` "includes partially refunded payments".
 */
export function closeDispute(ctx: Ctx, dispute: Dispute, outcome: "won" | "lost"): void {
  if (dispute.status === "won" || dispute.status === "lost") {
    throw invalid(`This dispute is already closed (status: ${dispute.status}).`, "dispute");
  }
  dispute.status = outcome;
  const back = outcome === "won" ? dispute.amount : Math.max(0, dispute.amount - dispute.unrefundedAtOpen);
  if (back > 0) {
    reinstate(ctx, dispute, back);
    emit(ctx, dispute.customer, "charge.dispute.funds_reinstated", renderDispute(ctx.st, dispute));
  }
  emit(ctx, dispute.customer, "charge.dispute.closed", renderDispute(ctx.st, dispute));
}

export const disputeRoutes: Route[] = [
  {
    method: "GET",
    pattern: /^\/v1\/disputes$/,
    run: ({ st, params }) => {
      const charge = str(params, "charge");
      const paymentIntent = str(params, "payment_intent");
      const limit = limitOf(params);
      const data = [...st.disputes.values()]
        .filter((d) => (!charge || d.charge === charge) && (!paymentIntent || d.paymentIntent === paymentIntent))
        .reverse()
        .map((dispute) => renderDispute(st, dispute));
      return list(data, "/v1/disputes", limit);
    },
  },
  {
    method: "GET",
    pattern: /^\/v1\/disputes\/([^/]+)$/,
    run: ({ st }, [id = ""]) => renderDispute(st, getDispute(st, id)),
  },
  {
    method: "POST",
    pattern: /^\/v1\/disputes\/([^/]+)\/close$/,
    run: (ctx, [id = ""]) => {
      // Closing a dispute is accepting it: it is lost, as the API reference says.
      const dispute = getDispute(ctx.st, id);
      closeDispute(ctx, dispute, "lost");
      return renderDispute(ctx.st, dispute);
    },
  },
];
