import { Hono } from "hono";
import type { ModelCall } from "../account/bot-jobs";
import { complete } from "../ai/model";
import { sha256Hex } from "../crypto";
import { errorResponse } from "../errors";
import { describeError, log } from "../log";
import type { AppEnv } from "./shared";
import { account } from "./shared";

/**
 * `POST /telegram/:instanceId`. The secret header is hashed here and compared in constant time
 * by the instance's object, before the body is parsed. Telegram is answered as soon as the
 * update is durably recorded; the answer itself is sent afterwards (docs/telegram.md).
 */
export const telegramWebhook = new Hono<AppEnv>();

const SECRET_HEADER = "x-telegram-bot-api-secret-token";

/**
 * The Worker asks the model for at most this long: its work after the response (`waitUntil`) may last 30 s.
 * A slower model gives the job back to the object, which asks again with its own, longer timeout.
 */
const OUTSIDE_MODEL_TIMEOUT_MS = 20_000;

telegramWebhook.post("/telegram/:instanceId", async (c) => {
  const instanceId = c.req.param("instanceId");
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(instanceId)) return errorResponse("not_found", "No instance with this id.");
  const secret = c.req.header(SECRET_HEADER);
  if (!secret || secret.length > 256) return errorResponse("unauthorized", "Missing or wrong secret token.");
  const body = await c.req.text();
  const { status, modelCall } = await account(c.env, instanceId).receiveUpdate(await sha256Hex(secret), body);
  if (modelCall) c.executionCtx.waitUntil(askModel(c.env, instanceId, modelCall));
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

/**
 * A client's question the object leased to this Worker: the model is asked here, after Telegram was answered,
 * so the object is not kept (and billed) for the model's wait; the answer goes back under the lease, and the
 * object settles and sends it (docs/telegram.md, "The model's wait"). Whatever goes wrong here, the lease runs
 * out and the object asks the model itself: an answer is never lost, and it is charged once.
 */
async function askModel(env: Env, instanceId: string, call: ModelCall): Promise<void> {
  const completion = await complete({ ...call.ask, apiKey: env.AI_API_KEY, timeoutMs: OUTSIDE_MODEL_TIMEOUT_MS });
  const delivered = completion.ok || completion.reason !== "timeout" ? completion : null;
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      await account(env, instanceId).modelAnswered(call.updateId, call.lease, delivered);
      return;
    } catch (error) {
      log("warn", "model_answer_undelivered", {
        instanceId,
        updateId: call.updateId,
        attempt,
        error: describeError(error),
      });
    }
  }
}
