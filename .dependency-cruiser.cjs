/**
 * The house rules of src/ (see CONTRIBUTING.md): imports flow one way,
 *   api, cron → account → billing, telegram → ledger → money, crypto, errors, log, env, lang, ai, db
 * with no cycles, and the product never imports tests, benchmarks, the demo or the stand-ins.
 * `npm run depcruise` checks them; CI runs it.
 */
const BASE = "^src/(money|crypto|errors|log|env|lang)\\.ts$|^src/(ai|db)/";
module.exports = {
  forbidden: [
    { name: "no-circular", severity: "error", from: {}, to: { circular: true } },
    {
      name: "product-not-to-tooling",
      comment: "src/ never imports test/, bench/, demo/ or standins/.",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(test|bench|demo|standins)/" },
    },
    {
      name: "base-is-the-bottom",
      comment: "money, crypto, errors, log, env, ai and db import nothing of the product's floors.",
      severity: "error",
      from: { path: BASE },
      to: { path: "^src/(ledger|account|billing|telegram|api|cron)/|^src/(app|index)\\.ts$" },
    },
    {
      name: "ledger-is-the-ground-floor",
      comment: "The ledger (money, rules, rollups, storage schema, outbox) knows nothing above it.",
      severity: "error",
      from: { path: "^src/ledger/" },
      to: { path: "^src/(account|billing|telegram|api|cron)/|^src/(app|index)\\.ts$" },
    },
    {
      name: "billing-and-telegram-below-the-object",
      comment: "Billing and the bot decide and return; they never reach back into the Durable Object or the routes.",
      severity: "error",
      from: { path: "^src/(billing|telegram)/" },
      to: { path: "^src/(account|api|cron)/|^src/(app|index)\\.ts$" },
    },
    {
      name: "object-below-the-routes",
      severity: "error",
      from: { path: "^src/account/" },
      to: { path: "^src/(api|cron)/|^src/(app|index)\\.ts$" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "\\.d\\.ts$" },
  },
};
