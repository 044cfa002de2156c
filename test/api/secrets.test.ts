import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ADMIN, api, botToken, freshId, provision } from "../helpers";

describe("secrets never leak", () => {
  const lines: string[] = [];
  beforeEach(() => {
    lines.length = 0;
    for (const method of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(" "));
      });
    }
  });
  afterEach(() => vi.restoreAllMocks());

  it("bot tokens, API keys, admin and Stripe secrets appear in no response and no log line", async () => {
    const inst = await provision();
    const responses: string[] = [];
    const record = async (p: Promise<{ text: string }>) => responses.push((await p).text);
    await record(api(`/admin/instances/${inst.id}`, { headers: ADMIN }));
    await record(api(`/admin/instances/${inst.id}/ledger`, { headers: { ...ADMIN, accept: "text/csv" } }));
    await record(api(`/v1/instances/${inst.id}/balance`, { headers: inst.auth }));
    await record(api(`/v1/instances/${inst.id}/usage`, { method: "POST", headers: inst.auth, body: "{" }));
    await record(api("/openapi.json"));
    // Failure paths: a revoked token, a bad bearer token, an unknown route.
    const revoked = `999999:${"R".repeat(40)}`;
    await record(
      api("/admin/instances", {
        method: "POST",
        headers: ADMIN,
        body: { id: freshId(), telegramBotToken: revoked, ownerTelegramId: 9 },
      }),
    );
    await record(api(`/v1/instances/${inst.id}/balance`, { headers: { authorization: `Bearer ${inst.apiKey}x` } }));
    await record(api("/nowhere", { headers: ADMIN }));
    // A Telegram outage during provisioning is logged: the token must not be in that line either.
    const another = botToken();
    await fetch(`${env.TELEGRAM_API_BASE}/__control/fail`, {
      method: "POST",
      body: JSON.stringify({ token: another, method: "setWebhook", status: 500, count: 1 }),
    });
    await record(
      api("/admin/instances", {
        method: "POST",
        headers: ADMIN,
        body: { id: freshId(), telegramBotToken: another, ownerTelegramId: 9 },
      }),
    );

    const secrets = [
      inst.botToken,
      inst.botToken.split(":")[1] as string,
      inst.apiKey,
      revoked,
      another,
      env.ADMIN_TOKEN,
      env.STRIPE_SECRET_KEY,
      env.STRIPE_WEBHOOK_SECRET,
      env.TOKEN_ENCRYPTION_KEY,
      env.AI_API_KEY,
    ];
    expect(lines.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      for (const text of [...responses, ...lines]) expect(text).not.toContain(secret);
    }
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
  });
});
