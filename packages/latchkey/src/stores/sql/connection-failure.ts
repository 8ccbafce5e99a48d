/**
 * Whether a driver error is the database out of reach (a connection refused, dropped or
 * timed out, a server shutting down) rather than a statement's own failure: the first is
 * worth retrying, and is `StoreUnavailableError`; the second is not.
 */

/** PostgreSQL's: the server shutting down or starting up, or full of connections. */
const UNREACHABLE_SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300"]);
/** Node's, for a socket that never connected or went away. */
const UNREACHABLE_SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
]);
/** `pg`'s and `pg-pool`'s own, which carry no code. */
const UNREACHABLE_MESSAGES =
  /^(?:Connection terminated|Query read timeout|timeout exceeded when trying to connect|Client has encountered a connection error)/;

/**
 * True for a failure to reach the database, this error or one it was caused by: SQLSTATE
 * class 08 (connection exception), 57P01-57P03 (shutting down, starting up), 53300 (too many
 * connections), a socket error (ECONNREFUSED, ECONNRESET, ETIMEDOUT...), or the `pg`
 * driver's "Connection terminated".
 *
 * @example
 * if (isConnectionFailure(error)) throw new StoreUnavailableError("postgres", { cause: error });
 */
export function isConnectionFailure(error: unknown): boolean {
  for (let seen = error, depth = 0; seen instanceof Error && depth < 5; seen = seen.cause, depth++) {
    const code = (seen as { code?: unknown }).code;
    if (typeof code === "string") {
      if (code.startsWith("08") && code.length === 5) return true;
      if (UNREACHABLE_SQLSTATES.has(code) || UNREACHABLE_SOCKET_CODES.has(code)) return true;
    }
    if (UNREACHABLE_MESSAGES.test(seen.message)) return true;
  }
  return false;
}
