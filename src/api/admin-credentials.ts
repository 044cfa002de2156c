import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { asc, eq, gt } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { randomToken, sha256Hex } from "../crypto";
import { instances } from "../db/schema";
import { describeError, log } from "../log";
import { connectBot } from "./admin-instances";
import { adminErrors, adminSecurity, InstanceParams } from "./admin-shared";
import {
  BotConnected,
  errorReply,
  jsonReply,
  NewApiKey,
  ReplaceBotTokenBody,
  ResealPage,
  ResealQuery,
} from "./schemas";
import { type AppEnv, account, unwrap } from "./shared";

/**
 * Credential rotation: a new usage API key, a new bot token (which also re-seals it under the current
 * TOKEN_ENCRYPTION_KEY), and re-sealing every instance's bot token after that key is rotated.
 */
export const credentialsApi = new OpenAPIHono<AppEnv>();

/**
 * Copies a rotated credential to the D1 registry. The object already holds it and is what checks it, so a
 * failing D1 must not fail the call: the caller would lose a key that is already the only valid one.
 */
async function updateRegistry(
  env: Env,
  id: string,
  values: Partial<Pick<typeof instances.$inferInsert, "apiKeyHash" | "botTokenSealed" | "webhookSecretHash">>,
): Promise<void> {
  try {
    await drizzle(env.DB).update(instances).set(values).where(eq(instances.id, id));
  } catch (error) {
    log("warn", "registry_update_failed", { instanceId: id, error: describeError(error) });
  }
}

credentialsApi.openapi(
  createRoute({
    method: "post",
    path: "/admin/instances/{id}/api-key",
    summary: "Issue a new usage API key (rotation, or a lost key); the previous key stops working at once",
    security: adminSecurity,
    request: { params: InstanceParams },
    responses: {
      200: jsonReply("The new key, shown only here", NewApiKey),
      ...adminErrors,
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const apiKey = `ck_${randomToken(32)}`;
    const apiKeyHash = await sha256Hex(apiKey);
    unwrap(await account(c.env, id).replaceApiKey(apiKeyHash));
    await updateRegistry(c.env, id, { apiKeyHash });
    return c.json({ id, apiKey }, 200);
  },
);

credentialsApi.openapi(
  createRoute({
    method: "put",
    path: "/admin/instances/{id}/bot-token",
    summary:
      "Store a new token for the instance's bot (revoked with @BotFather, or to re-seal under a new TOKEN_ENCRYPTION_KEY); the webhook is registered again with a fresh secret",
    security: adminSecurity,
    request: {
      params: InstanceParams,
      body: { content: { "application/json": { schema: ReplaceBotTokenBody } }, required: true },
    },
    responses: {
      200: jsonReply("The bot is connected with the new token", BotConnected),
      409: errorReply("different_bot"),
      502: errorReply("Telegram unreachable"),
      ...adminErrors,
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const stub = account(c.env, id);
    const current = unwrap(await stub.status());
    const connected = await connectBot(c.env, id, body.telegramBotToken, current.ownerTelegramId, current.botId, {
      chosen: current.ownerLanguageChosen,
      label: current.ownerLanguageChosen ?? "en",
    });
    unwrap(await stub.replaceBotCredentials(connected.credentials));
    const { botTokenSealed, webhookSecretHash } = connected.credentials;
    await updateRegistry(c.env, id, { botTokenSealed, webhookSecretHash });
    return c.json({ id, webhookUrl: connected.webhookUrl, botUsername: connected.credentials.botUsername }, 200);
  },
);

/** Instances re-sealed at once per page: each is one call to its object. */
const RESEAL_PARALLEL = 10;

credentialsApi.openapi(
  createRoute({
    method: "post",
    path: "/admin/bot-tokens/reseal",
    summary:
      "Finish a TOKEN_ENCRYPTION_KEY rotation: seal every bot token sealed with TOKEN_ENCRYPTION_KEY_PREVIOUS again with the current key, a page of instances per call",
    security: adminSecurity,
    request: { query: ResealQuery },
    responses: {
      200: jsonReply("One page of instances visited", ResealPage),
      ...adminErrors,
    },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const limit = query.limit ? Number(query.limit) : 50;
    const rows = await drizzle(c.env.DB)
      .select({ id: instances.id })
      .from(instances)
      .where(query.cursor ? gt(instances.id, query.cursor) : undefined)
      .orderBy(asc(instances.id))
      .limit(limit);
    const page = {
      visited: rows.length,
      resealed: 0,
      current: 0,
      unreadable: [] as string[],
      failed: [] as string[],
      notProvisioned: 0,
    };
    for (let i = 0; i < rows.length; i += RESEAL_PARALLEL) {
      const batch = rows.slice(i, i + RESEAL_PARALLEL);
      const outcomes = await Promise.all(
        batch.map((row) =>
          account(c.env, row.id)
            .resealBotToken()
            .catch((error: unknown) => {
              log("warn", "reseal_failed", { instanceId: row.id, error: describeError(error) });
              return null;
            }),
        ),
      );
      outcomes.forEach((outcome, j) => {
        if (outcome === null) page.failed.push(batch[j]?.id ?? "");
        else if (!outcome.ok) page.notProvisioned += 1;
        else if (outcome.token === "unreadable") page.unreadable.push(batch[j]?.id ?? "");
        else page[outcome.token] += 1;
      });
    }
    const last = rows.at(-1);
    return c.json({ ...page, nextCursor: rows.length === limit && last ? last.id : null }, 200);
  },
);
