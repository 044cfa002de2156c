import type { TestProject } from "vitest/node";
import { createModelStandin, createTelegramStandin } from "../standins";
import { serve } from "../standins/server";

/** Starts the Telegram, Stripe and model stand-ins on 127.0.0.1 for the whole run. */
export default async function setup(project: TestProject) {
  const telegramStandin = createTelegramStandin();
  const modelStandin = createModelStandin();
  const telegram = await serve((r) => telegramStandin.handle(r));
  const model = await serve((r) => modelStandin.handle(r));
  const stripe = await serve(async () => Response.json({ error: { message: "not yet" } }, { status: 501 }));
  project.provide("standinBases", { telegram: telegram.origin, stripe: stripe.origin, model: model.origin });
  return async () => {
    await Promise.all([telegram.close(), stripe.close(), model.close()]);
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    standinBases: { telegram: string; stripe: string; model: string };
  }
}
