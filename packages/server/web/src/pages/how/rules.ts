/**
 * latchkey's rules, as the "How it works" page states them, each computed from the
 * policy the server reports (`GET /auth/info`) the way the library computes it.
 */
import type { Me, Policy } from "../../api.js";

/** latchkey's default `touchInterval` (packages/latchkey/src/core/auth.ts): the server does not change it. */
export const TOUCH_INTERVAL = 60;

/**
 * Whether this session was signed in with "remember me": its absolute lifetime is the
 * remembered one (the session view does not say it; its times do).
 */
export function remembered(session: Me["session"], policy: Policy): boolean {
  const span = (Date.parse(session.expiresAt) - Date.parse(session.createdAt)) / 1000;
  return Math.abs(span - policy.rememberAbsoluteTimeout) < Math.abs(span - policy.sessionAbsoluteTimeout);
}

/** This session's idle timeout, seconds: the remembered one after "remember me". */
export function idleTimeoutOf(session: Me["session"], policy: Policy): number {
  return remembered(session, policy) ? policy.rememberIdleTimeout : policy.sessionIdleTimeout;
}

/**
 * How often at most the server writes "last seen", seconds: the shorter of a minute and a
 * tenth of the session's idle timeout (`SessionManager`'s `#state`,
 * packages/latchkey/src/core/session-manager.ts).
 */
export function touchIntervalOf(idleTimeout: number): number {
  return Math.min(TOUCH_INTERVAL, idleTimeout / 10);
}

/**
 * An access token's longest life, seconds: `ACCESS_TOKEN_TTL`, but never more than half
 * the session's idle timeout, nor past its idle or absolute end (`AccessTokens.issueFor`,
 * packages/latchkey/src/core/access-tokens.ts), so a client in steady use renews it
 * before the session goes idle.
 */
export function accessLifetimeOf(idleTimeout: number, policy: Policy): number {
  return Math.min(policy.accessTokenTtl, Math.floor(idleTimeout / 2));
}
