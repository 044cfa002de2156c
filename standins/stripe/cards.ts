/** Stripe's test cards and the PaymentMethods made from them. */
import { ApiError, invalid, type Json, missing, newId, seconds } from "./core";
import type { PaymentMethod, State } from "./model";

export type CardOutcome = "success" | "decline" | "authentication_required";

export interface TestCard {
  brand: string;
  last4: string;
  outcome: CardOutcome;
  code?: string;
  declineCode?: string;
  message?: string;
}

/** Stripe's documented test payment methods; each use materializes a new customer-attached PaymentMethod. */
export const TEST_CARDS = new Map<string, TestCard>([
  ["pm_card_visa", { brand: "visa", last4: "4242", outcome: "success" }],
  [
    "pm_card_chargeDeclined",
    {
      brand: "visa",
      last4: "0002",
      outcome: "decline",
      code: "card_declined",
      declineCode: "generic_decline",
      message: "Your card was declined.",
    },
  ],
  [
    "pm_card_chargeDeclinedInsufficientFunds",
    {
      brand: "visa",
      last4: "9995",
      outcome: "decline",
      code: "card_declined",
      declineCode: "insufficient_funds",
      message: "Your card has insufficient funds.",
    },
  ],
  [
    "pm_card_chargeDeclinedExpiredCard",
    {
      brand: "visa",
      last4: "0069",
      outcome: "decline",
      code: "expired_card",
      declineCode: "expired_card",
      message: "Your card has expired.",
    },
  ],
  ["pm_card_authenticationRequired", { brand: "visa", last4: "3155", outcome: "authentication_required" }],
]);

export function cardOf(pm: PaymentMethod): TestCard {
  return TEST_CARDS.get(pm.testCard) ?? { brand: "visa", last4: "4242", outcome: "success" };
}

/** Test-card ids (`pm_card_visa`) become a fresh PaymentMethod, as Stripe does when one is attached or used. */
export function materialize(
  st: State,
  idOrTestCard: string,
  customer: string | null,
  now: number,
  param: string,
): PaymentMethod {
  if (TEST_CARDS.has(idOrTestCard)) {
    const pm: PaymentMethod = { id: newId("pm"), created: seconds(now), customer, testCard: idOrTestCard };
    st.paymentMethods.set(pm.id, pm);
    return pm;
  }
  const pm = st.paymentMethods.get(idOrTestCard);
  if (!pm) throw missing("PaymentMethod", idOrTestCard, param);
  if (customer && pm.customer && pm.customer !== customer) {
    throw invalid(`The payment method you provided is not attached to this customer (${customer}).`, param);
  }
  if (customer && !pm.customer) pm.customer = customer;
  return pm;
}

export function renderPaymentMethod(pm: PaymentMethod): Json {
  const card = cardOf(pm);
  return {
    id: pm.id,
    object: "payment_method",
    created: pm.created,
    livemode: false,
    type: "card",
    customer: pm.customer,
    metadata: {},
    billing_details: { address: null, email: null, name: null, phone: null },
    card: {
      brand: card.brand,
      last4: card.last4,
      exp_month: 12,
      exp_year: new Date(pm.created * 1000).getUTCFullYear() + 3,
      funding: "credit",
      country: "US",
    },
  };
}

/** The card's verdict: a declined (or, off-session, 3-D Secure) card answers Stripe's card_error. */
export function cardError(pm: PaymentMethod, onSession: boolean, invoice: string | null): ApiError | null {
  const card = cardOf(pm);
  if (card.outcome === "success" || (card.outcome === "authentication_required" && onSession)) return null;
  const auth = card.outcome === "authentication_required";
  return new ApiError(402, {
    type: "card_error",
    code: auth ? "authentication_required" : (card.code ?? "card_declined"),
    ...(auth ? {} : { decline_code: card.declineCode ?? "generic_decline" }),
    message: auth ? "This payment requires authentication" : (card.message ?? "Your card was declined."),
    ...(invoice ? { invoice } : {}),
    payment_method: { id: pm.id, object: "payment_method", type: "card" },
  });
}
