/**
 * `createAuth` wires the core services over a set of stores. The HTTP plugin, the CLI and
 * a library user all start here.
 */
import { Accounts } from "./accounts.js";
import { ChangeFollower } from "./change-follower.js";
import { type Clock, systemClock } from "./clock.js";
import { CsrfTokens } from "./csrf.js";
import { LoginThrottle, type ThrottlePolicy } from "./login-throttle.js";
import { argon2Hasher, type PasswordHasher } from "./password-hasher.js";
import type { Stores } from "./ports.js";
import type { RandomBytes } from "./secrets.js";
import { SecurityLog } from "./security-log.js";
import { SessionManager, type SessionPolicy } from "./session-manager.js";

/** Options of `createAuth`. */
export interface AuthOptions {
  stores: Stores;
  sessions: SessionPolicy;
  throttle: ThrottlePolicy;
  /** How long ended session ids are remembered by the change follower, in ms. */
  revocationWindowMs?: number;
  clock?: Clock;
  random?: RandomBytes;
  hasher?: PasswordHasher;
}

/** The core services, ready to use. */
export interface Auth {
  readonly stores: Stores;
  readonly clock: Clock;
  readonly accounts: Accounts;
  readonly sessions: SessionManager;
  readonly throttle: LoginThrottle;
  readonly log: SecurityLog;
  readonly csrf: CsrfTokens;
  readonly changes: ChangeFollower;
  /** Stops following the change feed (does not close the stores). */
  stop(): void;
}

/** The defaults of the contract, in seconds. */
export const DEFAULT_SESSION_POLICY: Readonly<SessionPolicy> = {
  idleTimeout: 1800,
  absoluteTimeout: 43_200,
  rememberIdleTimeout: 604_800,
  rememberAbsoluteTimeout: 2_592_000,
  touchInterval: 60,
};

/** The defaults of the contract. */
export const DEFAULT_THROTTLE_POLICY: Readonly<ThrottlePolicy> = {
  maxFailures: 5,
  addressMaxFailures: 100,
  window: 900,
};

/**
 * @example
 * const auth = await createAuth({
 *   stores: await openSqliteStores({ path: "./data/latchkey.db" }),
 *   sessions: DEFAULT_SESSION_POLICY,
 *   throttle: DEFAULT_THROTTLE_POLICY,
 * });
 */
export async function createAuth(options: AuthOptions): Promise<Auth> {
  const { stores, random } = options;
  const clock = options.clock ?? systemClock;
  const hasher = options.hasher ?? argon2Hasher();
  const sessions = new SessionManager({
    store: stores.sessions,
    changes: stores.changes,
    clock,
    policy: options.sessions,
    random,
  });
  const throttle = new LoginThrottle({ counters: stores.counters, clock, policy: options.throttle });
  const log = new SecurityLog({ store: stores.events, clock });
  const accounts = new Accounts({ users: stores.users, sessions, throttle, log, hasher, clock });
  const changes = new ChangeFollower({
    feed: stores.changes,
    clock,
    retainMs: options.revocationWindowMs ?? 10 * 60_000,
  });
  const [csrf] = await Promise.all([CsrfTokens.load(stores.secrets, random), accounts.warmUp()]);
  await changes.start();
  return {
    stores,
    clock,
    accounts,
    sessions,
    throttle,
    log,
    csrf,
    changes,
    stop: () => changes.stop(),
  };
}
