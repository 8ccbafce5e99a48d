/**
 * Row ↔ record conversions.
 */
import type { Selectable } from "kysely";
import type {
  ChangeKind,
  ChangeRecord,
  EventRecord,
  EventType,
  RefreshTokenRecord,
  SessionKind,
  SessionRecord,
  SigningKeyRecord,
  UserRecord,
} from "../../core/records.js";
import type {
  ChangesTable,
  EventsTable,
  RefreshTokensTable,
  SessionsTable,
  SigningKeysTable,
  UsersTable,
} from "./schema.js";

// PostgreSQL's BIGINT arrives as a string unless the driver is told otherwise; Number()
// accepts both.
const n = (value: number | string | bigint): number => Number(value);
const nOrNull = (value: number | string | bigint | null): number | null => (value === null ? null : n(value));

export function toUser(row: Selectable<UsersTable>): UserRecord {
  return {
    id: row.id,
    username: row.username,
    passwordHash: row.password_hash,
    createdAt: n(row.created_at),
    disabledAt: nOrNull(row.disabled_at),
  };
}

export function fromUser(user: UserRecord): Selectable<UsersTable> {
  return {
    id: user.id,
    username: user.username,
    password_hash: user.passwordHash,
    created_at: user.createdAt,
    disabled_at: user.disabledAt,
  };
}

export function toSession(row: Selectable<SessionsTable>): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    secretHash: row.secret_hash,
    kind: row.kind as SessionKind,
    remember: n(row.remember) === 1,
    createdAt: n(row.created_at),
    lastSeenAt: n(row.last_seen_at),
    expiresAt: n(row.expires_at),
    idleTimeoutMs: n(row.idle_timeout_ms),
    idleExpiresAt: n(row.idle_expires_at),
    ip: row.ip,
    userAgent: row.user_agent,
  };
}

export function fromSession(session: SessionRecord): Selectable<SessionsTable> {
  return {
    id: session.id,
    user_id: session.userId,
    secret_hash: session.secretHash,
    kind: session.kind,
    remember: session.remember ? 1 : 0,
    created_at: session.createdAt,
    last_seen_at: session.lastSeenAt,
    expires_at: session.expiresAt,
    idle_timeout_ms: session.idleTimeoutMs,
    idle_expires_at: session.idleExpiresAt,
    ip: session.ip,
    user_agent: session.userAgent,
  };
}

export function toEvent(row: Omit<Selectable<EventsTable>, "seq">): EventRecord {
  return {
    id: row.id,
    userId: row.user_id,
    type: row.type as EventType,
    at: n(row.at),
    sessionId: row.session_id,
    ip: row.ip,
    userAgent: row.user_agent,
  };
}

export function toChange(row: Pick<Selectable<ChangesTable>, "seq" | "kind" | "subject" | "at">): ChangeRecord {
  return { seq: n(row.seq), kind: row.kind as ChangeKind, subject: row.subject, at: n(row.at) };
}

export function toRefreshToken(row: Selectable<RefreshTokensTable>): RefreshTokenRecord {
  return {
    id: row.id,
    sessionId: row.session_id,
    secretHash: row.secret_hash,
    createdAt: n(row.created_at),
    expiresAt: n(row.expires_at),
    rotatedAt: nOrNull(row.rotated_at),
  };
}

export function toSigningKey(row: Selectable<SigningKeysTable>): SigningKeyRecord {
  return {
    kid: row.kid,
    alg: row.alg as SigningKeyRecord["alg"],
    publicJwk: row.public_jwk,
    privateJwk: row.private_jwk,
    createdAt: n(row.created_at),
    retiredAt: nOrNull(row.retired_at),
  };
}
