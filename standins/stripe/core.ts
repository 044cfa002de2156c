/** Shared plumbing of the Stripe stand-in: errors, ids, form decoding, parameter parsing, responses. */

export type Json = Record<string, unknown>;

export class ApiError extends Error {
  readonly status: number;
  readonly body: Json;
  /**
   * A parameter that failed validation: Stripe saves an idempotency key's result only once the endpoint began
   * executing, so such an error is not replayed and the same key may be retried with corrected parameters.
   */
  readonly validation: boolean;
  constructor(status: number, body: Json, validation = false) {
    super(typeof body.message === "string" ? body.message : "Stripe error");
    this.status = status;
    this.body = body;
    this.validation = validation;
  }
}

export function invalid(message: string, param?: string, code?: string): ApiError {
  return new ApiError(400, {
    type: "invalid_request_error",
    message,
    ...(param ? { param } : {}),
    ...(code ? { code } : {}),
  });
}

/** A malformed or missing parameter (see ApiError.validation). */
export function invalidParam(message: string, param: string, code = "parameter_invalid"): ApiError {
  return new ApiError(400, { type: "invalid_request_error", code, message, param }, true);
}

export function missing(kind: string, id: string, param = "id"): ApiError {
  return new ApiError(404, {
    type: "invalid_request_error",
    code: "resource_missing",
    message: `No such ${kind}: '${id}'`,
    param,
  });
}

export function isRecord(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

export function newId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  let out = "";
  for (const byte of bytes) out += ID_ALPHABET[byte % ID_ALPHABET.length];
  return `${prefix}_${out}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Form decoding: stripe-node sends `a[b][0][c]=v`; numeric keys become arrays, `[]` appends.

function splitKey(key: string): string[] {
  const open = key.indexOf("[");
  if (open <= 0 || !key.endsWith("]")) return [key];
  const segments = [key.slice(0, open)];
  const pattern = /\[([^\]]*)\]/g;
  for (let match = pattern.exec(key); match; match = pattern.exec(key)) segments.push(match[1] ?? "");
  return segments;
}

function arrayify(value: unknown): unknown {
  if (!isRecord(value)) return value;
  const keys = Object.keys(value);
  for (const key of keys) value[key] = arrayify(value[key]);
  if (keys.length > 0 && keys.every((k) => /^\d+$/.test(k))) {
    return keys.sort((a, b) => Number(a) - Number(b)).map((k) => value[k]);
  }
  return value;
}

export function decodeForm(text: string): Json {
  const root: Json = {};
  for (const [rawKey, value] of new URLSearchParams(text)) {
    const segments = splitKey(rawKey);
    let current = root;
    segments.forEach((segment, index) => {
      const key = segment === "" ? String(Object.keys(current).length) : segment;
      if (index === segments.length - 1) {
        current[key] = value;
        return;
      }
      const next = current[key];
      if (isRecord(next)) {
        current = next;
      } else {
        const created: Json = {};
        current[key] = created;
        current = created;
      }
    });
  }
  const result = arrayify(root);
  return isRecord(result) ? result : {};
}

/** Key-sorted JSON, so the same parameters in another order still count as the same idempotent request. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

// ---------------------------------------------------------------------------------------------------------------
// Parameter helpers: every form value arrives as a string.

export function str(params: Json, name: string): string | null {
  const value = params[name];
  if (value === undefined || value === "") return null;
  if (typeof value !== "string") throw invalidParam(`Invalid string: ${name}`, name);
  return value;
}

export function requireStr(params: Json, name: string, label = name): string {
  const value = str(params, name);
  if (value === null) throw invalidParam(`Missing required param: ${label}.`, label, "parameter_missing");
  return value;
}

export function int(params: Json, name: string): number | null {
  const value = str(params, name);
  if (value === null) return null;
  if (!/^-?\d+$/.test(value)) throw invalidParam(`Invalid integer: ${value}`, name, "parameter_invalid_integer");
  return Number(value);
}

export function bool(params: Json, name: string): boolean | null {
  const value = str(params, name);
  if (value === null) return null;
  if (value !== "true" && value !== "false") throw invalidParam(`Invalid boolean: ${value}`, name);
  return value === "true";
}

export function sub(params: Json, name: string): Json {
  const value = params[name];
  return isRecord(value) ? value : {};
}

export function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** Stripe merges metadata keys and deletes a key sent with an empty value. */
export function mergeMetadata(current: Record<string, string>, update: unknown): Record<string, string> {
  if (update === "") return {};
  if (!isRecord(update)) return current;
  const merged = { ...current };
  for (const [key, value] of Object.entries(update)) {
    if (value === "" || value === null) delete merged[key];
    else merged[key] = String(value);
  }
  return merged;
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

export function errorResponse(error: ApiError): Response {
  return json({ error: error.body }, error.status);
}

export function html(body: string, status = 200): Response {
  return new Response(`<!doctype html><meta charset="utf-8"><title>Stripe stand-in</title>${body}`, {
    status,
    headers: { "content-type": "text/html; charset=utf-8" },
  });
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const seconds = (ms: number): number => Math.floor(ms / 1000);

/** A Stripe list object. */
export function list(data: Json[], url: string, limit: number): Json {
  return { object: "list", data: data.slice(0, limit), has_more: data.length > limit, url };
}

export function limitOf(params: Json): number {
  const limit = int(params, "limit") ?? 10;
  if (limit < 1 || limit > 100) throw invalidParam("Invalid integer: limit must be between 1 and 100", "limit");
  return limit;
}
