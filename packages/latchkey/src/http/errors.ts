/**
 * The one table from error code to HTTP status, and the error body of the contract:
 * `{"error":{"code","message"}}`. An error that carries a status of its own (a framework's:
 * a malformed header, a body parser's 413; a host hook's) is answered with a generic
 * message for that status: a parser's message may quote the body, and the body may hold a
 * password.
 */
import { type AuthError, type ErrorCode, OverloadedError, RetryLaterError, STATUS_BY_CODE } from "../core/errors.js";
import { InvalidClientError } from "../core/services.js";

/** Status of every contract error code (the table lives with the errors, in core). */
export { STATUS_BY_CODE };

/**
 * The error body.
 * @example
 * const body: ErrorBody = errorBody("not_found", "No such note.");
 */
export interface ErrorBody {
  error: { code: string; message: string };
}

/**
 * The body for `code`.
 *
 * @example
 * reply.code(404).send(errorBody("not_found", "No such to-do."));
 */
export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

/** The code and message for an error that carries only a status. */
const GENERIC: Readonly<Record<number, [ErrorCode, string]>> = {
  400: ["invalid_request", "The request is malformed."],
  404: ["not_found", "Not found."],
  405: ["method_not_allowed", "This method is not allowed on this route."],
  413: ["payload_too_large", "The request body is larger than 64 KiB."],
  415: ["unsupported_media_type", "The request body must be application/json."],
  429: ["rate_limited", "Too many requests. Try again later."],
  431: ["request_header_too_large", "The request headers are too large."],
  503: ["service_unavailable", "The service is unavailable. Try again shortly."],
};

/** A contract error's answer: status, headers and body, for any framework. */
export interface ErrorAnswer {
  status: number;
  headers: [string, string][];
  body: ErrorBody;
}

/**
 * The header of a 401 that says why the credential's session ended (`SessionEndReason`):
 * the body stays the contract's `{error:{code,message}}`.
 * @example
 * const why = response.headers.get(SESSION_ENDED_HEADER); // "password_changed"
 */
export const SESSION_ENDED_HEADER = "latchkey-session-ended";

/**
 * The answer to a contract error (`AuthError`): its status, `Retry-After` for a "later",
 * `WWW-Authenticate` for a bad bearer token, `Latchkey-Session-Ended` for a credential
 * of a session that has ended.
 *
 * @example
 * errorAnswer(new AuthError("not_found", "No such to-do.")); // { status: 404, headers: [], body }
 */
export function errorAnswer(error: AuthError): ErrorAnswer {
  const headers: [string, string][] = [];
  if (error instanceof RetryLaterError) headers.push(["retry-after", String(error.retryAfter)]);
  if (error.code === "invalid_token") headers.push(["www-authenticate", 'Bearer error="invalid_token"']);
  // RFC 6749 5.2: a client that tried HTTP Basic is told to authenticate with it.
  if (error.code === "invalid_client") headers.push(["www-authenticate", 'Basic realm="latchkey"']);
  if (error.sessionEnded) headers.push([SESSION_ENDED_HEADER, error.sessionEnded]);
  return { status: STATUS_BY_CODE[error.code], headers, body: errorBody(error.code, error.message) };
}

/** Where `logAuthError` writes: pino's shape (Fastify's `request.log`, the adapters' `log`). */
export interface RefusalLog {
  warn(object: object, message: string): void;
}

/**
 * Logs what an operator must see of a refusal, each as what it is: a store that cannot be
 * reached (with its cause), load shed because the password-hash queue is full (no stack:
 * it is the server doing its job), and refused service credentials (a security event: the
 * client id and address, never the secret). Other refusals are the client's business.
 *
 * @example
 * logAuthError(error, request.log);
 */
export function logAuthError(error: AuthError, log: RefusalLog | undefined): void {
  if (!log) return;
  if (error instanceof OverloadedError) {
    log.warn(
      { event: "load_shed", retryAfter: error.retryAfter },
      "busy: the password-hash queue is full, answered 503",
    );
  } else if (error.code === "service_unavailable") {
    log.warn({ err: error.cause ?? error }, "store unavailable");
  } else if (error instanceof InvalidClientError) {
    log.warn({ event: "service_auth_failed", clientId: error.clientId, ip: error.ip }, "service credentials refused");
  }
}

/** The answer to an error no one expected: logged in full by the caller, told nothing. */
export const INTERNAL_ERROR: ErrorAnswer = {
  status: 500,
  headers: [],
  body: errorBody("internal_error", "Something went wrong on our side."),
};

/**
 * The answer to an error that is not latchkey's own but carries an HTTP status
 * (`statusCode`, as Fastify's, http-errors' and most frameworks' errors do): a 4xx
 * becomes the contract's code for it (`invalid_request` when the table has none), a 503
 * `service_unavailable`; `null` for anything else, which is a bug (answer 500 and log it).
 *
 * @example
 * statusErrorAnswer(Object.assign(new Error("too big"), { statusCode: 413 })); // 413 payload_too_large
 */
export function statusErrorAnswer(error: unknown, message?: string): ErrorAnswer | null {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status !== "number") return null;
  const generic = GENERIC[status];
  if (generic) return { status, headers: [], body: errorBody(generic[0], message ?? generic[1]) };
  if (status >= 400 && status < 500) {
    return { status: 400, headers: [], body: errorBody("invalid_request", "The request is malformed.") };
  }
  return null;
}
