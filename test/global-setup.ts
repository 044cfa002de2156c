import type { TestProject } from "vitest/node";
import { startStandins } from "../standins";

/** Must equal STRIPE_WEBHOOK_SECRET in vitest.config.ts: the stand-in signs what the Worker verifies. */
export const TEST_STRIPE_WEBHOOK_SECRET = "whsec_standin_secret";

/** Starts the Telegram, Stripe and model stand-ins on 127.0.0.1 for the whole run. */
export default async function setup(project: TestProject) {
  const standins = await startStandins({}, TEST_STRIPE_WEBHOOK_SECRET);
  project.provide("standinBases", {
    telegram: standins.telegram.origin,
    stripe: standins.stripe.origin,
    model: standins.model.origin,
  });
  return () => standins.close();
}

declare module "vitest" {
  export interface ProvidedContext {
    standinBases: { telegram: string; stripe: string; model: string };
  }
}
