import { env } from "cloudflare:test";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, api, botToken, type Provisioned, provision } from "../helpers";
import { count, fuzzParams, timeoutFor } from "./budget";
import { bearerVariants, Chain, checkCase, type HttpCase } from "./harness";
import {
  applyMutations,
  BODY_LIMIT,
  byteLength,
  contentType,
  hostileBody,
  hostileToken,
  lookalikeNumber,
  lookalikeOf,
  method,
  mutation,
  type RawObject,
  rawText,
  withInvisibles,
} from "./inputs";
import { expectLedgerConsistent } from "./state";

/**
 * Admin API (`/admin/*`): provisioning, adjustments, the instance view, the ledger (JSON and CSV) and
 * rotating the API key and the bot token,
 * with hostile bodies, tokens, content types, query strings, paths and methods.
 */

const MAX_MICROS = 1_000_000_000_000;
const LICENSES = ["starter", "pro"];
const SERVICE_ACCOUNTS = [1087968824, 777000];

let inst: Provisioned;
let nextId = 0;

function fresh(): number {
  nextId += 1;
  return nextId;
}

type Body = Record<string, unknown>;
const has = (b: Body, keys: string[]) => Object.keys(b).every((k) => keys.includes(k));
const isKey = (v: unknown) => typeof v === "string" && v.length >= 1 && v.length <= 255 && /^[\x21-\x7e]+$/.test(v);
const isId = (v: unknown) => typeof v === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(v);

function parseObject(text: string): Body | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return "not JSON";
  }
  return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Body) : "not an object";
}

function createProblem(b: Body): string | null {
  if (!has(b, ["id", "telegramBotToken", "ownerTelegramId", "license", "systemPrompt"])) return "unknown key";
  if (!isId(b.id)) return "id";
  if (typeof b.telegramBotToken !== "string" || !/^\d{1,20}:[A-Za-z0-9_-]{30,100}$/.test(b.telegramBotToken))
    return "telegramBotToken";
  const owner = b.ownerTelegramId;
  if (!Number.isSafeInteger(owner) || (owner as number) <= 0 || (owner as number) > 2 ** 52) return "ownerTelegramId";
  if (SERVICE_ACCOUNTS.includes(owner as number)) return "service account";
  if (b.license !== undefined && !LICENSES.includes(b.license as string)) return "license";
  if (b.systemPrompt !== undefined && !(typeof b.systemPrompt === "string" && b.systemPrompt.length <= 4000))
    return "systemPrompt";
  return null;
}

function botTokenProblem(b: Body): string | null {
  if (!has(b, ["telegramBotToken"])) return "unknown key";
  if (typeof b.telegramBotToken !== "string" || !/^\d{1,20}:[A-Za-z0-9_-]{30,100}$/.test(b.telegramBotToken))
    return "telegramBotToken";
  return null;
}

function adjustmentProblem(b: Body): string | null {
  if (!has(b, ["idempotencyKey", "amountMicros", "reason"])) return "unknown key";
  if (!isKey(b.idempotencyKey)) return "idempotencyKey";
  const amount = b.amountMicros;
  if (!Number.isSafeInteger(amount) || amount === 0 || Math.abs(amount as number) > MAX_MICROS) return "amountMicros";
  if (typeof b.reason !== "string" || b.reason.trim().length < 1 || b.reason.trim().length > 500) return "reason";
  return null;
}

function tokenFor(key: string): fc.Arbitrary<string> {
  const str = (a: fc.Arbitrary<string>) => a.map((s) => JSON.stringify(s));
  const aimed: Record<string, fc.Arbitrary<string>> = {
    id: str(
      fc.oneof(
        fc.constantFrom("", "a b", "a/b", "..", "%2e", "é", "x".repeat(65), "__proto__", "constructor"),
        withInvisibles("acme"),
        lookalikeOf("acme"),
      ),
    ),
    telegramBotToken: str(
      fc.oneof(
        fc.constantFrom(
          "",
          "123:short",
          `123:${"A".repeat(101)}`,
          `-1:${"A".repeat(35)}`,
          `${"1".repeat(21)}:${"A".repeat(35)}`,
        ),
        fc.constant(botToken()).chain((t) => fc.oneof(withInvisibles(t), lookalikeNumber(t))),
        fc.constant(` ${botToken()}`),
      ),
    ),
    ownerTelegramId: fc.oneof(
      fc.constantFrom("1087968824", "777000", "4503599627370496", "4503599627370497", "0", "-0", "1.0", "4242001.5"),
      str(fc.constantFrom("4242001", "٤٢٤٢")),
    ),
    license: str(
      fc.oneof(fc.constantFrom("", "STARTER", "pro ", "__proto__", "constructor", "x".repeat(65)), lookalikeOf("pro")),
    ),
    systemPrompt: str(fc.oneof(fc.constant("p".repeat(4001)), fc.string({ unit: "binary", maxLength: 50 }))),
    idempotencyKey: str(fc.oneof(fc.constantFrom("", " ", "a b", "k".repeat(256)), withInvisibles("adj-1"))),
    amountMicros: fc.oneof(
      fc.integer({ min: -MAX_MICROS * 2, max: MAX_MICROS * 2 }).map(String),
      fc.constantFrom("1000000000000", "-1000000000000", "1000000000001", "-1000000000001", "-0", "0"),
      str(lookalikeNumber("1000")),
    ),
    reason: str(
      fc.oneof(
        fc.constantFrom("", " ", "\t\n", "r".repeat(501), `${" ".repeat(10)}${"r".repeat(500)}`, "=cmd|' /C calc'!A0"),
        withInvisibles("bonus"),
      ),
    ),
  };
  return fc.oneof({ weight: 2, arbitrary: hostileToken }, { weight: 3, arbitrary: aimed[key] ?? hostileToken });
}

interface Target {
  name: string;
  method: string;
  path: () => string;
  fields?: () => RawObject;
  problem?: (b: Body) => string | null;
}

const TARGETS: Target[] = [
  {
    name: "create instance",
    method: "POST",
    path: () => "/admin/instances",
    fields: () => [
      ["id", JSON.stringify(`fz-admin-${fresh()}`)],
      ["telegramBotToken", JSON.stringify(botToken())],
      ["ownerTelegramId", "4242001"],
      ["license", '"starter"'],
    ],
    problem: createProblem,
  },
  {
    name: "adjustment",
    method: "POST",
    path: () => `/admin/instances/${inst.id}/adjustments`,
    fields: () => [
      ["idempotencyKey", JSON.stringify(`fz-adj-${fresh()}`)],
      ["amountMicros", "2500000"],
      ["reason", '"goodwill"'],
    ],
    problem: adjustmentProblem,
  },
  { name: "instance view", method: "GET", path: () => `/admin/instances/${inst.id}` },
  // Rotations act on the same instance, so a refused one is seen to change nothing in its object.
  { name: "new API key", method: "POST", path: () => `/admin/instances/${inst.id}/api-key` },
  { name: "reseal bot tokens", method: "POST", path: () => `/admin/bot-tokens/reseal?cursor=${inst.id}&limit=3` },
  {
    name: "new bot token",
    method: "PUT",
    path: () => `/admin/instances/${inst.id}/bot-token`,
    // Another token of the same bot (another bot's is a 409, which the property allows).
    fields: () => [
      ["telegramBotToken", JSON.stringify(`${inst.botToken.split(":")[0]}:AAF${fresh()}${"x".repeat(34)}`)],
    ],
    problem: botTokenProblem,
  },
  { name: "ledger", method: "GET", path: () => `/admin/instances/${inst.id}/ledger` },
];

/** Query strings for the ledger: valid, near misses, encodings, repeats. Oracle: the documented schema. */
const ledgerQuery = fc
  .record({
    cursor: fc.option(
      fc.oneof(
        fc.constantFrom(
          "1",
          "2",
          "0",
          "-1",
          "01",
          "1e3",
          "1.5",
          "9999999999999999",
          "99999999999999999",
          "",
          "٣",
          "1%00",
          "%31",
        ),
        fc.nat().map(String),
        fc.string({ maxLength: 8 }),
      ),
      { nil: undefined },
    ),
    limit: fc.option(
      fc.oneof(
        fc.constantFrom("1", "1000", "1001", "0", "-5", "10.0", "1e2", "", "１０", " 5", "5 ", "NaN"),
        fc.nat({ max: 5000 }).map(String),
        fc.string({ maxLength: 6 }),
      ),
      { nil: undefined },
    ),
    repeat: fc.boolean(),
  })
  .map(({ cursor, limit, repeat }) => {
    const parts: string[] = [];
    if (cursor !== undefined) parts.push(`cursor=${encodeURIComponent(cursor)}`);
    if (limit !== undefined) parts.push(`limit=${encodeURIComponent(limit)}`);
    if (repeat && parts.length > 0) parts.push(parts[0] as string);
    // A repeated parameter (`limit=5&limit=5`) arrives as a list, which the schema refuses.
    const valid =
      !(repeat && parts.length > 0) &&
      (cursor === undefined || /^[1-9]\d{0,15}$/.test(cursor)) &&
      (limit === undefined || (/^\d{1,4}$/.test(limit) && Number(limit) >= 1 && Number(limit) <= 1000));
    return { query: parts.length ? `?${parts.join("&")}` : "", valid, repeat };
  });

const badPath = fc.constantFrom(
  "/admin/instances/unknown-instance-zz",
  "/admin/instances/unknown-instance-zz/ledger",
  "/admin/instances/unknown-instance-zz/adjustments",
  "/admin/instances/a%20b",
  "/admin/instances/%2e%2e",
  `/admin/instances/${"i".repeat(65)}`,
  "/admin/instances/%00/ledger",
  "/admin/instances/",
  "/admin/instances//ledger",
  "/admin/instance",
  "/admin",
  "/admin/instances/x/ledger/extra",
  "/admin/instances/%D0%B0cme",
);

async function registered(id: string): Promise<boolean> {
  return (await env.DB.prepare("SELECT 1 AS x FROM instances WHERE id = ?").bind(id).first("x")) !== null;
}

/**
 * A refused provisioning leaves no registry row and no provisioned object. (Looking at the object
 * creates an empty one, which is slow, so only refusals that got past validation and reached the
 * object are looked at there.)
 */
async function expectNotProvisioned(id: string, replyText: string, why: string): Promise<void> {
  expect(await registered(id), why).toBe(false);
  const code = (JSON.parse(replyText) as { error?: { code?: string } }).error?.code;
  if (code === "invalid_bot_token" || code === "upstream_unavailable") {
    expect((await api(`/admin/instances/${id}`, { headers: ADMIN })).status, why).toBe(404);
  }
}

type AdminCase = HttpCase & { target: string; createdId: string | null };

function adminCase(): fc.Arbitrary<AdminCase> {
  const body = (t: Target) =>
    t.fields && t.problem
      ? fc.oneof(
          {
            weight: 6,
            arbitrary: fc
              .array(
                mutation(
                  (t.fields?.() ?? []).map(([k]) => k),
                  tokenFor,
                ),
                { maxLength: 3 },
              )
              .map((ms) => rawText(applyMutations(t.fields?.() ?? [], ms))),
          },
          { weight: 2, arbitrary: hostileBody },
        )
      : fc.constant(undefined);
  return fc
    .record({
      target: fc.constantFrom(...TARGETS),
      auth: bearerVariants(env.ADMIN_TOKEN, [{ name: "instance API key", header: inst.auth.authorization ?? "" }]),
      type: fc.oneof({ weight: 5, arbitrary: fc.constant("application/json") }, { weight: 1, arbitrary: contentType }),
      method: fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: method }),
      path: fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: badPath }),
      query: ledgerQuery,
      accept: fc.constantFrom(null, "application/json", "text/csv", "text/csv;q=0.9, */*", "*/*", "text/html"),
    })
    .chain((r) => body(r.target).map((b) => ({ ...r, body: b })))
    .map(({ target: t, auth, type, method: m, path, query, accept, body: b }): AdminCase => {
      const verb = m ?? t.method;
      const headers: Record<string, string> = {};
      if (auth.header !== null) headers.authorization = auth.header;
      if (accept !== null) headers.accept = accept;
      const text = verb === "GET" || verb === "HEAD" ? undefined : (b ?? (m ? "{}" : undefined));
      if (type !== null && text !== undefined) headers["content-type"] = type;
      const reasons: string[] = [];
      if (!auth.valid) reasons.push("bad auth");
      if (verb !== t.method && !(verb === "HEAD" && t.method === "GET")) reasons.push(`method ${verb}`);
      if (path) reasons.push("bad path");
      const jsonType = type !== null && /^application\/json\s*(;|$)/i.test(type);
      if (["POST", "PUT", "PATCH"].includes(verb) && text !== undefined && !jsonType) reasons.push("content type");
      if (text !== undefined && byteLength(text) > BODY_LIMIT) reasons.push("too large");
      if (t.problem && text !== undefined && verb === t.method) {
        const parsed = parseObject(text);
        const problem = typeof parsed === "string" ? parsed : t.problem(parsed);
        if (problem) reasons.push(`body: ${problem}`);
      }
      const withQuery = t.name === "ledger" && !path;
      if (withQuery && !query.valid) reasons.push("query");
      let createdId: string | null = null;
      if (t.name === "create instance" && text !== undefined) {
        const parsed = parseObject(text);
        if (typeof parsed !== "string" && isId(parsed.id)) createdId = parsed.id as string;
      }
      return {
        target: t.name,
        createdId,
        method: verb,
        path: (path ?? t.path()) + (withQuery ? query.query : ""),
        headers,
        ...(text !== undefined ? { body: text } : {}),
        mustReject: reasons.length > 0,
        why: [t.name, auth.name, ...reasons].join(", "),
      };
    });
}

export function fuzzAdminApi(): void {
  describe("fuzz: admin API", () => {
    beforeAll(async () => {
      inst = await provision({ license: "pro" });
    });

    afterAll(async () => {
      await expectLedgerConsistent(inst.id);
    });

    const RUNS = 250;
    it(
      "hostile bodies, tokens, queries, paths and methods: never 5xx, refusals change nothing, invalid is refused",
      async () => {
        const chain = new Chain(inst);
        await fc.assert(
          fc.asyncProperty(adminCase(), async (c) => {
            const existedBefore = c.createdId !== null && (await registered(c.createdId));
            const reply = await chain.check(c);
            count("admin API", `${c.target}: ${reply.status < 400 ? "accepted" : "refused"}`);
            if (!c.mustReject) {
              expect([200, 201, 409], `${c.why} → ${reply.text}`).toContain(reply.status);
            }
            if (c.createdId !== null && reply.status >= 400 && !existedBefore) {
              await expectNotProvisioned(c.createdId, reply.text, c.why);
            }
            if (reply.status === 201 && c.target === "create instance") chain.invalidate();
          }),
          fuzzParams(RUNS),
        );
      },
      timeoutFor(RUNS, 40),
    );

    const REFUSED_RUNS = 30;
    it(
      "a refused provisioning creates nothing anywhere (D1 row, object)",
      async () => {
        const before = await env.DB.prepare("SELECT COUNT(*) AS n FROM instances").first<number>("n");
        await fc.assert(
          fc.asyncProperty(
            fc.array(mutation(["ownerTelegramId", "telegramBotToken", "license"], tokenFor), {
              minLength: 1,
              maxLength: 2,
            }),
            async (ms) => {
              const id = `fz-prov-${fresh()}`;
              const body = rawText(
                applyMutations(
                  [
                    ["id", JSON.stringify(id)],
                    ["telegramBotToken", JSON.stringify(botToken())],
                    ["ownerTelegramId", "4242001"],
                    ["license", '"starter"'],
                  ],
                  ms,
                ),
              );
              const parsed = parseObject(body);
              if (typeof parsed === "string" || createProblem(parsed) === null) return; // only refusals here
              count("admin API", "refused provisioning (focused property)");
              const { reply } = await checkCase(inst, {
                method: "POST",
                path: "/admin/instances",
                headers: { ...ADMIN, "content-type": "application/json" },
                body,
                mustReject: true,
                why: "invalid provisioning",
              });
              expect(reply.status).toBe(400);
              await expectNotProvisioned(id, reply.text, "invalid provisioning");
            },
          ),
          fuzzParams(REFUSED_RUNS),
        );
        expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM instances").first<number>("n")).toBe(before);
      },
      timeoutFor(REFUSED_RUNS, 40),
    );
  });
}
