import { z } from "@hono/zod-openapi";
import { LANGS } from "../lang";
import { OPERATIONS } from "../ledger/types";

/**
 * The admin and usage API contract. These schemas validate requests and generate
 * `/openapi.json`, so the document can never drift from what the routes accept.
 */

/** $1,000,000 in micros: a bound far above any real request that keeps every sum a safe integer. */
export const MAX_MONEY_MICROS = 1_000_000_000_000;

const micros = (description: string) =>
  z.number().int("must be a whole number of micro-USD").max(MAX_MONEY_MICROS, "is too large").openapi({ description });

export const positiveMicros = (description: string) => micros(description).positive("must be positive");

export const IdempotencyKey = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces")
  .openapi({ description: "Unique per logical request; a retry with the same key returns the first result." });

export const InstanceId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 characters of A-Z, a-z, 0-9, _ and -")
  .openapi({ param: { name: "id", in: "path" }, example: "acme-expert" });

export const Operation = z.enum(OPERATIONS).openapi({ description: "What the credits pay for." });

export const EndUserId = z
  .string()
  .min(1)
  .max(64)
  .optional()
  .openapi({ description: "The end user the operation served (counts active users)." });

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "invalid_request" }),
      message: z.string(),
    }),
  })
  .openapi("Error");

/** OpenAPI response entries, so every route documents its errors the same way. */
export const errorReply = (description: string) => ({
  description,
  content: { "application/json": { schema: ErrorSchema } },
});
export const jsonReply = <T>(description: string, schema: T) => ({
  description,
  content: { "application/json": { schema } },
});
export const commonErrors = (unauthorized: string) => ({
  400: errorReply("Invalid request"),
  401: errorReply(unauthorized),
  404: errorReply("Unknown instance"),
});
export const reusedKey = errorReply("idempotencyKey reused with other parameters");

// ---------------------------------------------------------------- admin

/** Telegram's service accounts are never an owner. */
const SERVICE_ACCOUNTS = new Set([1087968824, 777000]);

const TelegramBotToken = z
  .string()
  .regex(/^\d{1,20}:[A-Za-z0-9_-]{30,100}$/, "must look like 123456789:AA… (from @BotFather)")
  .openapi({ description: "Stored encrypted; never returned or logged." });

export const CreateInstanceBody = z
  .strictObject({
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 characters of A-Z, a-z, 0-9, _ and -"),
    telegramBotToken: TelegramBotToken,
    ownerTelegramId: z
      .number()
      .int()
      .positive()
      .max(2 ** 52)
      .refine((id) => !SERVICE_ACCOUNTS.has(id), "is a Telegram service account, not a person"),
    license: z.string().min(1).max(64).optional(),
    systemPrompt: z.string().max(4000).optional(),
    ownerEmail: z
      .email("must be an email address, like name@example.com")
      .max(254)
      .optional()
      .openapi({
        description:
          "Where Stripe emails the invoices: the instance's Stripe customer is made with it, before the first charge. " +
          "Without it, the email the owner enters in Checkout (or sets with /invoiceEmail) is used.",
        example: "owner@example.com",
      }),
    ownerLanguage: z
      .enum(LANGS)
      .optional()
      .openapi({
        description:
          "The owner's language when known ('en' or 'cs'), for the welcome and the first alerts. Later the language_code " +
          "of the owner's messages sets it, and the owner's /language choice wins over both.",
        example: "cs",
      }),
  })
  .openapi("CreateInstance");

export const CreatedInstance = z
  .object({
    id: z.string(),
    apiKey: z.string().openapi({ description: "Shown only in this response; only its hash is stored." }),
    webhookUrl: z.string(),
    balanceMicros: z.number().int(),
  })
  .openapi("CreatedInstance");

export const NewApiKey = z
  .object({
    id: z.string(),
    apiKey: z.string().openapi({ description: "Shown only in this response; the previous key no longer works." }),
  })
  .openapi("NewApiKey");

export const ReplaceBotTokenBody = z.strictObject({ telegramBotToken: TelegramBotToken }).openapi("ReplaceBotToken");

export const BotConnected = z
  .object({
    id: z.string(),
    webhookUrl: z.string(),
    botUsername: z.string(),
  })
  .openapi("BotConnected");

/** `?limit=` of a paged route: 1 to `max`, digits only. */
function pageLimit(max: number) {
  const message = `must be a number from 1 to ${max}`;
  return z
    .string()
    .regex(new RegExp(`^\\d{1,${String(max).length}}$`), message)
    .refine((s) => Number(s) >= 1 && Number(s) <= max, message)
    .optional()
    .openapi({ param: { name: "limit", in: "query" } });
}

export const ResealQuery = z.object({
  cursor: InstanceId.optional().openapi({ param: { name: "cursor", in: "query" } }),
  limit: pageLimit(200),
});

export const ResealPage = z
  .object({
    visited: z.number().int(),
    resealed: z.number().int().openapi({ description: "Sealed with the previous key, now with the current one" }),
    current: z.number().int().openapi({ description: "Already sealed with the current key" }),
    unreadable: z
      .array(z.string())
      .openapi({ description: "Instances whose bot token no configured key opens: store a new token for each" }),
    failed: z
      .array(z.string())
      .openapi({ description: "Instances whose object could not be reached this time: run the page again" }),
    notProvisioned: z.number().int(),
    nextCursor: z.string().nullable().openapi({ description: "Pass as ?cursor= for the next page; null at the end" }),
  })
  .openapi("ResealPage");

export const InstanceView = z
  .object({
    id: z.string(),
    ownerTelegramId: z.number().int(),
    license: z.string(),
    botUsername: z.string().nullable(),
    createdAt: z.string(),
    balanceMicros: z.number().int(),
    availableMicros: z.number().int(),
    heldMicros: z.number().int(),
    outOfCredits: z.boolean(),
    state: z.enum(["active", "out_of_credits"]),
    autoRecharge: z
      .object({
        enabled: z.boolean(),
        topUpMicros: z.number().int(),
        rechargeAtMicros: z.number().int(),
        status: z.string(),
        card: z.object({ brand: z.string().nullable(), last4: z.string().nullable() }).nullable(),
      })
      .nullable(),
    history: z.object({ lastSeq: z.number().int(), pendingCopies: z.number().int() }),
  })
  .openapi("Instance");

export const AdjustmentBody = z
  .strictObject({
    idempotencyKey: IdempotencyKey,
    amountMicros: micros("Signed: positive grants credits, negative removes them.")
      .min(-MAX_MONEY_MICROS, "is too small")
      .refine((n) => n !== 0, "must not be zero"),
    reason: z.string().trim().min(1).max(500),
  })
  .openapi("Adjustment");

export const AdjustmentResult = z
  .object({ entryId: z.number().int(), amountMicros: z.number().int(), balanceMicros: z.number().int() })
  .openapi("AdjustmentResult");

export const LedgerEntrySchema = z
  .object({
    entryId: z.number().int(),
    kind: z.string(),
    operation: z.string().nullable(),
    amountMicros: z.number().int(),
    balanceAfterMicros: z.number().int(),
    idempotencyKey: z.string().nullable(),
    endUserId: z.string().nullable(),
    reference: z.string().nullable(),
    memo: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi("LedgerEntry");

export const LedgerQuery = z.object({
  cursor: z
    .string()
    .regex(/^[1-9]\d{0,15}$/, "must be an entryId from a previous page")
    .optional()
    .openapi({ param: { name: "cursor", in: "query" } }),
  limit: pageLimit(1000),
});

export const LedgerPageSchema = z
  .object({ entries: z.array(LedgerEntrySchema), nextCursor: z.string().nullable() })
  .openapi("LedgerPage");

// ---------------------------------------------------------------- usage

export const BalanceSchema = z
  .object({ balanceMicros: z.number().int(), availableMicros: z.number().int(), outOfCredits: z.boolean() })
  .openapi("Balance");

const Tokens = z.number().int().min(0).max(100_000_000);

const ExplicitCost = z.strictObject({
  idempotencyKey: IdempotencyKey,
  operation: Operation,
  costMicros: positiveMicros("The operation's cost in micro-USD."),
  endUserId: EndUserId,
});

const TokenCost = z.strictObject({
  idempotencyKey: IdempotencyKey,
  operation: Operation,
  model: z.string().min(1).max(200),
  inputTokens: Tokens,
  outputTokens: Tokens,
  endUserId: EndUserId,
});

export const UsageBody = z.union([ExplicitCost, TokenCost]).openapi("Usage", {
  description: "Either an explicit cost, or a model with its token usage (priced by MODEL_PRICES × CREDIT_MARKUP).",
});

export const UsageResult = z
  .object({ chargedMicros: z.number().int(), balanceMicros: z.number().int() })
  .openapi("UsageResult");

export const HoldBody = z
  .strictObject({
    idempotencyKey: IdempotencyKey,
    operation: Operation,
    maxCostMicros: positiveMicros("The worst-case cost to reserve."),
    ttlSeconds: z.number().int().min(10).max(3600).optional().openapi({ description: "Default 300." }),
    endUserId: EndUserId,
  })
  .openapi("Hold");

export const HoldResultSchema = z
  .object({ holdId: z.string(), expiresAt: z.string().openapi({ format: "date-time" }) })
  .openapi("HoldResult");

export const HoldParams = z.object({
  id: InstanceId,
  holdId: z
    .string()
    .regex(/^hold_[a-f0-9]{32}$/, "is not a hold id")
    .openapi({ param: { name: "holdId", in: "path" } }),
});

export const SettleBody = z
  .union([
    ExplicitCost.omit({ operation: true, endUserId: true }).extend({ operation: Operation.optional() }),
    TokenCost.omit({ operation: true, endUserId: true }).extend({ operation: Operation.optional() }),
  ])
  .openapi("Settle", { description: "The actual cost, as for usage; at most the held amount is charged." });

export const SettleResultSchema = z
  .object({ chargedMicros: z.number().int(), releasedMicros: z.number().int(), balanceMicros: z.number().int() })
  .openapi("SettleResult");

export const ReleaseResultSchema = z
  .object({ releasedMicros: z.number().int(), balanceMicros: z.number().int(), availableMicros: z.number().int() })
  .openapi("ReleaseResult");
