import app from "../../src/index";
import { benchApi } from "./routes";

/**
 * Bench-only entry: the production Worker as it is, plus `/__bench/*` (admin token) for the benchmark's
 * switches, seeding, audits and the hourly run. The Durable Object classes are the production one with bench
 * methods added (`BenchCreditAccount`) and the bot path without metering (`UnmeteredAccount`); the benchmark
 * serves this one bundle twice, each time with one of them bound to `CREDIT_ACCOUNT`.
 */
export { BenchCreditAccount } from "./account";
export { UnmeteredAccount } from "./unmetered";

const BENCH_PREFIX = "/__bench/";

export default {
  fetch(request, env, ctx) {
    // A plain prefix test keeps the production routes' path free of extra routing work.
    const pathStart = request.url.indexOf("/", request.url.indexOf("//") + 2);
    if (request.url.startsWith(BENCH_PREFIX, pathStart)) return benchApi.fetch(request, env, ctx);
    return app.fetch(request, env, ctx);
  },
  scheduled: app.scheduled,
} satisfies ExportedHandler<Env>;
