/**
 * latchkey's refusals as one error class, read from its `{"error":{"code","message"}}`
 * answers. A network failure is not one of them: it stays the `TypeError` `fetch` threw.
 */

/**
 * latchkey refused a call: `status` is the HTTP status, `code` the contract's stable code
 * (`invalid_credentials`, `rate_limited`, `csrf_failed`...), `retryAfter` the seconds to
 * wait that a `429` (or `503`) gave in `Retry-After`, else `null`. The message is the
 * server's, meant for a person; branch on `code`, never on the message.
 *
 * @example
 * try {
 *   await client.signIn("alice", password);
 * } catch (error) {
 *   if (error instanceof LatchkeyError && error.code === "rate_limited") {
 *     show(`Too many attempts: try again in ${error.retryAfter ?? 60} s.`);
 *   } else throw error;
 * }
 */
export class LatchkeyError extends Error {
  readonly status: number;
  readonly code: string;
  readonly retryAfter: number | null;
  /**
   * For a `401` whose credential's session has ended: why, from latchkey's
   * `Latchkey-Session-Ended` header (`"password_changed"`, `"session_expired"`...), else `null`.
   */
  readonly ended: string | null;

  constructor(
    status: number,
    code: string,
    message: string,
    retryAfter: number | null = null,
    ended: string | null = null,
  ) {
    super(message);
    this.name = "LatchkeyError";
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    this.ended = ended;
  }
}

/**
 * A sign-in whose password was right, for an account with a second factor: no session
 * yet. latchkey holds a pending sign-in for this browser for `expiresIn` seconds;
 * `client.completeSignIn({ code })` (or `{ recoveryCode }`) finishes it. `methods` says
 * what the account's second step takes: `"totp"` (a code from an authenticator app),
 * `"recovery_code"`. Not a refusal: its `status` is the `202` latchkey answered.
 *
 * @example
 * const codeField = document.createElement("input"); // the code the person types
 * try {
 *   await client.signIn("alice", password);
 * } catch (error) {
 *   if (error instanceof SecondFactorRequired) await client.completeSignIn({ code: codeField.value });
 *   else throw error;
 * }
 */
export class SecondFactorRequired extends LatchkeyError {
  readonly methods: string[];
  readonly expiresIn: number;

  constructor(methods: string[], expiresIn: number) {
    super(202, "second_factor_required", "Enter a code from your authenticator app to finish signing in.");
    this.name = "SecondFactorRequired";
    this.methods = methods;
    this.expiresIn = expiresIn;
  }
}

/**
 * Why latchkey ended the session of a refused credential: its `Latchkey-Session-Ended`
 * header (a reason such as `"password_changed"`), or `null`.
 *
 * @example
 * if (response.status === 401) showNotice(endedOf(response) ?? "signed_out");
 */
export function endedOf(response: Response): string | null {
  const value = response.headers.get("latchkey-session-ended")?.trim();
  return value && /^[a-z_]{1,64}$/.test(value) ? value : null;
}

/** The answer's error body, read from a clone so the caller can still read the original. */
async function errorBody(response: Response): Promise<{ code?: unknown; message?: unknown }> {
  try {
    const body = (await response.clone().json()) as { error?: { code?: unknown; message?: unknown } } | null;
    return body?.error ?? {};
  } catch {
    return {};
  }
}

/**
 * The contract's error code of a refusal: from the JSON body, else from a bearer
 * challenge (`WWW-Authenticate: Bearer error="invalid_token"`, what a service sends), else
 * `""`. Never consumes the response's body.
 *
 * @example
 * if (response.status === 401 && (await codeOf(response)) === "invalid_token") await refresh();
 */
export async function codeOf(response: Response): Promise<string> {
  const { code } = await errorBody(response);
  if (typeof code === "string") return code;
  return /error="([^"]+)"/.exec(response.headers.get("www-authenticate") ?? "")?.[1] ?? "";
}

/** `Retry-After` in seconds: delta-seconds, or an HTTP date counted from `now`. */
function retryAfterOf(response: Response, now: number): number | null {
  const value = response.headers.get("retry-after")?.trim();
  if (!value) return null;
  if (/^\d+$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * The `LatchkeyError` an unsuccessful answer stands for.
 *
 * @example
 * if (!response.ok) throw await errorOf(response, Date.now());
 */
export async function errorOf(response: Response, now: number): Promise<LatchkeyError> {
  const { code, message } = await errorBody(response);
  return new LatchkeyError(
    response.status,
    typeof code === "string" ? code : "http_error",
    typeof message === "string" ? message : `latchkey answered ${response.status}.`,
    retryAfterOf(response, now),
    endedOf(response),
  );
}
