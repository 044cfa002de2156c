/**
 * The owner's Mini App (docs/dashboard.md). Telegram opens this page with its launch parameters in the URL
 * fragment (`#tgWebAppData=…&tgWebAppThemeParams=…`); telegram-web-app.js is not loaded (it comes from
 * telegram.org), so they are read from `window.Telegram.WebApp` when a client injected it, else from the fragment.
 * Every figure comes from `GET /app/:id/data`; every change is `POST /app/:id/commands`, the owner's command run
 * by the bot, which confirms it in the chat. Money arrives as integer micro-USD and is only formatted here.
 */
import uPlot from "uplot";
import { type Lang, type PageTexts, TEXTS } from "./texts";

interface TelegramWebApp {
  initData?: string;
  themeParams?: Record<string, string>;
  colorScheme?: "light" | "dark";
  ready?: () => void;
  openLink?: (url: string) => void;
}

interface DayUsage {
  day: number;
  costMicros: { response: number; knowhow_update: number; role_update: number };
  answers: number;
  activeUsers: number;
}

interface Dashboard {
  lang: Lang;
  balanceMicros: number;
  availableMicros: number;
  autoRecharge: {
    enabled: boolean;
    topUpMicros: number;
    rechargeAtMicros: number;
    status: string;
    cardBrand: string | null;
    cardLast4: string | null;
    cardSaved?: boolean;
  } | null;
  runwayHours: number | null;
  recommendedRechargeAtMicros: number;
  spend: { todayMicros: number; d7Micros: number; d30Micros: number };
  clientLimitMicros: number;
  days: DayUsage[];
  invoices: {
    createdAt: number;
    amountMicros: number;
    status: string;
    hostedUrl: string | null;
    pdfUrl: string | null;
  }[];
}

const webApp = (window as unknown as { Telegram?: { WebApp?: TelegramWebApp } }).Telegram?.WebApp;
const launch = new URLSearchParams(window.location.hash.slice(1));
const initData = webApp?.initData || launch.get("tgWebAppData") || "";
const instanceId = new URLSearchParams(window.location.search).get("instance") ?? "";
const main = document.getElementById("app") as HTMLElement;

/** Telegram's theme as CSS variables (`--tg-theme-bg-color`…), the names telegram-web-app.js would set. */
function applyTheme(): void {
  let params: Record<string, string> = webApp?.themeParams ?? {};
  if (!webApp?.themeParams) {
    try {
      params = JSON.parse(launch.get("tgWebAppThemeParams") ?? "{}") as Record<string, string>;
    } catch {
      params = {};
    }
  }
  for (const [key, value] of Object.entries(params)) {
    if (/^#[0-9a-fA-F]{3,8}$/.test(value)) {
      document.documentElement.style.setProperty(`--tg-theme-${key.replaceAll("_", "-")}`, value);
    }
  }
}

/** The language before the data says the owner's: the Telegram app's, as `initData` carries it. */
function appLanguage(): Lang {
  try {
    const user = JSON.parse(new URLSearchParams(initData).get("user") ?? "{}") as { language_code?: string };
    return user.language_code === "cs" || user.language_code === "sk" ? "cs" : "en";
  } catch {
    return "en";
  }
}

/** `$1,234.56` from micro-USD with integer arithmetic (cents rounded half up, as money.ts formats). */
function usd(micros: number): string {
  const sign = micros < 0 ? "-" : "";
  const cents = Math.floor((Math.abs(micros) + 5_000) / 10_000);
  const whole = Math.floor(cents / 100).toLocaleString("en-US");
  return `${sign}$${whole}.${String(cents % 100).padStart(2, "0")}`;
}

/** Whole dollars as typed in a command (`750`, `12.5`): micro-USD shown in the form's inputs. */
function plain(micros: number): string {
  const cents = Math.round(micros / 10_000);
  return cents % 100 === 0 ? String(cents / 100) : (cents / 100).toFixed(2);
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

async function call(path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`/app/${encodeURIComponent(instanceId)}/${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: {
      authorization: `tma ${initData}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json().catch(() => ({}))) as Record<string, unknown> };
}

/**
 * A link a command gave (Checkout, the billing portal), as an anchor the owner taps: a window opened after an
 * `await` is blocked by web views, and Telegram's own `openLink` exists only where telegram-web-app.js is loaded.
 */
function linkButton(url: string, text: string): HTMLElement {
  const a = el(
    "a",
    { href: url, target: "_blank", rel: "noopener", class: "open-link", "data-testid": "open-link" },
    text,
  );
  if (webApp?.openLink) {
    const openLink = webApp.openLink.bind(webApp);
    a.addEventListener("click", (event) => {
      event.preventDefault();
      openLink(url);
    });
  }
  return a;
}

function showMessage(text: string, kind: "refused" | "error"): void {
  main.replaceChildren(el("p", { class: `notice ${kind}`, role: "alert", "data-testid": kind }, text));
}

function runway(t: PageTexts, hours: number | null): string {
  if (hours === null) return t.runwayNone;
  return hours >= 48 ? t.runwayDays(Math.floor(hours / 24)) : t.runwayHours(Math.max(0, Math.floor(hours)));
}

function autoRechargeText(t: PageTexts, ar: Dashboard["autoRecharge"]): string {
  if (ar?.enabled) return t.on(usd(ar.topUpMicros), usd(ar.rechargeAtMicros));
  return ar?.cardSaved ? t.offWithCard : t.off;
}

/** A recharge's status in the owner's words ("paid, refunded" → each part). */
function statusText(t: PageTexts, status: string): string {
  return status
    .split(", ")
    .map((part) => t.invoiceStatus[part] ?? part)
    .join(", ");
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/** Two uPlot charts: spend per day stacked by operation (bars), answers and active users per day (lines). */
function charts(t: PageTexts, lang: Lang, days: DayUsage[], host: HTMLElement): void {
  const width = Math.max(280, Math.min(host.clientWidth || 320, 720));
  const x = days.map((d) => d.day * 86_400);
  const usdOf = (m: number) => m / 1_000_000; // Chart heights only; figures are formatted from integers.
  const answers = days.map((d) => usdOf(d.costMicros.response));
  const knowhow = days.map((d) => usdOf(d.costMicros.response + d.costMicros.knowhow_update));
  const roles = days.map((d) => usdOf(d.costMicros.response + d.costMicros.knowhow_update + d.costMicros.role_update));
  const text = cssVar("--tg-theme-text-color", "#000");
  const grid = cssVar("--tg-theme-hint-color", "#999");
  const axis = { stroke: text, grid: { stroke: `${grid}40` }, ticks: { stroke: `${grid}40` } };
  // Day and month as the owner writes them (UTC days: the rollups' days).
  const dayLabel = (seconds: number) => {
    const d = new Date(seconds * 1000);
    return lang === "cs" ? `${d.getUTCDate()}. ${d.getUTCMonth() + 1}.` : `${d.getUTCMonth() + 1}/${d.getUTCDate()}`;
  };
  const xAxis = { ...axis, values: (_u: uPlot, ticks: number[]) => ticks.map(dayLabel) };
  const bars = uPlot.paths.bars?.({ size: [0.7, 40] });
  const raw = [
    days.map((d) => d.costMicros.role_update),
    days.map((d) => d.costMicros.knowhow_update),
    days.map((d) => d.costMicros.response),
  ];
  // Stacked by drawing the running totals, largest first; the legend shows each operation's own amount.
  const stacked = (label: string, color: string, rawIndex: number) => ({
    label,
    fill: color,
    stroke: color,
    paths: bars,
    points: { show: false },
    value: (_u: uPlot, _v: number | null, _s: number, i: number | null) =>
      i === null ? "–" : usd(raw[rawIndex]?.[i] ?? 0),
  });
  const spend = el("figure", { class: "chart", "data-testid": "spend-chart" }, el("figcaption", {}, t.spendChart));
  const usage = el("figure", { class: "chart", "data-testid": "usage-chart" }, el("figcaption", {}, t.usageChart));
  host.append(spend, usage);
  new uPlot(
    {
      width,
      height: 220,
      series: [
        { label: t.day, value: (_u: uPlot, v: number | null) => (v === null ? "" : dayLabel(v)) },
        stacked(t.roles, "#f4a261", 0),
        stacked(t.knowhow, "#2a9d8f", 1),
        stacked(t.answers, cssVar("--tg-theme-button-color", "#3390ec"), 2),
      ],
      axes: [xAxis, { ...axis, size: 48 }],
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(max, 0.01) * 1.1] } },
    },
    [x, roles, knowhow, answers],
    spend,
  );
  new uPlot(
    {
      width,
      height: 180,
      series: [
        { label: t.day, value: (_u: uPlot, v: number | null) => (v === null ? "" : dayLabel(v)) },
        { label: t.answers, stroke: cssVar("--tg-theme-button-color", "#3390ec"), width: 2 },
        { label: t.activeUsers, stroke: "#e76f51", width: 2 },
      ],
      axes: [xAxis, { ...axis, size: 40 }],
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(max, 1) * 1.1] } },
    },
    [x, days.map((d) => d.answers), days.map((d) => d.activeUsers)],
    usage,
  );
}

function render(data: Dashboard): void {
  const t = TEXTS[data.lang];
  document.documentElement.lang = data.lang;
  document.title = t.title;
  const ar = data.autoRecharge;
  const status = el("p", { class: "status", role: "status", "data-testid": "status" });
  const send = async (command: string, args: string[] = []) => {
    // One command at a time: a double tap must not send it twice (two card links, two chat messages).
    const controls = [
      ...main.querySelectorAll<HTMLButtonElement | HTMLInputElement | HTMLSelectElement>("button, input, select"),
    ];
    for (const c of controls) c.disabled = true;
    status.textContent = t.working;
    const problem = (text: string) => {
      status.textContent = text;
      status.className = "status problem";
    };
    try {
      const res = await call("commands", { command, args }).catch(() => null);
      // A refused value comes in the command's own words (400, the owner's language); an expired sign-in says
      // how to open the page again; anything else only that nothing changed and to try again.
      if (res === null) return problem(t.sendFailed);
      const error = res.json.error as { message?: string } | undefined;
      if (res.status === 401) return problem(t.refused);
      if (res.status !== 200) return problem(res.status === 400 && error?.message ? error.message : t.sendFailed);
      status.className = "status done";
      status.textContent = ((res.json.replies as string[] | undefined) ?? []).join("\n");
      if (typeof res.json.link === "string") {
        status.append(" ", linkButton(res.json.link, t.openLink));
        return; // the owner opens the link; the figures change once Stripe has answered
      }
      await load(status.textContent);
    } finally {
      for (const c of controls) if (c.isConnected) c.disabled = false;
    }
  };

  const summary = el(
    "section",
    { class: "card" },
    el("div", { class: "label" }, t.balance),
    el("div", { class: "balance", "data-testid": "balance" }, usd(data.balanceMicros)),
    el("div", { class: "hint" }, `${usd(data.availableMicros)} ${t.available}`),
    el(
      "dl",
      {},
      el("dt", {}, t.autoRecharge),
      el("dd", { "data-testid": "auto-recharge" }, autoRechargeText(t, ar)),
      ...(ar?.cardLast4 ? [el("dt", {}, t.card), el("dd", {}, `${ar.cardBrand ?? ""} •••• ${ar.cardLast4}`)] : []),
      el("dt", {}, t.runway),
      el("dd", {}, runway(t, data.runwayHours)),
      el("dt", {}, t.spend30),
      el("dd", {}, usd(data.spend.d30Micros)),
    ),
  );

  const chartBox = el("section", { class: "card charts" });

  const invoices = el("section", { class: "card" }, el("h2", {}, t.invoices));
  if (data.invoices.length === 0) invoices.append(el("p", { class: "hint" }, t.noInvoices));
  const list = el("ul", { class: "invoices", "data-testid": "invoices" });
  for (const inv of data.invoices) {
    const links: Node[] = [];
    if (inv.pdfUrl) links.push(el("a", { href: inv.pdfUrl, target: "_blank", rel: "noopener" }, t.pdf));
    if (inv.hostedUrl) links.push(el("a", { href: inv.hostedUrl, target: "_blank", rel: "noopener" }, t.invoicePage));
    const date = new Date(inv.createdAt).toISOString().slice(0, 10);
    list.append(el("li", {}, `${date} · ${usd(inv.amountMicros)} · ${statusText(t, inv.status)} `, ...links));
  }
  const portal = el("button", { type: "button", class: "link" }, t.billingPortal);
  portal.addEventListener("click", () => void send("billing"));
  invoices.append(list, portal);

  const topUp = el("input", { id: "top-up", inputmode: "decimal", value: ar ? plain(ar.topUpMicros) : "" });
  const threshold = el("input", {
    id: "threshold",
    inputmode: "decimal",
    value: ar ? plain(ar.rechargeAtMicros) : plain(data.recommendedRechargeAtMicros),
  });
  const cardSaved = ar?.cardSaved === true || ar?.enabled === true;
  // With auto-recharge stopped, new amounts turn it on again (as /changeCreditsTopUp does): the button says so.
  const saveLabel = !cardSaved ? t.saveAndCard : ar && !ar.enabled ? t.saveAndTurnOn : t.save;
  const save = el("button", { type: "submit", "data-testid": "save" }, saveLabel);
  const form = el(
    "form",
    { class: "card settings" },
    el("h2", {}, t.settings),
    el("label", { for: "top-up" }, t.topUp),
    topUp,
    el("label", { for: "threshold" }, t.threshold),
    threshold,
    el("p", { class: "hint" }, t.recommended(usd(data.recommendedRechargeAtMicros))),
    save,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void send(cardSaved ? "changecreditstopup" : "setupcredits", [topUp.value.trim(), threshold.value.trim()]);
  });
  if (ar?.enabled) {
    const stop = el("button", { type: "button", class: "secondary" }, t.stop);
    stop.addEventListener("click", () => void send("stopcredits"));
    form.append(stop);
  } else if (ar?.cardSaved) {
    const start = el("button", { type: "button", class: "secondary" }, t.start);
    start.addEventListener(
      "click",
      () => void send("changecreditstopup", [plain(ar.topUpMicros), plain(ar.rechargeAtMicros)]),
    );
    form.append(start);
  }
  const limit = el("input", { id: "client-limit", inputmode: "decimal", value: plain(data.clientLimitMicros) });
  const limitSave = el("button", { type: "button", class: "secondary" }, t.save);
  limitSave.addEventListener("click", () => void send("clientlimit", [limit.value.trim()]));
  const lang = el(
    "select",
    { id: "language" },
    el("option", { value: "en" }, "English"),
    el("option", { value: "cs" }, "čeština"),
  );
  lang.value = data.lang;
  lang.addEventListener("change", () => void send("language", [lang.value]));
  form.append(
    el("label", { for: "client-limit" }, t.clientLimit),
    el("div", { class: "row" }, limit, limitSave),
    el("label", { for: "language" }, t.language),
    lang,
  );

  main.replaceChildren(summary, chartBox, status, form, invoices);
  charts(t, data.lang, data.days, chartBox);
}

async function load(keepStatus?: string): Promise<void> {
  const res = await call("data").catch(() => null);
  const t = TEXTS[appLanguage()];
  if (!res) return showMessage(t.failed, "error");
  if (res.status === 401) return showMessage(t.refused, "refused");
  if (res.status !== 200) return showMessage(t.failed, "error");
  render(res.json as unknown as Dashboard);
  if (keepStatus) {
    const status = main.querySelector(".status");
    if (status) {
      status.textContent = keepStatus;
      status.className = "status done";
    }
  }
}

applyTheme();
webApp?.ready?.();
main.textContent = TEXTS[appLanguage()].loading;
void load();
