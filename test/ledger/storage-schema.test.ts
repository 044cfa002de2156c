import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import doc from "../../docs/storage-schema.md?raw";
import { freshId, stub } from "../helpers";

/**
 * docs/storage-schema.md against the real schemas: a fresh CreditAccount's SQLite (its constructor applies
 * every step of ACCOUNT_MIGRATIONS) and D1 after its migrations. Each table has a `### \`name\`` section
 * under its store's `##` heading, whose column table lists exactly the table's columns and which names the
 * table's indexes and triggers.
 */

type Store = "CreditAccount" | "D1";

interface TableSchema {
  columns: string[];
  /** Indexes (not SQLite's own `sqlite_autoindex_*`) and triggers on the table. */
  objects: string[];
}

type Schema = Map<string, TableSchema>;

interface DocTable {
  /** Text of the table's `###` section. */
  text: string;
  /** Names in the first cell of its column table. */
  columns: string[];
}

interface DocStore {
  tables: Map<string, DocTable>;
  /** Names in the first cell of the store's overview tables (before the first `###`). */
  overview: string[];
  /** Index and trigger names of the `- Index` / `- Unique index` / `- Trigger(s)` lines. */
  objects: string[];
}

const internal = (name: string) => name.startsWith("sqlite_") || name.startsWith("_cf_") || name === "d1_migrations";

const ticked = (text: string) => [...text.matchAll(/`([a-z0-9_]+)`/g)].map((m) => m[1] as string);

const sorted = (names: Iterable<string>) => [...new Set(names)].sort();

/** `## D1` is D1; `## CreditAccount …` and `## Billing (in the CreditAccount)` are the object. */
function storeOf(heading: string): Store {
  return heading.startsWith("D1") ? "D1" : "CreditAccount";
}

function parseDoc(markdown: string): Record<Store, DocStore> {
  const stores: Record<Store, DocStore> = {
    CreditAccount: { tables: new Map(), overview: [], objects: [] },
    D1: { tables: new Map(), overview: [], objects: [] },
  };
  let store: DocStore | null = null;
  let table: DocTable | null = null;
  for (const line of markdown.split("\n")) {
    const h2 = /^## (.+)$/.exec(line);
    if (h2) {
      store = stores[storeOf(h2[1] as string)];
      table = null;
      continue;
    }
    const h3 = /^### `([a-z0-9_]+)`\s*$/.exec(line);
    if (h3 && store) {
      const name = h3[1] as string;
      expect(store.tables.has(name), `table \`${name}\` has two sections`).toBe(false);
      table = { text: "", columns: [] };
      store.tables.set(name, table);
      continue;
    }
    if (!store) continue;
    const firstCell = /^\| ([^|]*)\|/.exec(line);
    if (table) {
      table.text += `${line}\n`;
      if (firstCell) table.columns.push(...ticked(firstCell[1] as string));
      const listed = /^- (?:Unique index|Index|Indexes|Trigger|Triggers) (.*)$/.exec(line);
      if (listed) {
        // The names before the first `(` or `:` are the index or trigger names; the rest are columns.
        const names = (listed[1] as string).split(/[(:]/)[0] as string;
        store.objects.push(...ticked(names));
      }
    } else if (firstCell) {
      store.overview.push(...ticked(firstCell[1] as string));
    }
  }
  return stores;
}

async function objectSchema(): Promise<Schema> {
  return runInDurableObject(stub(freshId("schema")), (_instance, state) => {
    const sql = state.storage.sql;
    const schema: Schema = new Map();
    const tables = sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .toArray()
      .map((r) => r.name)
      .filter((name) => !internal(name));
    for (const name of tables) {
      const columns = sql
        .exec<{ name: string }>(`PRAGMA table_info("${name}")`)
        .toArray()
        .map((r) => r.name);
      schema.set(name, { columns, objects: [] });
    }
    const objects = sql
      .exec<{ name: string; tbl_name: string }>(
        "SELECT name, tbl_name FROM sqlite_master WHERE type IN ('index', 'trigger') ORDER BY name",
      )
      .toArray();
    for (const o of objects) if (!internal(o.name)) schema.get(o.tbl_name)?.objects.push(o.name);
    return schema;
  });
}

async function d1Schema(): Promise<Schema> {
  const schema: Schema = new Map();
  const { results: tables } = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
  ).all<{ name: string }>();
  for (const { name } of tables) {
    if (internal(name)) continue;
    const { results } = await env.DB.prepare(`PRAGMA table_info("${name}")`).all<{ name: string }>();
    schema.set(name, { columns: results.map((r) => r.name), objects: [] });
  }
  const { results: objects } = await env.DB.prepare(
    "SELECT name, tbl_name FROM sqlite_master WHERE type IN ('index', 'trigger') ORDER BY name",
  ).all<{ name: string; tbl_name: string }>();
  for (const o of objects) if (!internal(o.name)) schema.get(o.tbl_name)?.objects.push(o.name);
  return schema;
}

function expectDocumented(store: Store, schema: Schema, documented: DocStore): void {
  // Every table has its section and an overview row, and the page names no table the store lacks.
  expect(sorted(documented.tables.keys()), `${store}: tables with a section`).toEqual(sorted(schema.keys()));
  expect(sorted(documented.overview), `${store}: tables in the overview`).toEqual(sorted(schema.keys()));
  const allObjects = [...schema.values()].flatMap((t) => t.objects);
  expect(
    sorted(documented.objects.filter((name) => !allObjects.includes(name))),
    `${store}: indexes or triggers named in the page that the store lacks`,
  ).toEqual([]);
  for (const [name, table] of schema) {
    const section = documented.tables.get(name);
    if (!section) continue;
    // Exactly the table's columns, each once, in its own section.
    expect(sorted(section.columns), `${store}: columns of \`${name}\``).toEqual(sorted(table.columns));
    expect(section.columns.length, `${store}: a column of \`${name}\` is listed twice`).toBe(table.columns.length);
    const mentioned = new Set(ticked(section.text));
    expect(
      table.objects.filter((o) => !mentioned.has(o)),
      `${store}: indexes and triggers of \`${name}\` missing from its section`,
    ).toEqual([]);
  }
}

describe("docs/storage-schema.md", () => {
  const documented = parseDoc(doc);

  it("documents every table, column, index and trigger of the CreditAccount and of D1, and nothing else", async () => {
    const object = await objectSchema();
    const d1 = await d1Schema();
    // The reading itself works: both stores hold the tables the product cannot do without.
    expect([...object.keys()]).toEqual(expect.arrayContaining(["account", "ledger", "recharges", "schema_meta"]));
    expect([...d1.keys()]).toEqual(expect.arrayContaining(["instances", "ledger_entries", "recharges"]));
    expectDocumented("CreditAccount", object, documented.CreditAccount);
    expectDocumented("D1", d1, documented.D1);
  });
});
