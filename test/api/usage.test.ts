import { describe, expect, it } from "vitest";
import { api, provision, USD } from "../helpers";

async function balanceOf(inst: { id: string; auth: Record<string, string> }) {
  const res = await api(`/v1/instances/${inst.id}/balance`, { headers: inst.auth });
  expect(res.status).toBe(200);
  return res.json as unknown as { balanceMicros: number; availableMicros: number; outOfCredits: boolean };
}

async function ledgerCount(inst: { id: string }) {
  const { ADMIN } = await import("../helpers");
  const res = await api(`/admin/instances/${inst.id}/ledger?limit=1000`, { headers: ADMIN });
  return (res.json.entries as unknown[]).length;
}

describe("usage API", () => {
  it("200 concurrent debits mixed with duplicate keys: balance exact, retries return the first result", async () => {
    const inst = await provision(); // starter: $50
    const distinct = Array.from({ length: 150 }, (_, i) => ({ key: `u-${i}`, cost: 1 + ((i * 7919) % 100_000) }));
    const duplicates = Array.from({ length: 50 }, (_, i) => distinct[(i * 3) % 150] as { key: string; cost: number });
    const requests = [...distinct, ...duplicates].sort(() => Math.random() - 0.5);
    const responses = await Promise.all(
      requests.map((r) =>
        api(`/v1/instances/${inst.id}/usage`, {
          method: "POST",
          headers: inst.auth,
          body: { idempotencyKey: r.key, operation: "response", costMicros: r.cost },
        }).then((res) => ({ ...r, res })),
      ),
    );
    for (const { res } of responses) expect(res.status).toBe(200);
    const byKey = new Map<string, unknown[]>();
    for (const { key, res } of responses) byKey.set(key, [...(byKey.get(key) ?? []), res.json]);
    for (const bodies of byKey.values()) for (const body of bodies) expect(body).toEqual(bodies[0]);
    const sum = distinct.reduce((s, r) => s + r.cost, 0);
    expect((await balanceOf(inst)).balanceMicros).toBe(50 * USD - sum);
    expect(await ledgerCount(inst)).toBe(1 + 150);
  });

  it("prices token usage with MODEL_PRICES × CREDIT_MARKUP and refuses unknown models", async () => {
    const inst = await provision();
    const res = await api(`/v1/instances/${inst.id}/usage`, {
      method: "POST",
      headers: inst.auth,
      body: { idempotencyKey: "t1", operation: "response", model: "gpt-4o", inputTokens: 1000, outputTokens: 500 },
    });
    // gpt-4o: $2.5 / $10 per million → 1000×2.5 + 500×10 = 7500 micros
    expect(res.json).toEqual({ chargedMicros: 7500, balanceMicros: 50 * USD - 7500 });
    const unknown = await api(`/v1/instances/${inst.id}/usage`, {
      method: "POST",
      headers: inst.auth,
      body: { idempotencyKey: "t2", operation: "response", model: "free-model", inputTokens: 1000, outputTokens: 1 },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error?.code).toBe("unknown_model");
    expect((await balanceOf(inst)).balanceMicros).toBe(50 * USD - 7500);
  });

  it("402 when credits do not cover a debit; background work keeps the floor", async () => {
    const inst = await provision();
    const tooMuch = await api(`/v1/instances/${inst.id}/usage`, {
      method: "POST",
      headers: inst.auth,
      body: { idempotencyKey: "x", operation: "response", costMicros: 50 * USD + 1 },
    });
    expect(tooMuch.status).toBe(402);
    expect(tooMuch.json.error?.code).toBe("insufficient_credits");
    const background = await api(`/v1/instances/${inst.id}/usage`, {
      method: "POST",
      headers: inst.auth,
      body: { idempotencyKey: "y", operation: "role_update", costMicros: 46 * USD },
    });
    expect(background.status).toBe(402);
    expect((await balanceOf(inst)).balanceMicros).toBe(50 * USD);
  });

  it("holds: create, settle, release over HTTP", async () => {
    const inst = await provision();
    const base = `/v1/instances/${inst.id}/holds`;
    const hold = await api(base, {
      method: "POST",
      headers: inst.auth,
      body: { idempotencyKey: "h1", operation: "response", maxCostMicros: 2 * USD },
    });
    expect(hold.status).toBe(201);
    const holdId = hold.json.holdId as string;
    expect(typeof hold.json.expiresAt).toBe("string");
    expect(await balanceOf(inst)).toEqual({ balanceMicros: 50 * USD, availableMicros: 48 * USD, outOfCredits: false });
    const settled = await api(`${base}/${holdId}/settle`, {
      method: "POST",
      headers: inst.auth,
      body: { idempotencyKey: "s1", model: "gpt-4o-mini", inputTokens: 2000, outputTokens: 1000 },
    });
    // 2000×0.15 + 1000×0.6 = 900 micros
    expect(settled.json).toEqual({ chargedMicros: 900, releasedMicros: 2 * USD - 900, balanceMicros: 50 * USD - 900 });
    const again = await api(`${base}/${holdId}`, { method: "DELETE", headers: inst.auth });
    expect(again.status).toBe(409);
    const h2 = await api(base, {
      method: "POST",
      headers: inst.auth,
      body: { idempotencyKey: "h2", operation: "response", maxCostMicros: USD },
    });
    const released = await api(`${base}/${h2.json.holdId}`, { method: "DELETE", headers: inst.auth });
    expect(released.json).toEqual({
      releasedMicros: USD,
      balanceMicros: 50 * USD - 900,
      availableMicros: 50 * USD - 900,
    });
    const missing = await api(`${base}/hold_${"0".repeat(32)}/settle`, {
      method: "POST",
      headers: inst.auth,
      body: { idempotencyKey: "s", costMicros: 1 },
    });
    expect(missing.status).toBe(404);
  });

  describe("bad input changes nothing", () => {
    const bad: [string, unknown, number, string][] = [
      ["malformed JSON", "{not json", 400, "malformed_json"],
      ["array body", "[]", 400, "invalid_request"],
      ["missing key", { operation: "response", costMicros: 5 }, 400, "invalid_request"],
      ["string cost", { idempotencyKey: "b", operation: "response", costMicros: "5" }, 400, "invalid_request"],
      ["negative cost", { idempotencyKey: "b", operation: "response", costMicros: -5 }, 400, "invalid_request"],
      ["zero cost", { idempotencyKey: "b", operation: "response", costMicros: 0 }, 400, "invalid_request"],
      ["fractional micros", { idempotencyKey: "b", operation: "response", costMicros: 1.5 }, 400, "invalid_request"],
      ["huge micros", { idempotencyKey: "b", operation: "response", costMicros: 1e20 }, 400, "invalid_request"],
      ["1e309", '{"idempotencyKey":"b","operation":"response","costMicros":1e309}', 400, "invalid_request"],
      ["2^53+1", '{"idempotencyKey":"b","operation":"response","costMicros":9007199254740993}', 400, "invalid_request"],
      ["unknown operation", { idempotencyKey: "b", operation: "mining", costMicros: 5 }, 400, "invalid_request"],
      [
        "both cost forms",
        { idempotencyKey: "b", operation: "response", costMicros: 5, model: "gpt-4o", inputTokens: 1, outputTokens: 1 },
        400,
        "invalid_request",
      ],
      [
        "negative tokens",
        { idempotencyKey: "b", operation: "response", model: "gpt-4o", inputTokens: -1, outputTokens: 1 },
        400,
        "invalid_request",
      ],
      [
        "__proto__ model",
        { idempotencyKey: "b", operation: "response", model: "__proto__", inputTokens: 1, outputTokens: 1 },
        400,
        "unknown_model",
      ],
      ["key with spaces", { idempotencyKey: "a b", operation: "response", costMicros: 5 }, 400, "invalid_request"],
      [
        "oversized body",
        { idempotencyKey: "b", operation: "response", costMicros: 5, pad: "x".repeat(70_000) },
        413,
        "payload_too_large",
      ],
    ];
    it.each(bad)("%s → %i %s", async (_name, body, status, code) => {
      const inst = await provision();
      const res = await api(`/v1/instances/${inst.id}/usage`, { method: "POST", headers: inst.auth, body });
      expect(res.status).toBe(status);
      expect(res.json.error?.code).toBe(code);
      expect(typeof res.json.error?.message).toBe("string");
      expect(await balanceOf(inst)).toEqual({
        balanceMicros: 50 * USD,
        availableMicros: 50 * USD,
        outOfCredits: false,
      });
      expect(await ledgerCount(inst)).toBe(1);
    });

    it("wrong content type → 415", async () => {
      const inst = await provision();
      const res = await api(`/v1/instances/${inst.id}/usage`, {
        method: "POST",
        headers: { ...inst.auth, "content-type": "text/plain" },
        body: JSON.stringify({ idempotencyKey: "b", operation: "response", costMicros: 5 }),
      });
      expect(res.status).toBe(415);
      expect(await ledgerCount(inst)).toBe(1);
    });

    it("missing, malformed, wrong and foreign keys", async () => {
      const a = await provision();
      const b = await provision();
      const body = { idempotencyKey: "k", operation: "response", costMicros: 5 };
      const path = `/v1/instances/${a.id}/usage`;
      expect((await api(path, { method: "POST", body })).status).toBe(401);
      expect((await api(path, { method: "POST", headers: { authorization: "Basic abc" }, body })).status).toBe(401);
      const wrong = await api(path, { method: "POST", headers: { authorization: "Bearer ck_wrong" }, body });
      expect(wrong.status).toBe(403);
      expect(wrong.json.error?.code).toBe("forbidden");
      expect((await api(path, { method: "POST", headers: b.auth, body })).status).toBe(403);
      expect((await api(`/v1/instances/nope-${a.id}/usage`, { method: "POST", headers: a.auth, body })).status).toBe(
        404,
      );
      expect(
        (await api(`/v1/instances/${a.id}/balance`, { headers: { authorization: `Bearer ${process.env.X ?? "x"}` } }))
          .status,
      ).toBe(403);
      expect((await balanceOf(a)).balanceMicros).toBe(50 * USD);
      expect((await balanceOf(b)).balanceMicros).toBe(50 * USD);
    });
  });
});
