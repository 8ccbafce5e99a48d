/**
 * What administrators do to users: list and look them up, disable and enable them, end
 * their sessions, set their roles, delete them (`/admin/*` and the CLI). Every action
 * lands in the affected user's security log and in the admin audit log (who did what to
 * whom, when, from where). The last enabled admin cannot be demoted, disabled or deleted
 * (`409 last_admin`): the store settles it atomically, across instances.
 *
 * A role change publishes `roles_changed` on the change feed, with the user's new
 * `rolesAt` as its time: every instance and every `@latchkey/verify` service then refuses
 * the user's access tokens carrying an older `roles_at`, and the client's next refresh
 * gets a token with the new roles.
 */
import { type Accounts, isLastAdmin, lastAdminError } from "./accounts.js";
import type { Clock } from "./clock.js";
import { AuthError } from "./errors.js";
import type { ChangeFeed, Stores } from "./ports.js";
import type { AdminAction, AuditRecord, EventRecord, SessionRecord, UserProfile, UserRecord } from "./records.js";
import type { RoleModel } from "./roles.js";
import type { SecurityLog } from "./security-log.js";
import type { SessionManager } from "./session-manager.js";
import { normalizeUsername } from "./username.js";
import { uuidv7 } from "./uuid.js";

/**
 * Who acts, and from where: an administrator signed in (`actor`), or the CLI (`actor`
 * `null`: an operator on the machine, who needs no role).
 * @example
 * const context: AdminContext = { actor: { userId: user.id, username: user.username }, ip: "192.0.2.1", userAgent: "curl/8.5" };
 */
export interface AdminContext {
  actor: { userId: string; username: string } | null;
  ip: string;
  userAgent: string;
}

/**
 * A page of users.
 * @example
 * const page: UserPage = await auth.admin.listUsers({ limit: 50 });
 */
export interface UserPage {
  users: UserProfile[];
  /** Pass it back as `cursor` for the next page; `null` on the last. */
  nextCursor: string | null;
}

/**
 * A page of the audit log, newest first.
 * @example
 * const page: AuditPage = await auth.admin.events({ limit: 50 });
 */
export interface AuditPage {
  events: AuditRecord[];
  nextCursor: string | null;
}

/**
 * One user as an administrator sees them: the profile, the live sessions, the newest events.
 * @example
 * const detail: UserDetail | null = await auth.admin.user(userId);
 */
export interface UserDetail {
  user: UserProfile;
  sessions: SessionRecord[];
  events: EventRecord[];
}

/**
 * The page size of the admin lists unless asked.
 * @example
 * const page = await auth.admin.listUsers({}); // ADMIN_PAGE_DEFAULT (50) users at most
 */
export const ADMIN_PAGE_DEFAULT = 50;
/**
 * The largest page size the admin lists take (a larger `limit` is a 400).
 * @example
 * const page = await auth.admin.listUsers({ limit: ADMIN_PAGE_MAX });
 */
export const ADMIN_PAGE_MAX = 200;
const DETAIL_EVENTS = 50;

/** Dependencies of `Administration`. */
export interface AdministrationDeps {
  stores: Stores;
  sessions: SessionManager;
  accounts: Accounts;
  log: SecurityLog;
  roles: RoleModel;
  clock: Clock;
  changes: ChangeFeed;
  /** Told of a role change this process made, before the feed brings it back. */
  onRolesChanged?: (userId: string, at: number) => void;
}

/**
 * @example
 * const cli: AdminContext = { actor: null, ip: "", userAgent: "latchkey-cli" };
 * await auth.admin.setRoles(user.id, ["admin", "user"], cli);
 */
export class Administration {
  readonly #deps: AdministrationDeps;

  constructor(deps: AdministrationDeps) {
    this.#deps = deps;
  }

  /**
   * Users by username, `limit` at a time (1 to 200): those whose username contains
   * `query` (compared as usernames are: case-folded), with `role` when given.
   */
  async listUsers(filter: { query?: string; role?: string; cursor?: string; limit?: number }): Promise<UserPage> {
    const limit = pageSize(filter.limit);
    if (filter.role !== undefined) this.#deps.roles.parse([filter.role]);
    if (filter.query !== undefined && !isPlainText(filter.query)) {
      throw new AuthError(
        "invalid_request",
        `q must be text of at most ${TEXT_MAX} characters, without control characters.`,
      );
    }
    const after = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor).username;
    if (filter.cursor !== undefined && !isPlainText(after)) throw badCursor();
    const found = await this.#deps.stores.users.search({
      query: normalizeUsername(filter.query ?? ""),
      ...(filter.role !== undefined && { role: filter.role }),
      ...(typeof after === "string" && { after }),
      limit: limit + 1,
    });
    const users = found.slice(0, limit).map(profile);
    const last = users.at(-1);
    return { users, nextCursor: found.length > limit && last ? encodeCursor({ username: last.username }) : null };
  }

  /** The user, their live sessions and their newest events; `null` when there is no such user. */
  async user(userId: string): Promise<UserDetail | null> {
    const user = isPlainText(userId) ? await this.#deps.stores.users.findById(userId) : null;
    if (!user) return null;
    const [sessions, events] = await Promise.all([
      this.#deps.sessions.listLive(user.id),
      this.#deps.stores.events.listByUser(user.id, DETAIL_EVENTS),
    ]);
    return { user: profile(user), sessions, events };
  }

  /** Disables the account and ends its sessions. `not_found`, `last_admin`. */
  async disable(userId: string, context: AdminContext): Promise<UserProfile> {
    const user = await this.#target(userId);
    if (user.disabledAt !== null) {
      // Already disabled: end its sessions again (none, unless a first try failed after
      // disabling), so a retry finishes what a failure left undone.
      await this.#deps.sessions.endAllForUser(user.id, undefined, "account_disabled");
      return profile(user);
    }
    const at = this.#deps.clock.now();
    refuseLastAdmin(await this.#deps.stores.users.setDisabled(user.id, at), user);
    await this.#deps.sessions.endAllForUser(user.id, undefined, "account_disabled");
    await this.#recorded("account_disabled", "user_disabled", user, context, null);
    return profile({ ...user, disabledAt: at });
  }

  /**
   * Removes every second factor of the user (authenticator app, recovery codes): for a
   * person who lost both their phone and their codes, once an operator has made sure who
   * they are. Their password alone signs in again; their sessions are left as they are.
   * Logged in their security log (`totp_disabled`) and the audit log (`factors_removed`);
   * returns how many factors it removed. `not_found`.
   */
  async removeFactors(userId: string, context: AdminContext): Promise<number> {
    const user = await this.#target(userId);
    const { factors } = this.#deps.stores;
    let removed = 0;
    for (const factor of await factors.listByUser(user.id)) if (await factors.delete(factor.id)) removed++;
    const codes = await factors.deleteRecoveryCodes(user.id);
    if (removed > 0 || codes > 0) {
      await this.#recorded(
        "totp_disabled",
        "factors_removed",
        user,
        context,
        JSON.stringify({ factors: removed, codes }),
      );
    }
    return removed;
  }

  /** Enables a disabled account. `not_found`. */
  async enable(userId: string, context: AdminContext): Promise<UserProfile> {
    const user = await this.#target(userId);
    if (user.disabledAt === null) return profile(user);
    refuseLastAdmin(await this.#deps.stores.users.setDisabled(user.id, null), user);
    await this.#recorded("account_enabled", "user_enabled", user, context, null);
    return profile({ ...user, disabledAt: null });
  }

  /** Ends every session of the user (each in their log as `session_revoked`); how many. `not_found`. */
  async revokeSessions(userId: string, context: AdminContext): Promise<number> {
    const user = await this.#target(userId);
    const ended = await this.#deps.sessions.endAllForUser(user.id, undefined, "session_revoked");
    for (const sessionId of ended) {
      await this.#deps.log.record("session_revoked", user.id, {
        sessionId,
        ip: context.ip,
        userAgent: context.userAgent,
      });
    }
    await this.#audit("sessions_revoked", user, context, JSON.stringify({ sessions: ended.length }));
    return ended.length;
  }

  /**
   * Sets the user's roles (checked by `auth.roles.parse`: `invalid_request` naming an
   * unknown one). The store gives the change its `rolesAt` (later than the user's last,
   * atomically), which the feed entry carries. Roles already as asked publish their
   * `roles_changed` again and change nothing else: a retry after a publish that failed
   * still reaches every instance and service. `not_found`, `last_admin`.
   */
  async setRoles(userId: string, rolesInput: unknown, context: AdminContext): Promise<UserProfile> {
    const roles = this.#deps.roles.parse(rolesInput);
    const user = await this.#target(userId);
    if (sameRoles(user.roles, roles)) {
      await this.#published(user.id, user.rolesAt);
      return profile(user);
    }
    const stored = await this.#deps.stores.users.setRoles(user.id, roles, this.#deps.clock.now());
    if (typeof stored !== "number") throw refusal(stored, user);
    await this.#published(user.id, stored);
    await this.#recorded("roles_changed", "roles_set", user, context, JSON.stringify({ from: user.roles, to: roles }));
    return profile({ ...user, roles, rolesAt: stored });
  }

  async #published(userId: string, rolesAt: number): Promise<void> {
    this.#deps.onRolesChanged?.(userId, rolesAt);
    await this.#deps.changes.publish("roles_changed", userId, rolesAt);
  }

  /** Deletes the user, their sessions (ended everywhere) and their data. `not_found`, `last_admin`. */
  async deleteUser(userId: string, context: AdminContext): Promise<void> {
    const user = await this.#target(userId);
    // Checked before the sessions end, so the last admin is not signed out for nothing; the
    // store checks again, atomically, when it deletes.
    if (await isLastAdmin(this.#deps.stores.users, user)) throw lastAdminError(user);
    await this.#deps.sessions.endAllForUser(user.id, undefined, "account_deleted");
    refuseLastAdmin(await this.#deps.stores.users.delete(user.id), user);
    await this.#audit("user_deleted", user, context, null);
  }

  /** The audit log, newest first, `limit` at a time (1 to 200); only about `userId` when given. */
  async events(filter: { cursor?: string; limit?: number; userId?: string }): Promise<AuditPage> {
    const limit = pageSize(filter.limit);
    const before = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor);
    if (before && (!Number.isSafeInteger(before.at) || !isPlainText(before.id))) throw badCursor();
    if (filter.userId !== undefined && !isPlainText(filter.userId)) {
      throw new AuthError("invalid_request", "userId is not a user id.");
    }
    const found = await this.#deps.stores.audit.list({
      limit: limit + 1,
      ...(before && { before: { at: before.at as number, id: before.id as string } }),
      ...(filter.userId !== undefined && { targetId: filter.userId }),
    });
    const events = found.slice(0, limit);
    const last = events.at(-1);
    return { events, nextCursor: found.length > limit && last ? encodeCursor({ at: last.at, id: last.id }) : null };
  }

  async #target(userId: string): Promise<UserRecord> {
    // An id no user can have (a NUL byte, which PostgreSQL refuses to compare) is nobody's.
    const user = isPlainText(userId) ? await this.#deps.stores.users.findById(userId) : null;
    if (!user) throw new AuthError("not_found", "No such user.");
    return user;
  }

  async #recorded(
    type: EventRecord["type"],
    action: AdminAction,
    user: UserRecord,
    context: AdminContext,
    detail: string | null,
  ): Promise<void> {
    await this.#deps.log.record(type, user.id, { ip: context.ip, userAgent: context.userAgent });
    await this.#audit(action, user, context, detail);
  }

  async #audit(action: AdminAction, user: UserRecord, context: AdminContext, detail: string | null): Promise<void> {
    const at = this.#deps.clock.now();
    await this.#deps.stores.audit.append({
      id: uuidv7(at),
      at,
      actorId: context.actor?.userId ?? null,
      actorUsername: context.actor?.username ?? null,
      action,
      targetId: user.id,
      targetUsername: user.username,
      ip: context.ip,
      userAgent: context.userAgent.slice(0, 512),
      detail,
    });
  }
}

/** The user without what only account operations read: the password hash and the address. */
function profile(user: UserRecord): UserProfile {
  const { passwordHash: _hash, email: _email, emailVerifiedAt: _verified, ...rest } = user;
  return rest;
}

function sameRoles(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((role, i) => role === b[i]);
}

function refuseLastAdmin(result: boolean | "last_admin", user: UserRecord): void {
  if (result !== true) throw refusal(result, user);
}

/** Why a store refused a change: the last admin, or no such user (deleted meanwhile). */
function refusal(result: false | "last_admin", user: UserRecord): AuthError {
  return result === "last_admin" ? lastAdminError(user) : new AuthError("not_found", "No such user.");
}

/** The longest search text, id or cursor field the admin core takes. */
const TEXT_MAX = 200;

/** Text a store can compare: at most `TEXT_MAX` characters, no control character (NUL included). */
function isPlainText(value: unknown): value is string {
  return typeof value === "string" && value.length <= TEXT_MAX && !/\p{Cc}/u.test(value);
}

function pageSize(limit: number | undefined): number {
  if (limit === undefined) return ADMIN_PAGE_DEFAULT;
  if (!Number.isInteger(limit) || limit < 1 || limit > ADMIN_PAGE_MAX) {
    throw new AuthError("invalid_request", `limit must be a whole number from 1 to ${ADMIN_PAGE_MAX}.`);
  }
  return limit;
}

function encodeCursor(value: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

function decodeCursor(cursor: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Falls through to the refusal.
  }
  throw badCursor();
}

function badCursor(): AuthError {
  return new AuthError("invalid_request", "cursor is not one this server gave.");
}
