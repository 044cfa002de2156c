import { createApp } from "./app";
import { runHourly } from "./cron/hourly";

export { CreditAccount } from "./account/credit-account";

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(runHourly(env, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env>;
