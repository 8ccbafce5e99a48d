/**
 * The verifier's errors: `VerifyError` for a token refused (or that could not be checked),
 * `FeedError` for the revocation feed that could not be read. Each has a stable `code` or
 * `reason` a log can tell apart; neither ever carries the token or the credentials.
 */
import type { TokenFailure } from "./rules.js";

/**
 * Why a token did not pass: one of the rules' `TokenFailure`s (the token's fault, 401),
 * `missing` (no `Authorization: Bearer` header, 401), `forbidden` (a live token whose
 * roles lack what the route asks: 403), or why it could not be checked
 * (503): `feed_down` (the revocation feed has not been read for `tolerateMs`),
 * `keys_unavailable` (latchkey's key set could not be fetched), `introspection_failed`
 * (latchkey could not confirm a token issued before a feed reset).
 *
 * @example
 * const why: VerifyFailure = "audience";
 */
export type VerifyFailure =
  | TokenFailure
  | "missing"
  | "forbidden"
  | "feed_down"
  | "keys_unavailable"
  | "introspection_failed";

const UNAVAILABLE = new Set<VerifyFailure>(["feed_down", "keys_unavailable", "introspection_failed"]);

/** What each reason means, for a log: specific, and never the token itself. */
const MEANING: Record<VerifyFailure, string> = {
  missing: "Send an access token: Authorization: Bearer <token>.",
  forbidden: "The token's roles do not allow this.",
  malformed: "The token is not a well-formed access token.",
  algorithm: "The token's algorithm is not one accepted here.",
  unknown_key: "The token's key (kid) is not in latchkey's key set.",
  signature: "The token's signature does not verify (or is not in canonical base64url).",
  type: "The token is not an access token (typ is not at+jwt).",
  issuer: "The token was issued by another issuer.",
  audience: "The token is meant for another audience.",
  claims: "The token lacks a claim latchkey's tokens carry, or has one of the wrong type.",
  expired: "The token has expired.",
  not_yet_valid: "The token is not valid yet (nbf or iat in the future).",
  lifetime: "The token lives longer than latchkey issues tokens (its ACCESS_TOKEN_TTL).",
  kind: "This kind of token (a user's or a service's) is not accepted here.",
  revoked: "The token's session has ended.",
  feed_down: "The revocation feed cannot be read: tokens cannot be checked.",
  keys_unavailable: "latchkey's key set cannot be fetched: tokens cannot be checked.",
  introspection_failed: "latchkey cannot be asked about this token.",
};

/**
 * Why a token did not pass: `code` is the contract's (`invalid_token`, 401, or
 * `service_unavailable`, 503), what a client is answered; `reason` tells a log which check
 * refused it (a wrong audience is not a bad signature), and `message` says it in words.
 *
 * @example
 * const answer = await verifier.verify(token).catch((error: unknown) => {
 *   if (error instanceof VerifyError) console.warn("token refused:", error.reason);
 *   return error instanceof VerifyError ? error.statusCode : 500;
 * });
 */
export class VerifyError extends Error {
  readonly code: "invalid_token" | "forbidden" | "service_unavailable";
  readonly statusCode: 401 | 403 | 503;
  readonly reason: VerifyFailure;

  constructor(reason: VerifyFailure, message: string = MEANING[reason], options?: { cause?: unknown }) {
    super(message, options);
    this.name = "VerifyError";
    this.reason = reason;
    this.code = UNAVAILABLE.has(reason)
      ? "service_unavailable"
      : reason === "forbidden"
        ? "forbidden"
        : "invalid_token";
    this.statusCode = this.code === "invalid_token" ? 401 : this.code === "forbidden" ? 403 : 503;
  }
}

/**
 * Why the revocation feed could not be read: `unreachable` (no answer: latchkey down, a
 * wrong address), `credentials` (401: the service's client id or secret is wrong),
 * `not_found` (404: a wrong `baseUrl` or `prefix`), `refused` (another status, in
 * `status`), `answer` (an answer that is not a feed page), `stream` (the event stream
 * broke, fell silent, or its instance could not read the feed: it is followed again),
 * `timeout` (`ready()` waited its deadline with no answer at all), `closed` (the verifier
 * was closed before `ready()` resolved).
 *
 * @example
 * const why: FeedFailure = "credentials";
 */
export type FeedFailure =
  | "unreachable"
  | "credentials"
  | "not_found"
  | "refused"
  | "answer"
  | "stream"
  | "timeout"
  | "closed";

/**
 * The revocation feed could not be read: given to `onFeedError`, and the rejection of
 * `verifier.ready()` when the feed was not read before its deadline. The message names the
 * fix; it never holds the credentials.
 *
 * @example
 * try {
 *   await verifier.ready({ timeoutMs: 5000 });
 * } catch (error) {
 *   if (error instanceof FeedError && error.reason === "credentials") console.error("check CLIENT_ID and CLIENT_SECRET");
 *   throw error;
 * }
 */
export class FeedError extends Error {
  readonly reason: FeedFailure;
  /** latchkey's HTTP status, when it answered. */
  readonly status: number | undefined;

  constructor(reason: FeedFailure, message: string, options?: { status?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "FeedError";
    this.reason = reason;
    this.status = options?.status;
  }
}

/** The `FeedError` for latchkey's answer `status` to a read of the feed at `where`. */
export function feedAnswerError(status: number, where: string): FeedError {
  if (status === 401) {
    return new FeedError(
      "credentials",
      `latchkey refused the service's credentials (401) at ${where}: check the clientId and clientSecret that \`latchkey services create\` printed.`,
      { status },
    );
  }
  if (status === 404) {
    return new FeedError(
      "not_found",
      `latchkey has no revocation feed at ${where} (404): check the verifier's baseUrl and prefix.`,
      { status },
    );
  }
  return new FeedError("refused", `latchkey answered ${status} to the revocation feed at ${where}.`, { status });
}

/**
 * What may travel as a failed request's `cause`: not a `TypeError` of fetch's own (a URL it
 * cannot request, a header it refuses), whose message repeats the URL, user and password
 * and all; a network failure (its `cause` has a system `code`, as `ECONNREFUSED`) is kept.
 */
export function safeCause(error: unknown): unknown {
  return error instanceof TypeError && codeOf(error) === undefined ? undefined : error;
}

/** The system or undici `code` of a failed fetch (`ECONNREFUSED`, `UND_ERR_SOCKET`). */
function codeOf(error: unknown): string | undefined {
  const code = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * The `FeedError` for a read of the feed at `where` that failed with `error`. The message
 * names the failure by its code, or its kind: never an error's own message, which may
 * repeat a URL with its password (fetch's `TypeError`s do).
 */
export function feedError(error: unknown, where: string): FeedError {
  if (error instanceof FeedError) return error;
  if (error instanceof DOMException && error.name === "TimeoutError") {
    return new FeedError("timeout", `latchkey did not answer the revocation feed at ${where} in time.`, {
      cause: error,
    });
  }
  if (error instanceof SyntaxError) {
    return new FeedError("answer", `latchkey's answer at ${where} is not a revocation feed page.`, { cause: error });
  }
  const detail = codeOf(error) ?? (error instanceof Error ? error.name : "an unknown failure");
  return new FeedError("unreachable", `latchkey cannot be reached at ${where} (${detail}).`, {
    cause: safeCause(error),
  });
}
