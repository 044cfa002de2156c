import { createApp } from "./app";
import { runHourly } from "./cron/hourly";

export { CreditAccount } from "./account/credit-account";

const app = createApp();

export default {
  fetch: app.fetch,
  // Awaited, not waitUntil: a cron invocation lives as long as its handler runs (up to 15 minutes), while
  // waitUntil work may be cut off 30 s after the handler returned.
  async scheduled(controller, env, _ctx) {
    await runHourly(env, controller.scheduledTime);
  },
} satisfies ExportedHandler<Env>;
