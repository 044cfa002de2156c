import { createRoute, OpenAPIHono, type z } from "@hono/zod-openapi";
import { tokenCostMicros } from "../ai/pricing";
import { loadConfig } from "../env";
import { ApiError } from "../errors";
import {
  BalanceSchema,
  commonErrors,
  errorReply,
  HoldBody,
  HoldParams,
  HoldResultSchema,
  InstanceId,
  jsonReply,
  ReleaseResultSchema,
  reusedKey,
  SettleBody,
  SettleResultSchema,
  UsageBody,
  UsageResult,
} from "./schemas";
import { type AppEnv, account, fingerprint, iso, requireApiKey, unwrap } from "./shared";

const errors = {
  ...commonErrors("Missing or malformed API key"),
  403: errorReply("The key belongs to another instance"),
};
const security = [{ instanceKey: [] }];
const json = <T>(schema: T) => ({ content: { "application/json": { schema } }, required: true as const });

/** Prices a request: an explicit cost as given, token usage through MODEL_PRICES × CREDIT_MARKUP. */
function costOf(env: Env, body: { costMicros: number } | { model: string; inputTokens: number; outputTokens: number }) {
  if ("costMicros" in body) return body.costMicros;
  const config = loadConfig(env);
  const priced = tokenCostMicros(config.modelPrices, config.markupPpm, body.model, body.inputTokens, body.outputTokens);
  if (!priced.ok) {
    if (priced.reason === "unknown_model") {
      throw new ApiError("unknown_model", `No price is configured for model "${body.model.slice(0, 100)}".`);
    }
    throw new ApiError("invalid_request", "Token counts are out of range.");
  }
  if (priced.micros <= 0) throw new ApiError("invalid_request", "Usage with zero tokens costs nothing; send none.");
  return priced.micros;
}

function costFields(body: z.infer<typeof UsageBody> | z.infer<typeof SettleBody>) {
  return "costMicros" in body
    ? { costMicros: body.costMicros }
    : { model: body.model, inputTokens: body.inputTokens, outputTokens: body.outputTokens };
}

export const usageApi = new OpenAPIHono<AppEnv>();
usageApi.use("/v1/instances/:id/*", requireApiKey);

usageApi.openapi(
  createRoute({
    method: "get",
    path: "/v1/instances/{id}/balance",
    summary: "Balance and available balance",
    security,
    request: { params: HoldParams.pick({ id: true }) },
    responses: {
      200: jsonReply("Balance", BalanceSchema),
      ...errors,
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const view = unwrap(await account(c.env, id).balance({ kind: "api", keyHash: c.get("keyHash") }));
    return c.json(
      { balanceMicros: view.balanceMicros, availableMicros: view.availableMicros, outOfCredits: view.outOfCredits },
      200,
    );
  },
);

usageApi.openapi(
  createRoute({
    method: "post",
    path: "/v1/instances/{id}/usage",
    summary: "Debit credits for an operation",
    security,
    request: { params: HoldParams.pick({ id: true }), body: json(UsageBody) },
    responses: {
      200: jsonReply("Charged (or the first result of a retry)", UsageResult),
      402: errorReply("insufficient_credits"),
      409: reusedKey,
      ...errors,
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const costMicros = costOf(c.env, body);
    const result = unwrap(
      await account(c.env, id).charge(
        { kind: "api", keyHash: c.get("keyHash") },
        {
          idempotencyKey: body.idempotencyKey,
          operation: body.operation,
          costMicros,
          endUserId: body.endUserId ?? null,
          fingerprint: fingerprint({ operation: body.operation, endUserId: body.endUserId, ...costFields(body) }),
        },
      ),
    );
    if (result.replayed) c.header("Idempotent-Replayed", "true");
    return c.json({ chargedMicros: result.chargedMicros, balanceMicros: result.balanceMicros }, 200);
  },
);

usageApi.openapi(
  createRoute({
    method: "post",
    path: "/v1/instances/{id}/holds",
    summary: "Reserve the worst-case cost of an operation",
    security,
    request: { params: HoldParams.pick({ id: true }), body: json(HoldBody) },
    responses: {
      201: jsonReply("Held", HoldResultSchema),
      402: errorReply("insufficient_credits"),
      409: reusedKey,
      ...errors,
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const result = unwrap(
      await account(c.env, id).hold(
        { kind: "api", keyHash: c.get("keyHash") },
        {
          idempotencyKey: body.idempotencyKey,
          operation: body.operation,
          maxCostMicros: body.maxCostMicros,
          ttlMs: (body.ttlSeconds ?? 300) * 1000,
          endUserId: body.endUserId ?? null,
          fingerprint: fingerprint({ ...body }),
        },
      ),
    );
    if (result.replayed) c.header("Idempotent-Replayed", "true");
    return c.json({ holdId: result.holdId, expiresAt: iso(result.expiresAt) }, 201);
  },
);

usageApi.openapi(
  createRoute({
    method: "post",
    path: "/v1/instances/{id}/holds/{holdId}/settle",
    summary: "Charge the actual cost of a held operation and release the rest",
    security,
    request: { params: HoldParams, body: json(SettleBody) },
    responses: {
      200: jsonReply("Settled", SettleResultSchema),
      409: errorReply("Hold no longer open"),
      ...errors,
    },
  }),
  async (c) => {
    const { id, holdId } = c.req.valid("param");
    const body = c.req.valid("json");
    const costMicros = costOf(c.env, body);
    const result = unwrap(
      await account(c.env, id).settle(
        { kind: "api", keyHash: c.get("keyHash") },
        { holdId, costMicros, fingerprint: fingerprint({ idempotencyKey: body.idempotencyKey, ...costFields(body) }) },
      ),
    );
    if (result.replayed) c.header("Idempotent-Replayed", "true");
    return c.json(
      {
        chargedMicros: result.chargedMicros,
        releasedMicros: result.releasedMicros,
        balanceMicros: result.balanceMicros,
      },
      200,
    );
  },
);

usageApi.openapi(
  createRoute({
    method: "delete",
    path: "/v1/instances/{id}/holds/{holdId}",
    summary: "Release a hold without charging",
    security,
    request: { params: HoldParams },
    responses: {
      200: jsonReply("Released", ReleaseResultSchema),
      409: errorReply("Hold already settled"),
      ...errors,
    },
  }),
  async (c) => {
    const { id, holdId } = c.req.valid("param");
    const result = unwrap(await account(c.env, id).release({ kind: "api", keyHash: c.get("keyHash") }, holdId));
    return c.json(
      {
        releasedMicros: result.releasedMicros,
        balanceMicros: result.balanceMicros,
        availableMicros: result.availableMicros,
      },
      200,
    );
  },
);

export { InstanceId };
