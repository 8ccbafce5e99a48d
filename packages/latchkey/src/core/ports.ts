/**
 * The store interfaces ("ports"). Each backend in `src/stores/*` implements them, and one
 * contract suite (`test/contract/`) holds every backend to the promises written here.
 *
 * Methods return `null`/`false` for "not there"; they throw only when the store itself
 * fails, and then a `StoreUnavailableError`.
 */
import type { Kysely, Migration } from "kysely";
import type {
  AuditRecord,
  ChallengeRecord,
  ChangeKind,
  ChangeRecord,
  CounterState,
  EventRecord,
  FactorKind,
  FactorRecord,
  LinkPurpose,
  LinkTokenRecord,
  RefreshTokenRecord,
  ServiceRecord,
  SessionRecord,
  SigningKeyRecord,
  UserProfile,
  UserRecord,
} from "./records.js";

/**
 * Accounts.
 * @example
 * const alice = await stores.users.findByUsername("alice");
 */
export interface UserStore {
  /**
   * Inserts `user`; `false` when its username or its email is taken (checked atomically by
   * the store: both are unique, and any number of users have no email).
   */
  create(user: UserRecord): Promise<boolean>;
  findById(id: string): Promise<UserRecord | null>;
  /** By normalised username. */
  findByUsername(username: string): Promise<UserRecord | null>;
  /** By normalised email address (`parseEmail`). */
  findByEmail(email: string): Promise<UserRecord | null>;
  /**
   * Sets the address (`null`: none) and when it was verified. `false` when there is no
   * such user; `"email_taken"` (nothing changed) when another user has that address,
   * checked atomically by the store.
   */
  setEmail(id: string, email: string | null, verifiedAt: number | null): Promise<boolean | "email_taken">;
  /** All users, by username. */
  list(): Promise<UserRecord[]>;
  /**
   * A page of users by username, after `after` (a username, exclusive), at most `limit`:
   * those whose username contains `query` (already normalised: lower case) and, with
   * `role`, that have it.
   */
  search(filter: UserSearch): Promise<UserRecord[]>;
  updatePasswordHash(id: string, passwordHash: string): Promise<boolean>;
  /**
   * `disabledAt` `null` enables. `false` when there is no such user; `"last_admin"` (and
   * nothing changed) when it would disable the last enabled admin (a user with the role
   * `admin` and no `disabledAt`).
   */
  setDisabled(id: string, disabledAt: number | null): Promise<boolean | "last_admin">;
  /**
   * Sets the user's roles (sorted, unique, never empty: the caller checks) and returns the
   * new `rolesAt`: `at`, or the stored `rolesAt + 1` when that is later, decided in the
   * same atomic write, so every change of one user gets a later `rolesAt` than the one
   * before it, whatever the clocks of concurrent writers say. `false` when there is no
   * such user; `"last_admin"` (nothing changed) when it would take `admin` from the last
   * enabled admin. Atomic across processes: of two concurrent calls that would each leave
   * one admin, one gets `"last_admin"`.
   */
  setRoles(id: string, roles: string[], at: number): Promise<number | false | "last_admin">;
  /**
   * Deletes the user with their sessions, to-dos and events. `"last_admin"` (nothing
   * deleted) for the last enabled admin, atomically as `setRoles`.
   */
  delete(id: string): Promise<boolean | "last_admin">;
}

/**
 * A `UserStore.search` filter.
 * @example
 * const admins = await stores.users.search({ query: "", role: "admin", limit: 50 });
 */
export interface UserSearch {
  /** A substring of the normalised username; `""` matches everyone. */
  query: string;
  role?: string;
  /** The last username of the previous page. */
  after?: string;
  limit: number;
}

/**
 * The admin audit log (`docs/roles.md`).
 * @example
 * const newest = await stores.audit.list({ limit: 20 });
 */
export interface AuditStore {
  append(record: AuditRecord): Promise<void>;
  /**
   * Newest first (by `at`, then `id`), at most `limit`, only those older than `before`
   * (the last entry of the previous page) when given, only about `targetId` when given.
   */
  list(filter: AuditFilter): Promise<AuditRecord[]>;
}

/**
 * An `AuditStore.list` filter.
 * @example
 * const [last] = (await stores.audit.list({ limit: 1 })).slice(-1);
 * const next = last ? await stores.audit.list({ limit: 50, before: { at: last.at, id: last.id } }) : [];
 */
export interface AuditFilter {
  limit: number;
  before?: { at: number; id: string };
  targetId?: string;
}

/**
 * Sessions.
 * @example
 * const found = await stores.sessions.findWithUser(sessionId); // one read
 */
export interface SessionStore {
  create(session: SessionRecord): Promise<void>;
  /**
   * The session and its user in one read: this is the whole per-request cost of a cookie
   * session. Returns expired sessions too; deciding liveness is the caller's job. The
   * user's `roles` and `rolesAt` are the current ones (a store that copies the user beside
   * the session rewrites the copies in `users.setRoles`).
   */
  findWithUser(id: string): Promise<ValidSession | null>;
  /** Records use; `false` when the session is gone. */
  touch(id: string, lastSeenAt: number, idleExpiresAt: number): Promise<boolean>;
  /**
   * Replaces the secret (password change) and forgets the previous one
   * (`previousSecretHash` `null`, `secretRotatedAt` `at`); `false` when the session is gone.
   */
  replaceSecret(id: string, secretHash: string, at: number): Promise<boolean>;
  /**
   * Renews the secret as the session is used, in one atomic step with the use it records:
   * only while the secret is still `expectedHash`, it becomes `previousSecretHash`,
   * `renewal.secretHash` the secret, `secretRotatedAt` `renewal.at`, and `lastSeenAt` and
   * `idleExpiresAt` as `touch` sets them. `true` for the one caller that did it; `false`
   * when another renewal (or a password change) came first, or the session is gone. Of
   * two concurrent calls with one `expectedHash`, exactly one gets `true`.
   */
  renewSecret(id: string, expectedHash: string, renewal: SecretRenewal): Promise<boolean>;
  /**
   * Records that the person proved who they are again: `authTime` becomes `at` and `amr`
   * the methods (already normalised, see `normaliseAmr`). Leaves the secret and the timeouts
   * alone. `false` when the session is gone.
   */
  reauthenticate(id: string, at: number, amr: string[]): Promise<boolean>;
  /** Deletes one session; returns it, or `null` when it was already gone. */
  delete(id: string): Promise<SessionRecord | null>;
  /** Deletes every session of a user but `exceptId`; returns the ids deleted. */
  deleteByUser(userId: string, exceptId?: string): Promise<string[]>;
  /** Sessions still alive at `now`, newest first; all users' when `userId` is omitted. */
  listLive(now: number, userId?: string): Promise<SessionRecord[]>;
  /**
   * The ids of `userId`'s sessions alive at `now`, `exceptId` left out, past the `keep`
   * most recently used (by `lastSeenAt`, then `createdAt`, then `id`, the latest first):
   * those a new sign-in's session cap ends. Optional: without it, the cap reads every live
   * session of the user as a record (`listLive`), a cost that grows with them (measured on
   * SQLite at the cap of 100: 0.63 ms a sign-in, against 0.12 ms for the ids). A wrapper
   * that changes what `listLive` or `create` see must change this too, or leave it out.
   */
  evictable?(userId: string, now: number, keep: number, exceptId: string): Promise<string[]>;
  /**
   * Deletes up to `limit` sessions dead at `now` (by the `idleExpiresAt` index, never a
   * full scan); returns how many it deleted, so the caller can repeat in small batches.
   */
  sweepExpired(now: number, limit: number): Promise<number>;
}

/**
 * What `SessionStore.renewSecret` writes. Times in ms.
 * @example
 * const now = Date.now();
 * const renewal: SecretRenewal = { secretHash: "sha256-of-the-new-secret", at: now, lastSeenAt: now, idleExpiresAt: now + 1_800_000 };
 */
export interface SecretRenewal {
  secretHash: string;
  at: number;
  lastSeenAt: number;
  idleExpiresAt: number;
}

/**
 * The security event log.
 * @example
 * const latest = await stores.events.listByUser(userId, 10);
 */
export interface EventStore {
  append(event: EventRecord): Promise<void>;
  /** The newest `limit` events of a user, newest first. */
  listByUser(userId: string, limit: number): Promise<EventRecord[]>;
  /**
   * Deletes up to `limit` events older than `before` (their `at`, ms), oldest first, and
   * answers how many: the maintenance sweep's retention (`eventRetentionDays`). Optional
   * for a store of your own; without it, its log is kept for ever, and setting
   * `eventRetentionDays` is refused at start-up.
   */
  sweepOlderThan?(before: number, limit: number): Promise<number>;
}

/**
 * Fixed-window counters for throttling, shared by every process on the store.
 * @example
 * const state = await stores.counters.hit("login:alice", 15 * 60_000, Date.now());
 */
export interface CounterStore {
  /**
   * Adds one to `key` and returns the new state. A counter whose window has ended starts
   * again at 1 with a new window of `windowMs`. Atomic: of N concurrent hits, the counts
   * returned are N distinct numbers.
   */
  hit(key: string, windowMs: number, now: number): Promise<CounterState>;
  /** The current state, or `null` when there is none or its window has ended. */
  peek(key: string, now: number): Promise<CounterState | null>;
  /**
   * Takes back one hit of the current window (never below zero); nothing when the window
   * has ended. Atomic like `hit`.
   */
  release(key: string, now: number): Promise<void>;
  reset(key: string): Promise<void>;
  /** Deletes counters whose window ended before `now`; returns how many. */
  sweepExpired(now: number): Promise<number>;
}

/**
 * The change feed between processes (revocations, account changes, key rotations).
 * `seq` numbers are assigned by the store and grow with every publish.
 *
 * Readers keep only the highest `seq` they have read (a cursor), so a store must make
 * changes readable in `seq` order: once a change with `seq` N can be read, no change with
 * a lower `seq` may become readable later, whatever concurrent writers do and however long
 * one holds its transaction open. (A database that numbers rows at INSERT and shows them
 * at COMMIT breaks this: PostgreSQL's store numbers committed rows instead.) A `seq`
 * may be skipped, never filled in late.
 * @example
 * const { epoch, seq } = await stores.changes.position();
 */
export interface ChangeFeed {
  publish(kind: ChangeKind, subject: string, at: number): Promise<void>;
  /**
   * Changes with `seq > afterSeq` and `at >= notBefore`, oldest first, at most `limit`: the
   * time filter applies before the limit, so older entries never crowd out newer ones.
   */
  read(afterSeq: number, notBefore: number, limit: number): Promise<ChangeRecord[]>;
  /**
   * Where the feed stands. `epoch` names the feed's history and changes when that history
   * is lost (Redis restarted without persistence, a failover to a replica that lacked it, a
   * new database); `seq` is the highest sequence number ever given in it, whether or not
   * that change was pruned since, `0` when none was. A reader that finds another epoch, or
   * a `seq` below one it has read, starts over: a quiet feed whose entries all aged out has
   * not lost its history.
   */
  position(): Promise<FeedPosition>;
  /** Deletes changes older than `before`; returns how many. */
  prune(before: number): Promise<number>;
  /**
   * Optional push: calls `wake` when new changes may be there, so a reader need not wait
   * for its next poll. Returns an unsubscribe function.
   */
  subscribe?(wake: () => void): () => void;
}

/** What `ChangeFeed.position` answers. */
export interface FeedPosition {
  epoch: string;
  seq: number;
}

/**
 * Server-wide secrets (the CSRF key; later, signing keys), created once and shared.
 * @example
 * const key = await stores.secrets.getOrCreate("my-app-key", crypto.randomUUID());
 */
export interface SecretStore {
  /**
   * The value stored under `name`; when there is none, stores `candidate` and returns it.
   * Atomic across processes: every caller gets the same value.
   */
  getOrCreate(name: string, candidate: string): Promise<string>;
}

/**
 * Refresh tokens. Deleting a session deletes its refresh tokens.
 * @example
 * const record = await stores.refreshTokens.find("token-id");
 */
export interface RefreshTokenStore {
  create(token: RefreshTokenRecord): Promise<void>;
  find(id: string): Promise<RefreshTokenRecord | null>;
  /**
   * Marks the token rotated at `now` if it is still current; `true` for the one caller
   * that did. Of two concurrent `markRotated` calls with one id, exactly one gets `true`.
   */
  markRotated(id: string, now: number): Promise<boolean>;
  /** Marks every current token of a session rotated (their successors are issued elsewhere). */
  retireForSession(sessionId: string, now: number): Promise<void>;
}

/**
 * The single-use tokens of mailed links (`docs/accounts.md`). Deleting a user deletes
 * their tokens.
 * @example
 * const link = await stores.links.find("token-id");
 */
export interface LinkTokenStore {
  create(token: LinkTokenRecord): Promise<void>;
  find(id: string): Promise<LinkTokenRecord | null>;
  /**
   * Marks the token used at `now` if it is unused and `now < expiresAt`; `true` for the
   * one caller that did. Of two concurrent calls with one id, exactly one gets `true`.
   */
  use(id: string, now: number): Promise<boolean>;
  /**
   * The user's newest token of `purpose` that is unused and unexpired at `now`, or `null`
   * (an email change waiting for its new address's link).
   */
  findPending(userId: string, purpose: LinkPurpose, now: number): Promise<LinkTokenRecord | null>;
  /**
   * Deletes the user's tokens of `purpose` (of every purpose when omitted) but those
   * `keep` names: the one with `keep.id` (a token just used, kept so that a second use
   * says "used"), and those mailed to `keep.email` (a verification link of the account's
   * own address, when only a change of address is voided); returns how many.
   */
  deleteByUser(userId: string, purpose?: LinkPurpose, keep?: LinkKeep): Promise<number>;
  /** Deletes up to `limit` tokens expired at `now` (by an `expires_at` index); returns how many. */
  sweepExpired(now: number, limit: number): Promise<number>;
}

/**
 * A user's second factors and recovery codes (`docs/accounts.md`, "Second factors").
 * Deleting a user deletes theirs. Recovery codes are stored as SHA-256 hashes only.
 * @example
 * const factors = await stores.factors.listByUser(userId);
 */
export interface FactorStore {
  /** The user's factors, pending ones included, oldest first. */
  listByUser(userId: string): Promise<FactorRecord[]>;
  find(id: string): Promise<FactorRecord | null>;
  /** The passkey with this credential id (base64url), or `null`. */
  findByCredential(credentialId: string): Promise<FactorRecord | null>;
  /** Stores a factor; `false` when a unique rule refuses it: its credential id is taken (a passkey registered already). */
  create(factor: FactorRecord): Promise<boolean>;
  /**
   * Confirms a pending factor at `at`, recording `step` as its last accepted step; `true`
   * for the one caller that did (it was there and pending). `false` too for a TOTP factor
   * of a user who has a confirmed one already: one authenticator app per account.
   */
  confirm(id: string, at: number, step: number | null): Promise<boolean>;
  /**
   * Records the use of a TOTP code of time step `step` at `at`, only when `step` is past
   * the factor's `lastStep`: one conditional write, so of racing uses of one code (on any
   * number of instances) exactly one gets `true`.
   */
  useStep(id: string, step: number, at: number): Promise<boolean>;
  /**
   * Records a passkey's use at `at` with the authenticator's counter `signCount`, only when
   * it is past the stored one, or both are 0 (an authenticator that does not count): one
   * conditional write, so of racing answers with one count exactly one gets `true`.
   */
  usePasskey(id: string, signCount: number, at: number): Promise<boolean>;
  /** Renames a factor; `false` when it is gone. */
  rename(id: string, name: string): Promise<boolean>;
  /** Replaces a factor's sealed secret (re-sealed under the newest key); `false` when it is gone. */
  updateSecret(id: string, secret: string): Promise<boolean>;
  /** Deletes one factor; `false` when there was none. */
  delete(id: string): Promise<boolean>;
  /** Deletes the user's factors of `kind` (of every kind when omitted) that are still pending; returns how many. */
  deletePending(userId: string, kind?: FactorKind): Promise<number>;
  /** Replaces every recovery code of the user with these (hashes), unused, created at `at`. */
  replaceRecoveryCodes(userId: string, hashes: string[], at: number): Promise<void>;
  /** Marks the user's unused code with this hash used at `at`; `true` for the one caller that did. */
  useRecoveryCode(userId: string, hash: string, at: number): Promise<boolean>;
  /** How many of the user's recovery codes are unused. */
  countRecoveryCodes(userId: string): Promise<number>;
  /** Deletes every recovery code of the user; returns how many. */
  deleteRecoveryCodes(userId: string): Promise<number>;
}

/**
 * The short-lived states between two steps of a sign-in (`ChallengeRecord`). Deleting a
 * user deletes theirs.
 * @example
 * const pending = await stores.challenges.find(sessionId);
 */
export interface ChallengeStore {
  create(challenge: ChallengeRecord): Promise<void>;
  find(id: string): Promise<ChallengeRecord | null>;
  /**
   * Counts a wrong answer to an unused, unexpired challenge; the count after, or `null`
   * when it is used, expired or gone.
   */
  fail(id: string, now: number): Promise<number | null>;
  /**
   * Marks the challenge used at `now` if it is unused and `now < expiresAt`; `true` for
   * the one caller that did. Of two concurrent calls with one id, exactly one gets `true`.
   */
  use(id: string, now: number): Promise<boolean>;
  /** Deletes up to `limit` challenges expired at `now`; returns how many. */
  sweepExpired(now: number, limit: number): Promise<number>;
  /** Deletes every challenge of the user (their sessions all ended: a pending sign-in goes too); returns how many. */
  deleteByUser(userId: string): Promise<number>;
}

/**
 * The link tokens `LinkTokenStore.deleteByUser` keeps.
 * @example
 * await stores.links.deleteByUser(userId, "verify_email", { email: "alice@example.com" });
 */
export interface LinkKeep {
  id?: string;
  email?: string | null;
}

/**
 * Signing keys for access tokens.
 * @example
 * const keys = await stores.keys.list(); // oldest first
 */
export interface KeyStore {
  /** Every key, oldest first. */
  list(): Promise<SigningKeyRecord[]>;
  add(key: SigningKeyRecord): Promise<void>;
  /**
   * Sets `retiredAt` on every key of algorithm `alg` that is not `keepKid` and not yet
   * retired. Keys of other algorithms are never touched: a process configured with another
   * `JWT_ALG` (a CLI run without the server's environment) must not retire the keys the
   * servers sign with.
   */
  retireOthers(keepKid: string, alg: string, at: number): Promise<void>;
  /** Deletes keys retired before `before`; returns how many. */
  deleteRetiredBefore(before: number): Promise<number>;
}

/**
 * The services that trust latchkey's tokens (service credentials).
 *
 * @example
 * const billing = await stores.services?.findByName("billing");
 */
export interface ServiceStore {
  /** `false` when the name or id is taken (by a live or a revoked service): atomic, as users are. */
  create(service: ServiceRecord): Promise<boolean>;
  findById(id: string): Promise<ServiceRecord | null>;
  findByName(name: string): Promise<ServiceRecord | null>;
  /** Every service, revoked ones included, oldest first. */
  list(): Promise<ServiceRecord[]>;
  /** Marks a live service revoked at `at`; `false` when there is none or it was already. */
  revoke(id: string, at: number): Promise<boolean>;
}

/**
 * Everything a backend provides.
 * @example
 * const stores: Stores = await openSqliteStores({ path: "./data/app.db" });
 * await stores.ping();
 */
export interface Stores {
  users: UserStore;
  sessions: SessionStore;
  refreshTokens: RefreshTokenStore;
  keys: KeyStore;
  events: EventStore;
  counters: CounterStore;
  changes: ChangeFeed;
  secrets: SecretStore;
  /** The admin audit log. */
  audit: AuditStore;
  /** The tokens of mailed links: email verification, password reset, email-change revert. */
  links: LinkTokenStore;
  /** Second factors and recovery codes. */
  factors: FactorStore;
  /** The states between two steps of a sign-in. */
  challenges: ChallengeStore;
  /**
   * Service credentials (`docs/services.md`). Optional: without it, `auth.services` refuses
   * to create any, every client credential is refused (`invalid_client`, saying why), and
   * `createAuth` warns once at start-up (`LATCHKEY_NO_SERVICE_STORE`).
   */
  services?: ServiceStore;
  /** Resolves when every store answers; throws `StoreUnavailableError` otherwise. */
  ping(): Promise<void>;
  /**
   * Ends the connections (pools, the change feed's listener, Redis clients) and timers the
   * stores hold: until then they keep the process alive. Whoever opened the stores closes
   * them, after `auth.close()`; closing twice is closing once.
   */
  close(): Promise<void>;
  /**
   * The SQL database the durable stores live in, for the host's own tables (SQLite and
   * PostgreSQL stores have one; memory stores do not). Redis stores pass their base's on.
   */
  database?: DatabaseHandle;
}

/**
 * A live session and its user: what a session lookup reads in one go.
 * @example
 * const valid: ValidSession | null = await auth.sessions.findLive(sessionId);
 * if (valid) console.log(valid.user.username, new Date(valid.session.expiresAt));
 */
export interface ValidSession {
  session: SessionRecord;
  user: UserProfile;
  /**
   * Set by `SessionManager.validate` when this request renewed the session's secret: the
   * new session token, for the caller to send as the session cookie (the old one works
   * only for the grace after this).
   */
  renewedToken?: string;
}

/**
 * Where a session comes from: the client's address and user agent, as sessions and events record them.
 * @example
 * const client: ClientInfo = { ip: "192.0.2.1", userAgent: "curl/8.5" };
 * await auth.sessions.signIn({ userId, kind: "bearer", remember: false, ...client });
 */
export interface ClientInfo {
  ip: string;
  userAgent: string;
}

/**
 * latchkey's SQL database, lent to the host: its own tables, migrations and statements
 * beside latchkey's. A table of the host's may reference `users(id) on delete cascade`,
 * so deleting an account deletes the host's rows with it.
 *
 * @example
 * await stores.database?.migrate("myapp", {
 *   "0001-notes": {
 *     up: async (db) => {
 *       await db.schema.createTable("notes").addColumn("id", "text", (c) => c.primaryKey()).execute();
 *     },
 *   },
 * });
 */
export interface DatabaseHandle {
  readonly dialect: "sqlite" | "postgres";
  /** Kysely on latchkey's connection (SQLite) or pool (PostgreSQL); type it with your tables. */
  readonly kysely: Kysely<unknown>;
  /** The driver's own object, for prepared statements: a better-sqlite3 `Database`, or a `pg.Pool`. */
  readonly driver: unknown;
  /**
   * Applies `migrations` (Kysely migrations, by name; names sort in the order they apply)
   * that have not run yet, tracked in tables of their own (`<namespace>_migration`), never
   * latchkey's. `namespace`: lower-case letters, digits and `_`. Returns the names applied.
   */
  migrate(namespace: string, migrations: Record<string, Migration>): Promise<string[]>;
}
