import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { drizzle } from "drizzle-orm/d1";
import { encryptSecret, importEncryptionKey, randomToken, sha256Hex } from "../crypto";
import { instances } from "../db/schema";
import { loadConfig } from "../env";
import { ApiError } from "../errors";
import type { Lang } from "../lang";
import type { BotCredentials } from "../ledger/types";
import { describeError, log } from "../log";
import { isBadTokenError, telegramApi } from "../telegram/api";
import { dashboardUrl, setOwnerMenu } from "../telegram/menu";
import { adminErrors, adminSecurity, InstanceParams } from "./admin-shared";
import { CreatedInstance, CreateInstanceBody, errorReply, InstanceView, jsonReply } from "./schemas";
import { type AppEnv, account, iso, unwrap } from "./shared";

/** Provisioning an instance and connecting its bot, and reading an instance back. */
export const instancesApi = new OpenAPIHono<AppEnv>();

/**
 * Points the bot at this instance: checks the token with Telegram (`getMe`), registers the webhook with a
 * fresh secret token and the owner's command menu, and seals what is stored. Nothing is stored here; a
 * refusal from Telegram becomes the API's error. `sameBotAs`: refuse a token of another bot before
 * anything at Telegram changes.
 */
export async function connectBot(
  env: Env,
  instanceId: string,
  token: string,
  ownerTelegramId: number,
  sameBotAs?: number | null,
  /**
   * The owner's command menu: `chosen` is their `/language` choice, which a reconnected bot keeps (null: by the
   * Telegram app's language); `label` is the language of the dashboard's menu button.
   */
  menu: { chosen: Lang | null; label: Lang } = { chosen: null, label: "en" },
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
    const dashboard = { url: dashboardUrl(config.publicBaseUrl, instanceId), lang: menu.label };
    await setOwnerMenu(telegram, ownerTelegramId, menu.chosen, dashboard);
  } catch (error) {
    log("warn", "set_commands_failed", { instanceId, error: describeError(error) });
  }
  const key = await importEncryptionKey(env.TOKEN_ENCRYPTION_KEY);
  const [botTokenSealed, webhookSecretHash] = await Promise.all([encryptSecret(key, token), sha256Hex(webhookSecret)]);
  return { credentials: { botTokenSealed, webhookSecretHash, botId: bot.id, botUsername: bot.username }, webhookUrl };
}

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
 * The owner's welcome, once the instance exists: a refusal (the owner has not started the bot) or a Telegram
 * outage fails nothing here; the object sends it with the owner's first message instead.
 */
async function welcomeOwner(stub: ReturnType<typeof account>, instanceId: string): Promise<void> {
  try {
    const outcome = await stub.welcome();
    log("info", "owner_welcome", { instanceId, welcome: outcome.ok ? outcome.welcome : outcome.reason });
  } catch (error) {
    log("warn", "owner_welcome_failed", { instanceId, error: describeError(error) });
  }
}

instancesApi.openapi(
  createRoute({
    method: "post",
    path: "/admin/instances",
    summary: "Provision an instance: register its Telegram webhook and grant the license bonus",
    security: adminSecurity,
    request: { body: { content: { "application/json": { schema: CreateInstanceBody } }, required: true } },
    responses: {
      201: jsonReply("Provisioned", CreatedInstance),
      409: errorReply("instance_exists"),
      502: errorReply("Telegram unreachable"),
      ...adminErrors,
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
      const connected = await connectBot(c.env, body.id, body.telegramBotToken, body.ownerTelegramId, existing.botId, {
        chosen: existing.ownerLanguageChosen,
        label: existing.ownerLanguageChosen ?? body.ownerLanguage ?? "en",
      });
      unwrap(await stub.replaceBotCredentials(connected.credentials));
      unwrap(await stub.replaceApiKey(apiKeyHash));
      await registerInstance(c.env, body.id, { ...connected.credentials, apiKeyHash }, existing);
      await welcomeOwner(stub, body.id);
      log("info", "instance_provisioning_completed", { instanceId: body.id });
      return c.json(
        { id: body.id, apiKey, webhookUrl: connected.webhookUrl, balanceMicros: existing.balanceMicros },
        201,
      );
    }

    const connected = await connectBot(c.env, body.id, body.telegramBotToken, body.ownerTelegramId, null, {
      chosen: null,
      label: body.ownerLanguage ?? "en",
    });
    const provisioned = unwrap(
      await stub.provision({
        instanceId: body.id,
        ownerTelegramId: body.ownerTelegramId,
        license,
        bonusMicros: bonusMicros ?? 0,
        apiKeyHash,
        ...connected.credentials,
        systemPrompt: body.systemPrompt ?? null,
        ownerEmail: body.ownerEmail ?? null,
        ownerLanguage: body.ownerLanguage ?? null,
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
    await welcomeOwner(stub, body.id);
    return c.json(
      { id: body.id, apiKey, webhookUrl: connected.webhookUrl, balanceMicros: provisioned.balanceMicros },
      201,
    );
  },
);

instancesApi.openapi(
  createRoute({
    method: "get",
    path: "/admin/instances/{id}",
    summary: "Balance, auto-recharge settings and state",
    security: adminSecurity,
    request: { params: InstanceParams },
    responses: {
      200: jsonReply("The instance", InstanceView),
      ...adminErrors,
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
