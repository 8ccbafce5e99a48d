/**
 * Row ↔ record conversions.
 */
import type { Selectable } from "kysely";
import type {
  AdminAction,
  AuditRecord,
  ChallengePurpose,
  ChallengeRecord,
  ChangeKind,
  ChangeRecord,
  EventRecord,
  EventType,
  FactorKind,
  FactorRecord,
  LinkPurpose,
  LinkTokenRecord,
  RefreshTokenRecord,
  SessionKind,
  SessionRecord,
  SigningKeyRecord,
  UserRecord,
} from "../../core/records.js";
import type {
  AdminEventsTable,
  ChallengesTable,
  ChangesTable,
  EventsTable,
  FactorsTable,
  LinkTokensTable,
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
    roles: parseRoles(row.roles),
    rolesAt: n(row.roles_at),
    email: row.email,
    emailVerifiedAt: nOrNull(row.email_verified_at),
  };
}

export function fromUser(user: UserRecord): Selectable<UsersTable> {
  return {
    id: user.id,
    username: user.username,
    password_hash: user.passwordHash,
    created_at: user.createdAt,
    disabled_at: user.disabledAt,
    roles: JSON.stringify(user.roles),
    roles_at: user.rolesAt,
    // `?? null`: a record built before email existed (no such field) has none.
    email: user.email ?? null,
    email_verified_at: user.emailVerifiedAt ?? null,
  };
}

/** The `roles` column (a JSON array of names) as a list; anything else reads as `["user"]`. */
export function parseRoles(text: string): string[] {
  return parseNames(text, ["user"], parsedRoles);
}

const parsedRoles = new Map<string, string[]>();

/** The `amr` column (a JSON array of method names) as a list; anything else reads as `["pwd"]`. */
export function parseAmr(text: string): string[] {
  return parseNames(text, ["pwd"], parsedAmr);
}

const parsedAmr = new Map<string, string[]>();

function parseNames(text: string, fallback: string[], cache: Map<string, string[]>): string[] {
  // A deployment has a handful of distinct lists: each is parsed once, on the request
  // path of every cookie session, and shared frozen (a caller that tried to change one
  // would throw, not change another user's).
  const known = cache.get(text);
  if (known) return known;
  const names: unknown = JSON.parse(text);
  const parsed = Object.freeze(
    Array.isArray(names) && names.length > 0 && names.every((r) => typeof r === "string") ? names : fallback,
  ) as string[];
  if (cache.size >= 256) cache.clear();
  cache.set(text, parsed);
  return parsed;
}

/**
 * A `LIKE` pattern (with `escape '\'`) that finds `"role"` in the `roles` column: role
 * names are `[a-z][a-z0-9_-]*`, so the quoted name matches exactly that element, its `_`
 * escaped (a wildcard otherwise).
 */
export const rolePattern = (role: string): string => `%${escapeLike(JSON.stringify(role))}%`;

/** `text` with `LIKE`'s wildcards (and the escape character) escaped for `escape '\'`. */
export const escapeLike = (text: string): string => text.replace(/[\\%_]/g, "\\$&");

export function toAudit(row: Selectable<AdminEventsTable>): AuditRecord {
  return {
    id: row.id,
    at: n(row.at),
    actorId: row.actor_id,
    actorUsername: row.actor_username,
    action: row.action as AdminAction,
    targetId: row.target_id,
    targetUsername: row.target_username,
    ip: row.ip,
    userAgent: row.user_agent,
    detail: row.detail,
  };
}

export function fromAudit(record: AuditRecord): Selectable<AdminEventsTable> {
  return {
    id: record.id,
    at: record.at,
    actor_id: record.actorId,
    actor_username: record.actorUsername,
    action: record.action,
    target_id: record.targetId,
    target_username: record.targetUsername,
    ip: record.ip,
    user_agent: record.userAgent,
    detail: record.detail,
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
    previousSecretHash: row.previous_secret_hash,
    // 0: written by an instance from before renewal (a rolling upgrade): renewed at login.
    secretRotatedAt: n(row.secret_rotated_at) || n(row.created_at),
    // 0 (the column's default): written by an instance from before re-authentication.
    authTime: n(row.auth_time) || n(row.created_at),
    amr: parseAmr(row.amr),
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
    previous_secret_hash: session.previousSecretHash,
    secret_rotated_at: session.secretRotatedAt,
    auth_time: session.authTime,
    amr: JSON.stringify(session.amr),
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
    detail: row.detail,
  };
}

export function fromEvent(event: EventRecord): Omit<Selectable<EventsTable>, "seq"> {
  return {
    id: event.id,
    user_id: event.userId,
    type: event.type,
    at: event.at,
    session_id: event.sessionId,
    ip: event.ip,
    user_agent: event.userAgent,
    detail: event.detail,
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

export function toLinkToken(row: Selectable<LinkTokensTable>): LinkTokenRecord {
  return {
    id: row.id,
    userId: row.user_id,
    purpose: row.purpose as LinkPurpose,
    secretHash: row.secret_hash,
    email: row.email,
    createdAt: n(row.created_at),
    expiresAt: n(row.expires_at),
    usedAt: nOrNull(row.used_at),
  };
}

export function fromLinkToken(token: LinkTokenRecord): Selectable<LinkTokensTable> {
  return {
    id: token.id,
    user_id: token.userId,
    purpose: token.purpose,
    secret_hash: token.secretHash,
    email: token.email,
    created_at: token.createdAt,
    expires_at: token.expiresAt,
    used_at: token.usedAt,
  };
}

export function toFactor(row: Selectable<FactorsTable>): FactorRecord {
  return {
    id: row.id,
    userId: row.user_id,
    kind: row.kind as FactorKind,
    name: row.name,
    secret: row.secret,
    credentialId: row.credential_id,
    publicKey: row.public_key,
    signCount: nOrNull(row.sign_count),
    transports: row.transports,
    createdAt: n(row.created_at),
    confirmedAt: nOrNull(row.confirmed_at),
    lastUsedAt: nOrNull(row.last_used_at),
    lastStep: nOrNull(row.last_step),
  };
}

export function fromFactor(factor: FactorRecord): Selectable<FactorsTable> {
  return {
    id: factor.id,
    user_id: factor.userId,
    kind: factor.kind,
    name: factor.name,
    secret: factor.secret,
    credential_id: factor.credentialId,
    public_key: factor.publicKey,
    sign_count: factor.signCount,
    transports: factor.transports,
    created_at: factor.createdAt,
    confirmed_at: factor.confirmedAt,
    last_used_at: factor.lastUsedAt,
    last_step: factor.lastStep,
  };
}

export function toChallenge(row: Selectable<ChallengesTable>): ChallengeRecord {
  return {
    id: row.id,
    userId: row.user_id,
    purpose: row.purpose as ChallengePurpose,
    secretHash: row.secret_hash,
    data: row.data,
    createdAt: n(row.created_at),
    expiresAt: n(row.expires_at),
    usedAt: nOrNull(row.used_at),
    failures: n(row.failures),
  };
}

export function fromChallenge(challenge: ChallengeRecord): Selectable<ChallengesTable> {
  return {
    id: challenge.id,
    user_id: challenge.userId,
    purpose: challenge.purpose,
    secret_hash: challenge.secretHash,
    data: challenge.data,
    created_at: challenge.createdAt,
    expires_at: challenge.expiresAt,
    used_at: challenge.usedAt,
    failures: challenge.failures,
  };
}
