/**
 * Structured JSON log lines. Callers never pass secrets; `scrub` is a second line of defence
 * for strings that come from outside (error messages of fetch, Stripe, Telegram).
 */
type Level = "debug" | "info" | "warn" | "error";

const SECRET_PATTERNS: RegExp[] = [
  /\b\d{5,}:[A-Za-z0-9_-]{30,}\b/g, // Telegram bot token
  /\b(sk|rk|pk)_(test|live)_[A-Za-z0-9]+\b/g, // Stripe keys
  /\bwhsec_[A-Za-z0-9_]+\b/g, // Stripe webhook secret
  /\bck_[A-Za-z0-9_-]{20,}\b/g, // our usage API keys
  /Bearer\s+[^\s"']+/gi,
];

export function scrub(text: string): string {
  let out = text;
  for (const pattern of SECRET_PATTERNS) out = out.replace(pattern, "[redacted]");
  return out;
}

export function log(level: Level, event: string, fields: Record<string, unknown> = {}): void {
  const line = scrub(JSON.stringify({ level, event, time: new Date().toISOString(), ...fields }));
  if (level === "error" || level === "warn") console.error(line);
  else console.log(line);
}

/**
 * Work nobody awaits (an owner message after a change committed): a failure is logged, never left as an unhandled
 * rejection — e.g. the object being reset while the work waited on Telegram, when its next storage call throws.
 */
export function inBackground(work: Promise<unknown>, event: string, fields: Record<string, unknown> = {}): void {
  work.catch((error: unknown) => log("warn", event, { ...fields, error: describeError(error) }));
}

export function describeError(error: unknown): string {
  return scrub(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
}
