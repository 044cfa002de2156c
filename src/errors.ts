import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Every error the HTTP interface can return, with its status. One vocabulary, one shape. */
export const ERROR_STATUS = {
  invalid_request: 400,
  malformed_json: 400,
  unknown_model: 400,
  invalid_bot_token: 400,
  invalid_signature: 400,
  unauthorized: 401,
  insufficient_credits: 402,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  idempotency_key_reused: 409,
  instance_exists: 409,
  different_bot: 409,
  hold_not_open: 409,
  hold_expired: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  upstream_unavailable: 502,
  internal_error: 500,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** Thrown at the edges (routes) and turned into the one error shape by the app's onError. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }

  get status(): ContentfulStatusCode {
    return ERROR_STATUS[this.code];
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

export function errorResponse(code: ErrorCode, message: string): Response {
  return Response.json({ error: { code, message } } satisfies ErrorBody, { status: ERROR_STATUS[code] });
}
