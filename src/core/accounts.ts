/**
 * Accounts: registration, password login, password change, deletion, disabling.
 *
 * A login for an unknown username verifies the password against a dummy hash made with
 * the same parameters, so it costs what a wrong password costs (no enumeration by timing),
 * and both answer with the same error.
 */
import type { Clock } from "./clock.js";
import { AuthError, invalidCredentials } from "./errors.js";
import type { LoginThrottle } from "./login-throttle.js";
import type { PasswordHasher } from "./password-hasher.js";
import { checkPassword, PASSWORD_PROBLEM_MESSAGES } from "./password-policy.js";
import type { UserStore } from "./ports.js";
import type { UserRecord } from "./records.js";
import { randomToken } from "./secrets.js";
import type { SecurityLog } from "./security-log.js";
import type { ClientInfo, SessionManager } from "./session-manager.js";
import { normalizeUsername, parseUsername, USERNAME_RULE } from "./username.js";
import { uuidv7 } from "./uuid.js";

/** Dependencies of `Accounts`. */
export interface AccountsDeps {
  users: UserStore;
  sessions: SessionManager;
  throttle: LoginThrottle;
  log: SecurityLog;
  hasher: PasswordHasher;
  clock: Clock;
}

/**
 * @example
 * const user = await accounts.register("alice", "correct horse battery staple");
 * const same = await accounts.authenticate("Alice", "correct horse battery staple", client);
 */
export class Accounts {
  readonly #deps: AccountsDeps;
  #dummyHash: Promise<string> | undefined;

  constructor(deps: AccountsDeps) {
    this.#deps = deps;
  }

  /** Creates an account. Does not log in. */
  async register(usernameInput: string, password: string): Promise<UserRecord> {
    const username = parseUsername(usernameInput);
    if (!username) throw new AuthError("invalid_request", USERNAME_RULE);
    assertAcceptablePassword(password, username);
    if (await this.#deps.users.findByUsername(username)) throw usernameTaken();
    const user: UserRecord = {
      id: uuidv7(this.#deps.clock.now()),
      username,
      passwordHash: await this.#deps.hasher.hash(password),
      createdAt: this.#deps.clock.now(),
      disabledAt: null,
    };
    // The store's unique index settles a race between two registrations of one name.
    if (!(await this.#deps.users.create(user))) throw usernameTaken();
    return user;
  }

  /**
   * The account a username and password prove, throttled per account and per address.
   * Throws `invalid_credentials`, `account_disabled` (right password only) or
   * `rate_limited`.
   */
  async authenticate(usernameInput: string, password: string, client: ClientInfo): Promise<UserRecord> {
    const { users, throttle, hasher, log } = this.#deps;
    // Throttle on the normalised input, valid name or not, so unknown names look alike.
    const key = normalizeUsername(usernameInput.slice(0, 256));
    await throttle.check(key, client.ip);
    const username = parseUsername(usernameInput);
    const user = username ? await users.findByUsername(username) : null;
    const ok = await hasher.verify(user?.passwordHash ?? (await this.#dummy()), password);
    if (!user || !ok) {
      await throttle.recordFailure(key, client.ip);
      if (user) await log.record("login_failed", user.id, client);
      throw invalidCredentials();
    }
    if (user.disabledAt !== null) {
      throw new AuthError("account_disabled", "This account has been disabled.");
    }
    await throttle.recordSuccess(key);
    if (hasher.needsRehash(user.passwordHash)) {
      const passwordHash = await hasher.hash(password);
      await users.updatePasswordHash(user.id, passwordHash);
      return { ...user, passwordHash };
    }
    return user;
  }

  /**
   * Checks the current password (throttled like a login), stores the new one and ends
   * every other session of the user. The caller rotates its own session's secret.
   */
  async changePassword(
    userId: string,
    current: string,
    next: string,
    context: ClientInfo & { sessionId: string },
  ): Promise<void> {
    const user = await this.#load(userId);
    await this.#verifyOwnPassword(user, current, context);
    assertAcceptablePassword(next, user.username);
    await this.#deps.users.updatePasswordHash(user.id, await this.#deps.hasher.hash(next));
    await this.#deps.sessions.endAllForUser(user.id, context.sessionId);
    await this.#deps.log.record("password_changed", user.id, context);
  }

  /** Deletes the account, its sessions (ended everywhere) and its data. */
  async deleteAccount(userId: string, password: string, client: ClientInfo): Promise<void> {
    const user = await this.#load(userId);
    await this.#verifyOwnPassword(user, password, client);
    await this.#deps.sessions.endAllForUser(user.id);
    await this.#deps.users.delete(user.id);
  }

  /** Disables an account and ends all its sessions at once. `null`: no such user. */
  async disable(usernameInput: string): Promise<UserRecord | null> {
    const user = await this.findByName(usernameInput);
    if (!user) return null;
    const at = this.#deps.clock.now();
    await this.#deps.users.setDisabled(user.id, at);
    await this.#deps.sessions.endAllForUser(user.id);
    await this.#deps.log.record("account_disabled", user.id);
    return { ...user, disabledAt: at };
  }

  /** Enables a disabled account. `null`: no such user. */
  async enable(usernameInput: string): Promise<UserRecord | null> {
    const user = await this.findByName(usernameInput);
    if (!user) return null;
    await this.#deps.users.setDisabled(user.id, null);
    await this.#deps.log.record("account_enabled", user.id);
    return { ...user, disabledAt: null };
  }

  /** The account of a username as typed, or `null`. */
  async findByName(usernameInput: string): Promise<UserRecord | null> {
    const username = parseUsername(usernameInput);
    return username ? this.#deps.users.findByUsername(username) : null;
  }

  list(): Promise<UserRecord[]> {
    return this.#deps.users.list();
  }

  async #load(userId: string): Promise<UserRecord> {
    const user = await this.#deps.users.findById(userId);
    if (!user) throw new AuthError("unauthenticated", "Sign in to continue.");
    return user;
  }

  async #verifyOwnPassword(user: UserRecord, password: string, client: ClientInfo): Promise<void> {
    const { throttle, hasher } = this.#deps;
    await throttle.check(user.username, client.ip);
    if (!(await hasher.verify(user.passwordHash, password))) {
      await throttle.recordFailure(user.username, client.ip);
      throw new AuthError("invalid_credentials", "The current password is incorrect.");
    }
  }

  /** Makes the dummy hash now, so the first unknown-user login is not cheaper or dearer. */
  async warmUp(): Promise<void> {
    await this.#dummy();
  }

  #dummy(): Promise<string> {
    this.#dummyHash ??= this.#deps.hasher.hash(randomToken(32));
    return this.#dummyHash;
  }
}

function assertAcceptablePassword(password: string, username: string): void {
  const problem = checkPassword(password, username);
  if (problem) throw new AuthError("weak_password", PASSWORD_PROBLEM_MESSAGES[problem]);
}

function usernameTaken(): AuthError {
  return new AuthError("username_taken", "That username is already taken.");
}
