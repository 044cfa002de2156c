import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { decryptSecret, encryptSecret, importEncryptionKey, sha256Hex } from "../../src/crypto";
import { ADMIN, api, botToken, freshId, provision, stub, USD } from "../helpers";
import {
  deliver,
  failTelegram,
  privateText,
  sentMessages,
  settle,
  waitForMessages,
  webhookSecret,
} from "../telegram/fixtures";

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
        "/admin/instances/{id}/api-key",
        "/admin/instances/{id}/bot-token",
        "/admin/bot-tokens/reseal",
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

describe("admin API: rotating an instance's credentials", () => {
  const registryRow = async (id: string) =>
    (await env.DB.prepare("SELECT * FROM instances WHERE id = ?").bind(id).first()) as Record<string, string>;

  it("a new API key works at once and the previous one is refused from then on", async () => {
    const inst = await provision();
    const charge = (auth: Record<string, string>, key: string) =>
      api(`/v1/instances/${inst.id}/usage`, {
        method: "POST",
        headers: auth,
        body: { idempotencyKey: key, operation: "response", costMicros: 1_000 },
      });
    expect((await charge(inst.auth, "before")).status).toBe(200);

    // No body and no content type: the route needs neither.
    const rotated = await api(`/admin/instances/${inst.id}/api-key`, { method: "POST", headers: ADMIN });
    expect(rotated.status).toBe(200);
    const apiKey = String(rotated.json.apiKey);
    expect(apiKey).toMatch(/^ck_[A-Za-z0-9_-]{40,}$/);
    expect(apiKey).not.toBe(inst.apiKey);
    const fresh = { authorization: `Bearer ${apiKey}` };

    const old = await charge(inst.auth, "after-old-key");
    expect(old.status).toBe(403);
    expect(old.json.error?.code).toBe("forbidden");
    expect((await api(`/v1/instances/${inst.id}/balance`, { headers: inst.auth })).status).toBe(403);
    const ok = await charge(fresh, "after-new-key");
    expect(ok.status).toBe(200);
    // The refused request charged nothing: the bonus minus the two accepted debits.
    expect(ok.json.balanceMicros).toBe(50 * USD - 2_000);

    // The registry keeps the new key's hash, never a key.
    const row = await registryRow(inst.id);
    expect(row.api_key_hash).toBe(await sha256Hex(apiKey));
    expect(JSON.stringify(row)).not.toContain(apiKey);

    // Rotating again retires the second key too.
    const again = await api(`/admin/instances/${inst.id}/api-key`, { method: "POST", headers: ADMIN });
    expect((await charge(fresh, "after-second-rotation")).status).toBe(403);
    expect((await charge({ authorization: `Bearer ${again.json.apiKey}` }, "third")).status).toBe(200);
  });

  it("only the operator may rotate a key, and only of an instance that exists", async () => {
    const inst = await provision();
    for (const headers of [{}, inst.auth, { authorization: "Bearer wrong" }]) {
      const res = await api(`/admin/instances/${inst.id}/api-key`, { method: "POST", headers });
      expect(res.status).toBe(401);
    }
    expect((await api(`/v1/instances/${inst.id}/balance`, { headers: inst.auth })).status).toBe(200);
    const missing = await api("/admin/instances/no-such-instance/api-key", { method: "POST", headers: ADMIN });
    expect(missing.status).toBe(404);
    expect(missing.json.error?.code).toBe("not_found");
    expect(await registryRow("no-such-instance")).toBeNull();
  });

  it("a token revoked with @BotFather is replaced: the webhook moves to a fresh secret, the bot answers again", async () => {
    const owner = 4242001;
    const inst = await provision({ ownerTelegramId: owner });
    const oldSecret = await webhookSecret(inst.botToken);
    const before = await registryRow(inst.id);

    // @BotFather's /revoke: the old token is refused by Telegram from now on; the owner's command goes unanswered.
    await fetch(`${telegram}/__control/revoke`, { method: "POST", body: JSON.stringify({ token: inst.botToken }) });
    expect((await deliver(inst, privateText({ id: owner }, "/balance"))).status).toBe(200);
    await settle(500);
    expect(await sentMessages(inst.botToken, owner)).toEqual([]);

    // The same bot (same id before the colon), new secret part.
    const newToken = `${inst.botToken.split(":")[0]}:AAF${crypto.randomUUID().replaceAll("-", "")}`;
    const res = await api(`/admin/instances/${inst.id}/bot-token`, {
      method: "PUT",
      headers: ADMIN,
      body: { telegramBotToken: newToken },
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ id: inst.id, webhookUrl: `https://credits.example.test/telegram/${inst.id}` });
    expect(res.json.botUsername).toMatch(/\w+/);
    expect(res.text).not.toContain(newToken.split(":")[1]);

    const newSecret = await webhookSecret(newToken);
    expect(newSecret).toMatch(/^[A-Za-z0-9_-]{32,256}$/);
    expect(newSecret).not.toBe(oldSecret);
    // Telegram now signs with the new secret; the old one is refused.
    expect((await deliver(inst, privateText({ id: owner }, "/balance"), oldSecret)).status).toBe(401);
    const moved = { ...inst, botToken: newToken };
    expect((await deliver(moved, privateText({ id: owner }, "/balance"))).status).toBe(200);
    const [reply] = await waitForMessages(newToken, owner, 1);
    expect(reply?.text).toMatch(/\$50(\.00)?/);

    const after = await registryRow(inst.id);
    expect(after.bot_token_sealed).toMatch(/^v1\./);
    expect(after.bot_token_sealed).not.toBe(before.bot_token_sealed);
    expect(after.webhook_secret_hash).toBe(await sha256Hex(newSecret));
    expect(JSON.stringify(after)).not.toContain(newToken.split(":")[1]);
    const view = await api(`/admin/instances/${inst.id}`, { headers: ADMIN });
    expect(view.json.botUsername).toBe(res.json.botUsername);
  });

  it("refuses another bot's token, a revoked one and bad bodies, changing nothing", async () => {
    const owner = 4242001;
    const inst = await provision({ ownerTelegramId: owner });
    const secret = await webhookSecret(inst.botToken);
    const before = await registryRow(inst.id);
    const otherBot = botToken().replace(/^\d+/, (id) => String(Number(id) === 100000 ? 100001 : Number(id) - 1));
    const cases: [string, unknown, number, string][] = [
      [inst.id, { telegramBotToken: otherBot }, 409, "different_bot"],
      [inst.id, { telegramBotToken: `999999:${"A".repeat(35)}` }, 400, "invalid_bot_token"],
      [inst.id, { telegramBotToken: "not-a-token" }, 400, "invalid_request"],
      [inst.id, { telegramBotToken: inst.botToken, extra: 1 }, 400, "invalid_request"],
      [inst.id, {}, 400, "invalid_request"],
      [inst.id, "{", 400, "malformed_json"],
      ["no-such-instance", { telegramBotToken: botToken() }, 404, "not_found"],
    ];
    for (const [id, body, status, code] of cases) {
      const res = await api(`/admin/instances/${id}/bot-token`, { method: "PUT", headers: ADMIN, body });
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.json.error?.code).toBe(code);
      expect(res.text).not.toContain(otherBot.split(":")[1]);
    }
    const noAdmin = await api(`/admin/instances/${inst.id}/bot-token`, {
      method: "PUT",
      headers: inst.auth,
      body: { telegramBotToken: inst.botToken },
    });
    expect(noAdmin.status).toBe(401);
    // Nothing moved: Telegram still has the old secret, the registry the old values, and the bot answers.
    expect(await webhookSecret(inst.botToken)).toBe(secret);
    expect(await webhookSecret(otherBot)).toBeNull();
    expect(await registryRow(inst.id)).toEqual(before);
    expect((await deliver(inst, privateText({ id: owner }, "/balance"))).status).toBe(200);
    await waitForMessages(inst.botToken, owner, 1);
  });
});

describe("rotating TOKEN_ENCRYPTION_KEY", () => {
  const sealedInObject = (id: string) =>
    runInDurableObject(stub(id), (_, state) =>
      String(state.storage.sql.exec("SELECT bot_token_sealed AS s FROM account").one().s),
    );
  const sealedInRegistry = async (id: string) =>
    String(await env.DB.prepare("SELECT bot_token_sealed AS s FROM instances WHERE id = ?").bind(id).first("s"));

  /** An instance whose bot token was sealed with `base64Key` (before the rotation), in the object and in D1. */
  async function sealedWith(base64Key: string, id: string) {
    const owner = 4242001;
    const inst = await provision({ id, ownerTelegramId: owner });
    const status = await stub(inst.id).status();
    if (!status.ok || status.botId === null || status.botUsername === null) throw new Error("no bot");
    const sealed = await encryptSecret(await importEncryptionKey(base64Key), inst.botToken);
    const replaced = await stub(inst.id).replaceBotCredentials({
      botTokenSealed: sealed,
      webhookSecretHash: await sha256Hex(await webhookSecret(inst.botToken)),
      botId: status.botId,
      botUsername: status.botUsername,
    });
    expect(replaced.ok).toBe(true);
    await env.DB.prepare("UPDATE instances SET bot_token_sealed = ? WHERE id = ?").bind(sealed, inst.id).run();
    return { inst, owner, sealed };
  }

  it("a token sealed with the previous key still works, and is sealed again with the current key on use", async () => {
    const { inst, owner, sealed } = await sealedWith(env.TOKEN_ENCRYPTION_KEY_PREVIOUS, freshId());
    const current = await importEncryptionKey(env.TOKEN_ENCRYPTION_KEY);
    await expect(decryptSecret(current, sealed)).rejects.toThrow("failed authentication");

    expect((await deliver(inst, privateText({ id: owner }, "/balance"))).status).toBe(200);
    const [reply] = await waitForMessages(inst.botToken, owner, 1);
    expect(reply?.text).toMatch(/\$50(\.00)?/);

    const now = await sealedInObject(inst.id);
    expect(now).not.toBe(sealed);
    expect(await decryptSecret(current, now)).toBe(inst.botToken);
    expect(await sealedInRegistry(inst.id)).toBe(now);
  });

  it("POST /admin/bot-tokens/reseal re-seals page by page and names the tokens no key opens", async () => {
    const prefix = `rsl-${crypto.randomUUID().slice(0, 8)}-`;
    const old = await sealedWith(env.TOKEN_ENCRYPTION_KEY_PREVIOUS, `${prefix}a`);
    const fresh = await provision({ id: `${prefix}b` });
    const lost = await sealedWith("YWJjZGVmYWJjZGVmYWJjZGVmYWJjZGVmYWJjZGVmYWI=", `${prefix}c`);
    // A registry row without its object (never provisioned there).
    await env.DB.prepare(
      "INSERT INTO instances (id, owner_telegram_id, license, bot_token_sealed, webhook_secret_hash, api_key_hash, created_at) VALUES (?, 1, 'starter', 'v1.x.y', 'h', 'h', 0)",
    )
      .bind(`${prefix}d`)
      .run();
    const freshSealed = await sealedInObject(fresh.id);

    const first = await api(`/admin/bot-tokens/reseal?cursor=${prefix}&limit=2`, { method: "POST", headers: ADMIN });
    expect(first.status).toBe(200);
    expect(first.json).toEqual({
      visited: 2,
      resealed: 1,
      current: 1,
      unreadable: [],
      failed: [],
      notProvisioned: 0,
      nextCursor: fresh.id,
    });
    const second = await api(`/admin/bot-tokens/reseal?cursor=${fresh.id}&limit=2`, { method: "POST", headers: ADMIN });
    expect(second.json).toMatchObject({ unreadable: [lost.inst.id], notProvisioned: 1, nextCursor: `${prefix}d` });

    const current = await importEncryptionKey(env.TOKEN_ENCRYPTION_KEY);
    expect(await decryptSecret(current, await sealedInObject(old.inst.id))).toBe(old.inst.botToken);
    expect(await sealedInRegistry(old.inst.id)).toBe(await sealedInObject(old.inst.id));
    // Already current: left exactly as it was. Unreadable: left for the operator (a new token, PUT bot-token).
    expect(await sealedInObject(fresh.id)).toBe(freshSealed);
    expect(await sealedInObject(lost.inst.id)).toBe(lost.sealed);

    // Run again: nothing left to do on the first page.
    const again = await api(`/admin/bot-tokens/reseal?cursor=${prefix}&limit=2`, { method: "POST", headers: ADMIN });
    expect(again.json).toMatchObject({ resealed: 0, current: 2 });
    expect(JSON.stringify([first.json, second.json, again.json])).not.toMatch(/\d+:AA/);
  });

  it("refuses bad pages and callers other than the operator", async () => {
    for (const query of ["limit=0", "limit=201", "limit=x", "cursor=bad%20id", `cursor=${"i".repeat(65)}`]) {
      const res = await api(`/admin/bot-tokens/reseal?${query}`, { method: "POST", headers: ADMIN });
      expect(res.status, query).toBe(400);
      expect(res.json.error?.code).toBe("invalid_request");
    }
    expect((await api("/admin/bot-tokens/reseal", { method: "POST" })).status).toBe(401);
    expect((await api("/admin/bot-tokens/reseal", { method: "GET", headers: ADMIN })).status).toBe(404);
  });
});

describe("replacing a bot token when Telegram fails after the webhook moved", () => {
  it("a failing command menu does not fail the call: the new secret is stored and updates arrive", async () => {
    const owner = 4242001;
    const inst = await provision({ ownerTelegramId: owner });
    const newToken = `${inst.botToken.split(":")[0]}:AAG${crypto.randomUUID().replaceAll("-", "")}`;
    await failTelegram(newToken, "setMyCommands", 500, 5);
    const res = await api(`/admin/instances/${inst.id}/bot-token`, {
      method: "PUT",
      headers: ADMIN,
      body: { telegramBotToken: newToken },
    });
    expect(res.status).toBe(200);
    const moved = { ...inst, botToken: newToken };
    expect((await deliver(moved, privateText({ id: owner }, "/balance"))).status).toBe(200);
    await waitForMessages(newToken, owner, 1);
  });

  it("a bodiless PUT with another content type is a 415, and changes nothing", async () => {
    const inst = await provision();
    const secret = await webhookSecret(inst.botToken);
    const res = await api(`/admin/instances/${inst.id}/bot-token`, {
      method: "PUT",
      headers: { ...ADMIN, "content-type": "text/plain" },
    });
    expect(res.status).toBe(415);
    expect(res.json.error?.code).toBe("unsupported_media_type");
    expect(await webhookSecret(inst.botToken)).toBe(secret);
  });
});
