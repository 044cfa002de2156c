import { Hono } from "hono";
import { sha256Hex } from "../crypto";
import { errorResponse } from "../errors";
import type { AppEnv } from "./shared";
import { account } from "./shared";

/**
 * `POST /telegram/:instanceId`. The secret header is hashed here and compared in constant time
 * by the instance's object, before the body is parsed. Telegram is answered as soon as the
 * update is durably recorded; the answer itself is sent afterwards (docs/telegram.md).
 */
export const telegramWebhook = new Hono<AppEnv>();

const SECRET_HEADER = "x-telegram-bot-api-secret-token";

telegramWebhook.post("/telegram/:instanceId", async (c) => {
  const instanceId = c.req.param("instanceId");
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(instanceId)) return errorResponse("not_found", "No instance with this id.");
  const secret = c.req.header(SECRET_HEADER);
  if (!secret || secret.length > 256) return errorResponse("unauthorized", "Missing or wrong secret token.");
  const body = await c.req.text();
  const { status } = await account(c.env, instanceId).receiveUpdate(await sha256Hex(secret), body);
  switch (status) {
    case 404:
      return errorResponse("not_found", "No instance with this id.");
    case 401:
      return errorResponse("unauthorized", "Missing or wrong secret token.");
    case 400:
      return errorResponse("malformed_json", "The update is not valid JSON.");
    default:
      return c.json({ ok: true }, 200);
  }
});
