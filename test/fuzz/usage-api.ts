import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, api, type Provisioned, provision, USD } from "../helpers";
import { count, fuzzParams, timeoutFor } from "./budget";
import { type AuthVariant, bearerVariants, Chain, type HttpCase, send } from "./harness";
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
 * Usage API (`/v1/instances/:id/*`): the AI pipeline's debits, holds, settles and releases, with
 * hostile bodies, keys, content types, paths and methods. An oracle written from the SPEC and the
 * documented schema says which requests must be refused; those must come back 4xx and change nothing.
 */

const OPERATIONS = ["response", "knowhow_update", "role_update"];
const PRICED_MODELS = ["gpt-4o-mini", "gpt-4o"];
const MAX_MICROS = 1_000_000_000_000;

let inst: Provisioned;
let other: Provisioned;
let nextKey = 0;

/** A fresh open hold for a settle or release case (made before the case's "before" snapshot). */
async function openHold(): Promise<string> {
  const hold = await send({
    method: "POST",
    path: `/v1/instances/${inst.id}/holds`,
    headers: { ...inst.auth, "content-type": "application/json" },
    body: JSON.stringify({
      idempotencyKey: `fuzz-hold-${fresh()}`,
      operation: "response",
      maxCostMicros: USD,
      ttlSeconds: 3600,
    }),
  });
  expect(hold.status).toBe(201);
  return (JSON.parse(hold.text) as { holdId: string }).holdId;
}

// ---------------------------------------------------------------- oracle

type Body = Record<string, unknown>;
const isKey = (v: unknown) => typeof v === "string" && v.length >= 1 && v.length <= 255 && /^[\x21-\x7e]+$/.test(v);
const isMicros = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0 && (v as number) <= MAX_MICROS;
const isTokens = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= 100_000_000;
const isEndUser = (v: unknown) => v === undefined || (typeof v === "string" && v.length >= 1 && v.length <= 64);
const has = (b: Body, keys: string[]) => Object.keys(b).every((k) => keys.includes(k));

function validCost(b: Body, extra: string[]): string | null {
  if ("costMicros" in b) {
    if (!has(b, ["idempotencyKey", "costMicros", ...extra])) return "unknown key";
    return isMicros(b.costMicros) ? null : "costMicros";
  }
  if (!has(b, ["idempotencyKey", "model", "inputTokens", "outputTokens", ...extra])) return "unknown key";
  if (typeof b.model !== "string" || !PRICED_MODELS.includes(b.model)) return "model";
  if (!isTokens(b.inputTokens) || !isTokens(b.outputTokens)) return "tokens";
  if (b.inputTokens === 0 && b.outputTokens === 0) return "zero tokens";
  return null;
}

/** Why the SPEC says this body must be refused, or null when it is a valid request. */
function usageProblem(b: Body): string | null {
  if (!isKey(b.idempotencyKey)) return "idempotencyKey";
  if (!OPERATIONS.includes(b.operation as string)) return "operation";
  if (!isEndUser(b.endUserId)) return "endUserId";
  return validCost(b, ["operation", "endUserId"]);
}

function holdProblem(b: Body): string | null {
  if (!has(b, ["idempotencyKey", "operation", "maxCostMicros", "ttlSeconds", "endUserId"])) return "unknown key";
  if (!isKey(b.idempotencyKey)) return "idempotencyKey";
  if (!OPERATIONS.includes(b.operation as string)) return "operation";
  if (!isMicros(b.maxCostMicros)) return "maxCostMicros";
  const ttl = b.ttlSeconds;
  if (ttl !== undefined && !(Number.isSafeInteger(ttl) && (ttl as number) >= 10 && (ttl as number) <= 3600))
    return "ttlSeconds";
  return isEndUser(b.endUserId) ? null : "endUserId";
}

function settleProblem(b: Body): string | null {
  if (!isKey(b.idempotencyKey)) return "idempotencyKey";
  if (b.operation !== undefined && !OPERATIONS.includes(b.operation as string)) return "operation";
  return validCost(b, ["operation"]);
}

function problemOf(text: string, check: (b: Body) => string | null): string | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return "not JSON";
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return "not an object";
  return check(parsed as Body);
}

// ---------------------------------------------------------------- generators

/** Hostile values per field, mixing generic hostile tokens with ones aimed at that field. */
function tokenFor(key: string): fc.Arbitrary<string> {
  const aimed: Record<string, fc.Arbitrary<string>> = {
    idempotencyKey: fc.oneof(
      fc.constantFrom('""', '" "', '"a b"', `"${"k".repeat(256)}"`, `"${"k".repeat(255)}"`, '"é"', '"k\\t"'),
      withInvisibles("key-1").map((s) => JSON.stringify(s)),
    ),
    operation: fc
      .oneof(
        fc.constantFrom(...OPERATIONS.map((o) => JSON.stringify(o.toUpperCase())), '"response "', '"mining"'),
        fc.constantFrom(...OPERATIONS).chain((o) => fc.oneof(lookalikeOf(o), withInvisibles(o))),
      )
      .map((s) => (s.startsWith('"') ? s : JSON.stringify(s))),
    model: fc
      .oneof(
        fc.constantFrom(...PRICED_MODELS, "__proto__", "constructor", "hasOwnProperty", "", "x".repeat(201)),
        lookalikeOf("gpt-4o-mini"),
        withInvisibles("gpt-4o"),
      )
      .map((s) => JSON.stringify(s)),
    endUserId: fc.constantFrom('""', `"${"u".repeat(65)}"`, `"${"u".repeat(64)}"`, '"\\u202eresu"', "42"),
  };
  const numeric = fc.oneof(
    fc.integer({ min: -MAX_MICROS * 2, max: MAX_MICROS * 2 }).map(String),
    fc.constantFrom("5", "1000", "100000000", "100000001", "10", "9", "3600", "3601"),
    lookalikeNumber("500").map((s) => JSON.stringify(s)),
    withInvisibles("500").map((s) => JSON.stringify(s)),
  );
  return fc.oneof({ weight: 2, arbitrary: hostileToken }, { weight: 2, arbitrary: aimed[key] ?? numeric });
}

interface Target {
  name: string;
  method: string;
  path: (id: string) => string;
  fields: () => RawObject;
  problem: ((b: Body) => string | null) | null;
}

function fresh(): number {
  nextKey += 1;
  return nextKey;
}
const key = () => JSON.stringify(`fz-${fresh()}`);

const TARGETS: Target[] = [
  {
    name: "usage (cost)",
    method: "POST",
    path: (id) => `/v1/instances/${id}/usage`,
    fields: () => [
      ["idempotencyKey", key()],
      ["operation", '"response"'],
      ["costMicros", "1500"],
      ["endUserId", '"u-1"'],
    ],
    problem: usageProblem,
  },
  {
    name: "usage (tokens)",
    method: "POST",
    path: (id) => `/v1/instances/${id}/usage`,
    fields: () => [
      ["idempotencyKey", key()],
      ["operation", '"knowhow_update"'],
      ["model", '"gpt-4o-mini"'],
      ["inputTokens", "1200"],
      ["outputTokens", "300"],
    ],
    problem: usageProblem,
  },
  {
    name: "hold",
    method: "POST",
    path: (id) => `/v1/instances/${id}/holds`,
    fields: () => [
      ["idempotencyKey", key()],
      ["operation", '"response"'],
      ["maxCostMicros", "20000"],
      ["ttlSeconds", "600"],
    ],
    problem: holdProblem,
  },
  {
    name: "settle",
    method: "POST",
    path: (id) => `/v1/instances/${id}/holds/{hold}/settle`,
    fields: () => [
      ["idempotencyKey", key()],
      ["costMicros", "700"],
    ],
    problem: settleProblem,
  },
  {
    name: "release",
    method: "DELETE",
    path: (id) => `/v1/instances/${id}/holds/{hold}`,
    fields: () => [],
    problem: null,
  },
  { name: "balance", method: "GET", path: (id) => `/v1/instances/${id}/balance`, fields: () => [], problem: null },
];

function authVariant(): fc.Arbitrary<AuthVariant> {
  return bearerVariants(inst.auth.authorization?.slice("Bearer ".length) ?? "", [
    { name: "admin token", header: ADMIN.authorization },
    { name: "other instance's key", header: other.auth.authorization ?? "" },
  ]);
}

/** Paths that name no usable instance or hold: unknown, malformed, foreign, encoded. */
const badPath = fc.constantFrom(
  "/v1/instances/unknown-instance-zz/balance",
  "/v1/instances/a%20b/balance",
  "/v1/instances/%2e%2e/balance",
  "/v1/instances/../admin/instances",
  "/v1/instances/%00/usage",
  `/v1/instances/${"i".repeat(65)}/usage`,
  "/v1/instances//usage",
  "/v1/instances/%D1%95etup/usage",
  "/v1/instances/x/holds/hold_123/settle",
  `/v1/instances/x/holds/hold_${"0".repeat(32)}`,
  "/v1/instances/x/holds/HOLD_0/settle",
  "/v1/instances/x/usage?costMicros=5",
  "/v1/instances/x/usage/",
  "/v1/instances/x/balance/extra",
  "/v1/instances/x",
  "/v1/",
);

function usageCase(): fc.Arbitrary<HttpCase & { target: string }> {
  const target = fc.constantFrom(...TARGETS);
  const body = (t: Target) =>
    t.method === "POST"
      ? fc.oneof(
          {
            weight: 6,
            arbitrary: fc
              .array(
                mutation(
                  t.fields().map(([k]) => k),
                  tokenFor,
                ),
                { minLength: 0, maxLength: 3 },
              )
              .map((ms) => ({ text: rawText(applyMutations(t.fields(), ms)), mutated: ms.length > 0 })),
          },
          { weight: 2, arbitrary: hostileBody.map((text) => ({ text, mutated: true })) },
        )
      : fc.constant(undefined);
  return fc
    .record({
      target,
      auth: authVariant(),
      type: fc.oneof({ weight: 5, arbitrary: fc.constant("application/json") }, { weight: 1, arbitrary: contentType }),
      method: fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: method }),
      path: fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: badPath }),
    })
    .chain((r) => body(r.target).map((b) => ({ ...r, body: b })))
    .map(({ target: t, auth, type, method: m, path, body: b }) => {
      const headers: Record<string, string> = {};
      if (auth.header !== null) headers.authorization = auth.header;
      const verb = m ?? t.method;
      const text = verb === "GET" || verb === "HEAD" ? undefined : (b?.text ?? (m ? "{}" : undefined));
      if (type !== null && text !== undefined) headers["content-type"] = type;
      const reasons: string[] = [];
      if (!auth.valid) reasons.push("bad auth");
      if (verb !== t.method && !(verb === "HEAD" && t.method === "GET")) reasons.push(`method ${verb}`);
      if (path) reasons.push("bad path");
      const isJsonType = type !== null && /^application\/json\s*(;|$)/i.test(type);
      if (verb === "POST" && !isJsonType) reasons.push("content type");
      if (text !== undefined && byteLength(text) > BODY_LIMIT) reasons.push("too large");
      const problem = t.problem && text !== undefined && verb === "POST" ? problemOf(text, t.problem) : null;
      if (problem) reasons.push(`body: ${problem}`);
      return {
        target: t.name,
        method: verb,
        path: path ?? t.path(inst.id),
        headers,
        ...(text !== undefined ? { body: text } : {}),
        mustReject: reasons.length > 0,
        why: [t.name, auth.name, ...reasons].join(", "),
      };
    });
}

export function fuzzUsageApi(): void {
  describe("fuzz: usage API", () => {
    beforeAll(async () => {
      inst = await provision({ license: "pro" });
      other = await provision();
      // A large balance so that valid fuzzed debits are accepted rather than all refused with 402.
      const grant = await api(`/admin/instances/${inst.id}/adjustments`, {
        method: "POST",
        headers: ADMIN,
        body: { idempotencyKey: "fuzz-grant", amountMicros: 900_000 * USD, reason: "fuzz budget" },
      });
      expect(grant.status).toBe(201);
    });

    afterAll(async () => {
      await expectLedgerConsistent(inst.id);
    });

    const RUNS = 300;
    it(
      "hostile bodies, keys, content types, paths and methods: never 5xx, refusals change nothing, invalid is refused",
      async () => {
        const chain = new Chain(inst);
        await fc.assert(
          fc.asyncProperty(usageCase(), async (c) => {
            let path = c.path;
            if (path.includes("{hold}")) {
              path = path.replace("{hold}", await openHold());
              chain.invalidate();
            }
            const reply = await chain.check({ ...c, path });
            count("usage API", `${c.target}: ${reply.status < 400 ? "accepted" : "refused"}`);
            // A valid request is served: charged, held, settled, or refused for a business reason only.
            if (!c.mustReject) expect([200, 201, 402, 409], `${c.why} → ${reply.text}`).toContain(reply.status);
          }),
          fuzzParams(RUNS),
        );
      },
      timeoutFor(RUNS, 40),
    );
  });
}
