/**
 * Accounts: registration, password login, password change, deletion, disabling.
 *
 * A login for an unknown username verifies the password against a dummy hash made with
 * the same parameters, so it costs what a wrong password costs (no enumeration by timing),
 * and both answer with the same error. Every piece of work that hashes a password is
 * limited per client address: logins and password checks by the throttle and an in-flight
 * cap, registrations by a counter shared by every instance.
 */

import { throttleAddress } from "./client-address.js";
import type { Clock } from "./clock.js";
import type { DeviceCookies } from "./device-cookies.js";
import { AuthError, invalidCredentials, RateLimitedError } from "./errors.js";
import { type LoginThrottle, limitPerAddress } from "./login-throttle.js";
import type { PasswordHasher } from "./password-hasher.js";
import {
  assertWellFormedPassword,
  checkPassword,
  normalizePassword,
  PASSWORD_PROBLEM_MESSAGES,
} from "./password-policy.js";
import type { CounterStore, UserStore } from "./ports.js";
import type { UserRecord } from "./records.js";
import type { AccountEmail } from "./recovery.js";
import { DEFAULT_ROLES } from "./roles.js";
import { randomToken } from "./secrets.js";
import type { SecurityLog } from "./security-log.js";
import type { ClientInfo, SessionManager } from "./session-manager.js";
import { normalizeUsername, parseUsername, USERNAME_RULE } from "./username.js";
import { uuidv7 } from "./uuid.js";

/** Per-address limits on the work that hashes a password. */
export interface AccountLimits {
  /** Registrations per client address (per /64 for IPv6) within `windowSeconds`. */
  registerPerAddress: number;
  windowSeconds: number;
  /** Password checks of one address (per /64) in flight at once, on this instance. */
  inFlightPerAddress: number;
}

/** The defaults: 20 registrations per address per 15 minutes, 4 password checks at once. */
export const DEFAULT_ACCOUNT_LIMITS: Readonly<AccountLimits> = {
  registerPerAddress: 20,
  windowSeconds: 900,
  inFlightPerAddress: 4,
};

/** Dependencies of `Accounts`. */
export interface AccountsDeps {
  users: UserStore;
  sessions: SessionManager;
  throttle: LoginThrottle;
  counters: CounterStore;
  devices: DeviceCookies;
  log: SecurityLog;
  hasher: PasswordHasher;
  clock: Clock;
  limits: AccountLimits;
  /** Email addresses: what a registration may carry, and whether a login needs one verified. */
  email: AccountEmail;
}

/**
 * A signed-in caller re-entering its password: where it comes from, its session, and the
 * browser's device cookie when it has one. The check is throttled per session (and
 * device), never per account, so a stranger's guesses at the login cannot refuse it.
 *
 * @example
 * const caller: SignedInCaller = { ip: "192.0.2.1", userAgent: "curl/8.5", sessionId: session.id };
 */
export interface SignedInCaller extends ClientInfo {
  sessionId: string;
  deviceCookie?: string | undefined;
}

/**
 * @example
 * const user = await accounts.register("alice", "correct horse battery staple", client);
 * const same = await accounts.authenticate("Alice", "correct horse battery staple", client);
 */
export class Accounts {
  readonly #deps: AccountsDeps;
  readonly #inFlight = new Map<string, number>();
  #dummyHash: Promise<string> | undefined;

  constructor(deps: AccountsDeps) {
    this.#deps = deps;
  }

  /**
   * Creates an account. Does not log in. Registrations over HTTP (`client` given) are
   * limited per address across instances: they hash a password, and an unthrottled one is
   * a way to spend the CPU. The CLI passes no client and is not limited. With an `email`
   * (where mail is set up), the address is stored unverified and mailed a link.
   */
  async register(
    usernameInput: string,
    passwordInput: string,
    client?: ClientInfo,
    options: { email?: string | undefined } = {},
  ): Promise<UserRecord> {
    const username = parseUsername(usernameInput);
    if (!username) throw new AuthError("invalid_request", USERNAME_RULE);
    const email = this.#deps.email.addressForRegistration(options.email, client === undefined);
    assertWellFormedPassword(passwordInput);
    const password = normalizePassword(passwordInput);
    assertAcceptablePassword(password, username);
    const { limits, counters, clock } = this.#deps;
    if (client) {
      await limitPerAddress(counters, clock, {
        name: "register",
        ip: client.ip,
        max: limits.registerPerAddress,
        windowSeconds: limits.windowSeconds,
      });
    }
    if (await this.#deps.users.findByUsername(username)) throw usernameTaken();
    if (email !== null && (await this.#deps.users.findByEmail(email))) throw emailTaken();
    const user: UserRecord = {
      id: uuidv7(this.#deps.clock.now()),
      username,
      passwordHash: await this.#hashing(client?.ip, () => this.#deps.hasher.hash(password)),
      createdAt: this.#deps.clock.now(),
      disabledAt: null,
      roles: [...DEFAULT_ROLES],
      rolesAt: this.#deps.clock.now(),
      email,
      emailVerifiedAt: null,
    };
    // The store's unique indexes settle a race between two registrations of one name or address.
    if (!(await this.#deps.users.create(user))) {
      throw (await this.#deps.users.findByUsername(username)) ? usernameTaken() : emailTaken();
    }
    this.#deps.email.registered(user);
    return user;
  }

  /**
   * The account a username and password prove, throttled per account (or per trusted
   * device, with a `deviceCookie` issued for this account) and per address; the attempt is
   * counted before the hash, and kept only when the password was checked and wrong.
   * Throws `invalid_credentials`, `account_disabled` (right password only) or
   * `rate_limited`.
   */
  async authenticate(
    usernameInput: string,
    password: string,
    client: ClientInfo,
    options: { deviceCookie?: string } = {},
  ): Promise<UserRecord> {
    const { users, throttle, log } = this.#deps;
    assertWellFormedPassword(password);
    // Throttle on the normalised input, valid name or not, so unknown names look alike.
    const key = normalizeUsername(usernameInput.slice(0, 256));
    const username = parseUsername(usernameInput);
    const user = username ? await users.findByUsername(username) : null;
    // A device cookie is bound to the account's id: one minted for an account since deleted
    // is no device for a later account of the same name. An unknown name has no devices.
    const device = user ? this.#deps.devices.verify(options.deviceCookie, user.id) : null;
    // Only a checked wrong password counts: a login shed for overload or failed by a store
    // is given back, so a flood cannot lock its victim out.
    const check = await throttle.guard({ username: key, ip: client.ip, device }, async () => {
      const found = await this.#hashing(client.ip, async () =>
        this.#checkPassword(user?.passwordHash ?? (await this.#dummy()), password),
      );
      return { ...found, ok: user !== null && found.ok };
    });
    if (!user || !check.ok) {
      if (user) await log.record("login_failed", user.id, client);
      throw invalidCredentials();
    }
    if (user.disabledAt !== null) {
      throw new AuthError("account_disabled", "This account has been disabled.");
    }
    this.#deps.email.assertMaySignIn(user);
    if (check.rehash) {
      const passwordHash = await this.#deps.hasher.hash(normalizePassword(password));
      await users.updatePasswordHash(user.id, passwordHash);
      return { ...user, passwordHash };
    }
    return user;
  }

  /** A device cookie for a browser that has just signed in to `user`. */
  deviceCookieFor(user: UserRecord): string {
    return this.#deps.devices.issue(user.id);
  }

  /**
   * Checks the current password (throttled per session and device, see `SignedInCaller`),
   * stores the new one and ends every other session of the user. The caller rotates its
   * own session's secret.
   */
  async changePassword(userId: string, current: string, next: string, context: SignedInCaller): Promise<void> {
    assertWellFormedPassword(current, "current password");
    assertWellFormedPassword(next, "new password");
    const user = await this.#load(userId);
    try {
      await this.#verifyOwnPassword(user, current, context);
    } catch (error) {
      // A wrong current password is the user's to see: somebody at their session tried.
      if (error instanceof AuthError && error.code === "invalid_credentials") {
        await this.#deps.log.record("password_change_failed", user.id, {
          ip: context.ip,
          userAgent: context.userAgent,
          sessionId: context.sessionId,
        });
      }
      throw error;
    }
    const password = normalizePassword(next);
    assertAcceptablePassword(password, user.username);
    const hash = await this.#hashing(context.ip, () => this.#deps.hasher.hash(password));
    await this.#deps.users.updatePasswordHash(user.id, hash);
    await this.#deps.sessions.endAllForUser(user.id, context.sessionId, "password_changed");
    await this.#deps.email.passwordChanged(user);
    await this.#deps.log.record("password_changed", user.id, {
      ip: context.ip,
      userAgent: context.userAgent,
      sessionId: context.sessionId,
    });
  }

  /**
   * The signed-in user once their password is checked (throttled per session and device,
   * as a password change's): for account changes that ask for it, the email address's.
   */
  async confirmPassword(userId: string, password: string, caller: SignedInCaller): Promise<UserRecord> {
    assertWellFormedPassword(password);
    const user = await this.#load(userId);
    await this.#verifyOwnPassword(user, password, caller);
    return user;
  }

  /**
   * A new password for `user`, checked against the rules (`weak_password`) and hashed
   * under the per-address cap on hashing: a password reset's.
   */
  async hashNewPassword(user: UserRecord, passwordInput: string, ip: string): Promise<string> {
    assertWellFormedPassword(passwordInput, "new password");
    const password = normalizePassword(passwordInput);
    assertAcceptablePassword(password, user.username);
    return this.#hashing(ip, () => this.#deps.hasher.hash(password));
  }

  /**
   * Deletes the account, its sessions (ended everywhere) and its data, once the password
   * is checked (throttled per session and device, see `SignedInCaller`).
   */
  async deleteAccount(userId: string, password: string, context: SignedInCaller): Promise<void> {
    assertWellFormedPassword(password);
    const user = await this.#load(userId);
    await this.#verifyOwnPassword(user, password, context);
    // The last enabled admin stays (checked before the sessions end, then atomically by the store).
    if (await isLastAdmin(this.#deps.users, user)) throw lastAdminError(user);
    await this.#deps.sessions.endAllForUser(user.id, undefined, "account_deleted");
    if ((await this.#deps.users.delete(user.id)) === "last_admin") throw lastAdminError(user);
  }

  /** Disables an account and ends all its sessions at once. `null`: no such user. */
  async disable(usernameInput: string): Promise<UserRecord | null> {
    const user = await this.findByName(usernameInput);
    if (!user) return null;
    const at = this.#deps.clock.now();
    if ((await this.#deps.users.setDisabled(user.id, at)) === "last_admin") throw lastAdminError(user);
    await this.#deps.sessions.endAllForUser(user.id, undefined, "account_disabled");
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

  /**
   * A signed-in caller's password, counted against its session (and its device), not the
   * account: the account's count is what strangers spend at the login.
   */
  async #verifyOwnPassword(user: UserRecord, password: string, caller: SignedInCaller): Promise<void> {
    const device = this.#deps.devices.verify(caller.deviceCookie, user.id);
    const subject = { sessionId: caller.sessionId, ip: caller.ip, device };
    const check = await this.#deps.throttle.guard(subject, () =>
      this.#hashing(caller.ip, () => this.#checkPassword(user.passwordHash, password)),
    );
    if (!check.ok) throw new AuthError("invalid_credentials", "The current password is incorrect.");
  }

  /**
   * Checks a password as typed against a stored hash. Passwords are hashed in NFKC form
   * (NIST SP 800-63B 5.1.1.2: one password, however the keyboard composed it); a hash made
   * before that, from the password as typed, still verifies and is then re-hashed. Both
   * branches run for a non-NFKC input whatever the account, so they cost the same.
   */
  async #checkPassword(stored: string, typed: string): Promise<{ ok: boolean; rehash: boolean }> {
    const { hasher } = this.#deps;
    const normalized = normalizePassword(typed);
    if (await hasher.verify(stored, normalized)) return { ok: true, rehash: hasher.needsRehash(stored) };
    if (normalized !== typed && (await hasher.verify(stored, typed))) return { ok: true, rehash: true };
    return { ok: false, rehash: false };
  }

  /**
   * Runs password work for a client address, at most `inFlightPerAddress` at once per
   * address (per /64): one address cannot fill the hashing queue that every login shares.
   */
  async #hashing<T>(ip: string | undefined, work: () => Promise<T>): Promise<T> {
    if (ip === undefined) return work();
    const address = throttleAddress(ip);
    const active = this.#inFlight.get(address) ?? 0;
    if (active >= this.#deps.limits.inFlightPerAddress) throw new RateLimitedError(1);
    this.#inFlight.set(address, active + 1);
    try {
      return await work();
    } finally {
      const left = (this.#inFlight.get(address) ?? 1) - 1;
      if (left > 0) this.#inFlight.set(address, left);
      else this.#inFlight.delete(address);
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

function emailTaken(): AuthError {
  return new AuthError("email_taken", "That email address belongs to another account.");
}

function usernameTaken(): AuthError {
  return new AuthError("username_taken", "That username is already taken.");
}

/** Whether `user` is the last enabled admin (advisory: the store decides atomically when it writes). */
export async function isLastAdmin(users: UserStore, user: UserRecord): Promise<boolean> {
  if (!user.roles.includes("admin") || user.disabledAt !== null) return false;
  // Page through the admins (disabled ones may fill the first pages) until another enabled one.
  let after: string | undefined;
  for (;;) {
    const admins = await users.search({ query: "", role: "admin", limit: 100, ...(after !== undefined && { after }) });
    if (admins.some((other) => other.id !== user.id && other.disabledAt === null)) return false;
    if (admins.length < 100) return true;
    after = admins.at(-1)?.username;
  }
}

/** `409 last_admin`, naming the user. */
export function lastAdminError(user: Pick<UserRecord, "username">): AuthError {
  return new AuthError("last_admin", `${user.username} is the last enabled admin: make another user an admin first.`);
}
