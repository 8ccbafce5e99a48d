/**
 * Typed errors with stable codes (the shape of jose's `util/errors.ts`). The HTTP layer
 * maps each code to a status in one table; messages are written for people and never
 * carry a token, a password or SQL.
 */
import type { SessionEndReason } from "./records.js";

/**
 * Every error code of the HTTP contract, section 3.
 * @example
 * const code: ErrorCode = new AuthError("not_found", "No such note.").code;
 */
export type ErrorCode =
  | "invalid_request"
  | "weak_password"
  | "invalid_credentials"
  | "unauthenticated"
  | "invalid_token"
  | "invalid_grant"
  | "invalid_client"
  | "account_disabled"
  | "email_unverified"
  | "link_invalid"
  | "link_expired"
  | "link_used"
  | "csrf_failed"
  | "forbidden_origin"
  | "forbidden"
  | "reauthentication_required"
  | "invalid_code"
  | "invalid_passkey"
  | "sign_in_expired"
  | "factor_exists"
  | "factor_unavailable"
  | "not_found"
  | "method_not_allowed"
  | "username_taken"
  | "email_taken"
  | "last_admin"
  | "payload_too_large"
  | "unsupported_media_type"
  | "request_header_too_large"
  | "request_timeout"
  | "rate_limited"
  | "service_unavailable";

/**
 * The base of every error latchkey throws on purpose.
 *
 * @example
 * throw new AuthError("not_found", "No such to-do.");
 */
export class AuthError extends Error {
  readonly code: ErrorCode;
  /**
   * The HTTP status of the code (`STATUS_BY_CODE`), under the name Fastify's and other
   * frameworks' error handlers read, so a host's own handler answers latchkey's errors
   * (a `requireAuth` refusal on the host's route) with the right status. A plain field,
   * not a getter: Fastify writes it back on a validation error.
   */
  readonly statusCode: number;
  /**
   * For a 401 whose credential belonged to a session that has ended: why it ended,
   * answered as the `Latchkey-Session-Ended` header (the body stays the contract's).
   */
  readonly sessionEnded: SessionEndReason | undefined;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions & { sessionEnded?: SessionEndReason | null }) {
    super(message, options);
    this.name = "AuthError";
    this.code = code;
    this.statusCode = STATUS_BY_CODE[code];
    this.sessionEnded = options?.sessionEnded ?? undefined;
  }
}

/**
 * The HTTP status of every error code: the one table.
 * @example
 * const status = STATUS_BY_CODE.rate_limited; // 429
 */
export const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  invalid_request: 400,
  weak_password: 400,
  invalid_credentials: 401,
  unauthenticated: 401,
  invalid_token: 401,
  invalid_grant: 401,
  invalid_client: 401,
  account_disabled: 403,
  email_unverified: 403,
  link_invalid: 400,
  link_expired: 400,
  link_used: 400,
  csrf_failed: 403,
  forbidden_origin: 403,
  forbidden: 403,
  reauthentication_required: 403,
  invalid_code: 401,
  invalid_passkey: 401,
  sign_in_expired: 401,
  factor_exists: 409,
  factor_unavailable: 409,
  not_found: 404,
  method_not_allowed: 405,
  username_taken: 409,
  email_taken: 409,
  last_admin: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  request_timeout: 408,
  request_header_too_large: 431,
  rate_limited: 429,
  service_unavailable: 503,
};

/**
 * A refusal that a later try may not meet: answered with `Retry-After`, `retryAfter` in
 * whole seconds (at least 1).
 *
 * @example
 * if (error instanceof RetryLaterError) reply.header("retry-after", String(error.retryAfter));
 */
export class RetryLaterError extends AuthError {
  readonly retryAfter: number;

  constructor(code: ErrorCode, message: string, retryAfter: number) {
    super(code, message);
    this.retryAfter = Math.max(1, Math.ceil(retryAfter));
  }
}

/**
 * Too many attempts (429).
 *
 * @example
 * throw new RateLimitedError(120);
 */
export class RateLimitedError extends RetryLaterError {
  constructor(retryAfter: number) {
    super("rate_limited", "Too many attempts. Try again later.", retryAfter);
    this.name = "RateLimitedError";
  }
}

/**
 * The server is too busy to take this request now (the password-hashing queue is full):
 * `503` with `Retry-After`.
 *
 * @example
 * throw new OverloadedError(1);
 */
export class OverloadedError extends RetryLaterError {
  constructor(retryAfter: number) {
    super("service_unavailable", "The server is busy. Try again in a moment.", retryAfter);
    this.name = "OverloadedError";
  }
}

/**
 * A store could not be reached. The request is refused, never let through.
 *
 * @example
 * throw new StoreUnavailableError("sqlite", { cause: new Error("SQLITE_BUSY") });
 */
export class StoreUnavailableError extends AuthError {
  constructor(store: string, options?: ErrorOptions) {
    super("service_unavailable", `The ${store} store is unavailable. Try again shortly.`, options);
    this.name = "StoreUnavailableError";
  }
}

/** The one message for a failed login, whatever failed (no enumeration). */
export const INVALID_CREDENTIALS_MESSAGE = "The username or password is incorrect.";

/**
 * Wrong username or password: one message whatever was wrong.
 *
 * @example
 * throw invalidCredentials();
 */
export function invalidCredentials(): AuthError {
  return new AuthError("invalid_credentials", INVALID_CREDENTIALS_MESSAGE);
}

/**
 * latchkey is wired into its host in a way that cannot work (a body parser ahead of its
 * routes, a mount path it was not told about, two plugins that clash). Thrown at start-up
 * where the mistake shows there, else at the first request it spoils; the message names
 * the mistake and the fix. It is a bug in the host's set-up, never a client's fault, so it
 * is not an `AuthError`: nothing answers it in the contract's format.
 *
 * @example
 * throw new LatchkeySetupError("latchkey.routes is mounted at /v1, but its prefix is ''. Pass prefix: '/v1'.");
 */
export class LatchkeySetupError extends Error {
  constructor(problem: string) {
    super(`latchkey is set up wrong: ${problem}`);
    this.name = "LatchkeySetupError";
  }
}
