import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { asc, eq, gt } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { encryptSecret, importEncryptionKey, randomToken, sha256Hex } from "../crypto";
import { instances } from "../db/schema";
import { loadConfig } from "../env";
import { ApiError } from "../errors";
import type { BotCredentials, LedgerEntry } from "../ledger/types";
import { describeError, log } from "../log";
import { isBadTokenError, telegramApi } from "../telegram/api";
import { MENU_COMMANDS } from "../telegram/texts";
import {
  AdjustmentBody,
  AdjustmentResult,
  BotConnected,
  CreatedInstance,
  CreateInstanceBody,
  commonErrors,
  errorReply,
  InstanceId,
  InstanceView,
  jsonReply,
  LedgerPageSchema,
  LedgerQuery,
  NewApiKey,
  ReplaceBotTokenBody,
  ResealPage,
  ResealQuery,
  reusedKey,
} from "./schemas";
import { type AppEnv, account, fingerprint, iso, requireAdmin, unwrap } from "./shared";

const errors = commonErrors("Missing or wrong admin token");
const security = [{ adminToken: [] }];
const Params = z.object({ id: InstanceId });

export const adminApi = new OpenAPIHono<AppEnv>();
adminApi.use("/admin/*", requireAdmin);

/**
 * Points the bot at this instance: checks the token with Telegram (`getMe`), registers the webhook with a
 * fresh secret token and the owner's command menu, and seals what is stored. Nothing is stored here; a
 * refusal from Telegram becomes the API's error. `sameBotAs`: refuse a token of another bot before
 * anything at Telegram changes.
 */
async function connectBot(
  env: Env,
  instanceId: string,
  token: string,
  ownerTelegramId: number,
  sameBotAs?: number | null,
): Promise<{ credentials: BotCredentials; webhookUrl: string }> {
  const config = loadConfig(env);
  const webhookSecret = randomToken(32);
  const webhookUrl = `${config.publicBaseUrl}/telegram/${instanceId}`;
  const telegram = telegramApi(config, token);
  let bot: { id: number; username: string };
  try {
    bot = await telegram.getMe();
    if (sameBotAs != null && bot.id !== sameBotAs) {
      throw new ApiError("different_bot", `This token belongs to @${bot.username}, not to this instance's bot.`);
    }
    await telegram.setWebhook(webhookUrl, {
      secret_token: webhookSecret,
      allowed_updates: ["message", "edited_message", "callback_query"],
    });
  } catch (error) {
    if (error instanceof ApiError) throw error;
    if (isBadTokenError(error)) throw new ApiError("invalid_bot_token", "Telegram rejected this bot token.");
    log("warn", "set_webhook_failed", { instanceId, error: describeError(error) });
    throw new ApiError("upstream_unavailable", "Telegram could not be reached; nothing was changed. Try again.");
  }
  // Only the owner's chat gets the menu; Telegram accepts lowercase names only (see /help for the rest).
  // After setWebhook nothing may fail the call: Telegram already signs with the new secret, which must be stored.
  try {
    await telegram.setMyCommands(MENU_COMMANDS, { scope: { type: "chat", chat_id: ownerTelegramId } });
  } catch (error) {
    log("warn", "set_commands_failed", { instanceId, error: describeError(error) });
  }
  const key = await importEncryptionKey(env.TOKEN_ENCRYPTION_KEY);
  const [botTokenSealed, webhookSecretHash] = await Promise.all([encryptSecret(key, token), sha256Hex(webhookSecret)]);
  return { credentials: { botTokenSealed, webhookSecretHash, botId: bot.id, botUsername: bot.username }, webhookUrl };
}

adminApi.openapi(
  createRoute({
    method: "post",
    path: "/admin/instances",
    summary: "Provision an instance: register its Telegram webhook and grant the license bonus",
    security,
    request: { body: { content: { "application/json": { schema: CreateInstanceBody } }, required: true } },
    responses: {
      201: jsonReply("Provisioned", CreatedInstance),
      409: errorReply("instance_exists"),
      502: errorReply("Telegram unreachable"),
      ...errors,
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const config = loadConfig(c.env);
    const license = body.license ?? (config.licenseBonusMicros.has("starter") ? "starter" : "none");
    const bonusMicros = config.licenseBonusMicros.get(license);
    if (bonusMicros === undefined && body.license !== undefined) {
      const known = [...config.licenseBonusMicros.keys()].join(", ") || "none configured";
      throw new ApiError("invalid_request", `Unknown license "${body.license.slice(0, 64)}" (known: ${known}).`);
    }
    const stub = account(c.env, body.id);
    const existing = await stub.status();
    const apiKey = `ck_${randomToken(32)}`;
    const apiKeyHash = await sha256Hex(apiKey);
    if (existing.ok) {
      // A retry of a provisioning whose answer was lost (say D1 failed after the object was made): the same
      // owner, license and bot complete it. Its API key was never shown, so a new one replaces it.
      const sameRequest = existing.ownerTelegramId === body.ownerTelegramId && existing.license === license;
      if (!sameRequest) throw new ApiError("instance_exists", "An instance with this id already exists.");
      const connected = await connectBot(c.env, body.id, body.telegramBotToken, body.ownerTelegramId, existing.botId);
      unwrap(await stub.replaceBotCredentials(connected.credentials));
      unwrap(await stub.replaceApiKey(apiKeyHash));
      await registerInstance(c.env, body.id, { ...connected.credentials, apiKeyHash }, existing);
      log("info", "instance_provisioning_completed", { instanceId: body.id });
      return c.json(
        { id: body.id, apiKey, webhookUrl: connected.webhookUrl, balanceMicros: existing.balanceMicros },
        201,
      );
    }

    const connected = await connectBot(c.env, body.id, body.telegramBotToken, body.ownerTelegramId);
    const provisioned = unwrap(
      await stub.provision({
        instanceId: body.id,
        ownerTelegramId: body.ownerTelegramId,
        license,
        bonusMicros: bonusMicros ?? 0,
        apiKeyHash,
        ...connected.credentials,
        systemPrompt: body.systemPrompt ?? null,
      }),
    );
    await registerInstance(
      c.env,
      body.id,
      { ...connected.credentials, apiKeyHash },
      {
        ownerTelegramId: body.ownerTelegramId,
        license,
        createdAt: Date.now(),
        balanceMicros: provisioned.balanceMicros,
      },
    );
    return c.json(
      { id: body.id, apiKey, webhookUrl: connected.webhookUrl, balanceMicros: provisioned.balanceMicros },
      201,
    );
  },
);

adminApi.openapi(
  createRoute({
    method: "get",
    path: "/admin/instances/{id}",
    summary: "Balance, auto-recharge settings and state",
    security,
    request: { params: Params },
    responses: {
      200: jsonReply("The instance", InstanceView),
      ...errors,
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const s = unwrap(await account(c.env, id).status());
    return c.json(
      {
        id: s.instanceId,
        ownerTelegramId: s.ownerTelegramId,
        license: s.license,
        botUsername: s.botUsername,
        createdAt: iso(s.createdAt),
        balanceMicros: s.balanceMicros,
        availableMicros: s.availableMicros,
        heldMicros: s.heldMicros,
        outOfCredits: s.outOfCredits,
        state: s.outOfCredits ? ("out_of_credits" as const) : ("active" as const),
        autoRecharge: s.autoRecharge
          ? {
              enabled: s.autoRecharge.enabled,
              topUpMicros: s.autoRecharge.topUpMicros,
              rechargeAtMicros: s.autoRecharge.rechargeAtMicros,
              status: s.autoRecharge.status,
              card: s.autoRecharge.cardLast4
                ? { brand: s.autoRecharge.cardBrand, last4: s.autoRecharge.cardLast4 }
                : null,
            }
          : null,
        history: { lastSeq: s.lastSeq, pendingCopies: s.pendingOutbox },
      },
      200,
    );
  },
);

/**
 * The registry row that lets cron find the instance. The object is already the source of truth and its
 * alarm upserts this row until D1 confirms it (outbox.ts), so a failing D1 here fails nothing.
 */
async function registerInstance(
  env: Env,
  id: string,
  credentials: { botTokenSealed: string; webhookSecretHash: string; apiKeyHash: string },
  row: { ownerTelegramId: number; license: string; createdAt: number; balanceMicros: number },
): Promise<void> {
  try {
    await drizzle(env.DB)
      .insert(instances)
      .values({ id, ...row, ...credentials })
      .onConflictDoUpdate({ target: instances.id, set: credentials });
  } catch (error) {
    // drizzle's error repeats the query with its parameters (sealed token, key hash): log only the cause.
    const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
    log("warn", "registry_write_failed", { instanceId: id, error: describeError(cause) });
  }
}

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

adminApi.openapi(
  createRoute({
    method: "post",
    path: "/admin/instances/{id}/api-key",
    summary: "Issue a new usage API key (rotation, or a lost key); the previous key stops working at once",
    security,
    request: { params: Params },
    responses: {
      200: jsonReply("The new key, shown only here", NewApiKey),
      ...errors,
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

adminApi.openapi(
  createRoute({
    method: "put",
    path: "/admin/instances/{id}/bot-token",
    summary:
      "Store a new token for the instance's bot (revoked with @BotFather, or to re-seal under a new TOKEN_ENCRYPTION_KEY); the webhook is registered again with a fresh secret",
    security,
    request: {
      params: Params,
      body: { content: { "application/json": { schema: ReplaceBotTokenBody } }, required: true },
    },
    responses: {
      200: jsonReply("The bot is connected with the new token", BotConnected),
      409: errorReply("different_bot"),
      502: errorReply("Telegram unreachable"),
      ...errors,
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const stub = account(c.env, id);
    const current = unwrap(await stub.status());
    const connected = await connectBot(c.env, id, body.telegramBotToken, current.ownerTelegramId, current.botId);
    unwrap(await stub.replaceBotCredentials(connected.credentials));
    const { botTokenSealed, webhookSecretHash } = connected.credentials;
    await updateRegistry(c.env, id, { botTokenSealed, webhookSecretHash });
    return c.json({ id, webhookUrl: connected.webhookUrl, botUsername: connected.credentials.botUsername }, 200);
  },
);

/** Instances re-sealed at once per page: each is one call to its object. */
const RESEAL_PARALLEL = 10;

adminApi.openapi(
  createRoute({
    method: "post",
    path: "/admin/bot-tokens/reseal",
    summary:
      "Finish a TOKEN_ENCRYPTION_KEY rotation: seal every bot token sealed with TOKEN_ENCRYPTION_KEY_PREVIOUS again with the current key, a page of instances per call",
    security,
    request: { query: ResealQuery },
    responses: {
      200: jsonReply("One page of instances visited", ResealPage),
      ...errors,
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

adminApi.openapi(
  createRoute({
    method: "post",
    path: "/admin/instances/{id}/adjustments",
    summary: "Grant or remove credits (idempotent)",
    security,
    request: { params: Params, body: { content: { "application/json": { schema: AdjustmentBody } }, required: true } },
    responses: {
      201: jsonReply("Adjusted (or the first result of a retry)", AdjustmentResult),
      409: reusedKey,
      ...errors,
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const result = unwrap(
      await account(c.env, id).adjust(body, fingerprint({ amountMicros: body.amountMicros, reason: body.reason })),
    );
    if (result.replayed) c.header("Idempotent-Replayed", "true");
    return c.json({ entryId: result.seq, amountMicros: result.amountMicros, balanceMicros: result.balanceMicros }, 201);
  },
);

function entryView(e: LedgerEntry) {
  return {
    entryId: e.seq,
    kind: e.kind,
    operation: e.operation,
    amountMicros: e.amountMicros,
    balanceAfterMicros: e.balanceAfterMicros,
    idempotencyKey: e.idempotencyKey,
    endUserId: e.endUserId,
    reference: e.reference,
    memo: e.memo,
    createdAt: iso(e.createdAt),
  };
}

/** RFC 4180 field; a leading formula character is neutralised so spreadsheets do not execute it. */
function csvField(value: string | number | null): string {
  if (value === null) return "";
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text) && typeof value === "string") text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

adminApi.openapi(
  createRoute({
    method: "get",
    path: "/admin/instances/{id}/ledger",
    summary: "Ledger entries, newest first, in cursor pages (CSV with Accept: text/csv)",
    security,
    request: { params: Params, query: LedgerQuery },
    responses: {
      200: {
        description: "A page of entries",
        content: { "application/json": { schema: LedgerPageSchema }, "text/csv": { schema: z.string() } },
      },
      ...errors,
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const query = c.req.valid("query");
    const limit = query.limit ? Number(query.limit) : 100;
    const page = unwrap(await account(c.env, id).ledger(query.cursor ? Number(query.cursor) : null, limit));
    const entries = page.entries.map(entryView);
    const nextCursor = page.nextCursor === null ? null : String(page.nextCursor);
    if ((c.req.header("accept") ?? "").includes("text/csv")) {
      const columns = Object.keys(entryView(page.entries[0] ?? emptyEntry)) as (keyof ReturnType<typeof entryView>)[];
      const lines = [columns.join(","), ...entries.map((e) => columns.map((k) => csvField(e[k])).join(","))];
      if (nextCursor) c.header("X-Next-Cursor", nextCursor);
      return c.body(`${lines.join("\r\n")}\r\n`, 200, { "content-type": "text/csv; charset=utf-8" });
    }
    return c.json({ entries, nextCursor }, 200);
  },
);

const emptyEntry: LedgerEntry = {
  seq: 0,
  kind: "grant",
  operation: null,
  amountMicros: 0,
  balanceAfterMicros: 0,
  idempotencyKey: null,
  endUserId: null,
  reference: null,
  memo: null,
  createdAt: 0,
};
