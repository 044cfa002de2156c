import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { APP_COMMAND_NAMES } from "../account/dashboard";
import { ApiError } from "../errors";
import type { Outcome } from "../ledger/types";
import { MAX_INIT_DATA_CHARS } from "../telegram/init-data";
import { errorReply, InstanceId, jsonReply } from "./schemas";
import { type AppEnv, account, unwrap } from "./shared";

/**
 * The owner's Mini App's JSON (docs/dashboard.md). The page sends Telegram's `initData` as
 * `Authorization: tma <initData>`; the instance's object checks it with the bot token (which never leaves the
 * object) and answers only its owner. Every refusal is the same 401 with nothing in it: a forged, stale, another
 * bot's or a client's `initData`, and an unknown instance, look alike from outside.
 */
export const dashboardApi = new OpenAPIHono<AppEnv>();

const REFUSED =
  "Open the dashboard from your bot's chat in Telegram (this sign-in is not valid or is over an hour old).";

function initData(c: Context): string {
  const header = c.req.header("authorization") ?? "";
  const match = /^tma (.+)$/.exec(header);
  if (!match?.[1] || match[1].length > MAX_INIT_DATA_CHARS) throw new ApiError("unauthorized", REFUSED);
  return match[1];
}

// No `tma` authorization, no look at the request: the refusal comes before any validation of the body.
dashboardApi.use("/app/:id/*", async (c, next) => {
  initData(c);
  await next();
});

/** A refusal of the object becomes the one 401; anything else as the other routes map it. */
function ownersOnly<R extends Outcome<object>>(outcome: R): Extract<R, { ok: true }> {
  if (!outcome.ok && (outcome.reason === "unauthorized" || outcome.reason === "not_found")) {
    throw new ApiError("unauthorized", REFUSED);
  }
  return unwrap(outcome);
}

const Micros = z.number().int();
const Params = z.object({ id: InstanceId });
const errors = {
  400: errorReply("Invalid request, or a value the command refuses (the message is the command's own reply)"),
  401: errorReply("initData missing, forged, older than an hour, of another bot, or not the owner's"),
};
const security = [{ telegramInitData: [] }];

const Dashboard = z
  .object({
    instanceId: z.string(),
    botUsername: z.string().nullable(),
    lang: z.enum(["en", "cs"]).openapi({ description: "The owner's language: the page is shown in it." }),
    balanceMicros: Micros,
    availableMicros: Micros,
    autoRecharge: z
      .object({
        enabled: z.boolean(),
        topUpMicros: Micros,
        rechargeAtMicros: Micros,
        status: z.string(),
        cardBrand: z.string().nullable(),
        cardLast4: z.string().nullable(),
        confirmUrl: z.string().nullable(),
        cardSaved: z.boolean().optional(),
      })
      .nullable(),
    runwayHours: z.number().nullable().openapi({ description: "At the last 7 days' burn rate; null without spend." }),
    recommendedRechargeAtMicros: Micros,
    spend: z.object({ todayMicros: Micros, d7Micros: Micros, d30Micros: Micros }),
    answers: z.object({ h24: z.number().int(), d7: z.number().int(), d30: z.number().int() }),
    activeUsers: z.object({ h24: z.number().int(), d7: z.number().int(), d30: z.number().int() }),
    clientLimitMicros: Micros.openapi({ description: "What one client may cost per UTC day; 0: no limit." }),
    days: z
      .array(
        z.object({
          day: z.number().int().openapi({ description: "UTC day: days since 1970-01-01." }),
          costMicros: z.object({ response: Micros, knowhow_update: Micros, role_update: Micros }),
          answers: z.number().int(),
          activeUsers: z.number().int(),
        }),
      )
      .openapi({ description: "The last 30 UTC days, oldest first, today included." }),
    invoices: z.array(
      z.object({
        createdAt: z.number().int(),
        amountMicros: Micros,
        status: z.string(),
        hostedUrl: z.string().nullable(),
        pdfUrl: z.string().nullable(),
      }),
    ),
    limits: z.object({ minTopUpMicros: Micros, maxTopUpMicros: Micros, minRechargeAtMicros: Micros }),
  })
  .openapi("Dashboard");

const CommandBody = z
  .strictObject({
    command: z.enum(APP_COMMAND_NAMES).openapi({ description: "An owner command, lowercase, as typed in the chat." }),
    args: z
      .array(z.string().max(64))
      .max(4)
      .default([])
      .openapi({ description: 'Its values, e.g. ["750", "200"] for /changeCreditsTopUp:750:200.' }),
  })
  .openapi("DashboardCommand");

const CommandResult = z
  .object({
    replies: z.array(z.string()).openapi({ description: "What the bot sent to the owner's chat." }),
    link: z.string().nullable().openapi({ description: "A page to open (Stripe Checkout, the billing portal)." }),
  })
  .openapi("DashboardCommandResult");

dashboardApi.openapi(
  createRoute({
    method: "get",
    path: "/app/{id}/data",
    summary: "The owner's dashboard: balance, auto-recharge, runway, 30 days of spend, invoices",
    security,
    request: { params: Params },
    responses: { 200: jsonReply("The dashboard", Dashboard), ...errors },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { ok: _, ...view } = ownersOnly(await account(c.env, id).dashboard(initData(c)));
    return c.json(view, 200);
  },
);

dashboardApi.openapi(
  createRoute({
    method: "post",
    path: "/app/{id}/commands",
    summary: "A settings change from the dashboard, run as the owner's command (the bot confirms it in the chat)",
    security,
    request: {
      params: Params,
      body: { content: { "application/json": { schema: CommandBody } }, required: true },
    },
    responses: { 200: jsonReply("Done; the bot's replies", CommandResult), ...errors },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { command, args } = c.req.valid("json");
    const result = ownersOnly(await account(c.env, id).dashboardCommand(initData(c), command, args));
    if (!result.applied) throw new ApiError("invalid_request", result.problem);
    return c.json({ replies: result.replies, link: result.link }, 200);
  },
);
