import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * The instance registry. The CreditAccount Durable Object is the source of truth for
 * balances and settings; the balance columns here are a projection written by the outbox
 * flush so that cron can find out-of-credits instances with one indexed query.
 */
export const instances = sqliteTable(
  "instances",
  {
    id: text("id").primaryKey(),
    ownerTelegramId: integer("owner_telegram_id").notNull(),
    license: text("license").notNull(),
    /** AES-GCM sealed bot token (`v1.<iv>.<ciphertext>`); never stored in clear. */
    botTokenSealed: text("bot_token_sealed").notNull(),
    /** SHA-256 of the Telegram webhook secret_token. */
    webhookSecretHash: text("webhook_secret_hash").notNull(),
    /** SHA-256 of the usage API key; the key itself is shown once at provisioning. */
    apiKeyHash: text("api_key_hash").notNull(),
    createdAt: integer("created_at").notNull(),
    balanceMicros: integer("balance_micros").notNull().default(0),
    outOfCredits: integer("out_of_credits", { mode: "boolean" }).notNull().default(false),
    /** Ledger sequence number the projection reflects; older flushes never overwrite newer ones. */
    projectedSeq: integer("projected_seq").notNull().default(0),
    projectedAt: integer("projected_at").notNull().default(0),
  },
  // Partial: the hourly run pages only the out-of-credits ids, and a projection write of an instance with
  // credits (nearly all of them) touches no index row, which D1 would bill as a row written.
  (t) => [index("instances_out_of_credits").on(t.id).where(sql`${t.outOfCredits} = 1`)],
);

/** History copy of every CreditAccount ledger entry, written in batches by the outbox. */
export const ledgerEntries = sqliteTable(
  "ledger_entries",
  {
    instanceId: text("instance_id").notNull(),
    seq: integer("seq").notNull(),
    kind: text("kind").notNull(),
    operation: text("operation"),
    amountMicros: integer("amount_micros").notNull(),
    balanceAfterMicros: integer("balance_after_micros").notNull(),
    idempotencyKey: text("idempotency_key"),
    endUserId: text("end_user_id"),
    reference: text("reference"),
    memo: text("memo"),
    createdAt: integer("created_at").notNull(),
    copiedAt: integer("copied_at").notNull().default(sql`(unixepoch() * 1000)`),
  },
  // No index beside the primary key: every index is one more row written per entry (D1 bills it), and seq
  // follows time, so an instance's history by time is a range of its primary key.
  (t) => [primaryKey({ columns: [t.instanceId, t.seq] })],
);

/** Copy of each instance's recharges and top-ups (written by the object's alarm), for `/invoices` and reporting. */
export const recharges = sqliteTable(
  "recharges",
  {
    id: text("id").primaryKey(),
    instanceId: text("instance_id").notNull(),
    kind: text("kind").notNull(),
    amountMicros: integer("amount_micros").notNull(),
    paidMicros: integer("paid_micros"),
    refundedMicros: integer("refunded_micros").notNull().default(0),
    status: text("status").notNull(),
    invoiceId: text("invoice_id"),
    hostedUrl: text("hosted_url"),
    pdfUrl: text("pdf_url"),
    failureCode: text("failure_code"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("recharges_instance_created").on(t.instanceId, t.createdAt)],
);
