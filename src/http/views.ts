/**
 * Records to the JSON shapes of the contract. Times become ISO 8601; nothing secret
 * (password hash, secret hash) is ever copied.
 */

import { memoize } from "../core/memo.js";
import type { EventRecord, SessionRecord, UserProfile } from "../core/records.js";
import { describeDevice } from "./device.js";
import type { EventView, SessionView, UserView } from "./schemas.js";

/**
 * ISO 8601 of an epoch-milliseconds time. A session's times repeat on every request that
 * shows it (and `toISOString` costs about as much as the session lookup), so the last
 * few thousand are kept.
 */
const iso = memoize((ms: number) => new Date(ms).toISOString(), 4096);

/** @example userView(user) // { id, username, createdAt } */
export function userView(user: UserProfile): UserView {
  return { id: user.id, username: user.username, createdAt: iso(user.createdAt) };
}

/** @example sessionView(session, request.auth.session.id) */
export function sessionView(session: SessionRecord, currentId: string | null): SessionView {
  return {
    id: session.id,
    strategy: session.kind,
    createdAt: iso(session.createdAt),
    lastSeenAt: iso(session.lastSeenAt),
    expiresAt: iso(session.expiresAt),
    idleExpiresAt: iso(session.idleExpiresAt),
    ip: session.ip,
    userAgent: session.userAgent,
    device: describeDevice(session.userAgent),
    current: session.id === currentId,
  };
}

/** @example eventView(event) */
export function eventView(event: EventRecord): EventView {
  return {
    id: event.id,
    type: event.type,
    at: iso(event.at),
    ...(event.sessionId !== null && { sessionId: event.sessionId }),
    ip: event.ip,
    userAgent: event.userAgent,
  };
}
