/**
 * Stand-ins for the outside services the Worker talks to, served on 127.0.0.1 for tests (global setup) and for a
 * local demo. Point `TELEGRAM_API_BASE` at `telegram.origin` and `AI_BASE_URL` at `${model.origin}/v1`.
 */
import { createModelStandin } from "./model";
import { type RunningServer, serve } from "./server";
import { createStripeStandin } from "./stripe";
import { createTelegramStandin } from "./telegram";

export { createModelStandin, type ModelRequestRecord, type ModelStandin } from "./model";
export { type Handler, type RunningServer, serve } from "./server";
export { createStripeStandin, signPayload } from "./stripe";
export {
  type CallRecord,
  createTelegramStandin,
  deliverUpdate,
  type SentRecord,
  type TelegramStandin,
  type TelegramStandinOptions,
  type WebhookRecord,
} from "./telegram";

export interface StandinPorts {
  telegram?: number;
  model?: number;
  stripe?: number;
}

export interface RunningStandins {
  telegram: RunningServer;
  model: RunningServer;
  stripe: RunningServer;
  close(): Promise<void>;
}

/** Starts every stand-in; port 0 (the default) picks a free port so parallel runs never collide. */
export async function startStandins(
  ports: StandinPorts = {},
  stripeWebhookSecret = "whsec_local",
): Promise<RunningStandins> {
  const started: RunningServer[] = [];
  const closeAll = async () => {
    await Promise.all(started.map((server) => server.close()));
  };
  try {
    const telegramStandin = createTelegramStandin();
    const telegram = await serve((request) => telegramStandin.handle(request), ports.telegram ?? 0);
    started.push(telegram);
    const modelStandin = createModelStandin();
    const model = await serve((request) => modelStandin.handle(request), ports.model ?? 0);
    started.push(model);
    const stripeStandin = createStripeStandin({ webhookSecret: stripeWebhookSecret });
    const stripe = await serve((request) => stripeStandin.handle(request), ports.stripe ?? 0);
    started.push(stripe);
    return { telegram, model, stripe, close: closeAll };
  } catch (error) {
    // A port already in use must not leave the servers started before it running.
    await closeAll();
    throw error;
  }
}
