/**
 * Access tokens: compact JWS signed by `KeyRing`, header `{alg, kid, typ: "at+jwt"}`,
 * claims `iss`, `aud` (both the public origin), `sub` (user id), `sid` (session id),
 * `iat`, `exp`, `jti`.
 *
 * Verification is jose's `jwtVerify` (RFC 8725): only the configured algorithm, a key we
 * own found by `kid` (never key material from the token: `jwk`, `jku`, `x5u`, `x5c` are
 * ignored), the signature before any claim, unknown `crit` refused, `exp` required,
 * `nbf`/`iat` with the clock tolerance, then our own claim checks. Under
 * `REVOCATION=immediate` a token whose session has ended is refused, checked against the
 * in-memory set the change follower keeps: no store round-trip per request.
 */
import { randomBytes } from "node:crypto";
import { errors, jwtVerify, SignJWT } from "jose";
import type { Clock } from "./clock.js";
import type { KeyRing } from "./key-ring.js";
import { dropStaleFront } from "./memo.js";
import type { SessionRecord } from "./records.js";

/**
 * What a valid access token says.
 * @example
 * const check = await auth.accessTokens.verify(token);
 * if (check.ok) {
 *   const claims: AccessClaims = check.claims;
 *   console.log(claims.userId, claims.sessionId, new Date(claims.expiresAt));
 * }
 */
export interface AccessClaims {
  userId: string;
  sessionId: string;
  /** Expiry, ms since the epoch. */
  expiresAt: number;
  issuedAt: number;
  jti: string;
}

/**
 * What a service's token says.
 *
 * @example
 * const check = await auth.accessTokens.verifyService(token);
 * if (check.ok) console.log(check.claims.serviceId);
 */
export interface ServiceClaims {
  serviceId: string;
  issuedAt: number;
  expiresAt: number;
}

/**
 * The outcome of verifying a service's token.
 *
 * @example
 * const check: ServiceCheck = await auth.accessTokens.verifyService(token);
 */
export type ServiceCheck =
  | { ok: true; claims: ServiceClaims }
  | { ok: false; reason: "expired" | "invalid" | "revoked" };

/**
 * The outcome of a verification.
 * @example
 * const check: AccessCheck = await auth.accessTokens.verify(token);
 * if (!check.ok) console.log(check.reason); // "expired" | "invalid" | "revoked"
 */
export type AccessCheck = { ok: true; claims: AccessClaims } | { ok: false; reason: "expired" | "invalid" | "revoked" };

/** Options of `AccessTokens`. */
export interface AccessTokenOptions {
  keys: KeyRing;
  clock: Clock;
  /** The public origin: `iss` and `aud`. A function when it is known only once listening. */
  issuer: () => string;
  /** Seconds. */
  ttl: number;
  /** Seconds of skew accepted on `exp`, `nbf`, `iat`. */
  clockTolerance: number;
  /** `immediate`: refuse tokens of ended sessions at once. */
  revocation: "immediate" | "expiry";
  /** Whether a session has ended recently (the change follower's set). */
  isSessionEnded: (sessionId: string) => boolean;
  /**
   * Whether the change follower cannot vouch for a token issued at this time (ms): the feed
   * lost its history since, or cannot be read. Then, under `immediate`, the session is
   * looked up in the store (`isSessionLive`) before the token is accepted.
   */
  mustConfirm?: (issuedAt: number) => boolean;
  /** Whether a service was revoked recently (the change follower's set). */
  isServiceRevoked?: (serviceId: string) => boolean;
  /** Whether a session is live in the store; throws `StoreUnavailableError` when it cannot tell. */
  isSessionLive?: (sessionId: string) => Promise<boolean>;
}

/** Tokens longer than this are refused before any parsing. */
const MAX_TOKEN_LENGTH = 4096;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** How many verified tokens are remembered. */
const CACHE_SIZE = 10_000;

/**
 * @example
 * const { token } = await auth.accessTokens.issue({ userId, sessionId, notAfter: session.expiresAt });
 * const check = await auth.accessTokens.verify(token); // { ok: true, claims } or { ok: false, reason }
 */
export class AccessTokens {
  readonly #o: AccessTokenOptions;
  readonly #verified = new Map<string, AccessClaims>();

  constructor(options: AccessTokenOptions) {
    this.#o = options;
  }

  /** The `iss` (and `aud`) of this server's tokens: its public origin. */
  get issuer(): string {
    return this.#o.issuer();
  }

  /** Lifetime in seconds. */
  get ttl(): number {
    return this.#o.ttl;
  }

  /**
   * Signs a token for a session. It never outlives `notAfter` (the session's expiry), so
   * no token keeps a session alive past its timeouts.
   */
  async issue(input: {
    userId: string;
    sessionId: string;
    notAfter: number;
  }): Promise<{ token: string; expiresAt: number }> {
    const { keys, clock, issuer } = this.#o;
    const now = clock.now();
    const iat = Math.floor(now / 1000);
    const exp = Math.max(iat + 1, Math.min(iat + this.#o.ttl, Math.floor(input.notAfter / 1000)));
    const { kid, key } = keys.signer();
    const origin = issuer();
    const token = await new SignJWT({ sid: input.sessionId, kind: "user" })
      .setProtectedHeader({ alg: keys.alg, kid, typ: "at+jwt" })
      .setIssuer(origin)
      .setAudience(origin)
      .setSubject(input.userId)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(randomBytes(16).toString("base64url"))
      .sign(key);
    return { token, expiresAt: exp * 1000 };
  }

  /**
   * A token for a session: it never outlives the session's idle or absolute expiry, nor
   * half its idle timeout, so a client in steady use renews it (a refresh, or a hybrid
   * renewal, which records use) before the session goes idle. `expiresIn` is in whole
   * seconds, for `expires_in` and cookie lifetimes.
   */
  async issueFor(session: SessionRecord): Promise<{ token: string; expiresAt: number; expiresIn: number }> {
    const now = this.#o.clock.now();
    const issued = await this.issue({
      userId: session.userId,
      sessionId: session.id,
      notAfter: Math.min(session.expiresAt, session.idleExpiresAt, now + session.idleTimeoutMs / 2),
    });
    const expiresIn = Math.max(0, Math.round((issued.expiresAt - this.#o.clock.now()) / 1000));
    return { ...issued, expiresIn };
  }

  /**
   * Verifies a token. A token that verified once is remembered (up to `CACHE_SIZE` of
   * them) until it expires, so a client sending the same token again
   * costs a map lookup, not a signature check; expiry and revocation are still checked on
   * every call. Throws only `StoreUnavailableError`, when the change feed cannot vouch for
   * the token and the store cannot be asked either (refuse rather than guess).
   */
  async verify(token: string): Promise<AccessCheck> {
    const cached = this.#verified.get(token);
    const check = cached ? this.#stillValid(cached) : await this.#verifyFully(token);
    if (!cached && check.ok) this.#remember(token, check.claims);
    if (check.ok && this.#o.revocation === "immediate" && this.#o.mustConfirm?.(check.claims.issuedAt)) {
      return this.#confirmed(check);
    }
    return check;
  }

  /**
   * How many verified tokens are held in memory: about the tokens in use (for metrics and tests).
   * @example
   * const held: number = auth.accessTokens.remembered;
   */
  get remembered(): number {
    return this.#verified.size;
  }

  /**
   * Maps iterate in insertion order, which is nearly expiry order (tokens are verified
   * first soon after they are issued, and most live one TTL): expired tokens are dropped
   * from the front, so the cache holds about the tokens in use, not `CACHE_SIZE` of them
   * forever (the soak's instances grew by the dead ones); when it is full of live ones,
   * the oldest goes.
   */
  #remember(token: string, claims: AccessClaims): void {
    const stale = this.#o.clock.now() - this.#o.clockTolerance * 1000;
    dropStaleFront(this.#verified, (held) => held.expiresAt <= stale);
    if (this.#verified.size >= CACHE_SIZE) this.#verified.delete(this.#verified.keys().next().value as string);
    this.#verified.set(token, claims);
  }

  async #confirmed(check: AccessCheck & { ok: true }): Promise<AccessCheck> {
    const live = await this.#o.isSessionLive?.(check.claims.sessionId);
    return live === false ? { ok: false, reason: "revoked" } : check;
  }

  #stillValid(claims: AccessClaims): AccessCheck {
    const now = this.#o.clock.now();
    if (now >= claims.expiresAt + this.#o.clockTolerance * 1000) return { ok: false, reason: "expired" };
    if (this.#o.revocation === "immediate" && this.#o.isSessionEnded(claims.sessionId)) {
      return { ok: false, reason: "revoked" };
    }
    return { ok: true, claims };
  }

  async #verifyFully(token: string): Promise<AccessCheck> {
    const verified = await this.#verifyJwt(token);
    if (!("payload" in verified)) return verified;
    const { sub, sid, jti, iat, exp, kind } = verified.payload;
    // A service's token (no session) never passes for a user's.
    if (kind === "service" || typeof sid !== "string") return { ok: false, reason: "invalid" };
    return this.#stillValid({ userId: sub, sessionId: sid, jti, issuedAt: iat * 1000, expiresAt: exp * 1000 });
  }

  /**
   * A token for a service (the client-credentials grant): `sub` and `client_id` are the
   * service, `kind` is `service`, and there is no session (`sid`), so it never passes for
   * a user's token. No refresh token: the service asks again with its credentials.
   */
  async issueForService(serviceId: string): Promise<{ token: string; expiresAt: number; expiresIn: number }> {
    const { keys, clock, issuer } = this.#o;
    const iat = Math.floor(clock.now() / 1000);
    const exp = iat + this.#o.ttl;
    const { kid, key } = keys.signer();
    const origin = issuer();
    const token = await new SignJWT({ kind: "service", client_id: serviceId })
      .setProtectedHeader({ alg: keys.alg, kid, typ: "at+jwt" })
      .setIssuer(origin)
      .setAudience(origin)
      .setSubject(serviceId)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(randomBytes(16).toString("base64url"))
      .sign(key);
    return { token, expiresAt: exp * 1000, expiresIn: this.#o.ttl };
  }

  /** Verifies a service's token: signature, claims, and that the service is not revoked. */
  async verifyService(token: string): Promise<ServiceCheck> {
    const verified = await this.#verifyJwt(token);
    if (!("payload" in verified)) return verified;
    const { sub, client_id, kind, iat, exp } = verified.payload;
    if (kind !== "service" || client_id !== sub) return { ok: false, reason: "invalid" };
    if (this.#o.isServiceRevoked?.(sub)) return { ok: false, reason: "revoked" };
    return { ok: true, claims: { serviceId: sub, issuedAt: iat * 1000, expiresAt: exp * 1000 } };
  }

  /** The checks every token of this server passes, user's or service's. */
  async #verifyJwt(
    token: string,
  ): Promise<
    | { payload: { sub: string; jti: string; iat: number; exp: number } & Record<string, unknown> }
    | { ok: false; reason: "expired" | "invalid" }
  > {
    if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) return { ok: false, reason: "invalid" };
    // A base64url signature has spare low bits in its last character, so one signature has
    // several spellings that decode alike: accept only the canonical one, or each spelling
    // would verify (and be cached) as a token of its own.
    if (!isCanonicalBase64url(token.slice(token.lastIndexOf(".") + 1))) return { ok: false, reason: "invalid" };
    const { keys, clock, issuer, clockTolerance } = this.#o;
    const now = clock.now();
    let payload: Record<string, unknown>;
    try {
      const origin = issuer();
      ({ payload } = await jwtVerify(
        token,
        (header) => {
          const key = keys.verifier(header.kid);
          if (!key) throw new errors.JWKSNoMatchingKey();
          return key;
        },
        {
          algorithms: [keys.alg],
          issuer: origin,
          audience: origin,
          typ: "at+jwt",
          clockTolerance,
          currentDate: new Date(now),
          requiredClaims: ["exp", "iat", "sub", "jti"],
        },
      ));
    } catch (error) {
      return { ok: false, reason: error instanceof errors.JWTExpired ? "expired" : "invalid" };
    }
    const { sub, jti, iat, exp } = payload;
    // jose checks types of the registered claims it knows; these are ours.
    if (typeof sub !== "string" || typeof jti !== "string") return { ok: false, reason: "invalid" };
    if (typeof iat !== "number" || typeof exp !== "number") return { ok: false, reason: "invalid" };
    if (iat > now / 1000 + clockTolerance) return { ok: false, reason: "invalid" };
    // This server never issues a token living longer than its TTL: a longer one (`exp` ten
    // years ahead, `iat` = 1) was not issued by it as configured, whatever key signed it.
    if (exp - iat > this.#o.ttl + clockTolerance || iat < now / 1000 - this.#o.ttl - clockTolerance) {
      return { ok: false, reason: "invalid" };
    }
    return { payload: { ...payload, sub, jti, iat, exp } };
  }
}

function isCanonicalBase64url(segment: string): boolean {
  return Buffer.from(segment, "base64url").toString("base64url") === segment;
}
