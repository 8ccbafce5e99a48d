/**
 * Refresh tokens (contract section 7, RFC 9700 4.14.2): opaque `id.secret`, 256-bit
 * secrets stored as SHA-256, single use with rotation.
 *
 * - Each refresh marks the presented token rotated (one conditional write: of two racing
 *   refreshes at most one rotates) and issues its successor.
 * - A rotated token presented again more than `REFRESH_REUSE_LEEWAY` seconds after its
 *   rotation is theft: the whole session ends (every refresh and access token of it),
 *   and a `refresh_reuse_detected` event is logged.
 * - Within the leeway (a second tab racing the first), the duplicate is refused with
 *   `invalid_grant` and *nothing else happens*: the session lives on and no cookie is
 *   touched, so the tab that lost the race can retry with what the winner received.
 * - A token unused past the session's idle timeout is dead, and no refresh carries a
 *   session past its absolute timeout.
 */
import type { Clock } from "./clock.js";
import { AuthError } from "./errors.js";
import type { AuthObserver } from "./observer.js";
import type { RefreshTokenStore } from "./ports.js";
import type { SessionEndReason, SessionRecord } from "./records.js";
import { hashSecret, type RandomBytes, safeEqual } from "./secrets.js";
import type { SecurityLog } from "./security-log.js";
import type { ClientInfo, SessionManager, ValidSession } from "./session-manager.js";
import { formatSessionToken, newSessionToken, parseSessionToken } from "./session-token.js";

/** Dependencies of `RefreshTokens`. */
export interface RefreshTokenDeps {
  store: RefreshTokenStore;
  sessions: SessionManager;
  log: SecurityLog;
  clock: Clock;
  /** Seconds. */
  reuseLeeway: number;
  random?: RandomBytes;
  /** Told of each rotation (`AuthObserver`). */
  observer?: Pick<AuthObserver, "refreshRotated">;
}

/**
 * `invalid_grant`. `racing` marks the duplicate inside the leeway: the session is intact
 * and the client's cookies must be left alone.
 * @example
 * try {
 *   await auth.refreshTokens.rotate(token, { ip, userAgent: "" });
 * } catch (error) {
 *   if (error instanceof InvalidGrantError && error.racing) console.log("a duplicate: keep the cookies");
 * }
 */
export class InvalidGrantError extends AuthError {
  readonly racing: boolean;

  constructor(message: string, racing = false, sessionEnded?: SessionEndReason | null) {
    super("invalid_grant", message, { sessionEnded });
    this.name = "InvalidGrantError";
    this.racing = racing;
  }
}

const invalidGrant = (message: string) => new InvalidGrantError(message);
const RACING_MESSAGE = "This refresh token has just been used; use the one issued in its place.";

/**
 * @example
 * const refreshToken = await auth.refreshTokens.issue(session);
 * const { user, refreshToken: next } = await auth.refreshTokens.rotate(refreshToken, { ip, userAgent: "curl/8.5" });
 */
export class RefreshTokens {
  readonly #deps: RefreshTokenDeps;

  constructor(deps: RefreshTokenDeps) {
    this.#deps = deps;
  }

  /** A new current refresh token for a session. */
  async issue(session: SessionRecord): Promise<string> {
    const { clock, random, store } = this.#deps;
    const now = clock.now();
    const parts = newSessionToken(random);
    await store.create({
      id: parts.id,
      sessionId: session.id,
      secretHash: hashSecret(parts.secret),
      createdAt: now,
      expiresAt: Math.min(now + session.idleTimeoutMs, session.expiresAt),
      rotatedAt: null,
    });
    return formatSessionToken(parts);
  }

  /** Retires the session's current tokens and issues a new one (password change). */
  async reissue(session: SessionRecord): Promise<string> {
    await this.#deps.store.retireForSession(session.id, this.#deps.clock.now());
    return this.issue(session);
  }

  /**
   * Exchanges a refresh token for its successor. Throws `invalid_grant` for a token that
   * is malformed, unknown, expired, of an ended session, reused, or lost a race.
   */
  async rotate(token: string, client: ClientInfo): Promise<ValidSession & { refreshToken: string }> {
    const { store, sessions, clock, log } = this.#deps;
    const parts = parseSessionToken(token);
    if (!parts) throw invalidGrant("The refresh token is invalid.");
    const record = await store.find(parts.id);
    if (!record || !safeEqual(hashSecret(parts.secret), record.secretHash)) {
      throw invalidGrant("The refresh token is invalid.");
    }
    const now = clock.now();
    if (record.rotatedAt !== null) {
      if (now - record.rotatedAt <= this.#deps.reuseLeeway * 1000) {
        throw new InvalidGrantError(RACING_MESSAGE, true);
      }
      const ended = await sessions.end(record.sessionId, "refresh_reuse_detected");
      if (ended) {
        await log.record("refresh_reuse_detected", ended.userId, { sessionId: ended.id, ...client });
      }
      throw new InvalidGrantError(
        "This refresh token was already used; the session has been ended.",
        false,
        "refresh_reuse_detected",
      );
    }
    if (now >= record.expiresAt) {
      // Past its session's idle or absolute end: say so, when the session has ended.
      throw new InvalidGrantError("The refresh token has expired.", false, await sessions.endReason(record.sessionId));
    }
    const valid = await sessions.findLive(record.sessionId);
    if (!valid) {
      throw new InvalidGrantError(
        "The session of this refresh token has ended.",
        false,
        await sessions.endReason(record.sessionId),
      );
    }
    if (!(await store.markRotated(record.id, now))) throw new InvalidGrantError(RACING_MESSAGE, true);
    const next = await this.issue(valid.session);
    this.#deps.observer?.refreshRotated?.();
    return { ...valid, refreshToken: next };
  }

  /**
   * The session a refresh token belongs to, if the token is genuine (current or rotated);
   * `null` otherwise. For logout and revocation, which end that session.
   */
  async sessionOf(token: string): Promise<string | null> {
    const parts = parseSessionToken(token);
    if (!parts) return null;
    const record = await this.#deps.store.find(parts.id);
    if (!record || !safeEqual(hashSecret(parts.secret), record.secretHash)) return null;
    return record.sessionId;
  }
}
