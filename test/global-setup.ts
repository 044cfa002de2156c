import type { TestProject } from "vitest/node";
import { serve } from "../standins/server";

/** Starts the Telegram, Stripe and model stand-ins on 127.0.0.1 for the whole run. */
export default async function setup(project: TestProject) {
  const echo = async (request: Request) =>
    Response.json({ ok: true, url: request.url, method: request.method });
  const telegram = await serve(echo);
  const stripe = await serve(echo);
  const model = await serve(echo);
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
