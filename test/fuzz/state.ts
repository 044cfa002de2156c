import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { expect } from "vitest";
import { loadConfig } from "../../src/env";
import { Ledger } from "../../src/ledger/ledger";
import { stub } from "../helpers";
import { sentMessages } from "../telegram/fixtures";

/**
 * "Nothing changed", checked concretely: every row of every table of the instance's CreditAccount
 * (balance, ledger, holds, idempotency records, billing settings, recharges, Stripe event ids,
 * Telegram updates), the D1 registry and history rows, and the messages the bot sent.
 */

function portable(value: unknown): unknown {
  if (value instanceof ArrayBuffer) return `bytes:${[...new Uint8Array(value)].join(",")}`;
  return value;
}

export interface Snapshot {
  tables: Record<string, unknown[]>;
  d1Instances: number;
  d1Ledger: number;
  sent: number;
}

export async function objectTables(id: string, skip: readonly string[] = []): Promise<Record<string, unknown[]>> {
  return runInDurableObject(stub(id), (_instance, state) => {
    const sql = state.storage.sql;
    // The stats rollups follow the ledger in batches (alarm, readers): bring them up to it, so two
    // snapshots compare them at the same point and a rollup without a ledger entry would show.
    state.storage.transactionSync(() => new Ledger(sql, loadConfig(env)).rollups.catchUpRollups());
    const names = sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name",
      )
      .toArray()
      .map((r) => r.name)
      .filter((name) => !skip.includes(name));
    const tables: Record<string, unknown[]> = {};
    for (const name of names) {
      tables[name] = sql
        .exec(`SELECT * FROM "${name}"`)
        .toArray()
        // How far the alarm has copied history to D1 moves on its own (checked below, against D1).
        .filter((row) => !(name === "cursors" && row.name === "history"))
        .map((row) => {
          const out: Record<string, unknown> = {};
          for (const [k, v] of Object.entries(row)) out[k] = portable(v);
          // A hold that expires on its own (clock, alarm) is not a change made by a request.
          if (name === "holds" && out.status === "expired") out.status = "open";
          if (name === "account") delete out.held_micros;
          // Set by the alarm once D1 confirmed the registry row: bookkeeping of the copy, not a change.
          if (name === "account") delete out.registered;
          // Set by the alarm once the recharge is copied to D1: bookkeeping of the copy, not a change.
          if (name === "recharges") delete out.synced;
          return out;
        });
    }
    return tables;
  });
}

export interface SnapshotOptions {
  /** Tables left out of the comparison (e.g. the dedupe records an accepted delivery leaves). */
  skipTables?: readonly string[];
  /** Also count the messages the bot sent (one call to the Telegram stand-in). */
  messages?: boolean;
}

export async function snapshot(
  inst: { id: string; botToken: string },
  options: SnapshotOptions = {},
): Promise<Snapshot> {
  const [tables, [instances, ledger], sent] = await Promise.all([
    objectTables(inst.id, options.skipTables),
    env.DB.batch<{ n: number }>([
      env.DB.prepare("SELECT COUNT(*) AS n FROM instances"),
      env.DB.prepare("SELECT COUNT(*) AS n FROM ledger_entries WHERE instance_id = ?").bind(inst.id),
    ]),
    options.messages ? sentMessages(inst.botToken).then((m) => m.length) : Promise.resolve(0),
  ]);
  return {
    tables,
    d1Instances: instances?.results[0]?.n ?? 0,
    d1Ledger: ledger?.results[0]?.n ?? 0,
    sent,
  };
}

/** The balance in a snapshot (from the object's `account` row). */
export function balanceIn(s: Snapshot): number {
  const row = s.tables.account?.[0] as { balance_micros?: number } | undefined;
  if (row?.balance_micros === undefined) throw new Error("snapshot has no account row");
  return row.balance_micros;
}

/**
 * Asserts that a rejected request changed nothing. D1's history may only catch up with the
 * object's ledger (the alarm copies it), never get ahead of it or lose rows.
 */
export function expectUnchanged(before: Snapshot, after: Snapshot, label: string): void {
  expect(after.tables, label).toEqual(before.tables);
  expect(after.d1Instances, label).toBe(before.d1Instances);
  expect(after.d1Ledger, label).toBeGreaterThanOrEqual(before.d1Ledger);
  expect(after.d1Ledger, label).toBeLessThanOrEqual((after.tables.ledger ?? []).length);
  expect(after.sent, label).toBe(before.sent);
}

/** The object's balance equals the sum of its ledger, and D1 holds exactly the ledger after a flush. */
export async function expectLedgerConsistent(id: string): Promise<void> {
  await runDurableObjectAlarm(stub(id));
  const { balance, sum, count } = await runInDurableObject(stub(id), (_i, state) => {
    const sql = state.storage.sql;
    return {
      balance: sql.exec<{ b: number }>("SELECT balance_micros AS b FROM account").one().b,
      sum: sql.exec<{ s: number }>("SELECT COALESCE(SUM(amount_micros), 0) AS s FROM ledger").one().s,
      count: sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM ledger").one().n,
    };
  });
  expect(balance).toBe(sum);
  const d1 = await env.DB.prepare("SELECT COUNT(*) AS n FROM ledger_entries WHERE instance_id = ?")
    .bind(id)
    .first<number>("n");
  expect(d1).toBe(count);
}

/** The project's error shape: `{"error":{"code":"snake_case","message":"…"}}`; returns the error. */
export function errorOf(text: string, label: string): { code: string; message: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${label}: an error body that is not JSON: ${text.slice(0, 200)}`);
  }
  expect(typeof body === "object" && body !== null ? Object.keys(body) : body, label).toEqual(["error"]);
  const error = (body as { error: { code?: unknown; message?: unknown } }).error;
  const { code, message } = error ?? {};
  if (typeof code !== "string" || typeof message !== "string") throw new Error(`${label}: error shape ${text}`);
  expect(code, label).toMatch(/^[a-z]+(_[a-z]+)*$/);
  expect(message.length, label).toBeGreaterThan(0);
  return { code, message };
}

/** A 4xx in the project's error shape. */
export function expectErrorShape(status: number, text: string, label: string): { code: string; message: string } {
  expect(status, label).toBeGreaterThanOrEqual(400);
  expect(status, label).toBeLessThan(500);
  return errorOf(text, label);
}
