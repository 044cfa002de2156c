import { fingerprint } from "../../src/api/shared";
import app from "../../src/index";
import type { Operation } from "../../src/ledger/types";
import { benchApi } from "./routes";

/**
 * Bench-only entry: the production Worker as it is, plus `/__bench/*` (admin token) for the benchmark's
 * switches, seeding and audits. The Durable Object class is the production one with bench methods added.
 */
export { BenchCreditAccount } from "./account";

const BENCH_PREFIX = "/__bench/";
const DIRECT = /^\/__bench\/direct\/([A-Za-z0-9_-]{1,64})\/usage$/;

/**
 * The debit without the HTTP API around it: a bare Worker that parses the JSON body and calls
 * `CreditAccount.charge` as an internal caller (no API key hash, no Hono, no zod). Measured next to
 * the real route, it splits a debit's cost into "Worker/API layer" and "Durable Object".
 */
async function directCharge(request: Request, env: Env, instanceId: string): Promise<Response> {
  if (request.headers.get("authorization") !== `Bearer ${env.ADMIN_TOKEN}`) return new Response(null, { status: 401 });
  const body = await request.json<{
    idempotencyKey: string;
    operation: Operation;
    costMicros: number;
    endUserId?: string;
  }>();
  const namespace = env.CREDIT_ACCOUNT;
  const result = await namespace.get(namespace.idFromName(instanceId)).charge(
    { kind: "internal" },
    {
      idempotencyKey: body.idempotencyKey,
      operation: body.operation,
      costMicros: body.costMicros,
      endUserId: body.endUserId ?? null,
      fingerprint: fingerprint({ operation: body.operation, endUserId: body.endUserId, costMicros: body.costMicros }),
    },
  );
  if (!result.ok) return Response.json({ error: { code: result.reason } }, { status: 409 });
  return Response.json(
    { chargedMicros: result.chargedMicros, balanceMicros: result.balanceMicros },
    { headers: result.replayed ? { "Idempotent-Replayed": "true" } : {} },
  );
}

export default {
  fetch(request, env, ctx) {
    // A plain prefix test keeps the production routes' path free of extra routing work.
    const pathStart = request.url.indexOf("/", request.url.indexOf("//") + 2);
    if (request.url.startsWith(BENCH_PREFIX, pathStart)) {
      const direct = DIRECT.exec(new URL(request.url).pathname);
      if (direct?.[1]) return directCharge(request, env, direct[1]);
      return benchApi.fetch(request, env, ctx);
    }
    return app.fetch(request, env, ctx);
  },
  scheduled: app.scheduled,
} satisfies ExportedHandler<Env>;
