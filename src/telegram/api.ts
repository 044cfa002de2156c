import { Api, GrammyError } from "grammy";
import type { Config } from "../env";

/** grammY's Bot API client on TELEGRAM_API_BASE (a stand-in in tests and the demo). */
export function telegramApi(config: Config, botToken: string): Api {
  return new Api(botToken, { apiRoot: config.telegramApiBase });
}

/** Telegram refused the token itself (revoked, mistyped): the caller's fault, not an outage. */
export function isBadTokenError(error: unknown): boolean {
  return error instanceof GrammyError && (error.error_code === 401 || error.error_code === 404);
}
