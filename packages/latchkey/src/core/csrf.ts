/**
 * CSRF tokens bound to a session: HMAC-SHA-256 of the session id under a server-wide key
 * kept in the store. Every instance computes the same token, nothing is stored per
 * session, the token of one session is worthless for another, and a token cannot be
 * derived from the (public) session id without the key.
 */
import { memoize } from "./memo.js";
import type { SecretStore } from "./ports.js";
import { hmac, type RandomBytes, randomToken, safeEqual } from "./secrets.js";

const KEY_NAME = "csrf-key";

/**
 * @example
 * const csrf = await CsrfTokens.load(stores.secrets);
 * const token = csrf.tokenFor(session.id);
 * csrf.verify(session.id, request.headers["x-csrf-token"]); // true or false
 */
export class CsrfTokens {
  /**
   * The token is a pure function of the session id and the key, and `GET /auth/me`
   * answers it on every call: memoised.
   */
  readonly tokenFor: (sessionId: string) => string;

  private constructor(key: string) {
    this.tokenFor = memoize((sessionId: string) => hmac(key, `csrf:${sessionId}`), 10_000);
  }

  /** Loads the key, creating it on the first start of the first instance. */
  static async load(secrets: SecretStore, random?: RandomBytes): Promise<CsrfTokens> {
    return new CsrfTokens(await secrets.getOrCreate(KEY_NAME, randomToken(32, random)));
  }

  verify(sessionId: string, presented: unknown): boolean {
    return typeof presented === "string" && safeEqual(presented, this.tokenFor(sessionId));
  }
}
