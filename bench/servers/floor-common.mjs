// What the floors (floor.mjs, floor-postgres.mjs) share: the session lookup's columns, the
// cookie, the check of a looked-up row, and the answer of `GET /auth/me`. Rows come in the
// order of SESSION_COLUMNS; PostgreSQL's BIGINT arrives as a string, SQLite's integers as
// numbers, and Number() reads both.
import { hash, timingSafeEqual } from "node:crypto";
// The device list's description of the User-Agent, as latchkey answers it (bowser, memoised).
import { describeDevice } from "../../dist/http/device.js";

export const SESSION_COLUMNS = `s.id, s.secret_hash, s.kind, s.created_at, s.last_seen_at, s.expires_at,
  s.idle_expires_at, s.ip, s.user_agent, u.id, u.username, u.created_at, u.disabled_at`;

const COOKIE = /(?:^|;\s*)__Host-sid=([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})(?:;|$)/;

/** The session id and secret of a request's `__Host-sid` cookie, or null. */
export function sessionCookie(request) {
  const match = COOKIE.exec(request.headers.cookie ?? "");
  return match ? { id: match[1], secret: match[2] } : null;
}

/** Whether a looked-up row is a live session whose secret hash matches. */
export function isLive(row, secret) {
  const now = Date.now();
  return (
    row !== undefined &&
    timingSafeEqual(Buffer.from(hash("sha256", secret, "base64url")), Buffer.from(row[1])) &&
    now < Number(row[5]) &&
    now < Number(row[6]) &&
    row[12] === null
  );
}

// Times formatted once each (latchkey memoises them too: a session's and a list's times
// repeat on every request).
const isoCache = new Map();
export function iso(ms) {
  let text = isoCache.get(ms);
  if (text === undefined) {
    if (isoCache.size >= 10_000) isoCache.clear();
    text = new Date(Number(ms)).toISOString();
    isoCache.set(ms, text);
  }
  return text;
}

/** The answer of `GET /auth/me` for a live row. */
export function meAnswer(row) {
  return {
    user: { id: row[9], username: row[10], createdAt: iso(row[11]) },
    session: {
      id: row[0],
      strategy: row[2],
      createdAt: iso(row[3]),
      lastSeenAt: iso(row[4]),
      expiresAt: iso(row[5]),
      idleExpiresAt: iso(row[6]),
      ip: row[7],
      userAgent: row[8],
      device: describeDevice(row[8]),
      current: true,
    },
  };
}

export const unauthenticated = (reply) =>
  reply.code(401).send({ error: "unauthenticated", message: "Sign in to continue." });
