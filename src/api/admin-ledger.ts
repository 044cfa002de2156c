import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { LedgerEntry } from "../ledger/types";
import { adminErrors, adminSecurity, InstanceParams } from "./admin-shared";
import { AdjustmentBody, AdjustmentResult, jsonReply, LedgerPageSchema, LedgerQuery, reusedKey } from "./schemas";
import { type AppEnv, account, fingerprint, iso, unwrap } from "./shared";

/** The ledger: credits granted or removed by hand, and the entries read back as JSON pages or CSV. */
export const ledgerApi = new OpenAPIHono<AppEnv>();

ledgerApi.openapi(
  createRoute({
    method: "post",
    path: "/admin/instances/{id}/adjustments",
    summary: "Grant or remove credits (idempotent)",
    security: adminSecurity,
    request: {
      params: InstanceParams,
      body: { content: { "application/json": { schema: AdjustmentBody } }, required: true },
    },
    responses: {
      201: jsonReply("Adjusted (or the first result of a retry)", AdjustmentResult),
      409: reusedKey,
      ...adminErrors,
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

ledgerApi.openapi(
  createRoute({
    method: "get",
    path: "/admin/instances/{id}/ledger",
    summary: "Ledger entries, newest first, in cursor pages (CSV with Accept: text/csv)",
    security: adminSecurity,
    request: { params: InstanceParams, query: LedgerQuery },
    responses: {
      200: {
        description: "A page of entries",
        content: { "application/json": { schema: LedgerPageSchema }, "text/csv": { schema: z.string() } },
      },
      ...adminErrors,
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
