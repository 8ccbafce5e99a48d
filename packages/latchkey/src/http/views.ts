/**
 * Records to the JSON shapes of the contract. Times become ISO 8601; nothing secret
 * (password hash, secret hash) is ever copied.
 */

import { memoize } from "../core/memo.js";
import type { AuditRecord, EventRecord, SessionRecord, UserProfile } from "../core/records.js";
import { describeDevice } from "./device.js";
import type { AdminUserView, AuditEventView, EventView, SessionView, UserView } from "./schemas.js";

/**
 * ISO 8601 of an epoch-milliseconds time, as `new Date(ms).toISOString()`. The times a
 * response shows repeat on every request that shows them (a session's, a list of
 * to-dos'), and `toISOString` costs about as much as the session lookup (measured here:
 * ~0.9 µs against ~30 ns for a memo hit), so the last several thousand are kept.
 *
 * @example
 * isoTime(0); // "1970-01-01T00:00:00.000Z"
 */
export const isoTime: (ms: number) => string = memoize((ms: number) => new Date(ms).toISOString(), 8192);

/** @example userView(user) // { id, username, createdAt } */
export function userView(user: UserProfile): UserView {
  return { id: user.id, username: user.username, createdAt: isoTime(user.createdAt) };
}

/**
 * The signed-in user as login, `/auth/me` and the in-memory refresh show them: with roles.
 * @example signedInUserView(valid.user) // { id, username, createdAt, roles: ["user"] }
 */
export function signedInUserView(user: UserProfile): UserView & { roles: readonly string[] } {
  return { id: user.id, username: user.username, createdAt: isoTime(user.createdAt), roles: user.roles };
}

/** @example sessionView(session, request.auth.session.id) */
export function sessionView(session: SessionRecord, currentId: string | null): SessionView {
  return {
    id: session.id,
    strategy: session.kind,
    createdAt: isoTime(session.createdAt),
    lastSeenAt: isoTime(session.lastSeenAt),
    expiresAt: isoTime(session.expiresAt),
    idleExpiresAt: isoTime(session.idleExpiresAt),
    ip: session.ip,
    userAgent: session.userAgent,
    device: describeDevice(session.userAgent),
    current: session.id === currentId,
    authTime: isoTime(session.authTime),
    amr: [...session.amr],
  };
}

/** @example eventView(event) */
export function eventView(event: EventRecord): EventView {
  return {
    id: event.id,
    type: event.type,
    at: isoTime(event.at),
    ...(event.sessionId !== null && { sessionId: event.sessionId }),
    ip: event.ip,
    userAgent: event.userAgent,
    ...detailOf(event.detail),
  };
}

/**
 * What an event's detail adds to its view: the other client (`session_reuse_detected`),
 * how many sessions ended (`logout_others`).
 */
function detailOf(detail: string | null): {
  other?: { ip: string; userAgent: string };
  ended?: number;
  left?: number;
} {
  if (detail === null) return {};
  try {
    const parsed = JSON.parse(detail) as { ip?: unknown; userAgent?: unknown; ended?: unknown; left?: unknown };
    if (typeof parsed.ip === "string" && typeof parsed.userAgent === "string") {
      return { other: { ip: parsed.ip, userAgent: parsed.userAgent } };
    }
    if (Number.isSafeInteger(parsed.ended)) return { ended: parsed.ended as number };
    if (Number.isSafeInteger(parsed.left)) return { left: parsed.left as number };
  } catch {
    // Not ours to show.
  }
  return {};
}

/** @example adminUserView(user) // { id, username, createdAt, disabledAt, roles } */
export function adminUserView(user: UserProfile): AdminUserView {
  return {
    id: user.id,
    username: user.username,
    createdAt: isoTime(user.createdAt),
    disabledAt: user.disabledAt === null ? null : isoTime(user.disabledAt),
    roles: [...user.roles],
  };
}

/** @example auditEventView(record) // { id, at, actor, action, target, ip, userAgent, detail } */
export function auditEventView(record: AuditRecord): AuditEventView {
  return {
    id: record.id,
    at: isoTime(record.at),
    actor: record.actorId === null ? null : { id: record.actorId, username: record.actorUsername ?? "" },
    action: record.action,
    target: { id: record.targetId, username: record.targetUsername },
    ip: record.ip,
    userAgent: record.userAgent,
    detail: parseDetail(record.detail),
  };
}

/** The stored detail, an object; anything else (a row written by hand) reads as none. */
function parseDetail(detail: string | null): Record<string, unknown> | null {
  if (detail === null) return null;
  try {
    const value: unknown = JSON.parse(detail);
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
