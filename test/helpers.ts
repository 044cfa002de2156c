import { env, SELF } from "cloudflare:test";
import type { CreditAccount } from "../src/account/credit-account";

export const ADMIN = { authorization: `Bearer ${env.ADMIN_TOKEN}` };

let counter = 0;
/** A fresh instance id per test, so tests never share an object. */
export function freshId(prefix = "inst"): string {
  counter += 1;
  return `${prefix}-${counter}-${crypto.randomUUID().slice(0, 8)}`;
}

export function botToken(): string {
  const id = 100000 + Math.floor(Math.random() * 900000);
  return `${id}:AAE${crypto.randomUUID().replaceAll("-", "")}`;
}

export function stub(id: string): DurableObjectStub<CreditAccount> {
  return env.CREDIT_ACCOUNT.get(env.CREDIT_ACCOUNT.idFromName(id));
}

/**
 * An account provisioned straight on its object (no admin API, no Telegram): `balanceUsd` of bonus, a bot that
 * is never called. For tests of the ledger itself.
 */
export async function newAccount(balanceUsd: number, prefix = "acct") {
  const id = freshId(prefix);
  const s = stub(id);
  const result = await s.provision({
    instanceId: id,
    ownerTelegramId: 5551,
    license: "test",
    bonusMicros: balanceUsd * USD,
    apiKeyHash: "0".repeat(64),
    webhookSecretHash: "1".repeat(64),
    botTokenSealed: "v1.x.y",
    botId: 1,
    botUsername: "test_bot",
    systemPrompt: null,
  });
  if (!result.ok) throw new Error(`provision failed: ${result.reason}`);
  return { id, s };
}

export async function api(
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
) {
  const headers: Record<string, string> = { ...init.headers };
  let body: string | undefined;
  if (init.body !== undefined) {
    body = typeof init.body === "string" ? init.body : JSON.stringify(init.body);
    headers["content-type"] ??= "application/json";
  }
  const response = await SELF.fetch(`https://credits.example.test${path}`, {
    method: init.method ?? "GET",
    headers,
    body,
  });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: json as Record<string, unknown> & { error?: { code: string; message: string } },
  };
}

export interface Provisioned {
  id: string;
  apiKey: string;
  webhookUrl: string;
  balanceMicros: number;
  botToken: string;
  ownerTelegramId: number;
  auth: Record<string, string>;
}

/** Provisions an instance through the admin API, as an operator would. */
export async function provision(overrides: Record<string, unknown> = {}): Promise<Provisioned> {
  const id = (overrides.id as string | undefined) ?? freshId();
  const token = (overrides.telegramBotToken as string | undefined) ?? botToken();
  const ownerTelegramId = (overrides.ownerTelegramId as number | undefined) ?? 4242001;
  const res = await api("/admin/instances", {
    method: "POST",
    headers: ADMIN,
    body: { id, telegramBotToken: token, ownerTelegramId, license: "starter", ...overrides },
  });
  if (res.status !== 201) throw new Error(`provision failed: ${res.status} ${res.text}`);
  const body = res.json as unknown as { apiKey: string; webhookUrl: string; balanceMicros: number };
  return {
    id,
    apiKey: body.apiKey,
    webhookUrl: body.webhookUrl,
    balanceMicros: body.balanceMicros,
    botToken: token,
    ownerTelegramId,
    auth: { authorization: `Bearer ${body.apiKey}` },
  };
}

export const USD = 1_000_000;
