import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { botToken } from "../helpers";

async function call(token: string, method: string, params: Record<string, unknown>) {
  const res = await fetch(`${env.TELEGRAM_API_BASE}/bot${token}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(params),
  });
  return { status: res.status, body: (await res.json()) as { ok: boolean; description?: string } };
}

/**
 * Mini App buttons as the Bot API takes them: `setChatMenuButton` with a MenuButton, and a `web_app` inline button;
 * a Web App URL must be HTTPS ("WebAppInfo: An HTTPS URL of a Web App"), so a local `http://` page cannot be one.
 */
describe("Telegram stand-in: Mini App buttons", () => {
  const webApp = (url: string) => ({ type: "web_app", text: "Dashboard", web_app: { url } });

  it("takes a web_app menu button for one chat, and the default or commands button", async () => {
    const token = botToken();
    const https = webApp("https://credits.example.test/dashboard/?instance=x");
    expect((await call(token, "setChatMenuButton", { chat_id: 42, menu_button: https })).body).toEqual({
      ok: true,
      result: true,
    });
    expect((await call(token, "setChatMenuButton", { menu_button: { type: "commands" } })).status).toBe(200);
    expect((await call(token, "setChatMenuButton", {})).status).toBe(200);
  });

  it("refuses a web_app menu button over http, without text, or of an unknown type", async () => {
    const token = botToken();
    const refused = [
      { chat_id: 42, menu_button: webApp("http://127.0.0.1:8787/dashboard/") },
      { chat_id: 42, menu_button: { type: "web_app", text: " ", web_app: { url: "https://a.example/" } } },
      { chat_id: 42, menu_button: { type: "web_app", text: "x" } },
      { chat_id: 42, menu_button: { type: "link" } },
    ];
    for (const params of refused) {
      const res = await call(token, "setChatMenuButton", params);
      expect(res.status, JSON.stringify(params)).toBe(400);
      expect(res.body.ok).toBe(false);
    }
  });

  it("refuses a web_app inline button over http", async () => {
    const token = botToken();
    const button = (url: string) => ({ inline_keyboard: [[{ text: "Open", web_app: { url } }]] });
    const ok = await call(token, "sendMessage", { chat_id: 42, text: "x", reply_markup: button("https://a.example/") });
    expect(ok.status).toBe(200);
    const http = await call(token, "sendMessage", {
      chat_id: 42,
      text: "x",
      reply_markup: button("http://a.example/"),
    });
    expect(http).toEqual({
      status: 400,
      body: { ok: false, error_code: 400, description: "Bad Request: BUTTON_URL_INVALID" },
    });
  });
});
