// What the floors (floor.mjs, floor-postgres.mjs) share: the cookie, the check of a
// looked-up row, and the answer of `GET /auth/me`. They run latchkey's own request-path
// SQL (`sessionLookupSql`, `todoListSql`, rows as arrays in its column order) and format
// times and devices with its own memoised helpers, and build the answer straight from the
// row. PostgreSQL's BIGINT arrives as a string, SQLite's integers as numbers, and Number()
// reads both.
import { hash, timingSafeEqual } from "node:crypto";
import { DEFAULT_SESSION_POLICY } from "../../packages/latchkey/dist/core/auth.js";
import { RoleModel } from "../../packages/latchkey/dist/core/roles.js";
import { describeDevice } from "../../packages/latchkey/dist/http/device.js";
import { isoTime } from "../../packages/latchkey/dist/http/views.js";
import { parseRoles } from "../../packages/latchkey/dist/stores/sql/rows.js";
import { PRODUCT_ACCESS } from "../../packages/server/dist/app/auth-options.js";

export { sessionLookupSql } from "../../packages/latchkey/dist/stores/sql/request-path.js";
export { todoListSql } from "../../packages/server/dist/app/todo-store.js";

const COOKIE = /(?:^|;\s*)__Host-sid=([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})(?:;|$)/;

/** The session id and secret of a request's `__Host-sid` cookie, or null. */
export function sessionCookie(request) {
  const match = COOKIE.exec(request.headers.cookie ?? "");
  return match ? { id: match[1], secret: match[2] } : null;
}

/** A time column as ISO 8601. */
export const iso = (ms) => isoTime(Number(ms));

// Columns of a `sessionLookupSql` row (SessionLookupRow in packages/latchkey/src/stores/sql/request-path.ts).
const ID = 0;
const USER_ID = 1;
const SECRET_HASH = 2;
const KIND = 3;
const CREATED = 5;
const LAST_SEEN = 6;
const EXPIRES = 7;
const IDLE_EXPIRES = 9;
const IP = 10;
const AGENT = 11;
const USERNAME = 12;
const USER_CREATED = 13;
const DISABLED = 14;
const ROLES = 15;
const SECRET_RENEWED = 18;
const AUTH_TIME = 19;
const AMR = 20;

// The server's role model and renewal schedule (its defaults), as latchkey's answer uses them.
const roles = new RoleModel(PRODUCT_ACCESS);
const RENEW_MS = DEFAULT_SESSION_POLICY.rotateInterval * 1000;
const GRACE_SECONDS = DEFAULT_SESSION_POLICY.rotateGrace;

/** `amr` as stored (JSON), parsed once per distinct value, as latchkey's lookup does. */
const amrs = new Map();
function parseAmr(raw) {
  let amr = amrs.get(raw);
  if (amr === undefined) {
    amr = JSON.parse(raw);
    if (amrs.size < 64) amrs.set(raw, amr);
  }
  return amr;
}

/** Whether a looked-up row is a live session whose secret hash matches. */
export function isLive(row, secret) {
  const now = Date.now();
  return (
    row !== undefined &&
    timingSafeEqual(Buffer.from(hash("sha256", secret, "base64url")), Buffer.from(row[SECRET_HASH])) &&
    now < Number(row[EXPIRES]) &&
    now < Number(row[IDLE_EXPIRES]) &&
    row[DISABLED] === null
  );
}

/** The user id of a looked-up row. */
export const userIdOf = (row) => row[USER_ID];

/** The session id of a looked-up row. */
export const sessionIdOf = (row) => row[ID];

/** The answer of `GET /auth/me` for a live row. */
export function meAnswer(row) {
  const userRoles = parseRoles(row[ROLES]);
  const renewedAt = Number(row[SECRET_RENEWED]) || Number(row[CREATED]);
  return {
    user: { id: row[USER_ID], username: row[USERNAME], createdAt: iso(row[USER_CREATED]), roles: userRoles },
    session: {
      id: row[ID],
      strategy: row[KIND],
      createdAt: iso(row[CREATED]),
      lastSeenAt: iso(row[LAST_SEEN]),
      expiresAt: iso(row[EXPIRES]),
      idleExpiresAt: iso(row[IDLE_EXPIRES]),
      ip: row[IP],
      userAgent: row[AGENT],
      device: describeDevice(row[AGENT]),
      current: true,
      authTime: iso(Number(row[AUTH_TIME]) || Number(row[CREATED])),
      amr: parseAmr(row[AMR]),
    },
    permissions: roles.permissionsOf(userRoles),
    secret: { renewedAt: iso(renewedAt), renewsAfter: iso(renewedAt + RENEW_MS), graceSeconds: GRACE_SECONDS },
  };
}

export const unauthenticated = (reply) =>
  reply.code(401).send({ error: "unauthenticated", message: "Sign in to continue." });
