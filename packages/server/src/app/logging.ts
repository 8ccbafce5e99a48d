/**
 * pino options: what a request log line holds, and the redaction that keeps credentials
 * out of every line. The request serializer logs the path without its query string (a
 * client may put anything there), and never headers or bodies; the redaction paths are a
 * second net for anything that logs a request or reply object itself.
 */
import type { LoggerOptions } from "pino";

export const REDACTED_PATHS = [
  "req.headers.cookie",
  "req.headers.authorization",
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  "headers.cookie",
  "headers.authorization",
  "password",
  "currentPassword",
  "newPassword",
  "refresh_token",
  "access_token",
  "token",
  "*.password",
  "*.token",
  // Second factors (issue 32): a recovery code, a pending sign-in, an app's secret. Not
  // `code`: errors carry one (ECONNREFUSED) that an operator must read.
  "recoveryCode",
  "recovery_code",
  "recoveryCodes",
  "pending_token",
  "secret",
  "*.recoveryCode",
  "*.pending_token",
  "*.secret",
];

/**
 * @example
 * Fastify({ logger: loggerOptions("info") });
 */
export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    serializers: {
      req(request: { method: string; url: string; ip?: string; socket?: { remoteAddress?: string } }) {
        return {
          method: request.method,
          path: String(request.url).split("?", 1)[0],
          remoteAddress: request.ip ?? request.socket?.remoteAddress,
        };
      },
    },
  };
}
