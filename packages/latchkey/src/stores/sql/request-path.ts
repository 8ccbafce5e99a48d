/**
 * The read on the request path (the session lookup), which both SQL backends run as prepared statements of their own with rows as arrays, outside
 * Kysely: the SQL and the row-to-record mapping they share. Columns come in a fixed order;
 * PostgreSQL's BIGINT arrives as a string and SQLite's integers as numbers, and Number()
 * reads both.
 */

import type { ValidSession } from "../../core/ports.js";
import type { SessionKind } from "../../core/records.js";
import { parseAmr, parseRoles } from "./rows.js";

/**
 * The session lookup: a session and its user's public fields (their current roles
 * included, so checking a role costs no second read), by the session id. Columns are
 * only ever added at the end (the session's previous secret and its renewal time came
 * after the user's, then when and how the person last proved who they are): the benches' floor servers read rows by position.
 * `param` is the driver's placeholder: `?` for SQLite, `$1` for PostgreSQL.
 */
export const sessionLookupSql = (param: string): string =>
  `select s.id, s.user_id, s.secret_hash, s.kind, s.remember, s.created_at, s.last_seen_at, s.expires_at,
          s.idle_timeout_ms, s.idle_expires_at, s.ip, s.user_agent, u.username, u.created_at, u.disabled_at,
          u.roles, u.roles_at, s.previous_secret_hash, s.secret_rotated_at, s.auth_time, s.amr
     from sessions s join users u on u.id = s.user_id where s.id = ${param}`;

/** A row of `sessionLookupSql`. */
export type SessionLookupRow = readonly [
  id: string,
  userId: string,
  secretHash: string,
  kind: string,
  remember: number | string,
  createdAt: number | string,
  lastSeenAt: number | string,
  expiresAt: number | string,
  idleTimeoutMs: number | string,
  idleExpiresAt: number | string,
  ip: string,
  userAgent: string,
  username: string,
  userCreatedAt: number | string,
  disabledAt: number | string | null,
  roles: string,
  rolesAt: number | string,
  previousSecretHash: string | null,
  secretRotatedAt: number | string,
  authTime: number | string,
  amr: string,
];

/** The session and user of a `sessionLookupSql` row. */
export function validSessionOf(row: SessionLookupRow): ValidSession {
  const userId = row[1];
  return {
    session: {
      id: row[0],
      userId,
      secretHash: row[2],
      kind: row[3] as SessionKind,
      remember: Number(row[4]) === 1,
      createdAt: Number(row[5]),
      lastSeenAt: Number(row[6]),
      expiresAt: Number(row[7]),
      idleTimeoutMs: Number(row[8]),
      idleExpiresAt: Number(row[9]),
      ip: row[10],
      userAgent: row[11],
      previousSecretHash: row[17],
      // 0: written by an instance from before renewal (a rolling upgrade): renewed at login.
      secretRotatedAt: Number(row[18]) || Number(row[5]),
      // 0 (the column's default): written by an instance from before re-authentication.
      authTime: Number(row[19]) || Number(row[5]),
      amr: parseAmr(row[20]),
    },
    user: {
      id: userId,
      username: row[12],
      createdAt: Number(row[13]),
      disabledAt: row[14] === null ? null : Number(row[14]),
      roles: parseRoles(row[15]),
      rolesAt: Number(row[16]),
    },
  };
}
