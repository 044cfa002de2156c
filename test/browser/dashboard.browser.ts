/**
 * `npm run test:browser`: the owner's Mini App in a real browser (headless Chromium, Debian's `chromium`, driven by
 * playwright-core) against `wrangler dev` and the stand-ins, as the owner would use it (docs/dashboard.md):
 * the balance and the chart of seeded days, a threshold change confirmed by the bot at the Telegram stand-in,
 * the language, and the refusal of a forged `initData`. Saves the screenshots of docs/dashboard.md.
 *
 * Past days: the usage API charges now, so the spend of earlier days is seeded by charging it today and then,
 * with the Worker stopped, moving those ledger entries back by whole days in the object's SQLite file and
 * resetting its rollups to be derived again (`sqlite3`); the Worker restarts on the same state. No route of the
 * Worker accepts a past time.
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import {
  Cleanup,
  freePort,
  type LocalWorker,
  localSecrets,
  prepareLocalWorker,
  ROOT,
  startWorker,
  tail,
} from "../../demo/local";
import { startStandins } from "../../standins";
import { signInitData, webAppUrl } from "../../standins/telegram-web-app";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/**
 * Where the screenshots go: docs/ with `--update-screenshots` (they show the date, so a plain run must not dirty
 * the tree), else a temporary folder named at the end.
 */
const SHOTS = process.argv.includes("--update-screenshots")
  ? path.join(ROOT, "docs")
  : mkdtempSync(path.join(tmpdir(), "dashboard-shots-"));
const OWNER = { id: 4242001, first_name: "Olga", language_code: "en" };
const CLIENTS = ["5550001", "5550002", "5550003", "5550004"];
const INSTANCE = "browser-olga";
const USD = 1_000_000;
const SECRETS = localSecrets("browser");
const BOT_TOKEN = `${700000 + Math.floor(Math.random() * 99999)}:AAE${randomUUID().replaceAll("-", "")}`;

function check(condition: boolean, what: string, detail?: unknown): void {
  if (!condition) throw new Error(`${what}${detail === undefined ? "" : `\n    ${JSON.stringify(detail)}`}`);
  console.log(`  ✔ ${what}`);
}

async function json(url: string, init: { method?: string; token?: string; body?: unknown } = {}) {
  const response = await fetch(url, {
    method: init.method ?? "GET",
    headers: {
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return { status: response.status, body: (await response.json().catch(() => ({}))) as Record<string, unknown> };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Usage charged now, for `daysAgo` days back once the seeding moves it (the key carries the day). */
const SEED: { daysAgo: number; operation: string; micros: number; client?: string }[] = [];
for (let daysAgo = 0; daysAgo < 12; daysAgo++) {
  const answers = 2 + ((daysAgo * 7) % 5);
  for (let i = 0; i < answers; i++) {
    SEED.push({ daysAgo, operation: "response", micros: 180_000 + 40_000 * i, client: CLIENTS[(daysAgo + i) % 4] });
  }
  if (daysAgo % 3 === 0) SEED.push({ daysAgo, operation: "knowhow_update", micros: 900_000 });
  if (daysAgo % 5 === 1) SEED.push({ daysAgo, operation: "role_update", micros: 400_000 });
}

/** Moves the seeded entries back by their days and makes the object derive its rollups again (Worker stopped). */
function backdate(persistTo: string): void {
  const dir = path.join(persistTo, "v3", "do", "ai-credits-CreditAccount");
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite") : [];
  if (files.length !== 1) throw new Error(`expected one object's SQLite file in ${dir}, found ${files.length}`);
  const sql = `
    UPDATE ledger SET created_at = created_at - CAST(substr(idempotency_key, 6, instr(idempotency_key, '-') - 6) AS INTEGER) * 86400000
      WHERE kind = 'usage' AND idempotency_key LIKE 'seed:%-%';
    DELETE FROM usage_hourly; DELETE FROM usage_daily; DELETE FROM end_users; DELETE FROM end_users_seen_hourly;
    DELETE FROM end_users_seen_daily; DELETE FROM end_user_days; DELETE FROM active_users_daily;
    UPDATE cursors SET seq = 0 WHERE name = 'rollups';`;
  execFileSync("sqlite3", [path.join(dir, files[0] as string)], { input: sql });
}

async function main(): Promise<void> {
  const started = Date.now();
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (Debian: apt-get install -y chromium)`);
  const dir = mkdtempSync(path.join(tmpdir(), "dashboard-browser-"));
  const logPath = path.join(dir, "wrangler.log");
  const cleanup = new Cleanup();
  process.on("exit", () => cleanup.killNow());
  let ok = false;
  try {
    const standins = await startStandins({}, SECRETS.STRIPE_WEBHOOK_SECRET);
    cleanup.add(() => standins.close());
    const { envFile, persistTo, env } = await prepareLocalWorker(dir, SECRETS, logPath, cleanup);
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const start = async (): Promise<LocalWorker> => {
      const vars = {
        PUBLIC_BASE_URL: origin,
        TELEGRAM_API_BASE: standins.telegram.origin,
        STRIPE_API_BASE: standins.stripe.origin,
        AI_BASE_URL: `${standins.model.origin}/v1`,
      };
      const options = { port, inspectorPort: await freePort(), persistTo, envFile, vars, env, logPath };
      return startWorker({ ...options, readyTimeoutMs: 90_000 }, cleanup);
    };
    let worker = await start();
    await json(`${standins.stripe.origin}/__control/webhook-endpoint`, {
      method: "POST",
      body: { url: `${origin}/stripe/webhook` },
    });
    console.log(`wrangler dev at ${origin}, stand-ins up (${((Date.now() - started) / 1000).toFixed(1)} s)`);

    // ------------------------------------------------------------------ an owner with a card, and 12 days of use
    const provisioned = await json(`${origin}/admin/instances`, {
      method: "POST",
      token: SECRETS.ADMIN_TOKEN,
      body: { id: INSTANCE, telegramBotToken: BOT_TOKEN, ownerTelegramId: OWNER.id, license: "pro" },
    });
    check(provisioned.status === 201, "the instance is provisioned", provisioned);
    const apiKey = String(provisioned.body.apiKey);
    const telegram = standins.telegram.origin;
    const sent = async () => {
      const q = new URLSearchParams({ token: BOT_TOKEN, chat_id: String(OWNER.id), ok: "1" });
      const r = await json(`${telegram}/__control/sent?${q}`);
      return r.body.messages as { text?: string; reply_markup?: { inline_keyboard?: { url?: string }[][] } }[];
    };
    const say = async (text: string) => {
      const entities = text.startsWith("/")
        ? [{ offset: 0, length: text.split(/[:\s]/)[0]?.length ?? 1, type: "bot_command" }]
        : [];
      const update = {
        update_id: 100_000 + Math.floor(Math.random() * 1e6),
        message: {
          message_id: Math.floor(Math.random() * 1e6),
          from: { id: OWNER.id, is_bot: false, first_name: OWNER.first_name, language_code: "en" },
          chat: { id: OWNER.id, first_name: OWNER.first_name, type: "private" },
          date: Math.floor(Date.now() / 1000),
          text,
          entities,
        },
      };
      const r = await json(`${telegram}/__control/deliver`, { method: "POST", body: { token: BOT_TOKEN, update } });
      if (r.body.status !== 200) throw new Error(`webhook answered ${JSON.stringify(r.body)}`);
    };
    const before = (await sent()).length;
    await say("/setupCredits:250:190");
    const offer = await until("the Checkout link", async () =>
      (await sent()).slice(before).find((m) => m.reply_markup),
    );
    const pay = new URL(offer.reply_markup?.inline_keyboard?.[0]?.[0]?.url ?? "");
    pay.searchParams.set("card", "pm_card_visa");
    await fetch(pay);
    await until("the card saved", async () =>
      (await sent()).some((m) => /saved/i.test(m.text ?? "")) ? true : undefined,
    );
    check(true, "Olga saved a card with /setupCredits:250:190 (Stripe Checkout at the stand-in)");

    for (const [i, s] of SEED.entries()) {
      const body = {
        idempotencyKey: `seed:${s.daysAgo}-${i}`,
        operation: s.operation,
        costMicros: s.micros,
        ...(s.client ? { endUserId: s.client } : {}),
      };
      const r = await json(`${origin}/v1/instances/${INSTANCE}/usage`, { method: "POST", token: apiKey, body });
      if (r.status !== 200) throw new Error(`usage refused: ${JSON.stringify(r)}`);
    }
    // The seeded spend took the balance under the $190 threshold: auto-recharge charged the card $250, and its
    // invoice (with a PDF link) is one the page lists.
    await until(
      "the automatic recharge",
      async () => {
        const view = await json(`${origin}/admin/instances/${INSTANCE}`, { token: SECRETS.ADMIN_TOKEN });
        return Number(view.body.balanceMicros) > 250 * USD ? true : undefined;
      },
      30_000,
    );
    check(true, "the balance fell under $190.00: auto-recharge charged the card $250.00 (Stripe stand-in)");
    await worker.stop();
    backdate(persistTo);
    worker = await start();
    check(true, `${SEED.length} charges seeded over 12 days (moved back in the stopped object's SQLite)`);

    // ------------------------------------------------------------------ the page
    const appUrl = `${origin}/dashboard/?instance=${INSTANCE}`;
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    cleanup.add(() => browser.close());
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      timezoneId: "UTC",
    });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    // Nothing from a CDN: every request the page makes goes to the Worker.
    const elsewhere: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(`${origin}/`)) elsewhere.push(r.url());
    });
    let headers: Record<string, string> = {};
    let opened = 0;
    const openAs = async (theme: "light" | "dark", initData = signInitData(BOT_TOKEN, OWNER)) => {
      // A new query each time: a URL that differs only in its fragment would not load the page again.
      opened += 1;
      headers = (await page.goto(webAppUrl(`${appUrl}&open=${opened}`, initData, theme)))?.headers() ?? {};
    };
    const status = await json(`${origin}/admin/instances/${INSTANCE}`, { token: SECRETS.ADMIN_TOKEN });
    const balance = Number(status.body.balanceMicros);
    const balanceText = `$${Math.floor((balance + 5_000) / 10_000 / 100).toLocaleString("en-US")}.${String(Math.floor((balance + 5_000) / 10_000) % 100).padStart(2, "0")}`;

    await openAs("light");
    await page.getByTestId("balance").waitFor();
    check(
      (await page.getByTestId("balance").textContent()) === balanceText,
      `the page shows the balance ${balanceText}`,
    );
    const canvases = await page.locator('[data-testid="spend-chart"] canvas').count();
    check(canvases >= 1, "the spend chart is drawn (uPlot canvas)");
    // What the chart is drawn from, fetched from inside the page as the page does.
    const data = await page.evaluate(
      async ([id, initData]) => {
        const r = await fetch(`/app/${id}/data`, { headers: { authorization: `tma ${initData}` } });
        return (await r.json()) as { days: { costMicros: { response: number }; activeUsers: number }[] };
      },
      [INSTANCE, signInitData(BOT_TOKEN, OWNER)] as const,
    );
    const daysWithSpend = data.days.filter((d) => d.costMicros.response > 0).length;
    check(daysWithSpend === 12, `the chart's data has the 12 seeded days (${daysWithSpend})`);
    check(
      data.days.some((d) => d.activeUsers >= 2),
      "active users per day are counted",
    );
    const invoiceLinks = await page.locator('[data-testid="invoices"] a', { hasText: "PDF" }).count();
    check(invoiceLinks === 1, "the recharge's invoice is listed with its PDF link");
    await page.screenshot({ path: path.join(SHOTS, "dashboard-light-en.png"), fullPage: true });

    // ------------------------------------------------------------------ the threshold, confirmed by the bot
    const inChat = (await sent()).length;
    await page.locator("#threshold").fill("150");
    await page.getByTestId("save").click();
    await page.locator(".status.done").waitFor();
    const shown = (await page.getByTestId("status").textContent()) ?? "";
    const confirmation = await until("the bot's confirmation", async () => (await sent()).slice(inChat)[0]);
    check(
      confirmation.text === shown && /\$150\.00/.test(shown),
      "the bot confirmed the new threshold in the chat, as the page shows",
      shown,
    );
    const after = await json(`${origin}/admin/instances/${INSTANCE}`, { token: SECRETS.ADMIN_TOKEN });
    const ar = after.body.autoRecharge as { rechargeAtMicros: number; topUpMicros: number };
    check(
      ar.rechargeAtMicros === 150 * USD && ar.topUpMicros === 250 * USD,
      "the threshold is $150.00, the top-up still $250.00",
    );

    await openAs("dark");
    await page.getByTestId("balance").waitFor();
    await page.screenshot({ path: path.join(SHOTS, "dashboard-dark-en.png"), fullPage: true });

    // ------------------------------------------------------------------ Czech
    await page.locator("#language").selectOption("cs");
    await page.locator(".status.done").waitFor();
    await until("the page in Czech", async () =>
      (await page.locator("html").getAttribute("lang")) === "cs" ? true : undefined,
    );
    check(
      /česky/.test((await page.getByTestId("status").textContent()) ?? ""),
      "the language is Czech; the bot said so in Czech",
    );
    await openAs("light");
    await page.getByTestId("balance").waitFor();
    await page.screenshot({ path: path.join(SHOTS, "dashboard-light-cs.png"), fullPage: true });
    await openAs("dark");
    await page.getByTestId("balance").waitFor();
    await page.screenshot({ path: path.join(SHOTS, "dashboard-dark-cs.png"), fullPage: true });

    // ------------------------------------------------------------------ refusals
    const forged = signInitData(BOT_TOKEN, OWNER).replace(/hash=[0-9a-f]{6}/, "hash=000000");
    await openAs("light", forged);
    await page.getByTestId("refused").waitFor();
    check((await page.getByTestId("balance").count()) === 0, "a forged initData shows the refusal, and no balance");
    await page.screenshot({ path: path.join(SHOTS, "dashboard-refused.png") });
    await openAs("light", signInitData(BOT_TOKEN, { id: 5550001, first_name: "Eva" }));
    await page.getByTestId("refused").waitFor();
    check(true, "a client's initData shows the refusal");
    check(pageErrors.length === 0, "no script errors on the page", pageErrors);
    check(elsewhere.length === 0, "every request of the page went to the Worker (nothing from a CDN)", elsewhere);
    const csp = headers["content-security-policy"] ?? "";
    check(
      csp.includes("default-src 'self'"),
      "the page is served with its Content-Security-Policy (public/_headers)",
      csp,
    );
    ok = true;
    console.log(`\n✔ dashboard in Chromium: passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log(`  screenshots in ${SHOTS}`);
  } catch (error) {
    console.error(`\n✖ ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    const lines = tail(logPath, 30);
    if (lines) console.error(`\nLast lines of ${logPath}:\n${lines}`);
  } finally {
    await cleanup.run();
    if (ok) rmSync(dir, { recursive: true, force: true });
    else console.error(`State and logs kept in ${dir}`);
  }
  process.exitCode = ok ? 0 : 1;
}

await main();
