/**
 * The stand-ins on the fixed ports of `.dev.vars.example` (8081/8082/8083), for `npm run dev` and
 * `npm run standins`. The Stripe stand-in signs its webhook deliveries with STRIPE_WEBHOOK_SECRET from
 * `.dev.vars` (what the Worker verifies with) and posts them to PUBLIC_BASE_URL/stripe/webhook.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { type RunningStandins, startStandins } from "../standins";
import { ROOT } from "./local";

export function readVars(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const vars: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match?.[1]) vars[match[1]] = (match[2] ?? "").replace(/^"(.*)"$/, "$1");
  }
  return vars;
}

function portOf(url: string | undefined, fallback: number): number {
  if (!url) return fallback;
  const port = Number(new URL(url).port);
  return Number.isInteger(port) && port > 0 ? port : fallback;
}

/** `.dev.vars.example` overlaid with `.dev.vars`: what `wrangler dev` reads secrets from. */
export function localVars(): Record<string, string> {
  return { ...readVars(path.join(ROOT, ".dev.vars.example")), ...readVars(path.join(ROOT, ".dev.vars")) };
}

/**
 * The outside-service URLs for `wrangler dev --var`. They must be passed as flags: with `secrets.required`
 * in wrangler.jsonc, `wrangler dev` takes only the secrets from `.dev.vars` and ignores other lines.
 */
export function standinVarFlags(vars = localVars()): string[] {
  return ["TELEGRAM_API_BASE", "STRIPE_API_BASE", "AI_BASE_URL"].flatMap((name) =>
    vars[name] ? ["--var", `${name}:${vars[name]}`] : [],
  );
}

export async function startLocalStandins(): Promise<{ standins: RunningStandins; worker: string }> {
  const vars = localVars();
  const worker = (vars.PUBLIC_BASE_URL ?? "http://127.0.0.1:8787").replace(/\/+$/, "");
  const standins = await startStandins(
    {
      telegram: portOf(vars.TELEGRAM_API_BASE, 8081),
      stripe: portOf(vars.STRIPE_API_BASE, 8082),
      model: portOf(vars.AI_BASE_URL, 8083),
    },
    vars.STRIPE_WEBHOOK_SECRET ?? "whsec_local",
  );
  await fetch(`${standins.stripe.origin}/__control/webhook-endpoint`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ url: `${worker}/stripe/webhook` }),
  });
  return { standins, worker };
}
