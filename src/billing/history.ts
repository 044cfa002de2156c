import { desc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { recharges } from "../db/schema";
import type { InvoiceRow } from "../telegram/texts";
import type { RechargeRow } from "./recharges";

const UPSERT = `INSERT INTO recharges
  (id, instance_id, kind, amount_micros, paid_micros, refunded_micros, status, invoice_id, hosted_url, pdf_url, failure_code, created_at, updated_at)
  SELECT r.value ->> '$.id', ?1, r.value ->> '$.kind', r.value ->> '$.amount_micros', r.value ->> '$.paid_micros',
         r.value ->> '$.refunded_micros', r.value ->> '$.status', r.value ->> '$.invoice_id', r.value ->> '$.hosted_url',
         r.value ->> '$.pdf_url', r.value ->> '$.failure_code', r.value ->> '$.created_at', r.value ->> '$.updated_at'
  FROM json_each(?2) AS r WHERE true
  ON CONFLICT (id) DO UPDATE SET
    paid_micros = excluded.paid_micros, refunded_micros = excluded.refunded_micros, status = excluded.status,
    invoice_id = excluded.invoice_id, hosted_url = excluded.hosted_url, pdf_url = excluded.pdf_url,
    failure_code = excluded.failure_code, updated_at = excluded.updated_at
  WHERE excluded.updated_at >= recharges.updated_at`;

/** Copies changed recharges to D1 in one statement; newer copies are never overwritten by older ones. */
export async function copyRecharges(db: D1Database, instanceId: string, rows: readonly RechargeRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.prepare(UPSERT).bind(instanceId, JSON.stringify(rows)).run();
}

/** One recharge as `/invoices` and the dashboard list it: the amount paid, and "refunded" when money went back. */
export function invoiceRowOf(r: {
  createdAt: number;
  amountMicros: number;
  paidMicros: number | null;
  refundedMicros: number;
  status: string;
  hostedUrl: string | null;
  pdfUrl: string | null;
}): InvoiceRow {
  return {
    createdAt: r.createdAt,
    amountMicros: r.paidMicros ?? r.amountMicros,
    status: r.refundedMicros > 0 ? `${r.status}, refunded` : r.status,
    hostedUrl: r.hostedUrl,
    pdfUrl: r.pdfUrl,
  };
}

/** The latest recharges and top-ups of an instance, from D1 history. */
export async function latestInvoices(db: D1Database, instanceId: string, limit = 10): Promise<InvoiceRow[]> {
  const rows = await drizzle(db)
    .select()
    .from(recharges)
    .where(eq(recharges.instanceId, instanceId))
    .orderBy(desc(recharges.createdAt))
    .limit(limit);
  return rows.map(invoiceRowOf);
}
