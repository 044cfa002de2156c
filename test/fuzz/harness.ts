import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import fc from "fast-check";
import { expect } from "vitest";
import worker from "../../src/index";
import { expectErrorShape, expectUnchanged, type Snapshot, type SnapshotOptions, snapshot } from "./state";

export const ORIGIN = "https://credits.example.test";

/**
 * A request through the Worker's own fetch handler (src/index.ts), with the runtime's bindings, in
 * workerd. Not `SELF.fetch`: under vitest-pool-workers every `SELF.fetch` in a test file is slower than
 * the one before (measured here: 4.7 ms for the first, 134 ms after 350; cloudflare/workers-sdk#15446),
 * which a budget of a thousand requests per file cannot afford. The handler called directly stays flat.
 */
export async function workerFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const request = new Request(url, init) as Request<unknown, IncomingRequestCfProperties>;
  const response = await worker.fetch(request, env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/** One fuzzed HTTP request and what the oracle knows about it. */
export interface HttpCase {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** True when the SPEC (or the documented schema) says this request must be refused. */
  mustReject: boolean;
  /** Why, for the failure message. */
  why: string;
}

export interface Reply {
  status: number;
  text: string;
}

export async function send(c: Pick<HttpCase, "method" | "path" | "headers" | "body">): Promise<Reply> {
  const withBody = c.body !== undefined && c.method !== "GET" && c.method !== "HEAD";
  const response = await workerFetch(`${ORIGIN}${c.path}`, {
    method: c.method,
    headers: c.headers,
    ...(withBody ? { body: c.body } : {}),
  });
  return { status: response.status, text: await response.text() };
}

export function describeCase(c: HttpCase): string {
  const body = c.body === undefined ? "" : ` body(${c.body.length})=${JSON.stringify(c.body.slice(0, 300))}`;
  return `${c.method} ${c.path.slice(0, 200)} headers=${JSON.stringify(c.headers).slice(0, 300)}${body} [${c.why}]`;
}

/**
 * The "after" of the previous case is the "before" of the next one when nothing else ran in
 * between (every effect of these APIs is committed before the reply), which halves the cost of a case.
 */
export class Chain {
  #last: Snapshot | undefined;
  constructor(readonly inst: { id: string; botToken: string }) {}
  /** Something outside a case changed the instance (setup for the next case). */
  invalidate(): void {
    this.#last = undefined;
  }
  async check(c: HttpCase, options: SnapshotOptions = {}): Promise<Reply> {
    const { reply, after } = await checkCase(this.inst, c, {
      ...options,
      ...(this.#last ? { before: this.#last } : {}),
    });
    this.#last = after;
    return reply;
  }
}

/**
 * The property every HTTP entry point must hold: never a 5xx; a refusal is a 4xx in the error
 * shape and changes nothing; a request the oracle knows to be invalid is refused.
 */
export async function checkCase(
  inst: { id: string; botToken: string },
  c: HttpCase,
  options: SnapshotOptions & { before?: Snapshot } = {},
): Promise<{ reply: Reply; before: Snapshot; after: Snapshot }> {
  const label = describeCase(c);
  const before = options.before ?? (await snapshot(inst, options));
  const reply = await send(c);
  const after = await snapshot(inst, options);
  expect(reply.status, `${label}\n→ ${reply.text.slice(0, 300)}`).toBeLessThan(500);
  if (reply.status >= 400) {
    if (c.method !== "HEAD") expectErrorShape(reply.status, reply.text, label);
    expectUnchanged(before, after, label);
  } else if (c.mustReject) {
    throw new Error(`accepted (${reply.status}) a request that must be refused: ${label}\n→ ${reply.text}`);
  }
  return { reply, before, after };
}

export interface AuthVariant {
  header: string | null;
  valid: boolean;
  name: string;
}

/**
 * The valid `Authorization: Bearer <token>` most of the time, else a near miss: no header, another
 * scheme or spelling, one character changed, a prefix or suffix, another principal's token, junk.
 */
export function bearerVariants(token: string, others: { name: string; header: string }[]): fc.Arbitrary<AuthVariant> {
  const miss = (name: string, header: string | null): AuthVariant => ({ name, header, valid: false });
  const flipped = (at: number) => {
    const i = at % token.length;
    return token.slice(0, i) + (token.charAt(i) === "A" ? "B" : "A") + token.slice(i + 1);
  };
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant<AuthVariant>({ header: `Bearer ${token}`, valid: true, name: "valid token" }) },
    {
      weight: 3,
      arbitrary: fc.oneof(
        fc.constantFrom(
          miss("no header", null),
          miss("empty", ""),
          miss("scheme only", "Bearer"),
          miss("lowercase scheme", `bearer ${token}`),
          miss("two spaces", `Bearer  ${token}`),
          miss("tab", `Bearer\t${token}`),
          miss("longer token", `Bearer ${token}x`),
          miss("shorter token", `Bearer ${token.slice(0, -1)}`),
          miss("upper-cased token", `Bearer ${token.toUpperCase()}`),
          miss("basic", `Basic ${btoa(`x:${token}`)}`),
          miss("token without scheme", token),
          miss("600-char token", `Bearer ${"k".repeat(600)}`),
          miss("two tokens", `Bearer ${token}, Bearer ${token}`),
          ...others.map((o) => miss(o.name, o.header)),
        ),
        fc.nat().map((n) => miss("one char changed", `Bearer ${flipped(n)}`)),
        fc.string({ maxLength: 60 }).map((s) => miss("junk", s.replace(/[^\x20-\x7e]/g, ""))),
      ),
    },
  );
}
