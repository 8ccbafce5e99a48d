/**
 * `@latchkey/verify/rules`: the rules every latchkey access token is held to, in one place.
 * latchkey's own routes (the library's `AccessTokens`) and the service verifier both check
 * tokens with `verifyToken`, so a token one refuses the other refuses too, and each refusal
 * says why (`TokenFailure`) without ever repeating the token.
 *
 * The order is jose's (RFC 8725): the spelling (length, shape, a canonical signature),
 * then the allow-listed algorithm, the key by `kid`, the signature, and only then the
 * claims (`typ`, `iss`, `aud`, `exp`, `nbf` by jose; types, `iat` and the lifetime here).
 *
 * @example
 * import { createLocalJWKSet } from "jose";
 * import { verifyToken } from "@latchkey/verify/rules";
 *
 * const keys = createLocalJWKSet({ keys: [] }); // latchkey's /.well-known/jwks.json, fetched
 * const rules = { issuer: "https://auth.example", audience: "https://auth.example", algorithms: ["EdDSA"], ttl: 600, clockTolerance: 5 };
 * const check = await verifyToken(token, keys, rules, Date.now());
 * if (!check.ok) console.log(check.reason); // "signature", "audience", "expired", ...
 */
import { errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";

/**
 * Why a token was refused, for logs and metrics: stable names a log can tell apart.
 * `malformed`: not a compact JWS of at most 4 KiB, or a header or payload that is not
 * JSON, or an unknown `crit`; `algorithm`: an algorithm not allowed; `unknown_key`: no key
 * of the set has its `kid`; `signature`: the signature does not verify, or is not spelled
 * in canonical base64url; `type`: `typ` is not `at+jwt`; `issuer`, `audience`: `iss`,
 * `aud` wrong or missing; `claims`: `sub`, `jti`, `iat` or `exp` missing or of the wrong
 * type, or a service's token whose `client_id` is not its `sub`; `expired`: past `exp`
 * and the tolerance; `not_yet_valid`: `nbf` or `iat` in the future beyond the tolerance;
 * `lifetime`: it lives longer than latchkey issues tokens (`exp - iat` or its age beyond
 * the TTL and the tolerance); `kind`: a user's token where a service's is expected, or the
 * reverse; `revoked`: its session ended or its service was revoked.
 *
 * @example
 * const reason: TokenFailure = "audience";
 */
export type TokenFailure =
  | "malformed"
  | "algorithm"
  | "unknown_key"
  | "signature"
  | "type"
  | "issuer"
  | "audience"
  | "claims"
  | "expired"
  | "not_yet_valid"
  | "lifetime"
  | "kind"
  | "revoked";

/**
 * What a token is checked against.
 *
 * @example
 * const rules: TokenRules = {
 *   issuer: "https://auth.example", // latchkey's PUBLIC_ORIGIN
 *   audience: "https://auth.example",
 *   algorithms: ["EdDSA", "ES256"],
 *   ttl: 600, // latchkey's ACCESS_TOKEN_TTL
 *   clockTolerance: 5,
 * };
 */
export interface TokenRules {
  /** The `iss` expected. */
  issuer: string;
  /** The `aud` expected. */
  audience: string;
  /** The algorithms accepted (latchkey signs with one: `JWT_ALG`). */
  algorithms: readonly string[];
  /**
   * The longest lifetime latchkey gives a token, seconds (`ACCESS_TOKEN_TTL`);
   * `Infinity` checks no lifetime (a verifier not told latchkey's TTL), `exp` still.
   */
  ttl: number;
  /** Seconds of clock skew accepted on `exp`, `nbf`, `iat` and the lifetime. */
  clockTolerance: number;
}

/**
 * A token that passed the rules: a user's (with its session) or a service's. Times in ms
 * since the epoch.
 *
 * @example
 * import { createLocalJWKSet } from "jose";
 *
 * const rules: TokenRules = { issuer: "https://auth.example", audience: "https://auth.example", algorithms: ["EdDSA"], ttl: 600, clockTolerance: 5 };
 * const check = await verifyToken(token, createLocalJWKSet({ keys: [] }), rules, Date.now());
 * if (check.ok && check.token.kind === "user") console.log(check.token.sessionId);
 */
export type CheckedToken =
  | {
      kind: "user";
      userId: string;
      sessionId: string;
      /**
       * The user's roles when the token was issued (`roles`); `["user"]` for a token
       * issued before latchkey had roles.
       */
      roles: readonly string[];
      /**
       * When those roles were set, ms (`roles_at`); `0` for a token from before roles. A
       * `roles_changed` entry later than it means the roles have changed since: refused.
       */
      rolesAt: number;
      /**
       * When the person last proved who they are in the session, ms (`auth_time`, which
       * is in seconds); the token's `iat` for a token issued before latchkey wrote it.
       */
      authTime: number;
      /**
       * How they proved it (`amr`, RFC 8176 names such as `"pwd"`, `"otp"`); `["pwd"]` for
       * a token issued before latchkey wrote it.
       */
      amr: readonly string[];
      jti: string;
      issuedAt: number;
      expiresAt: number;
      claims: JWTPayload;
    }
  | { kind: "service"; serviceId: string; jti: string; issuedAt: number; expiresAt: number; claims: JWTPayload };

/**
 * The outcome of `verifyToken`.
 *
 * @example
 * import { createLocalJWKSet } from "jose";
 *
 * const rules: TokenRules = { issuer: "https://auth.example", audience: "https://auth.example", algorithms: ["EdDSA"], ttl: 600, clockTolerance: 5 };
 * const check: TokenCheck = await verifyToken(token, createLocalJWKSet({ keys: [] }), rules, Date.now());
 */
export type TokenCheck = { ok: true; token: CheckedToken } | { ok: false; reason: TokenFailure };

/**
 * The permissions latchkey's own admin routes ask for, all granted to the built-in role
 * `admin` (by latchkey and by the verifier alike).
 *
 * @example
 * const adminMay = BUILT_IN_PERMISSIONS.includes("users:read"); // true
 */
export const BUILT_IN_PERMISSIONS = [
  "users:read",
  "users:disable",
  "users:delete",
  "users:set-roles",
  "sessions:revoke",
  "services:manage",
] as const;

/**
 * Tokens longer than this are refused before any parsing (latchkey's are about 400 bytes).
 *
 * @example
 * if (token.length > MAX_TOKEN_LENGTH) console.log("refused unread");
 */
export const MAX_TOKEN_LENGTH = 4096;

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** The unused low bits of a segment's last character, by its length modulo 4 (1 is never valid). */
const SPARE_BITS = [0, -1, 4, 2] as const;

/**
 * Whether a string is a compact JWS latchkey could have issued: at most 4 KiB, three
 * base64url segments, and a signature in canonical base64url. A signature's last character
 * has spare low bits, so one signature has several spellings that lenient decoders read
 * alike: only the canonical one (spare bits zero) passes, or each spelling would verify
 * (and be remembered) as a token of its own. `"signature"` for a non-canonical one.
 *
 * @example
 * const spelling = checkSpelling(token); // undefined, "malformed" or "signature"
 */
export function checkSpelling(token: string): "malformed" | "signature" | undefined {
  if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) return "malformed";
  const signature = token.slice(token.lastIndexOf(".") + 1);
  const spare = SPARE_BITS[signature.length % 4] as number;
  if (spare < 0) return "malformed";
  if (spare === 0) return undefined;
  const last = BASE64URL.indexOf(signature.at(-1) as string);
  return (last & ((1 << spare) - 1)) === 0 ? undefined : "signature";
}

/**
 * The checks after jose's, on a payload whose signature, `typ`, `iss`, `aud`, `nbf` and
 * `exp` have passed: the claims' types, `iat` not in the future, a lifetime no longer than
 * latchkey gives, and which kind of token it is. Pure: `now` in ms.
 *
 * @example
 * const payload = { sub: "u1", sid: "s1", jti: "j1", iat: 1_800_000_000, exp: 1_800_000_600 };
 * const check = checkClaims(payload, { ttl: 600, clockTolerance: 5 }, 1_800_000_010_000);
 * // { ok: true, token: { kind: "user", userId: "u1", sessionId: "s1", ... } }
 */
export function checkClaims(
  payload: JWTPayload,
  rules: Pick<TokenRules, "ttl" | "clockTolerance">,
  now: number,
): TokenCheck {
  const { sub, jti, iat, exp } = payload;
  if (typeof sub !== "string" || typeof jti !== "string" || typeof iat !== "number" || typeof exp !== "number") {
    return { ok: false, reason: "claims" };
  }
  const { ttl, clockTolerance } = rules;
  if (iat > now / 1000 + clockTolerance) return { ok: false, reason: "not_yet_valid" };
  // latchkey never issues a token living longer than its TTL: a longer one (`exp` ten
  // years ahead, or `iat` = 1) was not issued by it as configured, whatever key signed it.
  if (exp - iat > ttl + clockTolerance || iat < now / 1000 - ttl - clockTolerance) {
    return { ok: false, reason: "lifetime" };
  }
  const times = { jti, issuedAt: iat * 1000, expiresAt: exp * 1000, claims: payload };
  if (payload.kind === "service") {
    // A service's token names the service twice; it has no session.
    if (payload.client_id !== sub) return { ok: false, reason: "claims" };
    return { ok: true, token: { kind: "service", serviceId: sub, ...times } };
  }
  if (typeof payload.sid !== "string") return { ok: false, reason: "claims" };
  const roles = payload.roles ?? LEGACY_ROLES;
  const rolesAt = payload.roles_at ?? 0;
  if (!isRoleList(roles) || typeof rolesAt !== "number") return { ok: false, reason: "claims" };
  // A token of before `auth_time` (a rolling upgrade's older instance issued it) does not
  // say when the person signed in: 0, never a recent sign-in, rather than its `iat`, which
  // would make any old session look fresh to a step-up check.
  const authTime = payload.auth_time ?? 0;
  const amr = payload.amr ?? LEGACY_AMR;
  // A sign-in after the token was issued is no claim latchkey makes.
  if (typeof authTime !== "number" || authTime > iat || !isMethodList(amr)) return { ok: false, reason: "claims" };
  const user = { kind: "user", userId: sub, sessionId: payload.sid, roles, rolesAt } as const;
  return { ok: true, token: { ...user, authTime: authTime * 1000, amr, ...times } };
}

/** The methods of a token issued before latchkey wrote `amr`: passwords were all there was. */
const LEGACY_AMR: readonly string[] = Object.freeze(["pwd"]);

function isMethodList(value: unknown): value is readonly string[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.length <= 16 &&
    value.every((method) => typeof method === "string" && method.length <= 32)
  );
}

/** The roles of a token issued before latchkey had roles: everyone was a `user`. */
const LEGACY_ROLES: readonly string[] = Object.freeze(["user"]);

function isRoleList(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.length <= 64 && value.every((role) => typeof role === "string");
}

/**
 * The reason for a jose error about the token; `undefined` for an error that is not the
 * token's fault (the key set could not be fetched, a time-out), which the caller reports
 * as such rather than as a bad token.
 *
 * @example
 * import { errors } from "jose";
 *
 * const reason = failureOf(new errors.JWSSignatureVerificationFailed()); // "signature"
 */
export function failureOf(error: unknown): TokenFailure | undefined {
  if (error instanceof errors.JWTExpired) return "expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case "typ":
        return "type";
      case "iss":
        return "issuer";
      case "aud":
        return "audience";
      case "nbf":
        return "not_yet_valid";
      default:
        return "claims";
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return "algorithm";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "signature";
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return "unknown_key";
  }
  if (
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JOSENotSupported
  ) {
    return "malformed";
  }
  return undefined;
}

/**
 * Verifies a token by latchkey's rules: `checkSpelling`, then jose's `jwtVerify` (the
 * algorithms allowed, the key found by `kid` through `keys`, never key material from the
 * token, the signature before any claim, `typ: at+jwt`, `iss`, `aud`, required `exp`,
 * `iat`, `sub`, `jti`, `nbf` and `exp` with the tolerance, unknown `crit` refused), then
 * `checkClaims`. `now` in ms. Resolves `{ ok: false, reason }` for a bad token; rejects
 * only when the token could not be checked (`keys` failed: the key set unreachable).
 *
 * @example
 * import { createRemoteJWKSet } from "jose";
 *
 * const keys = createRemoteJWKSet(new URL("https://auth.example/.well-known/jwks.json"));
 * const rules: TokenRules = { issuer: "https://auth.example", audience: "https://auth.example", algorithms: ["EdDSA"], ttl: 600, clockTolerance: 5 };
 * const check = await verifyToken(token, keys, rules, Date.now());
 * if (check.ok) console.log(check.token.kind, new Date(check.token.expiresAt));
 */
export async function verifyToken(
  token: string,
  keys: JWTVerifyGetKey,
  rules: TokenRules,
  now: number,
): Promise<TokenCheck> {
  const spelling = checkSpelling(token);
  if (spelling) return { ok: false, reason: spelling };
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keys, {
      algorithms: [...rules.algorithms],
      issuer: rules.issuer,
      audience: rules.audience,
      typ: "at+jwt",
      clockTolerance: rules.clockTolerance,
      currentDate: new Date(now),
      requiredClaims: ["exp", "iat", "sub", "jti"],
    }));
  } catch (error) {
    const reason = failureOf(error);
    if (reason === undefined) throw error;
    return { ok: false, reason };
  }
  return checkClaims(payload, rules, now);
}

/**
 * Whether a checked token is past `exp` and the tolerance at `now` (ms).
 *
 * @example
 * if (isExpired({ expiresAt: Date.now() - 10_000 }, 5, Date.now())) console.log("expired");
 */
export function isExpired(token: { expiresAt: number }, clockTolerance: number, now: number): boolean {
  return now >= token.expiresAt + clockTolerance * 1000;
}

/** How much of a token keys `RememberedTokens`: inside any signature latchkey accepts (HS256's is 43). */
const KEY_CHARS = 32;

function keyOf(token: string): string {
  return token.slice(-KEY_CHARS);
}

/**
 * Verified tokens, remembered until they expire, so the same token presented again costs a
 * map lookup rather than a signature check (expiry and revocation are still the caller's to
 * check on every use). A Map iterates in insertion order, which is nearly expiry order
 * (tokens are first verified soon after they are issued, and most live one TTL): expired
 * ones are dropped from the front as new ones come, so it holds about the tokens in use,
 * not `max` of them forever (a FIFO of 10,000 kept the dead ones); when it is full of live
 * ones, the oldest goes.
 *
 * The map's key is the token's last `KEY_CHARS` characters (in its signature), and a hit
 * counts only when the whole token is the one remembered. A token comes out of a header
 * as a new string on every request, and V8 hashes a string key in full the first time it
 * is looked up: 1.5 µs for a 700-character token, against 0.2 µs for the tail and the
 * comparison (measured in docs/performance.md, "the token cache's key").
 *
 * @example
 * const remembered = new RememberedTokens<{ expiresAt: number }>({ clockTolerance: 5 });
 * remembered.remember(token, { expiresAt: Date.now() + 600_000 }, Date.now());
 * const held = remembered.get(token);
 */
export class RememberedTokens<V extends { expiresAt: number }> {
  readonly #held = new Map<string, { token: string; value: V }>();
  readonly #max: number;
  readonly #clockTolerance: number;

  constructor(options: { clockTolerance: number; max?: number }) {
    this.#clockTolerance = options.clockTolerance;
    this.#max = options.max ?? 10_000;
  }

  /** The value remembered for `token`, expired or not. */
  get(token: string): V | undefined {
    const held = this.#held.get(keyOf(token));
    return held?.token === token ? held.value : undefined;
  }

  /**
   * Remembers `value` for `token`, after dropping what expired by `now` (ms). Callers
   * remember only tokens that verified, so two held tokens never share a tail (only a
   * forgery that copied a signature would, and it never verifies); if they did, the later
   * would take the other's place, and the other would be verified again when it next came.
   */
  remember(token: string, value: V, now: number): void {
    for (const [key, held] of this.#held) {
      if (!isExpired(held.value, this.#clockTolerance, now)) break;
      this.#held.delete(key);
    }
    const key = keyOf(token);
    // A replaced entry moves to the end, as a new one would.
    this.#held.delete(key);
    if (this.#held.size >= this.#max) this.#held.delete(this.#held.keys().next().value as string);
    this.#held.set(key, { token, value });
  }

  /** How many tokens are held. */
  get size(): number {
    return this.#held.size;
  }
}
