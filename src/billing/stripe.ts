import Stripe from "stripe";
import type { Config } from "../env";

/** Stripe on Workers: the fetch HTTP client (the default one can hang) and STRIPE_API_BASE. */
export function stripeClient(secretKey: string, config: Config): Stripe {
  const base = new URL(config.stripeApiBase);
  const protocol = base.protocol === "http:" ? "http" : "https";
  return new Stripe(secretKey, {
    host: base.hostname,
    port: base.port ? Number(base.port) : protocol === "http" ? 80 : 443,
    protocol,
    httpClient: Stripe.createFetchHttpClient(),
    // Retries are ours: the object's alarm retries a step with the same idempotency key.
    maxNetworkRetries: 0,
    timeout: 20_000,
  });
}

export const cryptoProvider = Stripe.createSubtleCryptoProvider();

/** Card problems that no retry will fix: the owner must act (new card or /topUp). */
export type PayFailure =
  | { kind: "declined"; code: string; message: string | null }
  | { kind: "authentication_required" }
  | { kind: "already_paid" }
  | { kind: "transient"; message: string };

/** Classifies an error of a Stripe call: transient ones are retried by the alarm with the same key. */
export function classifyStripeError(error: unknown): PayFailure {
  if (error instanceof Stripe.errors.StripeCardError) {
    if (error.code === "authentication_required") return { kind: "authentication_required" };
    return {
      kind: "declined",
      code: error.decline_code ?? error.code ?? "card_declined",
      message: error.message ?? null,
    };
  }
  if (error instanceof Stripe.errors.StripeInvalidRequestError && /already paid/i.test(error.message)) {
    return { kind: "already_paid" };
  }
  if (error instanceof Stripe.errors.StripeError) {
    return { kind: "transient", message: `${error.type}: ${error.message}` };
  }
  return { kind: "transient", message: error instanceof Error ? error.message : "unknown error" };
}

/** Stripe answers that a retry cannot change (bad request, auth, permission): not worth a loop. */
export function isPermanentStripeError(error: unknown): boolean {
  return (
    error instanceof Stripe.errors.StripeInvalidRequestError ||
    error instanceof Stripe.errors.StripeAuthenticationError ||
    error instanceof Stripe.errors.StripePermissionError
  );
}

/**
 * Worth Stripe's webhook retries: network trouble and Stripe-side errors. A permanent refusal, or a
 * non-Stripe error (a TypeError from a malformed object), would fail the same way on every retry.
 */
export function isTemporaryStripeFailure(error: unknown): boolean {
  return error instanceof Stripe.errors.StripeError && !isPermanentStripeError(error);
}
