/**
 * The request helpers of the plugin: authenticate a request under the strategy in force,
 * set and clear the strategy's cookies. The routes and the `requireAuth` hook are thin
 * layers over these.
 */

import { decodeJwt } from "jose";
import type { AccessCheck, AccessClaims } from "../core/access-tokens.js";
import type { Auth } from "../core/auth.js";
import { AuthError } from "../core/errors.js";
import type { ClientInfo, ValidSession } from "../core/ports.js";
import type { SessionEndReason, SessionRecord } from "../core/records.js";
import { SESSION_REUSE_MESSAGE } from "../core/session-manager.js";
import { clientInfo } from "./client.js";
import { type CookieNames, cookieAttributes, cookieNames } from "./cookies.js";
import { presentedCredential } from "./credentials.js";
import type { AuthRequest, CookieOptions, CookieSink } from "./kit.js";
import { isUnsafeMethod } from "./origin.js";

/**
 * The cookie strategies.
 * @example
 * const strategy: Strategy = "hybrid";
 */
export type Strategy = "session" | "jwt" | "hybrid";

/**
 * Who a request is, set by `requireAuth` on `request.auth`.
 * @example
 * app.get("/me", { preHandler: app.requireAuth }, async (req) => {
 *   const who: RequestAuth | null = req.auth;
 *   return { user: who?.userId, via: who?.via };
 * });
 */
export interface RequestAuth {
  userId: string;
  sessionId: string;
  /** How the request proved it: a cookie of the strategy, or a bearer access token. */
  via: "cookie" | "bearer";
  /** The session's CSRF token, when authenticated by cookie. */
  csrfToken: string | null;
  /**
   * When the access token this request proved itself with expires (ms since the epoch),
   * or the one renewed on its answer (`hybrid`); `null` for a session cookie alone.
   */
  readonly accessExpiresAt: number | null;
  /**
   * The user's roles (`docs/roles.md`): from the session just read (a session cookie) or
   * from the access token (which a role change revokes). Reading them costs nothing.
   */
  readonly roles: readonly string[];
  /**
   * When the person last proved who they are in this session (ms since the epoch): the
   * sign-in or the latest re-authentication. From the session just read (a session
   * cookie) or from the access token (its `auth_time`, as of when it was issued).
   */
  readonly authTime: number;
  /** How they proved it (RFC 8176 `amr` values, such as `"pwd"`), from the same place. */
  readonly amr: readonly string[];
  /** Whether the user's roles grant `permission`; a `TypeError` for an undeclared one (a typo). */
  can(permission: string): boolean;
  /**
   * The full user and session records. Free after a session-cookie check (the session
   * was read to authenticate); one store read after an access-token check, which reads
   * nothing. Throws `unauthenticated`/`invalid_token` if the session has ended since.
   */
  load(): Promise<ValidSession>;
}

/** Options the plugin's helpers need. */
export interface ContextOptions {
  auth: Auth;
  strategy: Strategy;
  cookieSecure: boolean;
  /** Other names for the cookies (the `__Host-` prefix is added when `cookieSecure`). */
  cookieNames?: Partial<CookieNames>;
  /** Where latchkey's routes live (`prefix`): the in-memory refresh cookie's paths. Default `""`. */
  prefix?: string;
  /**
   * Whether a request may present a cookie credential as far as its origin goes: it comes
   * from this site's own origin or from a trusted one. Default: every request may (the
   * adapters' origin check is the guard).
   */
  cookieOriginAllowed?: (request: AuthRequest) => boolean;
}

/**
 * One cookie latchkey may set under a deployment, as `LatchkeyContext.cookieCatalog`
 * describes it (`GET /auth/cookies`).
 * @example
 * const csrf: CookieDescription | undefined = context.cookieCatalog().find((c) => c.role === "csrf");
 */
export interface CookieDescription {
  /** What the cookie is for: its key in `CookieNames`. */
  role: keyof CookieNames;
  name: string;
  httpOnly: boolean;
  secure: boolean;
  sameSite: CookieOptions["sameSite"];
  /** The `Path`s it is set on: `/` for all but the in-memory mode's refresh cookie. */
  paths: string[];
  /**
   * The client mode whose login sets it: `cookie` (the strategy's cookies) or `memory`;
   * `second-factor` for the pending sign-in's, set in either mode by a password sign-in
   * that waits for its second step; `passkey` for a passkey ceremony's challenge.
   */
  mode: "cookie" | "memory" | "second-factor" | "passkey";
}

/** The header the in-memory mode's cookie requests carry: one a form cannot send. */
export const MEMORY_HEADER = "x-requested-with";

/**
 * @example
 * const who = await context.authenticate(request, reply); // throws unauthenticated, invalid_token, csrf_failed
 */
export class LatchkeyContext {
  readonly auth: Auth;
  readonly strategy: Strategy;
  readonly cookies: CookieNames;
  readonly #secure: boolean;
  readonly #memoryPaths: readonly string[];
  readonly #cookieOriginAllowed: (request: AuthRequest) => boolean;

  constructor(options: ContextOptions) {
    this.auth = options.auth;
    this.strategy = options.strategy;
    this.cookies = cookieNames(options.cookieSecure, options.cookieNames);
    this.#secure = options.cookieSecure;
    const prefix = options.prefix ?? "";
    this.#memoryPaths = [`${prefix}/auth/refresh`, `${prefix}/auth/logout`];
    this.#cookieOriginAllowed = options.cookieOriginAllowed ?? (() => true);
  }

  /**
   * Who the request is, or the contract error: `invalid_token` for a bad bearer token,
   * `unauthenticated` without a live credential of the strategy, `csrf_failed` for an
   * unsafe cookie request without the session's `X-CSRF-Token`. Under `hybrid`, an
   * expired or missing access cookie with a live session cookie is renewed on `reply`.
   */
  async authenticate(request: AuthRequest, reply: CookieSink): Promise<RequestAuth> {
    const presented = presentedCredential(request);
    if (presented.type === "bearer" || presented.type === "malformed_bearer") {
      const check = presented.type === "bearer" ? await this.auth.accessTokens.verify(presented.token) : null;
      if (!check?.ok) throw invalidToken(await this.#endReason(check));
      return this.#fromToken(check.claims, "bearer");
    }
    const found =
      this.strategy === "session"
        ? this.#fromSession((await this.#validSessionCookie(request, reply)) ?? throwUnauthenticated(null))
        : await this.#fromTokenCookies(request, reply);
    if (isUnsafeMethod(request.method)) this.#checkCsrf(request, found.sessionId);
    return found;
  }

  async #fromTokenCookies(request: AuthRequest, reply: CookieSink): Promise<RequestAuth> {
    const cookies = request.cookies;
    const access = cookies[this.cookies.access];
    const check = access ? await this.auth.accessTokens.verify(access) : null;
    if (check?.ok) return this.#fromToken(check.claims, "cookie");
    // Hybrid renews from the session when the access cookie is missing, expired or revoked
    // (a revoked one's session has ended, and then the session cookie is refused too, or
    // the user's roles changed, and the renewed cookie carries the new ones); a forged one
    // is refused.
    if (this.strategy === "hybrid" && (check === null || check.reason !== "invalid")) {
      const valid = await this.#validSessionCookie(request, reply);
      if (valid) {
        const expiresIn = await this.#setAccessCookie(reply, valid);
        return new SessionCookieAuth(valid, this.auth, this.auth.clock.now() + expiresIn * 1000);
      }
    }
    throw unauthenticated(await this.#endReason(check));
  }

  /** Why the session of a refused access token ended, when it was refused as revoked. */
  #endReason(check: AccessCheck | null): Promise<SessionEndReason | null> | null {
    return check && !check.ok && check.sessionId ? this.auth.sessions.endReason(check.sessionId) : null;
  }

  /**
   * The live session of the request's session cookie. When this request renewed the
   * session's secret, the new cookie is set on `reply` at once: every answer to the
   * request carries it, a refusal too (the adapters send a refusal with the cookies set
   * before it), or the browser would keep the old secret past its grace. A superseded
   * secret past its grace is a 401 that says why (the session has just been ended).
   */
  async #validSessionCookie(request: AuthRequest, reply: CookieSink): Promise<ValidSession | null> {
    const value = request.cookies[this.cookies.session];
    if (!value) return null;
    const renew = mayRenew(request, reply) ? (this.strategy === "hybrid" ? "when-due" : "with-use") : "never";
    const found = await this.auth.sessions.check(value, new PresentingClient(request), { renew });
    if (found === "session_reuse_detected") {
      throw new AuthError("unauthenticated", SESSION_REUSE_MESSAGE, { sessionEnded: found });
    }
    if (typeof found === "string") throw unauthenticated(found);
    if (found?.renewedToken) {
      reply.setCookie(this.cookies.session, found.renewedToken, this.#attributes(found.session, true));
    }
    return found;
  }

  #fromSession(valid: ValidSession): RequestAuth {
    return new SessionCookieAuth(valid, this.auth);
  }

  #fromToken(claims: AccessClaims, via: "cookie" | "bearer"): RequestAuth {
    return new AccessTokenAuth(claims, via, this.auth);
  }

  /**
   * Sets the cookies of the strategy for a session: at login (`sessionToken` from
   * `SessionManager.create`) and after a password change (from `rotateSecret`).
   * Under `jwt` a new refresh token is issued and any earlier one of the session retired.
   */
  async setBrowserCookies(reply: CookieSink, valid: ValidSession, sessionToken: string): Promise<number | null> {
    const { session } = valid;
    if (this.strategy !== "jwt") reply.setCookie(this.cookies.session, sessionToken, this.#attributes(session, true));
    const expiresIn = this.strategy === "session" ? null : await this.#setAccessCookie(reply, valid);
    if (this.strategy === "jwt") {
      const refresh = await this.auth.refreshTokens.reissue(session);
      reply.setCookie(this.cookies.refresh, refresh, this.#attributes(session, true));
    }
    reply.setCookie(this.cookies.csrf, this.auth.csrf.tokenFor(session.id), this.#attributes(session, false));
    return expiresIn;
  }

  /**
   * Sets the in-memory mode's refresh cookie: `HttpOnly`, and only for the refresh and
   * logout routes (one cookie per path, both set and cleared together), so no other
   * request of the page carries it. The access token goes in the answer's body.
   */
  setMemoryRefreshCookie(reply: CookieSink, session: SessionRecord, refreshToken: string): void {
    const maxAgeSeconds = session.remember ? (session.expiresAt - this.auth.clock.now()) / 1000 : undefined;
    for (const path of this.#memoryPaths) {
      reply.setCookie(
        this.cookies.memoryRefresh,
        refreshToken,
        cookieAttributes({ secure: this.#secure, httpOnly: true, maxAgeSeconds, path }),
      );
    }
  }

  /**
   * The in-memory mode's refresh cookie of a request, once its origin and header are
   * checked: a cookie the browser sends on its own needs proof that this site's script
   * sent the request (the `X-Requested-With` header, which a form cannot send and another
   * origin cannot send without a preflight latchkey answers only for trusted origins).
   * `undefined` when the request has none; `csrf_failed`/`forbidden_origin` otherwise.
   */
  memoryRefreshCookie(request: AuthRequest): string | undefined {
    const value = request.cookies[this.cookies.memoryRefresh];
    if (!value) return undefined;
    this.checkCookieOrigin(request);
    if (!hasMemoryHeader(request)) {
      throw new AuthError(
        "csrf_failed",
        "The refresh cookie of the in-memory mode needs the X-Requested-With header (any value).",
      );
    }
    return value;
  }

  /**
   * The in-memory mode's refresh cookie as presented, unchecked, and whether the request
   * proves that its page sent it (an allowed origin and `X-Requested-With`). For logout,
   * which weighs every credential of the request and ends those proved.
   */
  memoryRefreshPresented(request: AuthRequest): { value: string | undefined; proved: boolean } {
    const value = request.cookies[this.cookies.memoryRefresh] || undefined;
    return { value, proved: value !== undefined && this.#cookieOriginAllowed(request) && hasMemoryHeader(request) };
  }

  /**
   * Throws `forbidden_origin` for a cookie credential sent from another origin that is
   * not trusted (a `corsOrigins` origin may call the bearer forms of a route, never send
   * its cookies).
   */
  checkCookieOrigin(request: AuthRequest): void {
    if (!this.#cookieOriginAllowed(request)) {
      throw new AuthError("forbidden_origin", "Cookie requests from this origin are not allowed.");
    }
  }

  /**
   * Marks this browser as one that has signed in to the account (an `HttpOnly` device
   * cookie): its later logins are throttled per device, not per account. It lives as long
   * as the login's own cookies may (until the browser closes; with `remember`, until the
   * session's absolute expiry), and logout leaves it: it proves a past login, never a
   * present one, and authenticates nothing.
   */
  setDeviceCookie(reply: CookieSink, session: SessionRecord, value: string): void {
    reply.setCookie(this.cookies.device, value, this.#attributes(session, true));
  }

  /**
   * `hybrid`'s refresh: a new access cookie from the request's live session cookie (with
   * its CSRF token), whatever the state of the old one; its lifetime in seconds.
   */
  async refreshAccessCookie(request: AuthRequest, reply: CookieSink): Promise<number> {
    const valid = await this.#validSessionCookie(request, reply);
    if (!valid) throw new AuthError("invalid_grant", "No live session was presented; sign in again.");
    this.#checkCsrf(request, valid.session.id);
    return this.#setAccessCookie(reply, valid);
  }

  /**
   * A new access cookie for a live session (`jwt`, `hybrid`) whose record changed under the
   * current one, so its claims are fresh (a re-authentication's `auth_time`); its lifetime
   * in seconds.
   */
  renewAccessCookie(reply: CookieSink, valid: ValidSession): Promise<number> {
    return this.#setAccessCookie(reply, valid);
  }

  /**
   * The cookies a login may set under this deployment, with the attributes the setters
   * above give them (`cookieAttributes`, as `#attributes` and `setMemoryRefreshCookie`
   * call it), for clients that explain them. `Max-Age` is left out: it is the login's
   * (absent, or until the session's absolute expiry with "remember me").
   */
  cookieCatalog(): CookieDescription[] {
    const describe = (role: keyof CookieNames, httpOnly: boolean, paths = ["/"]): CookieDescription => {
      const { secure, sameSite } = cookieAttributes({ secure: this.#secure, httpOnly });
      const mode =
        role === "memoryRefresh"
          ? "memory"
          : role === "pending"
            ? "second-factor"
            : role === "passkey"
              ? "passkey"
              : "cookie";
      return { role, name: this.cookies[role], httpOnly, secure, sameSite, paths, mode };
    };
    const credentials: (keyof CookieNames)[] =
      this.strategy === "session"
        ? ["session"]
        : this.strategy === "jwt"
          ? ["access", "refresh"]
          : ["session", "access"];
    return [
      ...credentials.map((role) => describe(role, true)),
      describe("csrf", false),
      describe("device", true),
      describe("memoryRefresh", true, [...this.#memoryPaths]),
      describe("pending", true),
      describe("passkey", true),
    ];
  }

  /** Sets the access and refresh cookies after a cookie-form refresh. */
  async setRefreshedCookies(reply: CookieSink, valid: ValidSession, refreshToken: string): Promise<number> {
    const { session } = valid;
    const expiresIn = await this.#setAccessCookie(reply, valid);
    reply.setCookie(this.cookies.refresh, refreshToken, this.#attributes(session, true));
    reply.setCookie(this.cookies.csrf, this.auth.csrf.tokenFor(session.id), this.#attributes(session, false));
    return expiresIn;
  }

  /** Clears every cookie latchkey may have set (`Max-Age=0`). */
  clearCookies(reply: CookieSink): void {
    this.clearStrategyCookies(reply);
    this.clearMemoryCookie(reply);
  }

  /** Clears the cookies of the strategies (session, access, refresh, CSRF). */
  clearStrategyCookies(reply: CookieSink): void {
    const cleared = cookieAttributes({ secure: this.#secure, httpOnly: true, maxAgeSeconds: 0 });
    for (const name of [this.cookies.session, this.cookies.access, this.cookies.refresh]) {
      reply.setCookie(name, "", cleared);
    }
    reply.setCookie(this.cookies.csrf, "", { ...cleared, httpOnly: false });
  }

  /** Sets the cookie of a sign-in waiting for its second step, for as long as it waits. */
  setPendingCookie(reply: CookieSink, token: string, maxAgeSeconds: number): void {
    reply.setCookie(
      this.cookies.pending,
      token,
      cookieAttributes({ secure: this.#secure, httpOnly: true, maxAgeSeconds }),
    );
  }

  /** Clears the cookie of a pending sign-in (its second step passed, or a new sign-in began). */
  clearPendingCookie(reply: CookieSink): void {
    reply.setCookie(
      this.cookies.pending,
      "",
      cookieAttributes({ secure: this.#secure, httpOnly: true, maxAgeSeconds: 0 }),
    );
  }

  /** Sets the cookie of a passkey ceremony's challenge, for as long as it waits. */
  setPasskeyCookie(reply: CookieSink, token: string, maxAgeSeconds: number): void {
    reply.setCookie(
      this.cookies.passkey,
      token,
      cookieAttributes({ secure: this.#secure, httpOnly: true, maxAgeSeconds }),
    );
  }

  /** Clears the cookie of a passkey ceremony's challenge (used: it is good once). */
  clearPasskeyCookie(reply: CookieSink): void {
    reply.setCookie(
      this.cookies.passkey,
      "",
      cookieAttributes({ secure: this.#secure, httpOnly: true, maxAgeSeconds: 0 }),
    );
  }

  /** Clears the in-memory mode's refresh cookie, on both its paths. */
  clearMemoryCookie(reply: CookieSink): void {
    const cleared = cookieAttributes({ secure: this.#secure, httpOnly: true, maxAgeSeconds: 0 });
    for (const path of this.#memoryPaths) reply.setCookie(this.cookies.memoryRefresh, "", { ...cleared, path });
  }

  /**
   * The session ids behind whatever credential cookies a request carries, for ending them
   * at login (no fixation) and logout. Forged values yield nothing.
   */
  async sessionsOfCookies(request: AuthRequest): Promise<string[]> {
    const cookies = request.cookies;
    const ids = new Set<string>();
    const sid = cookies[this.cookies.session];
    const valid = sid ? await this.auth.sessions.validate(sid, clientInfo(request)) : null;
    if (valid) ids.add(valid.session.id);
    const access = cookies[this.cookies.access];
    const check = access ? await this.auth.accessTokens.verify(access) : null;
    if (check?.ok) ids.add(check.claims.sessionId);
    const refresh = cookies[this.cookies.refresh];
    const refreshSession = refresh ? await this.auth.refreshTokens.sessionOf(refresh) : null;
    if (refreshSession) ids.add(refreshSession);
    return [...ids];
  }

  /**
   * Why the session named by the request's access cookie ended (a signed cookie, expired
   * or revoked or not), or `null`: for a refused refresh, whose refresh token went with
   * its session.
   */
  async endReasonOfCookies(request: AuthRequest): Promise<SessionEndReason | null> {
    const access = request.cookies[this.cookies.access];
    const check = access ? await this.auth.accessTokens.verify(access) : null;
    // An expired token (the usual case: the page sat idle past its lifetime) was refused
    // only after its signature checked out (jose verifies before it reads `exp`): its `sid`
    // is latchkey's own.
    const sessionId = check?.ok
      ? check.claims.sessionId
      : (check?.sessionId ?? (check?.reason === "expired" && access ? sessionIdOf(access) : undefined));
    return sessionId ? this.auth.sessions.endReason(sessionId) : null;
  }

  /** Throws `csrf_failed` unless the request's `X-CSRF-Token` is the session's. */
  checkCsrf(request: AuthRequest, sessionId: string): void {
    this.#checkCsrf(request, sessionId);
  }

  /** Whether the request's `X-CSRF-Token` is the session's. */
  csrfMatches(request: AuthRequest, sessionId: string): boolean {
    return this.auth.csrf.verify(sessionId, request.headers["x-csrf-token"]);
  }

  async #setAccessCookie(reply: CookieSink, { session, user }: ValidSession): Promise<number> {
    const { token, expiresIn } = await this.auth.accessTokens.issueFor(session, user);
    reply.setCookie(this.cookies.access, token, this.#attributes(session, true));
    return expiresIn;
  }

  #attributes(session: SessionRecord, httpOnly: boolean) {
    // A remembered login's cookies live exactly as long as the session may; others are
    // session cookies that the browser drops when it closes.
    const maxAgeSeconds = session.remember ? (session.expiresAt - this.auth.clock.now()) / 1000 : undefined;
    return cookieAttributes({ secure: this.#secure, httpOnly, maxAgeSeconds });
  }

  #checkCsrf(request: AuthRequest, sessionId: string): void {
    // Only the header counts: a cookie is sent by the browser on its own, so a token that
    // is only in the cookie proves nothing.
    if (!this.auth.csrf.verify(sessionId, request.headers["x-csrf-token"])) {
      throw new AuthError("csrf_failed", "The X-CSRF-Token header is missing or does not match this session.");
    }
  }
}

/**
 * Who presents a session cookie, worked out only when asked: the core reads it only for a
 * detected reuse, and canonicalising the address on every request cost ~10 µs (`GET
 * /auth/me` 15% slower in-process).
 */
class PresentingClient implements ClientInfo {
  readonly #request: AuthRequest;
  #info: ClientInfo | undefined;

  constructor(request: AuthRequest) {
    this.#request = request;
  }

  get ip(): string {
    this.#info ??= clientInfo(this.#request);
    return this.#info.ip;
  }

  get userAgent(): string {
    this.#info ??= clientInfo(this.#request);
    return this.#info.userAgent;
  }
}

// The two kinds of `request.auth`, as classes: their getters live on the prototype, where an
// object literal with a getter was built through V8's slow path on every request.

/** A request authenticated by its session cookie: the session was read to check it. */
class SessionCookieAuth implements RequestAuth {
  readonly userId: string;
  readonly sessionId: string;
  readonly via = "cookie";
  readonly roles: readonly string[];
  readonly authTime: number;
  readonly amr: readonly string[];
  readonly accessExpiresAt: number | null;
  readonly #valid: ValidSession;
  readonly #auth: Auth;

  constructor(valid: ValidSession, auth: Auth, accessExpiresAt: number | null = null) {
    this.userId = valid.user.id;
    this.sessionId = valid.session.id;
    this.roles = valid.user.roles;
    this.authTime = valid.session.authTime;
    this.amr = valid.session.amr;
    this.accessExpiresAt = accessExpiresAt;
    this.#valid = valid;
    this.#auth = auth;
  }

  /** An HMAC: computed only when a response needs it (the CSRF check itself verifies). */
  get csrfToken(): string {
    return this.#auth.csrf.tokenFor(this.sessionId);
  }

  can(permission: string): boolean {
    return this.#auth.roles.can(this.roles, permission);
  }

  load(): Promise<ValidSession> {
    return Promise.resolve(this.#valid);
  }
}

/** A request authenticated by a signed access token (cookie or bearer): nothing was read. */
class AccessTokenAuth implements RequestAuth {
  readonly userId: string;
  readonly sessionId: string;
  readonly via: "cookie" | "bearer";
  readonly roles: readonly string[];
  readonly authTime: number;
  readonly amr: readonly string[];
  readonly accessExpiresAt: number;
  readonly #auth: Auth;
  #loaded: Promise<ValidSession> | undefined;

  constructor(claims: AccessClaims, via: "cookie" | "bearer", auth: Auth) {
    this.userId = claims.userId;
    this.sessionId = claims.sessionId;
    this.roles = claims.roles;
    this.authTime = claims.authTime;
    this.amr = claims.amr;
    this.accessExpiresAt = claims.expiresAt;
    this.via = via;
    this.#auth = auth;
  }

  can(permission: string): boolean {
    return this.#auth.roles.can(this.roles, permission);
  }

  get csrfToken(): string | null {
    return this.via === "cookie" ? this.#auth.csrf.tokenFor(this.sessionId) : null;
  }

  load(): Promise<ValidSession> {
    this.#loaded ??= this.#auth.sessions.findLiveRecent(this.sessionId).then(async (valid) => {
      if (!valid || valid.user.id !== this.userId) {
        const why = valid ? null : await this.#auth.sessions.endReason(this.sessionId);
        throw this.via === "bearer" ? invalidToken(why) : unauthenticated(why);
      }
      return valid;
    });
    return this.#loaded;
  }
}

/**
 * Whether this request may renew the session's secret: its answer must be sure to reach
 * the browser (`CookieSink.renewsSessionSecret`), and it must come from this site. A page
 * of another site can send the browser here (a top-level GET carries a `SameSite=Lax`
 * cookie) and cancel the request before its answer arrives: a renewal then would leave
 * the browser with the old secret, and its next request would read as a stolen copy.
 */
function mayRenew(request: AuthRequest, reply: CookieSink): boolean {
  if (reply.renewsSessionSecret === false) return false;
  const site = request.headers["sec-fetch-site"];
  return site === undefined || site === "same-origin" || site === "none";
}

function hasMemoryHeader(request: AuthRequest): boolean {
  const header = request.headers[MEMORY_HEADER];
  return typeof header === "string" && header !== "";
}

function throwUnauthenticated(why: SessionEndReason | null): never {
  throw unauthenticated(why);
}

/** The 401 of a request without a live credential; `why` its session ended, when known. */
function unauthenticated(why: SessionEndReason | null = null): AuthError {
  return new AuthError("unauthenticated", "Sign in to continue.", { sessionEnded: why });
}

function invalidToken(why: SessionEndReason | null = null): AuthError {
  return new AuthError("invalid_token", "The access token is invalid or has expired.", { sessionEnded: why });
}

/** The `sid` claim of a JWT whose signature was verified, or `undefined`. */
function sessionIdOf(token: string): string | undefined {
  try {
    const { sid } = decodeJwt(token);
    return typeof sid === "string" ? sid : undefined;
  } catch {
    return undefined;
  }
}
