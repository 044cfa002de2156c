import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routeUpdate, updateIdOf } from "../../src/telegram/updates";
import { type Provisioned, provision, stub } from "../helpers";
import { sentMessages, webhookSecret } from "../telegram/fixtures";
import { count, fuzzParams, timeoutFor } from "./budget";
import { Chain, describeCase, type HttpCase, send } from "./harness";
import {
  BODY_LIMIT,
  byteLength,
  contentType,
  headerValue,
  hostileBody,
  lookalikeOf,
  METHODS,
  parseBody,
  parsesAsJson,
  withInvisibles,
} from "./inputs";
import { balanceIn, expectErrorShape, expectLedgerConsistent, expectUnchanged, snapshot } from "./state";
import { freshUpdateId, hostileUpdate, OWNER, updateRows, waitForInbox } from "./updates";

/**
 * `POST /telegram/:instanceId`. SPEC: the secret header must equal the instance's webhook secret
 * (else 401), unknown instance → 404, each update_id handled once, an update that cannot be
 * handled is logged and answered 200. Bodies over the limit → 413, malformed JSON → 400.
 */

let inst: Provisioned;
let other: Provisioned;
let botUsername: string | null = null;
const secrets = new Map<string, string>();

const secretOf = (p: Provisioned) => secrets.get(p.id) ?? "";

type SecretVariant = { name: string; value: (target: Provisioned) => string | null; valid: boolean };

const SECRET_MISSES: SecretVariant[] = [
  { name: "no header", value: () => null, valid: false },
  { name: "empty", value: () => "", valid: false },
  { name: "other instance's secret", value: (t) => secretOf(t === inst ? other : inst), valid: false },
  { name: "secret + x", value: (t) => `${secretOf(t)}x`, valid: false },
  { name: "secret minus last char", value: (t) => secretOf(t).slice(0, -1), valid: false },
  { name: "upper-cased secret", value: (t) => secretOf(t).toUpperCase(), valid: false },
  { name: "secret twice", value: (t) => `${secretOf(t)},${secretOf(t)}`, valid: false },
  { name: "257 chars", value: (t) => secretOf(t).padEnd(257, "a"), valid: false },
  { name: "10 KB", value: () => "s".repeat(10_000), valid: false },
  { name: "tab inside", value: (t) => `${secretOf(t).slice(0, 5)}\t${secretOf(t).slice(5)}`, valid: false },
];

const secretVariant: fc.Arbitrary<SecretVariant> = fc.oneof(
  fc.constantFrom(...SECRET_MISSES),
  fc.nat().map(
    (n): SecretVariant => ({
      name: "one char changed",
      value: (t) => {
        const s = secretOf(t);
        const i = n % s.length;
        return s.slice(0, i) + (s.charAt(i) === "a" ? "b" : "a") + s.slice(i + 1);
      },
      valid: false,
    }),
  ),
  headerValue.map((v): SecretVariant => ({ name: "random", value: () => v, valid: false })),
);

const VALID_SECRET: SecretVariant = { name: "valid secret", value: (t) => secretOf(t), valid: true };

const badInstancePath = fc.oneof(
  fc.constantFrom(
    "/telegram/unknown-instance-zz",
    "/telegram/a%20b",
    "/telegram/%2e%2e",
    `/telegram/${"i".repeat(65)}`,
    "/telegram/",
    "/telegram",
    "/telegram/x/y",
    "/Telegram/x",
  ),
  lookalikeOf("instance").map((s) => `/telegram/${encodeURIComponent(s)}`),
  withInvisibles("inst").map((s) => `/telegram/${encodeURIComponent(s)}`),
);

/** Requests that must be refused: at least one of secret, path or method is wrong. */
function gateCase(): fc.Arbitrary<HttpCase & { target: Provisioned }> {
  return fc
    .record({
      target: fc.constantFrom("inst", "other"),
      secret: fc.oneof({ weight: 2, arbitrary: fc.constant(VALID_SECRET) }, { weight: 3, arbitrary: secretVariant }),
      path: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: badInstancePath }),
      method: fc.oneof(
        { weight: 4, arbitrary: fc.constant("POST") },
        { weight: 1, arbitrary: fc.constantFrom(...METHODS) },
      ),
      type: fc.oneof({ weight: 3, arbitrary: fc.constant("application/json") }, { weight: 1, arbitrary: contentType }),
      body: fc.oneof(
        hostileUpdate().map((u) => u.text),
        hostileBody,
      ),
    })
    .map(({ target, secret, path, method, type, body }) => {
      const t = target === "inst" ? inst : other;
      const headers: Record<string, string> = {};
      const value = secret.value(t);
      if (value !== null) headers["x-telegram-bot-api-secret-token"] = value;
      if (type !== null) headers["content-type"] = type;
      const reasons: string[] = [];
      if (!secret.valid) reasons.push(secret.name);
      if (path) reasons.push("bad path");
      if (method !== "POST") reasons.push(`method ${method}`);
      const hasBody = method !== "GET" && method !== "HEAD";
      if (hasBody && byteLength(body) > BODY_LIMIT) reasons.push("too large");
      return {
        target: t,
        method,
        path: path ?? `/telegram/${t.id}`,
        headers,
        ...(hasBody ? { body } : {}),
        mustReject: reasons.length > 0,
        why: reasons.join(", ") || "valid",
      };
    })
    .filter((c) => c.mustReject);
}

export function fuzzTelegramWebhook(): void {
  describe("fuzz: Telegram webhook", () => {
    beforeAll(async () => {
      inst = await provision({ ownerTelegramId: OWNER, license: "pro" });
      other = await provision({ ownerTelegramId: OWNER });
      secrets.set(inst.id, await webhookSecret(inst.botToken));
      secrets.set(other.id, await webhookSecret(other.botToken));
      botUsername = await runInDurableObject(
        stub(inst.id),
        (_i, state) => state.storage.sql.exec<{ u: string | null }>("SELECT bot_username AS u FROM account").one().u,
      );
    });

    afterAll(async () => {
      await waitForInbox(inst.id);
      await expectLedgerConsistent(inst.id);
    });

    const GATE_RUNS = 250;
    it(
      "wrong or missing secret, unknown instance, wrong method: 4xx, nothing recorded, nothing sent",
      async () => {
        // Every case here is refused, so one case's "after" is the next one's "before".
        const chains = { inst: new Chain(inst), other: new Chain(other) };
        await fc.assert(
          fc.asyncProperty(gateCase(), async (c) => {
            count("Telegram webhook", "refused at the gate (secret, path or method)");
            const reply = await (c.target === inst ? chains.inst : chains.other).check(c, { messages: true });
            expect(reply.status, describeCase(c)).toBeGreaterThanOrEqual(400);
            if (c.why.includes("too large")) expect(reply.status, describeCase(c)).toBe(413);
            else if (c.method === "POST" && c.path === `/telegram/${c.target.id}`) {
              expect(reply.status, describeCase(c)).toBe(401);
            }
          }),
          fuzzParams(GATE_RUNS),
        );
      },
      timeoutFor(GATE_RUNS, 30),
    );

    const BODY_RUNS = 80;
    it(
      "valid secret, hostile bodies and update shapes: 200/400/413 as the SPEC says, jobs never crash",
      async () => {
        const secret = secretOf(inst);
        await fc.assert(
          fc.asyncProperty(
            fc.oneof(
              { weight: 3, arbitrary: hostileUpdate().map((u) => u.text) },
              { weight: 1, arbitrary: hostileBody },
            ),
            async (body) => {
              const c: HttpCase = {
                method: "POST",
                path: `/telegram/${inst.id}`,
                headers: { "x-telegram-bot-api-secret-token": secret, "content-type": "application/json" },
                body,
                mustReject: false,
                why: "valid secret",
              };
              const label = describeCase(c);
              const before = await snapshot(inst, { messages: true });
              const reply = await send(c);
              expect(reply.status, `${label} → ${reply.text}`).toBeLessThan(500);
              if (byteLength(body) > BODY_LIMIT) {
                count("Telegram webhook", "valid secret: body over the limit");
                expect(reply.status, label).toBe(413);
              } else if (!parsesAsJson(body)) {
                count("Telegram webhook", "valid secret: malformed JSON");
                expect(reply.status, label).toBe(400);
                expect(expectErrorShape(reply.status, reply.text, label).code).toBe("malformed_json");
              } else {
                expect(reply.status, label).toBe(200);
              }
              if (reply.status !== 200) {
                expectUnchanged(before, await snapshot(inst, { messages: true }), label);
                return;
              }
              await waitForInbox(inst.id);
              const after = await snapshot(inst, { messages: true, skipTables: ["telegram_updates"] });
              const update = parseBody(body);
              const route = updateIdOf(update) === null ? null : routeUpdate(update, OWNER, botUsername);
              if (route === null || route.kind === "ignore") {
                // Ignorable: nothing but the update's dedupe record, nothing sent.
                count("Telegram webhook", "valid secret: ignorable update");
                const { telegram_updates: _, ...rest } = before.tables;
                expectUnchanged({ ...before, tables: rest }, after, label);
              } else {
                // Handled: at most an answer was charged; no credit, setting or recharge appeared.
                count("Telegram webhook", `valid secret: update handled as ${route.kind}`);
                expect(after.tables.billing, label).toEqual(before.tables.billing);
                expect(after.tables.recharges, label).toEqual(before.tables.recharges);
                expect(balanceIn(after), label).toBeLessThanOrEqual(balanceIn(before));
                const newEntries = (after.tables.ledger ?? []).slice((before.tables.ledger ?? []).length) as {
                  kind: string;
                }[];
                for (const e of newEntries) expect(e.kind, label).toBe("hold_settle");
              }
            },
          ),
          fuzzParams(BODY_RUNS),
        );
      },
      timeoutFor(BODY_RUNS, 150),
    );

    const DUP_RUNS = 12;
    it(
      "each update_id has effect once: 2–4 deliveries of one update, some concurrent, give one reply and one charge",
      async () => {
        const secret = secretOf(inst);
        const deliver = (body: string) =>
          send({
            method: "POST",
            path: `/telegram/${inst.id}`,
            headers: { "x-telegram-bot-api-secret-token": secret, "content-type": "application/json" },
            body,
          });
        await fc.assert(
          fc.asyncProperty(
            fc.constantFrom("/balance", "/help", "hello there", "what is an expert?", "kolik mám kreditů?"),
            fc.boolean(),
            fc.integer({ min: 2, max: 4 }),
            fc.boolean(),
            async (text, fromOwner, copies, concurrent) => {
              count("Telegram webhook", "one update delivered 2–4 times");
              const updateId = freshUpdateId();
              // A new end user each time, so the per-user daily cap never turns an answer into a refusal.
              const from = fromOwner ? OWNER : 700_000_000 + updateId;
              const body = JSON.stringify({
                update_id: updateId,
                message: {
                  message_id: updateId,
                  from: { id: from, is_bot: false, first_name: "Eva" },
                  chat: { id: from, type: "private" },
                  date: Math.floor(Date.now() / 1000),
                  text,
                },
              });
              const sentBefore = (await sentMessages(inst.botToken, from)).length;
              const ledgerBefore = (await snapshot(inst)).tables.ledger?.length ?? 0;
              const statuses = concurrent
                ? await Promise.all(Array.from({ length: copies }, () => deliver(body).then((r) => r.status)))
                : await (async () => {
                    const out: number[] = [];
                    for (let i = 0; i < copies; i++) out.push((await deliver(body)).status);
                    return out;
                  })();
              expect(statuses).toEqual(Array.from({ length: copies }, () => 200));
              await waitForInbox(inst.id);
              expect((await updateRows(inst.id)).filter((r) => r.update_id === updateId)).toHaveLength(1);
              expect((await sentMessages(inst.botToken, from)).length - sentBefore, text).toBe(1);
              // SPEC: the owner's /balance, /help and balance questions are free, a stranger's /balance is
              // refused; everything else is one metered AI answer. Whatever the number of deliveries.
              const free = fromOwner ? text !== "hello there" && text !== "what is an expert?" : text === "/balance";
              const charged = ((await snapshot(inst)).tables.ledger?.length ?? 0) - ledgerBefore;
              expect(charged, `${text} from ${fromOwner ? "the owner" : "a user"}`).toBe(free ? 0 : 1);
            },
          ),
          fuzzParams(DUP_RUNS),
        );
      },
      timeoutFor(DUP_RUNS, 300),
    );
  });
}
