/**
 * Access tokens: compact JWS signed by `KeyRing`, header `{alg, kid, typ: "at+jwt"}`,
 * claims `iss`, `aud` (both the public origin), `sub` (user id), `sid` (session id),
 * `roles` (the user's role names) and `roles_at` (when they were set, ms), `auth_time`
 * (when the person last proved who they are in the session, seconds as in OpenID Connect)
 * and `amr` (how: RFC 8176 method names), `iat`, `exp`, `jti`. A token whose `roles_at` is older than the user's latest role change on the
 * change feed is refused (`docs/roles.md`): a demotion reaches every token at once.
 *
 * Verification is latchkey's one set of token rules, `@latchkey/verify/rules`, which the
 * service verifier uses too (so a token one refuses, the other refuses): the canonical
 * spelling, then jose's `jwtVerify` (RFC 8725: only the configured algorithm, a key we own
 * found by `kid`, never key material from the token, the signature before any claim,
 * unknown `crit` refused, `exp` required, `nbf` with the clock tolerance), then the claims'
 * types, `iat` and the lifetime. Under `REVOCATION=immediate` a token whose session has
 * ended is refused, checked against the in-memory set the change follower keeps: no store
 * round-trip per request.
 */
import { randomBytes } from "node:crypto";
import {
  type CheckedToken,
  isExpired,
  RememberedTokens,
  type TokenCheck,
  type TokenRules,
  verifyToken,
} from "@latchkey/verify/rules";
import { errors, type JWTVerifyGetKey, SignJWT } from "jose";
import type { Clock } from "./clock.js";
import type { KeyRing } from "./key-ring.js";
import type { AuthObserver } from "./observer.js";
import { normaliseAmr, type SessionRecord, type UserProfile } from "./records.js";

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
  /** The user's roles when the token was issued. */
  roles: readonly string[];
  /** When those roles were set (ms): the user's `rolesAt` then. */
  rolesAt: number;
  /**
   * When the person last proved who they are in the session, as of the token's issue
   * (ms; the `auth_time` claim is in seconds). 0 when the token does not say (issued
   * before latchkey wrote it, or by a host without one): never a recent sign-in.
   */
  authTime: number;
  /** How they proved it (`amr`, RFC 8176); `["pwd"]` for a token issued before latchkey wrote it. */
  amr: readonly string[];
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
export type AccessCheck =
  | { ok: true; claims: AccessClaims }
  | {
      ok: false;
      reason: "expired" | "invalid" | "revoked";
      /** For a revoked token: its session (`sid`), whose `endReason` says why. */
      sessionId?: string;
    };

/** Options of `AccessTokens`. */
export interface AccessTokenOptions {
  keys: KeyRing;
  /** Told whether each check found the token remembered (`AuthObserver`). */
  observer?: Pick<AuthObserver, "accessTokenChecked">;
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
   * lost its history since, or cannot be read. Then, under `immediate`, the token is
   * confirmed against the store (`isTokenLive`) before it is accepted.
   */
  mustConfirm?: (issuedAt: number) => boolean;
  /**
   * The user's latest role change known (the change follower's `rolesChangedAt`), `0` for
   * none: a token whose `rolesAt` is older is refused under `immediate`.
   */
  rolesChangedAt?: (userId: string) => number;
  /** Whether a service was revoked recently (the change follower's set). */
  isServiceRevoked?: (serviceId: string) => boolean;
  /**
   * Whether the store vouches for a token: its session is live, and its user's roles have
   * not changed since it was issued (a role change the feed lost in a reset still counts).
   * Throws `StoreUnavailableError` when it cannot tell.
   */
  isTokenLive?: (claims: AccessClaims) => Promise<boolean>;
}

/** The outcome of the rules for the server: what its routes tell apart. */
type Refusal = { ok: false; reason: "expired" | "invalid" };

/**
 * @example
 * const { token } = await auth.accessTokens.issue({ userId, sessionId, roles: user.roles, rolesAt: user.rolesAt, notAfter: session.expiresAt });
 * const check = await auth.accessTokens.verify(token); // { ok: true, claims } or { ok: false, reason }
 */
export class AccessTokens {
  readonly #o: AccessTokenOptions;
  readonly #verified: RememberedTokens<AccessClaims>;
  /** The keys this server owns, by `kid`: never key material from the token. */
  readonly #keys: JWTVerifyGetKey;

  constructor(options: AccessTokenOptions) {
    this.#o = options;
    this.#verified = new RememberedTokens({ clockTolerance: options.clockTolerance });
    this.#keys = (header) => {
      const key = options.keys.verifier(header.kid);
      if (!key) throw new errors.JWKSNoMatchingKey();
      return key;
    };
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
    roles: readonly string[];
    rolesAt: number;
    /**
     * The session's `authTime` (ms). Without it the token has no `auth_time`: it does not
     * say when the person signed in, and passes no recent-sign-in check.
     */
    authTime?: number;
    /**
     * The session's `amr` (RFC 8176 names, 1 to 16, each 1 to 32 characters; sorted and
     * deduplicated here). Default `["pwd"]`. A `TypeError` otherwise: a token the
     * verifiers would refuse on every use is never signed.
     */
    amr?: readonly string[];
    notAfter: number;
  }): Promise<{ token: string; expiresAt: number }> {
    const { keys, clock, issuer } = this.#o;
    const now = clock.now();
    const iat = Math.floor(now / 1000);
    const exp = Math.max(iat + 1, Math.min(iat + this.#o.ttl, Math.floor(input.notAfter / 1000)));
    const { kid, key } = keys.signer();
    const origin = issuer();
    const claims = {
      sid: input.sessionId,
      kind: "user",
      roles: input.roles,
      roles_at: input.rolesAt,
      // Never after `iat` (verification refuses that): a re-authentication written by a
      // process whose clock runs ahead of this one's counts from now.
      ...(input.authTime !== undefined && { auth_time: Math.floor(Math.min(input.authTime, now) / 1000) }),
      amr: checkedAmr(input.amr),
    };
    const token = await new SignJWT(claims)
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
   * seconds, for `expires_in` and cookie lifetimes. `user` is the session's user as just
   * read (its roles go in the token).
   */
  async issueFor(
    session: SessionRecord,
    user: Pick<UserProfile, "roles" | "rolesAt">,
  ): Promise<{ token: string; expiresAt: number; expiresIn: number }> {
    const now = this.#o.clock.now();
    const issued = await this.issue({
      userId: session.userId,
      sessionId: session.id,
      roles: user.roles,
      rolesAt: user.rolesAt,
      authTime: session.authTime,
      amr: session.amr,
      notAfter: Math.min(session.expiresAt, session.idleExpiresAt, now + session.idleTimeoutMs / 2),
    });
    const expiresIn = Math.max(0, Math.round((issued.expiresAt - this.#o.clock.now()) / 1000));
    return { ...issued, expiresIn };
  }

  /**
   * Verifies a token. A token that verified once is remembered (`RememberedTokens`: until
   * it expires, 10,000 at most), so a client sending the same token again costs a map
   * lookup, not a signature check; expiry and revocation are still checked on every call.
   * Throws only `StoreUnavailableError`, when the change feed cannot vouch for the token
   * and the store cannot be asked either (refuse rather than guess).
   */
  async verify(token: string): Promise<AccessCheck> {
    const cached = this.#verified.get(token);
    this.#o.observer?.accessTokenChecked?.(cached !== undefined);
    const check = cached ? this.#stillValid(cached) : await this.#verifyFully(token);
    if (!cached && check.ok) this.#verified.remember(token, check.claims, this.#o.clock.now());
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

  async #confirmed(check: AccessCheck & { ok: true }): Promise<AccessCheck> {
    const live = await this.#o.isTokenLive?.(check.claims);
    return live === false ? { ok: false, reason: "revoked", sessionId: check.claims.sessionId } : check;
  }

  #stillValid(claims: AccessClaims): AccessCheck {
    if (isExpired(claims, this.#o.clockTolerance, this.#o.clock.now())) return { ok: false, reason: "expired" };
    if (
      this.#o.revocation === "immediate" &&
      (this.#o.isSessionEnded(claims.sessionId) || (this.#o.rolesChangedAt?.(claims.userId) ?? 0) > claims.rolesAt)
    ) {
      return { ok: false, reason: "revoked", sessionId: claims.sessionId };
    }
    return { ok: true, claims };
  }

  async #verifyFully(token: string): Promise<AccessCheck> {
    const checked = await this.#check(token);
    if (!("kind" in checked)) return checked;
    // A service's token (no session) never passes for a user's.
    if (checked.kind !== "user") return { ok: false, reason: "invalid" };
    const { userId, sessionId, roles, rolesAt, authTime, amr, jti, issuedAt, expiresAt } = checked;
    return this.#stillValid({ userId, sessionId, roles, rolesAt, authTime, amr, jti, issuedAt, expiresAt });
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
    const checked = await this.#check(token);
    if (!("kind" in checked)) return checked;
    if (checked.kind !== "service") return { ok: false, reason: "invalid" };
    if (this.#o.isServiceRevoked?.(checked.serviceId)) return { ok: false, reason: "revoked" };
    const { serviceId, issuedAt, expiresAt } = checked;
    return { ok: true, claims: { serviceId, issuedAt, expiresAt } };
  }

  /**
   * The rules every token of this server passes, user's or service's: the same as the
   * service verifier's. The routes tell only `expired` from `invalid` (a client refreshes
   * the one and not the other); which rule refused is `TokenFailure`'s finer reason.
   */
  async #check(token: string): Promise<CheckedToken | Refusal> {
    const { keys, clock, issuer, clockTolerance, ttl } = this.#o;
    const origin = issuer();
    const rules: TokenRules = { issuer: origin, audience: origin, algorithms: [keys.alg], ttl, clockTolerance };
    let check: TokenCheck;
    try {
      check = await verifyToken(token, this.#keys, rules, clock.now());
    } catch {
      // The keys are this server's own: nothing to fetch, so any other failure is the token's.
      return { ok: false, reason: "invalid" };
    }
    if (check.ok) return check.token;
    return { ok: false, reason: check.reason === "expired" ? "expired" : "invalid" };
  }
}

/** `amr` as a token carries it: sorted, no repeats; a `TypeError` for what verifiers refuse. */
function checkedAmr(amr: readonly string[] | undefined): string[] {
  if (amr === undefined) return ["pwd"];
  const methods = normaliseAmr(amr);
  if (
    amr.length === 0 ||
    methods.length > 16 ||
    !methods.every((method) => typeof method === "string" && method.length >= 1 && method.length <= 32)
  ) {
    throw new TypeError("latchkey: amr must be 1 to 16 method names of 1 to 32 characters (RFC 8176: pwd, otp, ...)");
  }
  return methods;
}
