import { createApp } from "./app";

export { CreditAccount } from "./account/credit-account";

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
