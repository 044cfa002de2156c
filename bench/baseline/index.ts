import { DurableObject } from "cloudflare:workers";

/**
 * The two baselines of the benchmark (docs/benchmarks.md):
 * (a) `POST /noop/:name` — a bare Worker → Durable Object RPC round trip that does nothing;
 * (b) `POST /update/:name` — a minimal Durable Object doing one SQLite `UPDATE … RETURNING` per request.
 * Both read the request body (a Worker that leaves it unread loses the keep-alive connection) and
 * answer with a small JSON body, like the usage API; neither parses or validates anything.
 */

interface BaselineEnv {
  NOOP: DurableObjectNamespace<NoopObject>;
  COUNTER: DurableObjectNamespace<CounterObject>;
}

export class NoopObject extends DurableObject<BaselineEnv> {
  ping(): number {
    return 1;
  }
}

export class CounterObject extends DurableObject<BaselineEnv> {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: BaselineEnv) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(
      "CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY CHECK (id = 1), balance INTEGER NOT NULL)",
    );
    this.#sql.exec("INSERT OR IGNORE INTO counter (id, balance) VALUES (1, 0)");
  }

  debit(amount: number): number {
    return this.#sql
      .exec<{ balance: number }>("UPDATE counter SET balance = balance - ? WHERE id = 1 RETURNING balance", amount)
      .one().balance;
  }

  balance(): number {
    return this.#sql.exec<{ balance: number }>("SELECT balance FROM counter WHERE id = 1").one().balance;
  }
}

export default {
  async fetch(request, env) {
    const [, route, name] = new URL(request.url).pathname.split("/");
    await request.arrayBuffer();
    if (!name) return new Response("not found", { status: 404 });
    if (route === "noop") {
      const n = await env.NOOP.get(env.NOOP.idFromName(name)).ping();
      return Response.json({ ok: n });
    }
    if (route === "update" && request.method === "POST") {
      const balance = await env.COUNTER.get(env.COUNTER.idFromName(name)).debit(1);
      return Response.json({ balanceMicros: balance });
    }
    if (route === "update") {
      return Response.json({ balanceMicros: await env.COUNTER.get(env.COUNTER.idFromName(name)).balance() });
    }
    return new Response("not found", { status: 404 });
  },
} satisfies ExportedHandler<BaselineEnv>;
