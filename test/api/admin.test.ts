import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ADMIN, api, botToken, freshId, provision, USD } from "../helpers";

const telegram = env.TELEGRAM_API_BASE;

describe("admin API: provisioning", () => {
  it("creates the instance, registers the webhook with a fresh secret, grants the license bonus", async () => {
    const id = freshId();
    const token = botToken();
    const res = await api("/admin/instances", {
      method: "POST",
      headers: ADMIN,
      body: { id, telegramBotToken: token, ownerTelegramId: 777001, license: "pro", systemPrompt: "You are Ada." },
    });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      id,
      webhookUrl: `https://credits.example.test/telegram/${id}`,
      balanceMicros: 200 * USD,
    });
    expect(String(res.json.apiKey)).toMatch(/^ck_[A-Za-z0-9_-]{40,}$/);
    expect(res.text).not.toContain(token);

    const hook = (await (await fetch(`${telegram}/__control/webhook?token=${encodeURIComponent(token)}`)).json()) as {
      url: string;
      secret_token: string;
    };
    expect(hook.url).toBe(`https://credits.example.test/telegram/${id}`);
    expect(hook.secret_token).toMatch(/^[A-Za-z0-9_-]{32,256}$/);
    // The command menu, only in the owner's chat, with the lowercase names Telegram accepts.
    const menu = (await (await fetch(`${telegram}/__control/commands?token=${encodeURIComponent(token)}`)).json()) as {
      scopes: { scope: { type: string; chat_id?: number }; commands: { command: string }[] }[];
    };
    const ownerMenu = menu.scopes.find((s) => s.scope.type === "chat" && s.scope.chat_id === 777001);
    expect(ownerMenu?.commands.map((c) => c.command)).toEqual(
      expect.arrayContaining(["balance", "stats", "setupcredits", "changecreditstopup", "topup", "invoices", "help"]),
    );

    const row = (await env.DB.prepare("SELECT * FROM instances WHERE id = ?").bind(id).first()) as Record<
      string,
      unknown
    >;
    expect(row.owner_telegram_id).toBe(777001);
    expect(String(row.bot_token_sealed)).toMatch(/^v1\./);
    expect(JSON.stringify(row)).not.toContain(token.split(":")[1]);
    expect(JSON.stringify(row)).not.toContain(String(res.json.apiKey));
    expect(JSON.stringify(row)).not.toContain(hook.secret_token);

    const view = await api(`/admin/instances/${id}`, { headers: ADMIN });
    expect(view.json).toMatchObject({
      id,
      ownerTelegramId: 777001,
      license: "pro",
      balanceMicros: 200 * USD,
      availableMicros: 200 * USD,
      outOfCredits: false,
      state: "active",
    });
    const ledger = await api(`/admin/instances/${id}/ledger`, { headers: ADMIN });
    expect(ledger.json.entries).toEqual([
      expect.objectContaining({ kind: "grant", amountMicros: 200 * USD, balanceAfterMicros: 200 * USD }),
    ]);
  });

  it("refuses a duplicate id, a revoked bot token and bad bodies, creating nothing", async () => {
    const inst = await provision();
    const dup = await api("/admin/instances", {
      method: "POST",
      headers: ADMIN,
      body: { id: inst.id, telegramBotToken: botToken(), ownerTelegramId: 1 },
    });
    expect(dup.status).toBe(409);
    expect(dup.json.error?.code).toBe("instance_exists");

    const cases: [unknown, number, string][] = [
      [{ id: freshId(), telegramBotToken: `999999:${"A".repeat(35)}`, ownerTelegramId: 5 }, 400, "invalid_bot_token"],
      [{ id: freshId(), telegramBotToken: "not-a-token", ownerTelegramId: 5 }, 400, "invalid_request"],
      [{ id: freshId(), telegramBotToken: botToken(), ownerTelegramId: 1087968824 }, 400, "invalid_request"],
      [{ id: freshId(), telegramBotToken: botToken(), ownerTelegramId: 777000 }, 400, "invalid_request"],
      [{ id: freshId(), telegramBotToken: botToken(), ownerTelegramId: -3 }, 400, "invalid_request"],
      [{ id: freshId(), telegramBotToken: botToken(), ownerTelegramId: 1.5 }, 400, "invalid_request"],
      [
        { id: freshId(), telegramBotToken: botToken(), ownerTelegramId: 5, license: "platinum" },
        400,
        "invalid_request",
      ],
      [{ id: "bad id!", telegramBotToken: botToken(), ownerTelegramId: 5 }, 400, "invalid_request"],
      [{ id: freshId(), telegramBotToken: botToken(), ownerTelegramId: 5, extra: true }, 400, "invalid_request"],
      ["{", 400, "malformed_json"],
    ];
    for (const [body, status, code] of cases) {
      const res = await api("/admin/instances", { method: "POST", headers: ADMIN, body });
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.json.error?.code).toBe(code);
      const id = typeof body === "object" && body && "id" in body ? String(body.id) : "";
      if (/^[\w-]+$/.test(id)) expect((await api(`/admin/instances/${id}`, { headers: ADMIN })).status).toBe(404);
    }
    expect(dup.text).not.toContain("999999:");
  });

  it("requires the admin token", async () => {
    const inst = await provision();
    const attempts: Record<string, string>[] = [
      {},
      { authorization: "Bearer wrong" },
      { authorization: `Basic ${env.ADMIN_TOKEN}` },
    ];
    for (const headers of attempts) {
      const res = await api(`/admin/instances/${inst.id}`, { headers });
      expect(res.status).toBe(401);
      expect(res.json.error?.code).toBe("unauthorized");
    }
    expect((await api(`/admin/instances/${inst.id}`, { headers: inst.auth })).status).toBe(401);
    expect((await api("/admin/instances/missing-one", { headers: ADMIN })).status).toBe(404);
  });
});

describe("admin API: adjustments and ledger", () => {
  it("adjusts once per idempotency key", async () => {
    const inst = await provision();
    const path = `/admin/instances/${inst.id}/adjustments`;
    const body = { idempotencyKey: "goodwill-1", amountMicros: 12_340_000, reason: "goodwill" };
    const first = await api(path, { method: "POST", headers: ADMIN, body });
    expect(first.status).toBe(201);
    expect(first.json).toEqual({ entryId: 2, amountMicros: 12_340_000, balanceMicros: 62_340_000 });
    const retry = await api(path, { method: "POST", headers: ADMIN, body });
    expect(retry.json).toEqual(first.json);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    const reused = await api(path, { method: "POST", headers: ADMIN, body: { ...body, amountMicros: 1 } });
    expect(reused.status).toBe(409);
    const negative = await api(path, {
      method: "POST",
      headers: ADMIN,
      body: { idempotencyKey: "fix", amountMicros: -70 * USD, reason: "chargeback" },
    });
    expect(negative.json).toMatchObject({ balanceMicros: 62_340_000 - 70 * USD });

    for (const bad of [
      { ...body, idempotencyKey: "z", amountMicros: 0 },
      { ...body, idempotencyKey: "z", amountMicros: 0.5 },
      { ...body, idempotencyKey: "z", amountMicros: 1e13 },
      { ...body, idempotencyKey: "z", amountMicros: "5" },
      { ...body, idempotencyKey: "z", reason: "" },
      { idempotencyKey: "z", amountMicros: 5 },
    ]) {
      const res = await api(path, { method: "POST", headers: ADMIN, body: bad });
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
    const view = await api(`/admin/instances/${inst.id}`, { headers: ADMIN });
    expect(view.json.balanceMicros).toBe(62_340_000 - 70 * USD);
  });

  it("pages the ledger newest first with a cursor, and as CSV", async () => {
    const inst = await provision();
    for (let i = 0; i < 7; i++) {
      await api(`/v1/instances/${inst.id}/usage`, {
        method: "POST",
        headers: inst.auth,
        body: { idempotencyKey: `p${i}`, operation: "response", costMicros: 100 + i },
      });
    }
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const res = await api(`/admin/instances/${inst.id}/ledger?limit=3${cursor ? `&cursor=${cursor}` : ""}`, {
        headers: ADMIN,
      });
      expect(res.status).toBe(200);
      for (const e of res.json.entries as { entryId: number }[]) seen.push(e.entryId);
      cursor = res.json.nextCursor as string | null;
    } while (cursor);
    expect(seen).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
    const csv = await api(`/admin/instances/${inst.id}/ledger`, { headers: { ...ADMIN, accept: "text/csv" } });
    expect(csv.headers.get("content-type")).toContain("text/csv");
    const lines = csv.text.trim().split("\r\n");
    expect(lines[0]).toBe(
      "entryId,kind,operation,amountMicros,balanceAfterMicros,idempotencyKey,endUserId,reference,memo,createdAt",
    );
    expect(lines).toHaveLength(9);
    expect(lines[1]).toMatch(/^8,usage,response,-106,/);
    for (const q of ["limit=0", "limit=5000", "limit=abc", "cursor=-1", "cursor=1e3"]) {
      expect((await api(`/admin/instances/${inst.id}/ledger?${q}`, { headers: ADMIN })).status, q).toBe(400);
    }
  });
});

describe("OpenAPI", () => {
  it("describes every admin and usage route", async () => {
    const res = await api("/openapi.json");
    expect(res.status).toBe(200);
    const paths = Object.keys(res.json.paths as object);
    expect(paths).toEqual(
      expect.arrayContaining([
        "/admin/instances",
        "/admin/instances/{id}",
        "/admin/instances/{id}/adjustments",
        "/admin/instances/{id}/ledger",
        "/v1/instances/{id}/balance",
        "/v1/instances/{id}/usage",
        "/v1/instances/{id}/holds",
        "/v1/instances/{id}/holds/{holdId}/settle",
        "/v1/instances/{id}/holds/{holdId}",
      ]),
    );
  });
});
