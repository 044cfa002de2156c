import type { BenchCounters, LedgerAudit } from "../worker/account";
import type { BenchInstance } from "./load";

/** The benchmark's view of the running app: the admin API as an operator uses it, plus `/__bench/*`. */

export const ADMIN_TOKEN = "bench-admin-token-0123456789";
export const STRIPE_WEBHOOK_SECRET = "whsec_bench_standin";
export const OWNER_TELEGRAM_ID = 4242001;
export const USD = 1_000_000;

export interface HistoryComparison {
  d1Entries: number;
  compared: number;
  mismatches: { seq: number; field: string; object: unknown; d1: unknown }[];
  projection: { balanceMicros: number; projectedSeq: number } | null;
}

export interface Provisioned extends BenchInstance {
  botToken: string;
  balanceMicros: number;
}

export class AppClient {
  #bots = 0;

  constructor(readonly origin: string) {}

  async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const response = await fetch(`${this.origin}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  }

  /** Provisions through the admin API (Telegram calls go to the stand-in), optionally with the flush off from the start. */
  async provision(
    id: string,
    opts: { license?: string; fundUsd?: number; history?: boolean } = {},
  ): Promise<Provisioned> {
    if (opts.history === false) await this.setHistory(id, false);
    this.#bots += 1;
    const botToken = `${700000 + this.#bots}:AAE${crypto.randomUUID().replaceAll("-", "")}`;
    const created = await this.call<{ apiKey: string; balanceMicros: number }>("POST", "/admin/instances", {
      id,
      telegramBotToken: botToken,
      ownerTelegramId: OWNER_TELEGRAM_ID,
      license: opts.license ?? "starter",
    });
    let balanceMicros = created.balanceMicros;
    if (opts.fundUsd) {
      const adjusted = await this.call<{ balanceMicros: number }>("POST", `/admin/instances/${id}/adjustments`, {
        idempotencyKey: `bench-fund-${id}`,
        amountMicros: opts.fundUsd * USD,
        reason: "benchmark funds",
      });
      balanceMicros = adjusted.balanceMicros;
    }
    return { id, apiKey: created.apiKey, botToken, balanceMicros };
  }

  async provisionMany(
    ids: string[],
    opts: { fundUsd?: number; history?: boolean },
    concurrency = 8,
  ): Promise<Provisioned[]> {
    const out: Provisioned[] = new Array(ids.length);
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const i = next++;
        out[i] = await this.provision(ids[i] as string, opts);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return out;
  }

  async balance(id: string): Promise<number> {
    return (await this.call<{ balanceMicros: number }>("GET", `/admin/instances/${id}`)).balanceMicros;
  }

  async pendingCopies(id: string): Promise<number> {
    return (await this.call<{ history: { pendingCopies: number } }>("GET", `/admin/instances/${id}`)).history
      .pendingCopies;
  }

  async setHistory(id: string, enabled: boolean): Promise<void> {
    await this.call("POST", `/__bench/instances/${id}/history`, { enabled });
  }

  /** On: the object asks the model itself (the wait inside it), as before the wait moved to the Worker. */
  async setModelInside(id: string, enabled: boolean): Promise<void> {
    await this.call("POST", `/__bench/instances/${id}/model-inside`, { enabled });
  }

  async counters(id: string): Promise<BenchCounters> {
    return this.call("GET", `/__bench/instances/${id}/counters`);
  }

  async audit(id: string, withD1: boolean): Promise<{ audit: LedgerAudit; history: HistoryComparison | null }> {
    return this.call("GET", `/__bench/instances/${id}/audit${withD1 ? "?d1=1" : ""}`);
  }

  /** Waits until the object's alarm has copied every entry to D1. */
  async waitFlushed(id: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.pendingCopies(id)) > 0) {
      if (Date.now() > deadline) throw new Error(`${id}: history not flushed within ${timeoutMs} ms`);
      await sleep(200);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Retries `probe` until it returns a value (not undefined) or the time is up. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
