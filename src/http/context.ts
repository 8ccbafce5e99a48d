/**
 * The request helpers of the plugin: authenticate a request, set and clear the cookies of
 * the strategy. The routes and the `requireAuth` hook are thin layers over these.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Auth } from "../core/auth.js";
import { AuthError } from "../core/errors.js";
import type { SessionRecord, UserRecord } from "../core/records.js";
import type { ValidSession } from "../core/session-manager.js";
import { type CookieNames, cookieAttributes, cookieNames } from "./cookies.js";
import { presentedCredential } from "./credentials.js";
import { isUnsafeMethod } from "./origin.js";

/** The cookie strategies. */
export type Strategy = "session" | "jwt" | "hybrid";

/** Who a request is, set by `requireAuth` on `request.auth`. */
export interface RequestAuth {
  user: UserRecord;
  session: SessionRecord;
  /** How the request proved it: a cookie of the strategy, or a bearer access token. */
  via: "cookie" | "bearer";
  /** The session's CSRF token, when authenticated by cookie. */
  csrfToken: string | null;
}

/** Verifies a bearer access token; `null` when it is not valid. */
export type BearerVerifier = (token: string) => Promise<ValidSession | null>;

/** Options the plugin's helpers need. */
export interface ContextOptions {
  auth: Auth;
  strategy: Strategy;
  cookieSecure: boolean;
  verifyBearer?: BearerVerifier;
}

/**
 * @example
 * const auth = await context.authenticate(request); // throws unauthenticated, invalid_token, csrf_failed
 */
export class LatchkeyContext {
  readonly auth: Auth;
  readonly strategy: Strategy;
  readonly cookies: CookieNames;
  readonly #secure: boolean;
  readonly #verifyBearer: BearerVerifier | undefined;

  constructor(options: ContextOptions) {
    this.auth = options.auth;
    this.strategy = options.strategy;
    this.cookies = cookieNames(options.cookieSecure);
    this.#secure = options.cookieSecure;
    this.#verifyBearer = options.verifyBearer;
  }

  /**
   * Who the request is, or the contract error: `invalid_token` for a bad bearer token,
   * `unauthenticated` without a live session, `csrf_failed` for an unsafe cookie request
   * without the session's `X-CSRF-Token`.
   */
  async authenticate(request: FastifyRequest): Promise<RequestAuth> {
    const presented = presentedCredential(request, this.cookies.session);
    switch (presented.type) {
      case "bearer":
      case "malformed_bearer": {
        const valid =
          presented.type === "bearer" && this.#verifyBearer ? await this.#verifyBearer(presented.token) : null;
        if (!valid) throw new AuthError("invalid_token", "The access token is invalid or has expired.");
        return { ...valid, via: "bearer", csrfToken: null };
      }
      case "cookie": {
        const valid = await this.auth.sessions.validate(presented.token);
        if (!valid) throw unauthenticated();
        const csrfToken = this.auth.csrf.tokenFor(valid.session.id);
        if (isUnsafeMethod(request.method)) this.#checkCsrf(request, valid.session.id);
        return { ...valid, via: "cookie", csrfToken };
      }
      case "none":
        throw unauthenticated();
    }
  }

  /** Sets the cookies of a freshly created or re-keyed session. */
  setSessionCookies(reply: FastifyReply, session: SessionRecord, token: string): void {
    const now = this.auth.clock.now();
    // A remembered login's cookies live exactly as long as the session may; others are
    // session cookies that the browser drops when it closes.
    const maxAgeSeconds = session.remember ? (session.expiresAt - now) / 1000 : undefined;
    reply.setCookie(this.cookies.session, token, this.#attributes(true, maxAgeSeconds));
    reply.setCookie(this.cookies.csrf, this.auth.csrf.tokenFor(session.id), this.#attributes(false, maxAgeSeconds));
  }

  /** Clears every cookie latchkey may have set (`Max-Age=0`). */
  clearCookies(reply: FastifyReply): void {
    reply.setCookie(this.cookies.session, "", this.#attributes(true, 0));
    reply.setCookie(this.cookies.csrf, "", this.#attributes(false, 0));
  }

  #attributes(httpOnly: boolean, maxAgeSeconds: number | undefined) {
    return cookieAttributes({ secure: this.#secure, httpOnly, maxAgeSeconds });
  }

  #checkCsrf(request: FastifyRequest, sessionId: string): void {
    // Only the header counts: a cookie is sent by the browser on its own, so a token that
    // is only in the cookie proves nothing.
    if (!this.auth.csrf.verify(sessionId, request.headers["x-csrf-token"])) {
      throw new AuthError("csrf_failed", "The X-CSRF-Token header is missing or does not match this session.");
    }
  }
}

function unauthenticated(): AuthError {
  return new AuthError("unauthenticated", "Sign in to continue.");
}
