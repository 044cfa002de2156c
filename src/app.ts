import { OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { adminApi } from "./api/admin";
import { dashboardApi } from "./api/dashboard";
import type { AppEnv } from "./api/shared";
import { stripeWebhook } from "./api/stripe-webhook";
import { telegramWebhook } from "./api/telegram-webhook";
import { usageApi } from "./api/usage";
import { ApiError, type ErrorBody, errorResponse } from "./errors";
import { describeError, log } from "./log";

/** Requests larger than this are refused before they are read: every legitimate body is far smaller. */
export const MAX_BODY_BYTES = 64 * 1024;

function validationMessage(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 5)
    .map((i) => (i.path.length ? `${i.path.map(String).join(".")}: ${i.message}` : i.message))
    .join("; ");
}

export function createApp() {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        return c.json<ErrorBody>(
          { error: { code: "invalid_request", message: validationMessage(result.error.issues) } },
          400,
        );
      }
    },
  });

  app.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => errorResponse("payload_too_large", `The request body exceeds ${MAX_BODY_BYTES} bytes.`),
    }),
  );

  // JSON APIs take JSON only; anything else is refused before it is parsed. A request without a body
  // (`POST …/api-key`) has nothing to refuse; a route that needs one says so in its own validation.
  const requireJson: MiddlewareHandler = async (c, next) => {
    const method = c.req.method;
    const hasBody = c.req.raw.body !== null && c.req.header("content-length") !== "0";
    if (hasBody && (method === "POST" || method === "PUT" || method === "PATCH")) {
      const type = c.req.header("content-type") ?? "";
      if (!/^application\/json\s*(;|$)/i.test(type)) {
        return errorResponse("unsupported_media_type", "Send the body as application/json.");
      }
    }
    await next();
  };
  app.use("/admin/*", requireJson);
  app.use("/v1/*", requireJson);
  app.use("/app/*", requireJson);

  app.route("/", telegramWebhook);
  app.route("/", stripeWebhook);
  app.route("/", adminApi);
  app.route("/", usageApi);
  app.route("/", dashboardApi);

  app.openAPIRegistry.registerComponent("securitySchemes", "adminToken", { type: "http", scheme: "bearer" });
  app.openAPIRegistry.registerComponent("securitySchemes", "instanceKey", { type: "http", scheme: "bearer" });
  app.openAPIRegistry.registerComponent("securitySchemes", "telegramInitData", {
    type: "apiKey",
    in: "header",
    name: "Authorization",
    description: "`tma <initData>`: the Mini App's initData as Telegram signed it (docs/dashboard.md).",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "AI credits",
      version: "1.0.0",
      description: "Admin and usage APIs. Money is integer micro-USD (1 USD = 1,000,000) in fields named …Micros.",
    },
  });

  app.notFound(() => errorResponse("not_found", "No such route."));

  app.onError((error, c) => {
    if (error instanceof ApiError) return c.json(error.toBody(), error.status);
    if (error instanceof HTTPException) {
      if (error.status === 413) return errorResponse("payload_too_large", "The request body is too large.");
      // zod-openapi's media-type gate (a route's body declared JSON, another type sent).
      if (error.status === 415) return errorResponse("unsupported_media_type", "Send the body as application/json.");
      if (error.status === 400) return errorResponse("malformed_json", "The request body is not valid JSON.");
      return errorResponse("invalid_request", error.message);
    }
    log("error", "unhandled_error", { path: c.req.path, error: describeError(error) });
    return errorResponse("internal_error", "Something went wrong on our side; nothing was changed.");
  });

  return app;
}
