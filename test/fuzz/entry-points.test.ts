import { afterAll, beforeAll, vi } from "vitest";
import { fuzzAdminApi } from "./admin-api";
import { printTally } from "./budget";
import { fuzzOwnerCommands } from "./owner-commands";
import { stripeRegressions } from "./regressions";
import { fuzzStripeWebhook } from "./stripe-webhook";
import { fuzzTelegramWebhook } from "./telegram-webhook";
import { fuzzUsageApi } from "./usage-api";

/**
 * Input fuzzing of every entry point, in one file so the runtime starts once (budget and replay: budget.ts).
 * Run one entry point with `-t`, e.g. `npx vitest run test/fuzz -t "fuzz: Stripe webhook"`.
 */

// Thousands of hostile requests log thousands of info and warn lines, and relaying them to the runner costs
// more than the requests. Only `"level":"error"` lines (an unhandled error, a failed job) are kept.
const keepErrors = (line: unknown) => typeof line === "string" && line.includes('"level":"error"');
const original = console.error.bind(console);
beforeAll(() => {
  vi.spyOn(console, "log").mockImplementation(() => undefined);
  vi.spyOn(console, "error").mockImplementation((line: unknown) => (keepErrors(line) ? original(line) : undefined));
});
afterAll(() => {
  vi.restoreAllMocks();
  printTally("entry points");
});

fuzzTelegramWebhook();
fuzzOwnerCommands();
fuzzStripeWebhook();
stripeRegressions();
fuzzUsageApi();
fuzzAdminApi();
