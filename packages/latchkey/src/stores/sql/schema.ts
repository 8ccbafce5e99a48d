/**
 * The tables, as Kysely sees them. One schema for SQLite and PostgreSQL: times are
 * integer milliseconds, booleans are 0/1 integers, ids are text.
 */
import type { Generated } from "kysely";

export interface UsersTable {
  id: string;
  username: string;
  password_hash: string;
  created_at: number;
  disabled_at: number | null;
  /** The role names as a JSON array (`["admin","user"]`): names never need escaping. */
  roles: string;
  roles_at: number;
  /**
   * The normalised address, unique (SQLite and PostgreSQL both let any number of rows
   * have none). Not on the request path: the session lookup never selects it.
   */
  email: string | null;
  email_verified_at: number | null;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  secret_hash: string;
  kind: string;
  remember: number;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  idle_timeout_ms: number;
  idle_expires_at: number;
  ip: string;
  user_agent: string;
  /** The secret's hash before the last renewal; null before the first and after a password change. */
  previous_secret_hash: string | null;
  /** When the secret last changed (at login, `created_at`). */
  secret_rotated_at: number;
  /** When the person last proved who they are (ms); 0 from an instance of before: `created_at`. */
  auth_time: number;
  /** How: a JSON array of RFC 8176 method names. */
  amr: string;
}

export interface EventsTable {
  seq: Generated<number>;
  id: string;
  user_id: string;
  type: string;
  at: number;
  session_id: string | null;
  ip: string;
  user_agent: string;
  /** More about the event as JSON, or null. */
  detail: string | null;
}

export interface CountersTable {
  key: string;
  count: number;
  reset_at: number;
}

export interface ChangesTable {
  seq: Generated<number>;
  /** PostgreSQL only: the order readers see (commit order); null until numbered. */
  pos?: number | null;
  kind: string;
  subject: string;
  at: number;
}

export interface ServicesTable {
  id: string;
  name: string;
  secret_hash: string;
  created_at: number;
  revoked_at: number | null;
}

export interface SecretsTable {
  name: string;
  value: string;
  created_at: number;
}

export interface RefreshTokensTable {
  id: string;
  session_id: string;
  secret_hash: string;
  created_at: number;
  expires_at: number;
  rotated_at: number | null;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: string;
  private_jwk: string;
  created_at: number;
  retired_at: number | null;
}

/** The single-use tokens of mailed links; only the secret's hash is kept. */
export interface LinkTokensTable {
  id: string;
  user_id: string;
  /** A `LinkPurpose`: `verify_email`, `reset_password` or `revert_email`. */
  purpose: string;
  secret_hash: string;
  email: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

/** Second factors (TOTP secrets sealed; passkeys' public keys). */
export interface FactorsTable {
  id: string;
  user_id: string;
  /** A `FactorKind`: `totp` or `passkey`. */
  kind: string;
  name: string;
  secret: string | null;
  credential_id: string | null;
  public_key: string | null;
  sign_count: number | null;
  transports: string | null;
  created_at: number;
  confirmed_at: number | null;
  last_used_at: number | null;
  last_step: number | null;
}

/** Recovery codes: only the SHA-256 of each is kept. */
export interface RecoveryCodesTable {
  user_id: string;
  code_hash: string;
  created_at: number;
  used_at: number | null;
}

/** The states between two steps of a sign-in; only the secret's hash is kept. */
export interface ChallengesTable {
  id: string;
  user_id: string | null;
  /** A `ChallengePurpose`. */
  purpose: string;
  secret_hash: string;
  data: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  failures: Generated<number>;
}

/** The admin audit log: no foreign key, it outlives the users it names. */
export interface AdminEventsTable {
  id: string;
  at: number;
  actor_id: string | null;
  actor_username: string | null;
  action: string;
  target_id: string;
  target_username: string;
  ip: string;
  user_agent: string;
  detail: string | null;
}

export interface Database {
  admin_events: AdminEventsTable;
  challenges: ChallengesTable;
  factors: FactorsTable;
  recovery_codes: RecoveryCodesTable;
  link_tokens: LinkTokensTable;
  refresh_tokens: RefreshTokensTable;
  signing_keys: SigningKeysTable;
  users: UsersTable;
  sessions: SessionsTable;
  events: EventsTable;
  counters: CountersTable;
  changes: ChangesTable;
  secrets: SecretsTable;
  services: ServicesTable;
}
