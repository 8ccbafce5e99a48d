/**
 * What the stores keep. Times are milliseconds since the epoch; ids are strings.
 */

/**
 * An account. `username` is the normalised form (see `parseUsername`).
 * @example
 * const found: UserRecord | null = await stores.users.findByUsername("alice");
 */
export interface UserRecord {
  id: string;
  username: string;
  passwordHash: string;
  createdAt: number;
  /** When the account was disabled, or `null` while it is enabled. */
  disabledAt: number | null;
  /**
   * The user's role names (`docs/roles.md`): never empty, sorted, no repeats; `["user"]`
   * unless changed. Names the app no longer declares are kept and grant nothing.
   */
  roles: string[];
  /**
   * When `roles` last changed (ms), or when the user was created. Access tokens carry it
   * (`roles_at`): a token whose value is older than the user's latest `roles_changed`
   * entry on the change feed is refused, wherever it is checked.
   */
  rolesAt: number;
  /**
   * The account's email address in normalised form (`parseEmail`: trimmed, the domain in
   * lower-case ASCII, the local part NFC and lower-cased), unique among users; `null` when
   * the account has none (`docs/accounts.md`).
   */
  email: string | null;
  /** When `email` was proved by a mailed link, or `null` while it is unverified (or absent). */
  emailVerifiedAt: number | null;
}

/**
 * A user as the request path sees it: everything but the password hash and the email
 * address, which only the account operations read (from the user store). A session lookup
 * never reads more than it needs to authorise.
 * @example
 * const valid = await auth.sessions.findLive(sessionId);
 * const profile: UserProfile | undefined = valid?.user; // no password hash, no address
 */
export type UserProfile = Omit<UserRecord, "passwordHash" | "email" | "emailVerifiedAt">;

/**
 * What a mailed link is for (`docs/accounts.md`): proving an address, resetting a
 * forgotten password, or undoing an email change from the old address.
 * @example
 * const purpose: LinkPurpose = "reset_password";
 */
export type LinkPurpose = "verify_email" | "reset_password" | "revert_email";

/**
 * A single-use link token. Like a session token it is `id.secret`; only the secret's
 * SHA-256 is stored, so a copy of the store mails nobody a working link.
 * @example
 * const link: LinkTokenRecord | null = await stores.links.find("token-id");
 */
export interface LinkTokenRecord {
  id: string;
  userId: string;
  purpose: LinkPurpose;
  secretHash: string;
  /**
   * The address the link was mailed to and is about: for `verify_email` the address it
   * proves (a new one, for an email change), for `reset_password` the account's address
   * then, for `revert_email` the old address to restore.
   */
  email: string;
  createdAt: number;
  expiresAt: number;
  /** When it was used, or `null` while it is unused. */
  usedAt: number | null;
}

/**
 * What a second factor is: an authenticator app's shared secret (TOTP, RFC 6238) or a
 * passkey (WebAuthn).
 * @example
 * const kind: FactorKind = "totp";
 */
export type FactorKind = "totp" | "passkey";

/**
 * A second factor of a user (`docs/accounts.md`, "Second factors"). A TOTP factor is
 * pending until its first code is confirmed (`confirmedAt`): until then it protects nothing.
 * @example
 * const factors: FactorRecord[] = await stores.factors.listByUser(userId);
 * const protectedBy = factors.filter((f) => f.confirmedAt !== null);
 */
export interface FactorRecord {
  /** 22 random base64url characters. */
  id: string;
  userId: string;
  kind: FactorKind;
  /** A name its owner gives it ("Phone", "YubiKey 5"). */
  name: string;
  /** TOTP: the shared secret, sealed (AES-256-GCM under a server key, `FactorKeys`); `null` for a passkey. */
  secret: string | null;
  /** Passkey: the credential id, base64url (unique among factors); `null` for TOTP. */
  credentialId: string | null;
  /** Passkey: the COSE public key, base64url; `null` for TOTP. */
  publicKey: string | null;
  /** Passkey: the authenticator's signature counter when last used; `null` for TOTP. */
  signCount: number | null;
  /** Passkey: the transports its authenticator reported, comma-separated; `null` when none. */
  transports: string | null;
  createdAt: number;
  /** When enrolment was confirmed; `null` while pending. */
  confirmedAt: number | null;
  lastUsedAt: number | null;
  /** TOTP: the time step (Unix seconds / 30) of the last code accepted, so none is accepted twice. */
  lastStep: number | null;
}

/**
 * What a challenge is for: the second step of a password sign-in (`second_factor`), or a
 * WebAuthn ceremony (`passkey_register`, `passkey_sign_in`).
 * @example
 * const purpose: ChallengePurpose = "second_factor";
 */
export type ChallengePurpose = "second_factor" | "passkey_register" | "passkey_sign_in";

/**
 * A short-lived, single-use state between two requests of one sign-in (`docs/accounts.md`):
 * the token its client holds is `id.secret`, of which only the secret's SHA-256 is stored.
 * @example
 * const pending: ChallengeRecord | null = await stores.challenges.find(sessionId);
 */
export interface ChallengeRecord {
  id: string;
  /** Whose sign-in it continues; `null` before anyone is known (a passkey sign-in's first step). */
  userId: string | null;
  purpose: ChallengePurpose;
  secretHash: string;
  /** What the next step needs (JSON): how the first step signed in, the WebAuthn challenge. */
  data: string;
  createdAt: number;
  expiresAt: number;
  /** When it was used, or `null` while it is unused. */
  usedAt: number | null;
  /** Wrong answers so far. */
  failures: number;
}

/**
 * How a session was opened: by a browser under a cookie strategy, by a browser app that
 * keeps its access token in memory ("memory", `docs/client.md`), or by an API client ("bearer").
 * @example
 * const kind: SessionKind = session.kind; // "session" | "jwt" | "hybrid" | "bearer" | "memory"
 */
export type SessionKind = "session" | "jwt" | "hybrid" | "bearer" | "memory";

/**
 * A login. The public `id` may be listed, logged and put in a JWT `sid`; the secret that
 * authenticates it exists only in the client's cookie, and here only as `secretHash`.
 * @example
 * const live: SessionRecord[] = await auth.sessions.listLive(userId);
 */
export interface SessionRecord {
  id: string;
  userId: string;
  secretHash: string;
  /**
   * The hash of the secret before the last renewal (`docs/security.md`, "Session secrets
   * that renew"): accepted for `rotateGrace` after `secretRotatedAt` (racing requests,
   * other tabs), and after that proof that two parties hold the session. `null` before
   * the first renewal and after a password change.
   */
  previousSecretHash: string | null;
  /** When the secret was last replaced: at login, `createdAt`. */
  secretRotatedAt: number;
  kind: SessionKind;
  remember: boolean;
  createdAt: number;
  /** Written at most once per `touchInterval`; see `SessionManager`. */
  lastSeenAt: number;
  /** The absolute expiry: `createdAt` + the absolute timeout. */
  expiresAt: number;
  /** The idle timeout of this session, in ms (it depends on `remember`). */
  idleTimeoutMs: number;
  /** `min(lastSeenAt + idleTimeoutMs, expiresAt)`: the session is dead from this instant. */
  idleExpiresAt: number;
  ip: string;
  userAgent: string;
  /**
   * When the person last proved who they are in this session (ms): the sign-in, or the
   * latest re-authentication (`SessionManager.reauthenticate`). At sign-in, `createdAt`.
   * Sensitive actions ask that it be recent (`docs/accounts.md`, "Recent sign-in").
   */
  authTime: number;
  /**
   * How the person proved it then: RFC 8176 method names (`"pwd"` for a password; later
   * `"otp"`, `"hwk"`, `"swk"`...). Sorted, no repeats, never empty. Access tokens carry it
   * (`amr`).
   */
  amr: string[];
}

/**
 * Authentication methods (RFC 8176) in the form records keep: sorted, without repeats.
 * `["pwd"]` when none are given (an empty list would claim nothing was proved).
 * @example
 * const amr: string[] = normaliseAmr(["pwd", "otp", "pwd"]); // ["otp", "pwd"]
 */
export function normaliseAmr(amr: readonly string[] | undefined): string[] {
  const methods = [...new Set(amr ?? [])].sort();
  return methods.length > 0 ? methods : ["pwd"];
}

/**
 * A service that trusts latchkey's tokens (a resource server): its client id, and the hash
 * of its client secret (the secret itself is shown once, at creation, and never stored).
 *
 * @example
 * const services: ServiceRecord[] = (await stores.services?.list()) ?? [];
 */
export interface ServiceRecord {
  /** The client id: public, `svc_` and 22 random characters. */
  id: string;
  /** A unique name for people and the CLI (`latchkey services revoke billing`). */
  name: string;
  secretHash: string;
  createdAt: number;
  /** When it was revoked; a revoked service's credentials and tokens are refused. */
  revokedAt: number | null;
}

/** The security event types of the contract. */
export const EVENT_TYPES = [
  "login",
  "login_failed",
  "logout",
  "logout_all",
  "session_revoked",
  "password_changed",
  "refresh_reuse_detected",
  "account_disabled",
  "account_enabled",
  "roles_changed",
  "session_reuse_detected",
  "logout_others",
  "password_change_failed",
  "email_verified",
  "email_change_requested",
  "email_changed",
  "email_change_reverted",
  "password_reset_requested",
  "password_reset",
  "reauthenticated",
  "reauthentication_failed",
  "totp_enabled",
  "totp_disabled",
  "recovery_codes_generated",
  "recovery_code_used",
  "second_factor_failed",
  "second_factor_requested",
  "passkey_added",
  "passkey_removed",
  "passkey_rejected",
] as const;

/**
 * Why a session ended, as latchkey tells whoever presents its credential afterwards: the
 * `Latchkey-Session-Ended` header of the 401. The list only grows at its end: a reason's
 * place in it (from 1) is the count of the mark that remembers it (`SessionManager`).
 * `session_expired` (an idle or absolute timeout) is never marked: it is read from the
 * expired record while the store still holds it.
 * @example
 * const reason: SessionEndReason = "password_changed";
 */
export const SESSION_END_REASONS = [
  "signed_out",
  "session_revoked",
  "session_limit_reached",
  "signed_out_everywhere",
  "password_changed",
  "account_disabled",
  "account_deleted",
  "session_reuse_detected",
  "refresh_reuse_detected",
  "session_expired",
  "password_reset",
  "email_change_reverted",
] as const;

/**
 * One reason a session ended (`SESSION_END_REASONS`).
 * @example
 * if (error.sessionEnded === "password_changed") showPasswordNotice();
 */
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

/**
 * One security event type.
 * @example
 * const type: EventType = "login";
 */
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * A security event in a user's log.
 * @example
 * const events: EventRecord[] = await auth.log.list(userId);
 */
export interface EventRecord {
  id: string;
  userId: string;
  type: EventType;
  at: number;
  sessionId: string | null;
  ip: string;
  userAgent: string;
  /**
   * More about the event, as JSON, or `null`: for `session_reuse_detected`, the other
   * client (`{"ip":…,"userAgent":…}`, the session's own) beside the one in `ip` and
   * `userAgent` (who presented the superseded secret).
   */
  detail: string | null;
}

/**
 * A change other processes must learn about within a second: a session ended (its
 * cookies and access tokens must die everywhere), an account changed, keys rotated.
 * @example
 * const kind: ChangeKind = "session_ended";
 */
export type ChangeKind = "session_ended" | "user_changed" | "keys_changed" | "service_revoked" | "roles_changed";

/**
 * One entry of the change feed. `seq` grows with every publish, across processes.
 * @example
 * const changes: ChangeRecord[] = await stores.changes.read(0, Date.now() - 60_000, 100);
 */
export interface ChangeRecord {
  seq: number;
  kind: ChangeKind;
  /**
   * The session id, user id, or key id the change is about. For `roles_changed`, the user
   * id, and `at` is exactly the user's new `rolesAt`.
   */
  subject: string;
  at: number;
}

/** A fixed-window counter of the throttle. */
export interface CounterState {
  count: number;
  /** When the window ends and the count starts again from zero. */
  resetAt: number;
}

/**
 * A refresh token. Like a session token it is `id.secret` with only the secret's hash
 * stored. Single use: rotating it sets `rotatedAt`, and the row stays until its session
 * ends so that a second use of it can be recognised as theft.
 * @example
 * const record: RefreshTokenRecord | null = await stores.refreshTokens.find("token-id");
 */
export interface RefreshTokenRecord {
  id: string;
  sessionId: string;
  secretHash: string;
  createdAt: number;
  /** Unused past this instant, the token is dead: `min(createdAt + idle timeout, session expiry)`. */
  expiresAt: number;
  /** When it was exchanged for its successor, or `null` while it is the current one. */
  rotatedAt: number | null;
}

/**
 * The JOSE signature algorithms latchkey signs access tokens with.
 * @example
 * const alg: SigningAlgorithm = "EdDSA";
 */
export type SigningAlgorithm = "EdDSA" | "ES256" | "HS256";

/**
 * An asymmetric signing key, kept in the store so every instance signs and verifies with
 * the same keys. HS256 keys are never stored: they come from `JWT_SECRET`.
 * @example
 * const stored: SigningKeyRecord[] = await stores.keys.list();
 */
export interface SigningKeyRecord {
  kid: string;
  alg: "EdDSA" | "ES256";
  /** Public JWK, JSON. */
  publicJwk: string;
  /** Private JWK, JSON. Readable by anyone who can read the store. */
  privateJwk: string;
  createdAt: number;
  /** When a newer key replaced it; it verifies until its last token expires. */
  retiredAt: number | null;
}

/**
 * What an administrator did (`docs/roles.md`, "Audit log").
 * @example
 * const action: AdminAction = "roles_set";
 */
export type AdminAction =
  | "user_disabled"
  | "user_enabled"
  | "sessions_revoked"
  | "roles_set"
  | "user_deleted"
  | "factors_removed";

/**
 * One entry of the admin audit log: who did what to whom, when, from where. It outlives
 * both users (no foreign key): a deleted user's entries stay, with the username they had.
 * @example
 * const page: AuditRecord[] = await stores.audit.list({ limit: 50 });
 */
export interface AuditRecord {
  id: string;
  at: number;
  /** The administrator's user id and username then; `null` for the CLI (an operator on the machine). */
  actorId: string | null;
  actorUsername: string | null;
  action: AdminAction;
  targetId: string;
  targetUsername: string;
  ip: string;
  userAgent: string;
  /** What changed, as JSON (`{"from":["user"],"to":["admin","user"]}` for `roles_set`), or `null`. */
  detail: string | null;
}
